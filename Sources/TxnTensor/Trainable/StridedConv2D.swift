/// A k×k convolution with stride and zero padding over a channel-major batch (PyTorch's `Conv2d`, weight
/// [out, in, k, k]), as the discriminator uses it: forward, backward-data and backward-weights side by side.
///
/// forward:          y = W · unfold(x) + b                       [O, N·Ho·Wo]
/// backward data:    dx = fold(Wᵀ · dy)
/// backward weights: dW += dy · unfold(x)ᵀ,  db += Σ dy
public struct StridedConv2D: PatchLayer, Sendable {
    public static let isTransposed = false

    public let weight: Parameter
    public let bias: Parameter
    public let geometry: PatchGeometry

    var patchRows: Int { inChannels * geometry.kernel * geometry.kernel }

    public init(weight: Parameter, bias: Parameter, geometry: PatchGeometry) throws {
        try Self.checkParameters(weight: weight, bias: bias, geometry: geometry)
        (self.weight, self.bias, self.geometry) = (weight, bias, geometry)
    }

    private func columns(_ x: ChannelMajor) -> [Float] {
        let (ho, wo) = outputSize(height: x.height, width: x.width)
        var col = unfilledFloats(patchRows * x.batch * ho * wo)  // unfold writes every entry
        x.data.withUnsafeBufferPointer { xs in
            col.withUnsafeMutableBufferPointer { cs in
                geometry.unfold(xs.baseAddress!, channels: inChannels, batch: x.batch, height: x.height, width: x.width,
                                into: cs.baseAddress!)
            }
        }
        return col
    }

    /// y = W · unfold(x) + b, then `activation` (if any) in the bias's pass.
    public func forward(_ x: ChannelMajor, then activation: PointwiseActivation? = nil) throws -> ChannelMajor {
        try forwardKeepingInput(x, then: activation).output
    }

    /// What a training forward keeps of its input for the weight gradient, so that backward does not convert
    /// the same input again: unfold(x) on the GEMM path, x in oneDNN's blocked layout on the primitive path.
    public struct KeptInput: Sendable {
        let columns: [Float]?
        let blocked: [Float]?
    }

    /// `forward`, also returning what `backward(_:input:kept:…)` needs of the input for the weight gradient.
    /// `primitives: false` keeps to the GEMM path (tests compare the two).
    public func forwardKeepingInput(_ x: ChannelMajor, then activation: PointwiseActivation? = nil,
                                    primitives: Bool = true) throws -> (output: ChannelMajor, kept: KeptInput) {
        guard x.channels == inChannels else {
            throw TensorError.shapeMismatch("convolution expects \(inChannels) channels, got \(x.channels)")
        }
        let (ho, wo) = outputSize(height: x.height, width: x.width)
        guard ho > 0, wo > 0 else {
            throw TensorError.invalidArgument("a \(x.height)x\(x.width) input is too small for a \(geometry.kernel)x\(geometry.kernel) convolution")
        }
        if primitives, let k = self.primitives(batch: x.batch, height: x.height, width: x.width) {
            let xb = try x.data.withUnsafeBufferPointer { try k.blockedSource($0.baseAddress!) }
            let yb = try weight.value.withUnsafeBufferPointer { w in
                try bias.value.withUnsafeBufferPointer { b in try k.forward(source: xb, weights: w.baseAddress!, bias: b.baseAddress!) }
            }
            var y = ChannelMajor(unfilled: outChannels, batch: x.batch, height: ho, width: wo)  // the reorder writes all
            try y.data.withUnsafeMutableBufferPointer { try k.plainDestination(yb, into: $0.baseAddress!) }
            if let activation { Activation.apply(activation, &y) }
            return (y, KeptInput(columns: nil, blocked: xb))
        }
        let (y, col) = try forwardKeepingColumns(x, then: activation)
        return (y, KeptInput(columns: col, blocked: nil))
    }

    /// The GEMM path's backward for one layer, or the primitives' where they apply: accumulates the weight
    /// gradients when `weights`, returns dL/dx when `data` (through `activation`, as `backwardData` does).
    public func backward(_ dy: ChannelMajor, input x: ChannelMajor, kept: KeptInput?, weights: Bool, data: Bool,
                         through activation: PointwiseActivation? = nil, output: ChannelMajor? = nil,
                         primitives: Bool = true) throws -> ChannelMajor? {
        let (ho, wo) = outputSize(height: x.height, width: x.width)
        guard x.channels == inChannels, dy.channels == outChannels, dy.batch == x.batch, dy.height == ho, dy.width == wo else {
            throw TensorError.shapeMismatch("convolution backward: gradient does not fit the input")
        }
        guard primitives, let k = self.primitives(batch: x.batch, height: x.height, width: x.width) else {
            if weights {
                if let columns = kept?.columns {
                    try backwardWeights(columns: columns, gradOutput: dy)
                } else {
                    try backwardWeights(input: x, gradOutput: dy)
                }
            }
            guard data else { return nil }
            return try backwardData(dy, inputHeight: x.height, inputWidth: x.width, through: activation, output: output)
        }
        if let output, output.channels != inChannels || output.batch != dy.batch || output.height != x.height || output.width != x.width {
            throw TensorError.shapeMismatch("convolution backward: activation output does not fit the input")
        }
        guard (activation == nil) == (output == nil) else {
            throw TensorError.invalidArgument("convolution backward: an activation needs its output")
        }
        guard var dx = try k.backward(gradOutput: dy, input: x, blockedInput: kept?.blocked, inChannels: inChannels,
                                      weight: weight, bias: bias, weights: weights, data: data) else { return nil }
        if let activation, let output { Activation.applyGradient(activation, &dx, output: output) }
        return dx
    }

