/// A stride-1 "same" convolution (cross-correlation, as Caffe and PyTorch) with bias, for odd
/// kernel sizes; the border is handled by explicit padding in any `PaddingMode`.
///
/// This is the reference implementation: pad, unfold patches into columns (im2col), one sgemm.
/// Forward, backward-data and backward-weights sit side by side so each can be read against the others.
public struct Conv2D: Sendable {
    /// [out, in, k, k], PyTorch's OIHW.
    public var weight: Tensor
    /// [out]
    public var bias: Tensor
    public var padding: PaddingMode

    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] }
    public var kernel: Int { weight.shape[2] }
    var pad: Int { kernel / 2 }

    public init(weight: Tensor, bias: Tensor, padding: PaddingMode) throws {
        guard weight.rank == 4, weight.shape[2] == weight.shape[3], weight.shape[2] % 2 == 1 else {
            throw TensorError.invalidShape(
                "convolution weight must be [out, in, k, k] with odd k, got \(weight.shape)")
        }
        guard bias.shape == [weight.shape[0]] else {
            throw TensorError.invalidShape(
                "convolution bias must be [\(weight.shape[0])] for weight \(weight.shape), got \(bias.shape)")
        }
        self.weight = weight
        self.bias = bias
        self.padding = padding
    }

    /// Padded copy of one sample.
    fileprivate func padded(_ x: UnsafePointer<Float>, h: Int, w: Int, into buf: UnsafeMutablePointer<Float>) {
        Pad2D(pad: pad, mode: padding).forward(x, buf, planes: inChannels, h: h, w: w)
    }

    /// Unfolds a padded sample [I, H+2p, W+2p] into columns [I*k*k, H*W] (also the GEMM fallback's, on inputs that
    /// were padded on the blocked layout).
    func im2col(_ p: UnsafePointer<Float>, h: Int, w: Int, _ col: UnsafeMutablePointer<Float>) {
        let k = kernel, hp = h + 2 * pad, wp = w + 2 * pad
        parallelFor(inChannels) { i in
            for ky in 0..<k {
                for kx in 0..<k {
                    let row = col + ((i * k + ky) * k + kx) * h * w
                    let plane = p + i * hp * wp
                    for y in 0..<h { (row + y * w).update(from: plane + (y + ky) * wp + kx, count: w) }
                }
            }
        }
    }

    /// Folds column gradients [I*k*k, H*W] back onto a padded sample [I, H+2p, W+2p] (overwritten).
    func col2im(_ col: UnsafePointer<Float>, h: Int, w: Int, _ p: UnsafeMutablePointer<Float>) {
        let k = kernel, hp = h + 2 * pad, wp = w + 2 * pad
        parallelFor(inChannels) { i in
            let plane = p + i * hp * wp
            plane.update(repeating: 0, count: hp * wp)
            for ky in 0..<k {
                for kx in 0..<k {
                    let row = col + ((i * k + ky) * k + kx) * h * w
                    for y in 0..<h {
                        let d = plane + (y + ky) * wp + kx, s = row + y * w
                        for x in 0..<w { d[x] += s[x] }
                    }
                }
            }
        }
    }

    public func forward(_ x: Tensor) throws -> Tensor {
        try x.requireNCHW(channels: inChannels, "conv \(kernel)x\(kernel)")
        try Pad2D(pad: pad, mode: padding).check(x.h, x.w)
        let (n, h, w) = (x.n, x.h, x.w), hw = h * w, kk = inChannels * kernel * kernel
        var out = Tensor(zeros: [n, outChannels, h, w])
        let unfold = Unfolder(self, h: h, w: w)
        x.data.withUnsafeBufferPointer { xs in
        out.data.withUnsafeMutableBufferPointer { os in
        weight.data.withUnsafeBufferPointer { ws in
        bias.data.withUnsafeBufferPointer { bs in
            for s in 0..<n {
                let o = os.baseAddress! + s * outChannels * hw
                let columns = unfold.columns(xs.baseAddress! + s * inChannels * hw)
                sgemm(m: outChannels, n: hw, k: kk, ws.baseAddress!, lda: kk, columns, ldb: hw, o, ldc: hw)
                parallelFor(outChannels) { c in
                    let b = bs[c], row = o + c * hw
                    for j in 0..<hw { row[j] += b }
                }
            }
        }}}}
        return out
    }

    /// The matrix one sample is multiplied as: the sample itself for 1x1 kernels, else its padded
    /// k x k patches as columns [I*k*k, H*W]. Owns its buffers, reused across the samples of a batch.
    private final class Unfolder {
        let conv: Conv2D, h: Int, w: Int
        let columnBuffer: UnsafeMutablePointer<Float>, paddedBuffer: UnsafeMutablePointer<Float>

        init(_ conv: Conv2D, h: Int, w: Int) {
            (self.conv, self.h, self.w) = (conv, h, w)
            let unfolds = conv.kernel > 1
            columnBuffer = .allocate(capacity: unfolds ? conv.inChannels * conv.kernel * conv.kernel * h * w : 0)
            paddedBuffer = .allocate(capacity: unfolds ? conv.inChannels * (h + 2 * conv.pad) * (w + 2 * conv.pad) : 0)
        }

        deinit {
            columnBuffer.deallocate()
            paddedBuffer.deallocate()
        }

        func columns(_ sample: UnsafePointer<Float>) -> UnsafePointer<Float> {
            guard conv.kernel > 1 else { return sample }
            conv.padded(sample, h: h, w: w, into: paddedBuffer)
            conv.im2col(paddedBuffer, h: h, w: w, columnBuffer)
            return UnsafePointer(columnBuffer)
        }
    }

    /// dL/dx from dL/dy; the input itself is not needed, only its shape.
    public func backwardData(inputShape: [Int], gradOutput dy: Tensor) throws -> Tensor {
        guard inputShape.count == 4, dy.shape == [inputShape[0], outChannels, inputShape[2], inputShape[3]] else {
            throw TensorError.shapeMismatch(
                "conv backward: gradient \(dy.shape) does not fit input \(inputShape) and \(outChannels) outputs")
        }
        let (n, h, w) = (inputShape[0], inputShape[2], inputShape[3]), hw = h * w
        let kk = inChannels * kernel * kernel, hp = h + 2 * pad, wp = w + 2 * pad
        var dx = Tensor(zeros: inputShape)
        var dcol = [Float](repeating: 0, count: kernel == 1 ? 0 : kk * hw)
        var dpad = [Float](repeating: 0, count: kernel == 1 ? 0 : inChannels * hp * wp)
        dy.data.withUnsafeBufferPointer { gs in
        dx.data.withUnsafeMutableBufferPointer { dxs in
        weight.data.withUnsafeBufferPointer { ws in
        dcol.withUnsafeMutableBufferPointer { cs in
        dpad.withUnsafeMutableBufferPointer { ps in
            for s in 0..<n {
                let g = gs.baseAddress! + s * outChannels * hw
                let d = dxs.baseAddress! + s * inChannels * hw
                if kernel == 1 {
                    sgemm(transA: true, m: inChannels, n: hw, k: outChannels, ws.baseAddress!, lda: kk,
                          g, ldb: hw, d, ldc: hw)
                    continue
                }
                sgemm(transA: true, m: kk, n: hw, k: outChannels, ws.baseAddress!, lda: kk,
                      g, ldb: hw, cs.baseAddress!, ldc: hw)
                col2im(cs.baseAddress!, h: h, w: w, ps.baseAddress!)
                Pad2D(pad: pad, mode: padding).backward(ps.baseAddress!, d, planes: inChannels, h: h, w: w)
            }
        }}}}}
        return dx
    }

    /// dL/dweight and dL/dbias from the layer's input and dL/dy, summed over the batch.
    public func backwardWeights(input x: Tensor, gradOutput dy: Tensor) throws -> (weight: Tensor, bias: Tensor) {
        try x.requireNCHW(channels: inChannels, "conv backward")
        guard dy.shape == [x.n, outChannels, x.h, x.w] else {
            throw TensorError.shapeMismatch("conv backward: gradient \(dy.shape) does not fit input \(x.shape)")
        }
        let (n, h, w) = (x.n, x.h, x.w), hw = h * w, kk = inChannels * kernel * kernel
        var dW = Tensor(zeros: weight.shape), db = Tensor(zeros: bias.shape)
        let unfold = Unfolder(self, h: h, w: w)
        x.data.withUnsafeBufferPointer { xs in
        dy.data.withUnsafeBufferPointer { gs in
        dW.data.withUnsafeMutableBufferPointer { dws in
        db.data.withUnsafeMutableBufferPointer { dbs in
            for s in 0..<n {
                let g = gs.baseAddress! + s * outChannels * hw
                let columns = unfold.columns(xs.baseAddress! + s * inChannels * hw)
                sgemm(transB: true, m: outChannels, n: kk, k: hw, g, lda: hw, columns, ldb: hw,
                      beta: 1, dws.baseAddress!, ldc: kk)
                for c in 0..<outChannels {
                    var acc: Float = 0
                    let row = g + c * hw
                    for j in 0..<hw { acc += row[j] }
                    dbs[c] += acc
                }
            }
        }}}}
        return (dW, db)
    }
}
