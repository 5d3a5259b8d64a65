import TxnTensor

/// The generator of a texture network (see `TexNetArchitecture`), fully convolutional: it makes any size the
/// noise pyramid can (`TexNetArchitecture.sizeProblem`). State-dict names, as `scripts/texnet.py` declares the same
/// module: `noise.{k}` the block of scale k's noise (k = 0 the coarsest), `join.{k}.deep` / `join.{k}.noise` the
/// normalisations before the (k+1)-th join, `merge.{k}` the block after it, `to_rgb` the final 1×1 convolution.
public final class TextureNetwork: @unchecked Sendable {
    public let architecture: TexNetArchitecture
    let noiseBlocks: [ConvBlock]
    let joinDeep: [NormLayer]
    let joinNoise: [NormLayer]
    let mergeBlocks: [ConvBlock]
    let toRGB: ConvUnit

    init(architecture: TexNetArchitecture, noiseBlocks: [ConvBlock], joinDeep: [NormLayer], joinNoise: [NormLayer],
         mergeBlocks: [ConvBlock], toRGB: ConvUnit) {
        (self.architecture, self.noiseBlocks, self.joinDeep, self.joinNoise, self.mergeBlocks, self.toRGB) =
            (architecture, noiseBlocks, joinDeep, joinNoise, mergeBlocks, toRGB)
    }

    /// Fresh weights (PyTorch's default initialisation, from `rng`); the final bias starts at `outputMean` (the
    /// source's mean colour), so that the first images are already about the right colour.
    public convenience init(_ a: TexNetArchitecture, rng: inout SplitMix64, outputMean: [Float] = [0.5, 0.5, 0.5]) {
        precondition(outputMean.count == 3)
        var noise: [ConvBlock] = [], deep: [NormLayer] = [], fresh: [NormLayer] = [], merge: [ConvBlock] = []
        for k in 0..<a.scales {
            noise.append(ConvBlock(inChannels: a.noiseChannels, outChannels: a.width, norm: a.normalisation, rng: &rng))
            if k > 0 {
                deep.append(NormLayer(a.normalisation, channels: a.joinedChannels(k - 1)))
                fresh.append(NormLayer(a.normalisation, channels: a.width))
                merge.append(ConvBlock(inChannels: a.joinedChannels(k), outChannels: a.joinedChannels(k), norm: a.normalisation, rng: &rng))
            }
        }
        let rgb = ConvUnit(inChannels: a.joinedChannels(a.scales - 1), outChannels: 3, kernel: 1, norm: nil, rng: &rng)
        rgb.conv.bias.value = outputMean
        self.init(architecture: a, noiseBlocks: noise, joinDeep: deep, joinNoise: fresh, mergeBlocks: merge, toRGB: rgb)
    }

