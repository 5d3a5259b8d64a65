/// 2x2 pooling with stride 2 and PyTorch's `ceil_mode=True`: an odd row or column at the end forms a
/// window of its own, so every pixel is seen and odd sizes work.
public struct Pool2D: Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        /// The paper's choice: smoother gradients, better-looking textures.
        case avg
        /// VGG as trained.
        case max
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public static func outputSize(_ size: Int) -> Int { (size + 1) / 2 }

    public func forward(_ x: Tensor) throws -> Tensor {
        try x.requireNCHW("\(kind) pool")
        let (h, w) = (x.h, x.w), oh = Self.outputSize(h), ow = Self.outputSize(w)
        var y = Tensor(zeros: [x.n, x.c, oh, ow])
        let isMax = kind == .max
        x.data.withUnsafeBufferPointer { xs in
            y.data.withUnsafeMutableBufferPointer { ys in
                let xb = xs.baseAddress!, yb = ys.baseAddress!
                parallelFor(x.n * x.c) { p in
                    let src = xb + p * h * w, dst = yb + p * oh * ow
                    for oy in 0..<oh {
                        let y0 = 2 * oy, y1 = min(y0 + 2, h)
                        for ox in 0..<ow {
                            let x0 = 2 * ox, x1 = min(x0 + 2, w)
                            var acc: Float = isMax ? -.infinity : 0
                            for yy in y0..<y1 {
                                for xx in x0..<x1 {
                                    let v = src[yy * w + xx]
                                    acc = isMax ? (v > acc ? v : acc) : acc + v
                                }
                            }
                            // Clipped windows divide by the cells they cover (PyTorch with padding 0).
                            dst[oy * ow + ox] = isMax ? acc : acc / Float((y1 - y0) * (x1 - x0))
                        }
                    }
                }
            }
        }
        return y
    }

    /// dL/dx. Max pooling sends each gradient to the first maximum of its window in row-major order,
    /// as PyTorch does; it finds it again from the input rather than storing indices.
    public func backward(input x: Tensor, gradOutput dy: Tensor) throws -> Tensor {
        try x.requireNCHW("\(kind) pool backward")
        let (h, w) = (x.h, x.w), oh = Self.outputSize(h), ow = Self.outputSize(w)
        guard dy.shape == [x.n, x.c, oh, ow] else {
            throw TensorError.shapeMismatch("\(kind) pool backward: gradient \(dy.shape) does not fit input \(x.shape)")
        }
        var dx = Tensor(zeros: x.shape)
        let isMax = kind == .max
        x.data.withUnsafeBufferPointer { xs in
        dy.data.withUnsafeBufferPointer { gs in
        dx.data.withUnsafeMutableBufferPointer { ds in
            let xb = xs.baseAddress!, gb = gs.baseAddress!, db = ds.baseAddress!
            parallelFor(x.n * x.c) { p in
                let src = xb + p * h * w, g = gb + p * oh * ow, d = db + p * h * w
                for oy in 0..<oh {
                    let y0 = 2 * oy, y1 = min(y0 + 2, h)
                    for ox in 0..<ow {
                        let x0 = 2 * ox, x1 = min(x0 + 2, w)
                        let gv = g[oy * ow + ox]
                        if isMax {
                            var best = y0 * w + x0, bestValue = src[best]
                            for yy in y0..<y1 {
                                for xx in x0..<x1 where src[yy * w + xx] > bestValue {
                                    best = yy * w + xx
                                    bestValue = src[best]
                                }
                            }
                            d[best] += gv
                        } else {
                            let share = gv / Float((y1 - y0) * (x1 - x0))
                            for yy in y0..<y1 { for xx in x0..<x1 { d[yy * w + xx] += share } }
                        }
                    }
                }
            }
        }}}
        return dx
    }
}
