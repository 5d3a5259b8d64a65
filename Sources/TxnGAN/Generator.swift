import TxnTensor

/// The generator: transposed convolutions, each but the last followed by batch norm and ReLU, the last by tanh.
/// Its state-dict keys are the seed's `nn.Sequential` indices: convolution i is `generate.{3i}`, its batch norm
/// `generate.{3i+1}` (ReLU and tanh hold no parameters).
public final class Generator: @unchecked Sendable {
    public let channels: [Int]
    let convolutions: [ConvTranspose2D]
    let norms: [BatchNorm2D]
    /// PSGAN's periodic noise (its MLP is trained with the generator), or nil for the seed's all-local noise.
    public let periodic: PeriodicNoise?

    /// Fresh weights: convolution weights N(0, 0.02), biases 0, batch norm γ = 1, β = 0; then, with `noise`, the
    /// periodic noise's MLP (its layout must cover the `channels[0]` noise channels).
    public init(channels: [Int], rng: inout SplitMix64, noise: NoiseLayout? = nil) {
        precondition(noise.map { $0.channels == channels[0] } ?? true, "noise layout \(noise!) for \(channels[0]) channels")
        self.channels = channels
        var convs: [ConvTranspose2D] = []
        for i in 0..<(channels.count - 1) {
            let shape = [channels[i], channels[i + 1], 4, 4]
            let w = Parameter(shape: shape, value: (0..<shape.reduce(1, *)).map { _ in rng.nextGaussian() * GANArchitecture.initialStd })
            convs.append(try! ConvTranspose2D(weight: w, bias: Parameter(zeros: [channels[i + 1]]), geometry: GANArchitecture.geometry))
        }
        convolutions = convs
        norms = channels[1..<(channels.count - 1)].map { BatchNorm2D(channels: $0) }
        periodic = noise.map { PeriodicNoise(layout: $0, rng: &rng) }
    }

    init(channels: [Int], convolutions: [ConvTranspose2D], norms: [BatchNorm2D], periodic: PeriodicNoise? = nil) {
        (self.channels, self.convolutions, self.norms, self.periodic) = (channels, convolutions, norms, periodic)
    }

    public var noiseChannels: Int { channels[0] }
    public var scale: Int { 1 << convolutions.count }

    /// Parameters under their state-dict names, in `named_parameters()` order.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        var out: [(String, Parameter)] = []
        for (i, conv) in convolutions.enumerated() {
            out.append(("generate.\(3 * i).weight", conv.weight))
            out.append(("generate.\(3 * i).bias", conv.bias))
            if i < norms.count {
                out.append(("generate.\(3 * i + 1).weight", norms[i].weight))
                out.append(("generate.\(3 * i + 1).bias", norms[i].bias))
            }
        }
        return out + (periodic?.namedParameters ?? [])
    }

    /// Batch norms under their state-dict prefixes (`generate.{3i+1}`).
    var namedNorms: [(prefix: String, norm: BatchNorm2D)] {
        norms.enumerated().map { ("generate.\(3 * $0.offset + 1)", $0.element) }
    }

    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.parameter.count } }

    /// What a training forward keeps for backward.
    public struct Trace: Sendable {
        /// Input of each convolution (the noise, then each ReLU output).
        var inputs: [ChannelMajor]
        var normalised: [BatchNorm2D.Saved]
        /// The image, tanh of the last convolution, in [−1, 1].
        public var output: ChannelMajor
    }

    /// Training mode (batch statistics; running statistics updated).
    public func forwardTraining(_ z: ChannelMajor) throws -> Trace {
        var inputs: [ChannelMajor] = [z], saved: [BatchNorm2D.Saved] = []
        var a = z
        for (i, conv) in convolutions.enumerated() {
            var u = try conv.forward(a)
            if i < norms.count {
                saved.append(try norms[i].forwardTraining(&u, then: .relu))
                inputs.append(u)
            } else {
                Activation.tanh(&u)
            }
            a = u
        }
        return Trace(inputs: inputs, normalised: saved, output: a)
    }

    /// Evaluation mode (running statistics): the image for noise `z`, in [−1, 1]. Throws (`concernsWeights`) when a
    /// layer's values are not finite.
    public func generate(_ z: ChannelMajor) throws -> ChannelMajor {
        guard z.channels == noiseChannels else {
            throw GANError("the generator takes \(noiseChannels) noise channels, got \(z.channels)")
        }
        var a = z
        for (i, conv) in convolutions.enumerated() {
            a = try conv.forward(a)
            // Finite but huge weights (3e38) overflow to infinities and NaNs, which tanh and the clamp to [0, 1]
            // would silently turn into a flat image: every layer's output is checked.
            guard a.data.allSatisfy({ $0.isFinite }) else {
                throw GANError("layer \(i + 1) of the generator makes values that are not finite (NaN or infinite): "
                               + "its weights are out of any sensible range", concernsWeights: true)
            }
            if i < norms.count {
                try norms[i].forwardEvaluation(&a, then: .relu)
            } else {
                Activation.tanh(&a)
            }
        }
        guard a.data.allSatisfy({ $0.isFinite }) else {
            throw GANError("the generator's output is not finite (NaN or infinite values): its weights are out of any sensible range",
                           concernsWeights: true)
        }
        return a
    }

    /// Accumulates every parameter's gradient from dL/d(output image). With `inputChannels`, also returns dL/dz
    /// for those noise channels (PSGAN's periodic ones, whose MLP learns through them).
    @discardableResult
    public func backward(_ dOutput: ChannelMajor, trace: Trace, inputChannels: Range<Int>? = nil) throws -> ChannelMajor? {
        var grad = dOutput
        Activation.tanhBackward(&grad, output: trace.output)
        for i in stride(from: convolutions.count - 1, through: 0, by: -1) {
            let conv = convolutions[i], input = trace.inputs[i]
            if i == 0, let inputChannels {
                let columns = try conv.gradientColumns(grad)
                conv.backwardWeights(input: input, columns: columns, gradOutput: grad)
                return conv.backwardData(columns: columns, batch: input.batch, inputHeight: input.height,
                                         inputWidth: input.width, channels: inputChannels)
            }
            guard let dx = try conv.backward(grad, input: input, data: i > 0) else { break }
            grad = dx
            norms[i - 1].backward(&grad, saved: trace.normalised[i - 1], after: .relu, output: input)
        }
        return nil
    }
}
