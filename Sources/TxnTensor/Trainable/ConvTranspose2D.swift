/// A transposed convolution ("deconvolution", PyTorch's `ConvTranspose2d`, weight [in, out, k, k]) over a
/// channel-major batch, as the generator uses it: the adjoint of `StridedConv2D`'s data path, so forward here is
/// that layer's backward and vice versa.
///
/// forward:          y = fold(Wᵀ · x) + b                  (each input pixel scatters a k×k stamp)
/// backward data:    dx = W · unfold(dy)
/// backward weights: dW += x · unfold(dy)ᵀ,  db += Σ dy
public struct ConvTranspose2D: PatchLayer, Sendable {
    public static let isTransposed = true

    public let weight: Parameter
    public let bias: Parameter
    public let geometry: PatchGeometry

    var stampRows: Int { outChannels * geometry.kernel * geometry.kernel }

    public init(weight: Parameter, bias: Parameter, geometry: PatchGeometry) throws {
        try Self.checkParameters(weight: weight, bias: bias, geometry: geometry)
        (self.weight, self.bias, self.geometry) = (weight, bias, geometry)
    }

    /// On txn's Winograd kernel where it runs this layer (`DNNLStridedConv.transposedForward`), else on the banded
    /// stamps below; `primitives: false` keeps to the stamps.
    public func forward(_ x: ChannelMajor, primitives: Bool = true) throws -> ChannelMajor {
        guard x.channels == inChannels else {
            throw TensorError.shapeMismatch("transposed convolution expects \(inChannels) channels, got \(x.channels)")
        }
        let (ho, wo) = outputSize(height: x.height, width: x.width)
        // The fold below assumes the output's convolution maps back onto exactly the input grid.
        guard ho > 0, wo > 0, geometry.convolvedSize(ho) == x.height, geometry.convolvedSize(wo) == x.width else {
            throw TensorError.invalidArgument("transposed convolution cannot map \(x.height)x\(x.width)")
        }
        if primitives, let k = self.primitives(batch: x.batch, height: x.height, width: x.width),
           let y = try k.transposedForward(x, weight: weight, bias: bias) {
            return y
        }
        var y = ChannelMajor(unfilled: outChannels, batch: x.batch, height: ho, width: wo)
        y.fillChannels(bias.value)  // the stamps add onto the bias
        weight.value.withUnsafeBufferPointer { w in
            x.data.withUnsafeBufferPointer { xs in
                y.data.withUnsafeMutableBufferPointer { out in
                    stampBanded(w.baseAddress!, xs.baseAddress!, batch: x.batch, height: x.height, width: x.width,
                                into: out.baseAddress!, height: ho, width: wo)
                }
            }
        }
        return y
    }

    /// Input rows per band: the stamps of one band, [O·k·k][rows·Wi], take at most about this many Floats.
    ///
    /// Computing Wᵀ · x for the whole batch at once wrote a [O·k·k][N·Hi·Wi] matrix (134 MB at the seed's
    /// 128→64 layer, 268 MB when generating 1024x1024) and read it back to fold it: memory-bound. In bands that
    /// stay in cache the fold reads what the product just wrote, and the peak holds one band instead of the matrix.
    /// `txn bench gan` (seed preset, 2 threads, medians of 5), together with dropping the zero fills of buffers
    /// that are written in full: 2.27 → 2.04 s per iteration, peak RSS 786 → 762 MiB; generation unchanged (0.44 s).
    static let bandFloats = 1 << 19

