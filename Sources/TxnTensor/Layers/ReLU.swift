/// max(x, 0). Backward needs only the output: the gradient passes where the output is positive
/// (PyTorch's `threshold_backward` on the result, so x == 0 passes nothing).
public enum ReLU {
    public static func forward(_ x: Tensor) -> Tensor {
        var y = x
        forwardInPlace(&y)
        return y
    }

    public static func forwardInPlace(_ x: inout Tensor) {
        let count = x.count
        x.data.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            parallelRanges(count, minChunk: 1 << 16) { r in for i in r { base[i] = max(base[i], 0) } }
        }
    }

    public static func backward(output y: Tensor, gradOutput dy: Tensor) -> Tensor {
        precondition(y.shape == dy.shape, "relu backward: \(y.shape) vs \(dy.shape)")
        var dx = dy
        backwardInPlace(output: y, grad: &dx)
        return dx
    }

    public static func backwardInPlace(output y: Tensor, grad: inout Tensor) {
        let count = y.count
        y.data.withUnsafeBufferPointer { ys in
            grad.data.withUnsafeMutableBufferPointer { gs in
                let yb = ys.baseAddress!, gb = gs.baseAddress!
                parallelRanges(count, minChunk: 1 << 16) { r in for i in r where yb[i] <= 0 { gb[i] = 0 } }
            }
        }
    }
}
