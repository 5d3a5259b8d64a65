import TxnCheckpoint
import TxnTensor

/// A normalisation layer of the generator, batch or instance (PyTorch's `BatchNorm2d` / `InstanceNorm2d(affine=True)`).
enum NormLayer {
    case batch(BatchNorm2D)
    case instance(InstanceNorm2D)

    init(_ kind: TexNetNormalisation, channels: Int) {
        switch kind {
        case .batch: self = .batch(BatchNorm2D(channels: channels))
        case .instance: self = .instance(InstanceNorm2D(channels: channels))
        }
    }

    enum Saved {
        case batch(BatchNorm2D.Saved)
        case instance(InstanceNorm2D.Saved)
    }

    var weight: Parameter {
        switch self { case .batch(let n): return n.weight; case .instance(let n): return n.weight }
    }
    var bias: Parameter {
        switch self { case .batch(let n): return n.bias; case .instance(let n): return n.bias }
    }

    func forwardTraining(_ x: inout ChannelMajor, then activation: PointwiseActivation?) throws -> Saved {
        switch self {
        case .batch(let n): return .batch(try n.forwardTraining(&x, then: activation))
        case .instance(let n): return .instance(try n.forward(&x, then: activation))
        }
    }

    func forwardEvaluation(_ x: inout ChannelMajor, then activation: PointwiseActivation?) throws {
        switch self {
        case .batch(let n): try n.forwardEvaluation(&x, then: activation)
        case .instance(let n): _ = try n.forward(&x, then: activation)
        }
    }

    func backward(_ grad: inout ChannelMajor, saved: Saved, after activation: PointwiseActivation?, output: ChannelMajor?) {
        switch (self, saved) {
        case (.batch(let n), .batch(let s)): n.backward(&grad, saved: s, after: activation, output: output)
        case (.instance(let n), .instance(let s)): n.backward(&grad, saved: s, after: activation, output: output)
        default: preconditionFailure("normalisation backward with another kind's saved state")
        }
    }

    /// The state dict under `prefix`: weight and bias, and for batch norm its running statistics.
    func stateEntries(_ prefix: String) -> [CheckpointEntry] {
        switch self {
        case .batch(let n):
            let c = n.channels
            return [CheckpointEntry(prefix + ".weight", shape: [c], floats: n.weight.value),
                    CheckpointEntry(prefix + ".bias", shape: [c], floats: n.bias.value),
                    CheckpointEntry(prefix + ".running_mean", shape: [c], floats: n.runningMean),
                    CheckpointEntry(prefix + ".running_var", shape: [c], floats: n.runningVar),
                    CheckpointEntry(prefix + ".num_batches_tracked", shape: [], integers: [n.batchesTracked])]
        case .instance(let n):
            return [CheckpointEntry(prefix + ".weight", shape: [n.channels], floats: n.weight.value),
                    CheckpointEntry(prefix + ".bias", shape: [n.channels], floats: n.bias.value)]
        }
    }

    static func keys(_ kind: TexNetNormalisation, prefix: String) -> [String] {
        let names = kind == .batch ? ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"] : ["weight", "bias"]
        return names.map { prefix + "." + $0 }
    }
}

/// One convolution of the generator, stride 1 with "same" size (3×3 padded by one pixel in the run's padding mode,
/// or 1×1), followed by normalisation and LeakyReLU, or by nothing for the final one to RGB.
final class ConvUnit {
    let conv: StridedConv2D
    let norm: NormLayer?

    var kernel: Int { conv.geometry.kernel }
    var pad: Int { kernel / 2 }

    init(conv: StridedConv2D, norm: NormLayer?) { (self.conv, self.norm) = (conv, norm) }

    /// PyTorch's default `Conv2d` initialisation: weights and biases uniform in ±1/√fan_in.
    convenience init(inChannels: Int, outChannels: Int, kernel: Int, norm: TexNetNormalisation?, rng: inout SplitMix64) {
        let shape = [outChannels, inChannels, kernel, kernel]
        let bound = 1 / Float(inChannels * kernel * kernel).squareRoot()
        func uniform(_ n: Int) -> [Float] { (0..<n).map { _ in bound * (2 * rng.nextUnit() - 1) } }
        let w = Parameter(shape: shape, value: uniform(shape.reduce(1, *)))
        let b = Parameter(shape: [outChannels], value: uniform(outChannels))
        let conv = try! StridedConv2D(weight: w, bias: b, geometry: PatchGeometry(kernel: kernel, stride: 1, padding: 0))
        self.init(conv: conv, norm: norm.map { NormLayer($0, channels: outChannels) })
    }

    /// What a training forward keeps for backward.
    struct Trace {
        /// The convolution's input, padded.
        var input: ChannelMajor
        var kept: StridedConv2D.KeptInput
        var saved: NormLayer.Saved?
        /// After the activation.
        var output: ChannelMajor
        var inputHeight: Int, inputWidth: Int
    }