    /// Parameters under their state-dict names, in the PyTorch module's `named_parameters()` order.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        var out: [(String, Parameter)] = []
        for (k, b) in noiseBlocks.enumerated() { out += b.namedParameters("noise.\(k)") }
        for k in joinDeep.indices {
            out += [("join.\(k).deep.weight", joinDeep[k].weight), ("join.\(k).deep.bias", joinDeep[k].bias),
                    ("join.\(k).noise.weight", joinNoise[k].weight), ("join.\(k).noise.bias", joinNoise[k].bias)]
        }
        for (k, b) in mergeBlocks.enumerated() { out += b.namedParameters("merge.\(k)") }
        return out + toRGB.namedParameters("to_rgb", normPrefix: "")
    }

    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.parameter.count } }

    func checkNoise(_ noise: [ChannelMajor]) throws {
        let a = architecture
        guard noise.count == a.scales, let finest = noise.last else {
            throw TexNetError("the generator takes \(a.scales) noise scales, got \(noise.count)")
        }
        if let problem = a.sizeProblem(width: finest.width, height: finest.height) { throw TexNetError(problem) }
        for (k, z) in noise.enumerated() {
            let (h, w) = (a.noiseSide(finest.height, scale: k), a.noiseSide(finest.width, scale: k))
            guard z.channels == a.noiseChannels, z.batch == finest.batch, z.height == h, z.width == w else {
                throw TexNetError("noise scale \(k) is \(z.channels)x\(z.batch)x\(z.height)x\(z.width); expected "
                    + "\(a.noiseChannels)x\(finest.batch)x\(h)x\(w)")
            }
        }
    }

    /// What a training forward keeps for backward.
    public struct Trace {
        var noiseTraces: [[ConvUnit.Trace]] = []
        var deepSaved: [NormLayer.Saved] = [], noiseSaved: [NormLayer.Saved] = []
        var mergeTraces: [[ConvUnit.Trace]] = []
        var rgbTrace: ConvUnit.Trace? = nil
        /// The images, [3][N][H][W], in the source's range (about [0, 1]) but not clamped.
        public var output: ChannelMajor { rgbTrace!.output }
    }

    /// Training mode (batch norm: batch statistics, running statistics updated). `noise` coarse to fine.
    public func forwardTraining(_ noise: [ChannelMajor], padding: PaddingMode) throws -> Trace {
        try checkNoise(noise)
        var t = Trace()
        t.noiseTraces.append(try noiseBlocks[0].forwardTraining(noise[0], padding: padding))
        var a = t.noiseTraces[0].last!.output
        for k in 1..<architecture.scales {
            var deep = NearestUpsample.forward(a)
            let traces = try noiseBlocks[k].forwardTraining(noise[k], padding: padding)
            var fresh = traces.last!.output
            t.noiseTraces.append(traces)
            t.deepSaved.append(try joinDeep[k - 1].forwardTraining(&deep, then: nil))
            t.noiseSaved.append(try joinNoise[k - 1].forwardTraining(&fresh, then: nil))
            t.mergeTraces.append(try mergeBlocks[k - 1].forwardTraining(try Self.concat(deep, fresh), padding: padding))
            a = t.mergeTraces.last!.last!.output
        }
        t.rgbTrace = try toRGB.forwardTraining(a, padding: padding)
        return t
    }

    /// Evaluation mode: the images of `noise` (coarse to fine), [3][N][H][W], not clamped. Throws when a layer's
    /// values are not finite (weights out of any sensible range).
    public func generate(_ noise: [ChannelMajor], padding: PaddingMode) throws -> ChannelMajor {
        try checkNoise(noise)
        func finite(_ x: ChannelMajor, _ what: String) throws -> ChannelMajor {
            guard x.data.allSatisfy({ $0.isFinite }) else {
                throw TexNetError("the texture network's \(what) makes values that are not finite (NaN or infinite): its weights are out of any sensible range")
            }
            return x
        }
        var a = try finite(try noiseBlocks[0].forwardEvaluation(noise[0], padding: padding), "coarsest block")
        for k in 1..<architecture.scales {
            var deep = NearestUpsample.forward(a)
            a = ChannelMajor(zeros: 0, batch: 0, height: 0, width: 0)  // freed before the finer scale's maps
            var fresh = try noiseBlocks[k].forwardEvaluation(noise[k], padding: padding)
            try joinDeep[k - 1].forwardEvaluation(&deep, then: nil)
            try joinNoise[k - 1].forwardEvaluation(&fresh, then: nil)
            let joined = try Self.concat(deep, fresh)
            deep = ChannelMajor(zeros: 0, batch: 0, height: 0, width: 0)
            fresh = deep
            a = try finite(try mergeBlocks[k - 1].forwardEvaluation(joined, padding: padding), "scale \(k)")
        }
        return try finite(try toRGB.forwardEvaluation(a, padding: padding), "output")
    }

    /// Accumulates every parameter's gradient from dL/d(images).
    public func backward(_ dOutput: ChannelMajor, trace t: Trace, padding: PaddingMode) throws {
        var grad = try toRGB.backward(dOutput, trace: t.rgbTrace!, padding: padding, data: true)!
        for k in stride(from: architecture.scales - 1, through: 1, by: -1) {
            let dJoined = try mergeBlocks[k - 1].backward(grad, traces: t.mergeTraces[k - 1], padding: padding, inputGradient: true)!
            var (dDeep, dFresh) = try Self.split(dJoined, first: architecture.joinedChannels(k - 1))
            joinNoise[k - 1].backward(&dFresh, saved: t.noiseSaved[k - 1], after: nil, output: nil)
            _ = try noiseBlocks[k].backward(dFresh, traces: t.noiseTraces[k], padding: padding, inputGradient: false)
            joinDeep[k - 1].backward(&dDeep, saved: t.deepSaved[k - 1], after: nil, output: nil)
            grad = try NearestUpsample.backward(dDeep)
        }
        _ = try noiseBlocks[0].backward(grad, traces: t.noiseTraces[0], padding: padding, inputGradient: false)
    }

    /// Channel concatenation: channel-major batches are channel after channel, so it is the two arrays one after
    /// the other.
    static func concat(_ a: ChannelMajor, _ b: ChannelMajor) throws -> ChannelMajor {
        guard a.batch == b.batch, a.height == b.height, a.width == b.width else {
            throw TensorError.shapeMismatch("join: \(a.batch)x\(a.height)x\(a.width) and \(b.batch)x\(b.height)x\(b.width)")
        }
        return try ChannelMajor(channels: a.channels + b.channels, batch: a.batch, height: a.height, width: a.width, data: a.data + b.data)
    }

    /// The adjoint of `concat`: the gradient of the first `first` channels and of the rest.
    static func split(_ x: ChannelMajor, first: Int) throws -> (ChannelMajor, ChannelMajor) {
        let cut = first * x.rowLength
        return (try ChannelMajor(channels: first, batch: x.batch, height: x.height, width: x.width, data: Array(x.data[..<cut])),
                try ChannelMajor(channels: x.channels - first, batch: x.batch, height: x.height, width: x.width, data: Array(x.data[cut...])))
    }
}