    /// y += fold(Wᵀ · x), one band of input rows (across samples: rows are contiguous in a channel's row) at a time.
    func stampBanded(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, batch: Int, height hi: Int, width wi: Int,
                     into y: UnsafeMutablePointer<Float>, height ho: Int, width wo: Int) {
        let (k, st, p) = (geometry.kernel, geometry.stride, geometry.padding)
        let rows = batch * hi, n = rows * wi
        let bandRows = max(1, min(rows, Self.bandFloats / max(1, stampRows * wi)))
        var band = unfilledFloats(stampRows * bandRows * wi)
        let outChannels = self.outChannels, stampRows = self.stampRows, inChannels = self.inChannels
        // Every output row: two kernel rows of four interleaved taps each (see PatchGeometry.addInterleaved).
        let halving = geometry.isHalvingKernel && wo == 2 * wi
        band.withUnsafeMutableBufferPointer { bp in
            let col = bp.baseAddress!
            for g0 in stride(from: 0, to: rows, by: bandRows) {
                let g1 = min(rows, g0 + bandRows), cols = (g1 - g0) * wi
                LayerGEMM.sgemm(transA: true, m: stampRows, n: cols, k: inChannels, w, lda: stampRows, x + g0 * wi, ldb: n,
                      col, ldc: cols)
                // Output rows (global over samples, G = s·Ho + oy) that this band's stamps reach; each task owns
                // whole output rows, so no two threads add into one pixel.
                let first = (g0 / hi) * ho + max(0, (g0 % hi) * st - p)
                let last = ((g1 - 1) / hi) * ho + min(ho - 1, ((g1 - 1) % hi) * st - p + k - 1)
                let span = last - first + 1
                parallelRanges(outChannels * span, minChunk: 8) { r in
                    for item in r {
                        let o = item / span, gOut = first + item % span
                        let s = gOut / ho, oy = gOut % ho
                        let line = y + (o * batch + s) * ho * wo + oy * wo
                        for ky in 0..<k {
                            let t = oy + p - ky
                            guard t >= 0, t % st == 0 else { continue }
                            let iy = t / st
                            guard iy < hi else { continue }
                            let g = s * hi + iy
                            guard g >= g0, g < g1 else { continue }
                            if halving {
                                let src = col + (o * k + ky) * k * cols + (g - g0) * wi
                                PatchGeometry.addInterleaved(line, src, src + cols, src + 2 * cols, src + 3 * cols, count: wi)
                                continue
                            }
                            for kx in 0..<k {
                                let valid = geometry.validOutputs(tap: kx, inputSize: wo, outputs: wi)
                                let src = col + ((o * k + ky) * k + kx) * cols + (g - g0) * wi
                                let dst = line + kx - p
                                for ix in valid { dst[ix * st] += src[ix] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Both backward passes of one layer: accumulates dL/dW and dL/db, and returns dL/dx when `data`. On oneDNN's
    /// primitives where they apply (they measured faster than the products on the gradient columns and need no
    /// unfold, see `DNNLStridedConv`), else on the columns. `primitives: false` keeps to the GEMM path.
    public func backward(_ dy: ChannelMajor, input x: ChannelMajor, data: Bool, primitives: Bool = true) throws -> ChannelMajor? {
        let (ho, wo) = outputSize(height: x.height, width: x.width)
        guard x.channels == inChannels, dy.channels == outChannels, dy.batch == x.batch, dy.height == ho, dy.width == wo else {
            throw TensorError.shapeMismatch("transposed convolution backward: gradient does not fit the input")
        }
        guard primitives, let k = self.primitives(batch: x.batch, height: x.height, width: x.width) else {
            let columns = try gradientColumns(dy)
            backwardWeights(input: x, columns: columns, gradOutput: dy)
            return data ? backwardData(columns: columns, batch: x.batch, inputHeight: x.height, inputWidth: x.width) : nil
        }
        return try k.backward(gradOutput: dy, input: x, inChannels: inChannels, weight: weight, bias: bias, data: data)
    }

    /// unfold(dy): [O·k·k, N·Hi·Wi], shared by both backward products.
    public func gradientColumns(_ dy: ChannelMajor) throws -> [Float] {
        guard dy.channels == outChannels else {
            throw TensorError.shapeMismatch("transposed convolution backward: gradient has \(dy.channels) channels, expected \(outChannels)")
        }
        let hi = geometry.convolvedSize(dy.height), wi = geometry.convolvedSize(dy.width)
        var col = unfilledFloats(stampRows * dy.batch * hi * wi)  // unfold writes every entry
        dy.data.withUnsafeBufferPointer { g in
            col.withUnsafeMutableBufferPointer { c in
                geometry.unfold(g.baseAddress!, channels: outChannels, batch: dy.batch, height: dy.height,
                                width: dy.width, into: c.baseAddress!)
            }
        }
        return col
    }

    /// dL/dx from the gradient columns of dL/dy.
    public func backwardData(columns col: [Float], batch: Int, inputHeight h: Int, inputWidth w: Int) -> ChannelMajor {
        var dx = ChannelMajor(unfilled: inChannels, batch: batch, height: h, width: w)  // β = 0
        let n = dx.rowLength
        precondition(col.count == stampRows * n, "gradient columns do not fit a \(h)x\(w) input")
        weight.value.withUnsafeBufferPointer { wv in
            col.withUnsafeBufferPointer { c in
                dx.data.withUnsafeMutableBufferPointer { d in
                    LayerGEMM.sgemm(m: inChannels, n: n, k: stampRows, wv.baseAddress!, lda: stampRows, c.baseAddress!, ldb: n,
                          d.baseAddress!, ldc: n)
                }
            }
        }
        return dx
    }

    /// Accumulates dL/dW (from the input and the gradient columns) and dL/db.
    public func backwardWeights(input x: ChannelMajor, columns col: [Float], gradOutput dy: ChannelMajor) {
        let n = x.rowLength
        precondition(x.channels == inChannels && col.count == stampRows * n)
        x.data.withUnsafeBufferPointer { xs in
            col.withUnsafeBufferPointer { c in
                weight.gradient.withUnsafeMutableBufferPointer { dw in
                    LayerGEMM.sgemm(transB: true, m: inChannels, n: stampRows, k: n, xs.baseAddress!, lda: n, c.baseAddress!,
                          ldb: n, beta: 1, dw.baseAddress!, ldc: stampRows)
                }
            }
        }
        bias.accumulate(dy.channelSums())
    }
}