    private func padded(_ x: ChannelMajor, _ mode: PaddingMode) throws -> ChannelMajor {
        pad == 0 ? x : try x.padded(Pad2D(pad: pad, mode: mode))
    }

    func forwardTraining(_ x: ChannelMajor, padding mode: PaddingMode) throws -> Trace {
        let input = try padded(x, mode)
        let r = try conv.forwardKeepingInput(input)
        var y = r.output
        let saved = try norm?.forwardTraining(&y, then: TexNetArchitecture.activation)
        return Trace(input: input, kept: r.kept, saved: saved, output: y, inputHeight: x.height, inputWidth: x.width)
    }

    func forwardEvaluation(_ x: ChannelMajor, padding mode: PaddingMode) throws -> ChannelMajor {
        var y = try conv.forward(try padded(x, mode))
        try norm?.forwardEvaluation(&y, then: TexNetArchitecture.activation)
        return y
    }

    /// From dL/d(output) (after the activation): accumulates the parameters' gradients and, with `data`, returns
    /// dL/d(input).
    func backward(_ dy: ChannelMajor, trace: Trace, padding mode: PaddingMode, data: Bool) throws -> ChannelMajor? {
        var grad = dy
        if let norm, let saved = trace.saved {
            norm.backward(&grad, saved: saved, after: TexNetArchitecture.activation, output: trace.output)
        }
        guard let dPadded = try conv.backward(grad, input: trace.input, kept: trace.kept, weights: true, data: data) else { return nil }
        return pad == 0 ? dPadded
            : try dPadded.unpaddedGradient(Pad2D(pad: pad, mode: mode), height: trace.inputHeight, width: trace.inputWidth)
    }

    func namedParameters(_ prefix: String, normPrefix: String) -> [(name: String, parameter: Parameter)] {
        var out: [(String, Parameter)] = [(prefix + ".weight", conv.weight), (prefix + ".bias", conv.bias)]
        if let norm { out += [(normPrefix + ".weight", norm.weight), (normPrefix + ".bias", norm.bias)] }
        return out
    }
}

/// Three units, 3×3, 3×3 and 1×1, each with its normalisation and LeakyReLU (the paper's convolution block).
/// State-dict names: `conv1`/`norm1`, `conv2`/`norm2`, `conv3`/`norm3`.
final class ConvBlock {
    let units: [ConvUnit]
    static let kernels = [3, 3, 1]

    init(units: [ConvUnit]) { self.units = units }

    convenience init(inChannels: Int, outChannels: Int, norm: TexNetNormalisation, rng: inout SplitMix64) {
        var units: [ConvUnit] = []
        for (i, k) in Self.kernels.enumerated() {
            units.append(ConvUnit(inChannels: i == 0 ? inChannels : outChannels, outChannels: outChannels, kernel: k,
                                  norm: norm, rng: &rng))
        }
        self.init(units: units)
    }

    var outChannels: Int { units[2].conv.outChannels }

    func forwardTraining(_ x: ChannelMajor, padding: PaddingMode) throws -> [ConvUnit.Trace] {
        var traces: [ConvUnit.Trace] = []
        var a = x
        for u in units {
            let t = try u.forwardTraining(a, padding: padding)
            a = t.output
            traces.append(t)
        }
        return traces
    }

    func forwardEvaluation(_ x: ChannelMajor, padding: PaddingMode) throws -> ChannelMajor {
        var a = x
        for u in units { a = try u.forwardEvaluation(a, padding: padding) }
        return a
    }

    /// From dL/d(block output); dL/d(block input) when `inputGradient` (not for noise, which nothing learns).
    func backward(_ dy: ChannelMajor, traces: [ConvUnit.Trace], padding: PaddingMode, inputGradient: Bool) throws -> ChannelMajor? {
        var grad = dy
        for i in stride(from: units.count - 1, through: 0, by: -1) {
            guard let dx = try units[i].backward(grad, trace: traces[i], padding: padding, data: i > 0 || inputGradient) else { return nil }
            grad = dx
        }
        return grad
    }

    static func unitPrefixes(_ prefix: String) -> [(conv: String, norm: String)] {
        (1...3).map { ("\(prefix).conv\($0)", "\(prefix).norm\($0)") }
    }

    func namedParameters(_ prefix: String) -> [(name: String, parameter: Parameter)] {
        zip(units, Self.unitPrefixes(prefix)).flatMap { u, p in u.namedParameters(p.conv, normPrefix: p.norm) }
    }

    func stateEntries(_ prefix: String) -> [CheckpointEntry] {
        zip(units, Self.unitPrefixes(prefix)).flatMap { u, p -> [CheckpointEntry] in
            [CheckpointEntry(p.conv + ".weight", shape: u.conv.weight.shape, floats: u.conv.weight.value),
             CheckpointEntry(p.conv + ".bias", shape: u.conv.bias.shape, floats: u.conv.bias.value)]
                + (u.norm?.stateEntries(p.norm) ?? [])
        }
    }
}