    /// `forward`, also returning unfold(x), which `backwardWeights(columns:gradOutput:)` takes instead of
    /// unfolding the same input again.
    public func forwardKeepingColumns(_ x: ChannelMajor, then activation: PointwiseActivation? = nil) throws
        -> (output: ChannelMajor, columns: [Float]) {
        guard x.channels == inChannels else {
            throw TensorError.shapeMismatch("convolution expects \(inChannels) channels, got \(x.channels)")
        }
        let (ho, wo) = outputSize(height: x.height, width: x.width)
        guard ho > 0, wo > 0 else {
            throw TensorError.invalidArgument("a \(x.height)x\(x.width) input is too small for a \(geometry.kernel)x\(geometry.kernel) convolution")
        }
        let col = columns(x)
        var y = ChannelMajor(unfilled: outChannels, batch: x.batch, height: ho, width: wo)  // β = 0
        let n = y.rowLength
        weight.value.withUnsafeBufferPointer { w in
            col.withUnsafeBufferPointer { c in
                y.data.withUnsafeMutableBufferPointer { out in
                    LayerGEMM.sgemm(m: outChannels, n: n, k: patchRows, w.baseAddress!, lda: patchRows, c.baseAddress!, ldb: n,
                          out.baseAddress!, ldc: n)
                }
            }
        }
        y.addChannelBias(bias.value, then: activation)
        return (y, col)
    }

    /// dL/dx for an input of the given size, from dL/dy. With `activation`, the gradient is taken on back through
    /// the activation that produced the input (`output` is that input), in the same pass.
    ///
    /// One product for the whole batch, then the fold. Computing it in cache-sized bands instead, as the transposed
    /// convolution's forward does (the same computation), measured slower here: 1.85 against 1.69 s per seed
    /// training iteration (txn bench gan, 2 threads, medians of 5, A/B in one binary, twice each).
    public func backwardData(_ dy: ChannelMajor, inputHeight h: Int, inputWidth w: Int,
                             through activation: PointwiseActivation? = nil, output: ChannelMajor? = nil) throws -> ChannelMajor {
        if let output, output.channels != inChannels || output.batch != dy.batch || output.height != h || output.width != w {
            throw TensorError.shapeMismatch("convolution backward: activation output does not fit a \(h)x\(w) input")
        }
        guard (activation == nil) == (output == nil) else {
            throw TensorError.invalidArgument("convolution backward: an activation needs its output")
        }
        let (ho, wo) = outputSize(height: h, width: w)
        guard dy.channels == outChannels, dy.height == ho, dy.width == wo else {
            throw TensorError.shapeMismatch("convolution backward: gradient \(dy.channels)x\(dy.height)x\(dy.width) does not fit a \(h)x\(w) input")
        }
        let n = dy.rowLength
        var dcol = unfilledFloats(patchRows * n)  // β = 0
        var dx = ChannelMajor(unfilled: inChannels, batch: dy.batch, height: h, width: w)  // fold clears each plane
        weight.value.withUnsafeBufferPointer { wv in
            dy.data.withUnsafeBufferPointer { g in
                dcol.withUnsafeMutableBufferPointer { c in
                    LayerGEMM.sgemm(transA: true, m: patchRows, n: n, k: outChannels, wv.baseAddress!, lda: patchRows,
                          g.baseAddress!, ldb: n, c.baseAddress!, ldc: n)
                    dx.data.withUnsafeMutableBufferPointer { d in
                        (output?.data ?? []).withUnsafeBufferPointer { y in
                            geometry.fold(c.baseAddress!, channels: inChannels, batch: dy.batch, height: h, width: w,
                                          into: d.baseAddress!, through: activation, output: output == nil ? nil : y.baseAddress!)
                        }
                    }
                }
            }
        }
        return dx
    }

    /// Accumulates dL/dW and dL/db into the parameters' gradients.
    public func backwardWeights(input x: ChannelMajor, gradOutput dy: ChannelMajor) throws {
        let (ho, wo) = outputSize(height: x.height, width: x.width)
        guard x.channels == inChannels, dy.channels == outChannels, dy.batch == x.batch, dy.height == ho, dy.width == wo else {
            throw TensorError.shapeMismatch("convolution backward: gradient does not fit the input")
        }
        try backwardWeights(columns: columns(x), gradOutput: dy)
    }

    /// Accumulates dL/dW and dL/db from unfold(input), as `forwardKeepingColumns` returned it.
    public func backwardWeights(columns col: [Float], gradOutput dy: ChannelMajor) throws {
        let n = dy.rowLength
        guard dy.channels == outChannels, col.count == patchRows * n else {
            throw TensorError.shapeMismatch("convolution backward: gradient does not fit the input's columns")
        }
        dy.data.withUnsafeBufferPointer { g in
            col.withUnsafeBufferPointer { c in
                weight.gradient.withUnsafeMutableBufferPointer { dw in
                    LayerGEMM.sgemm(transB: true, m: outChannels, n: patchRows, k: n, g.baseAddress!, lda: n, c.baseAddress!, ldb: n,
                          beta: 1, dw.baseAddress!, ldc: patchRows)
                }
            }
        }
        bias.accumulate(dy.channelSums())
    }
}
