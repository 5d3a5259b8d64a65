import Foundation

/// Batch normalisation over a channel-major batch (PyTorch's `BatchNorm2d`): forward and backward side by side.
///
/// Training: each channel is normalised by its batch mean and biased variance, x̂ = (x − μ)/√(σ² + ε),
/// y = γ x̂ + β, and the running statistics move by `momentum` toward μ and the unbiased variance σ²·M/(M−1)
/// (M = N·H·W values per channel). Evaluation normalises by the running statistics instead.
/// Backward (training): dβ = Σ dy, dγ = Σ dy x̂, dx = γ/(M √(σ²+ε)) · (M dy − dβ − x̂ dγ).
public final class BatchNorm2D: @unchecked Sendable {
    public let weight: Parameter
    public let bias: Parameter
    public var runningMean: [Float]
    public var runningVar: [Float]
    public var batchesTracked: Int64 = 0
    public let epsilon: Float
    public let momentum: Float

    public var channels: Int { weight.count }

    public init(weight: Parameter, bias: Parameter, runningMean: [Float], runningVar: [Float],
                epsilon: Float = 1e-5, momentum: Float = 0.1) throws {
        let c = weight.count
        guard weight.shape == [c], bias.shape == [c], runningMean.count == c, runningVar.count == c else {
            throw TensorError.invalidShape("batch norm parameters must all have \(c) channels")
        }
        (self.weight, self.bias, self.runningMean, self.runningVar) = (weight, bias, runningMean, runningVar)
        (self.epsilon, self.momentum) = (epsilon, momentum)
    }

    /// γ = 1, β = 0, running mean 0 and variance 1: PyTorch's initial state.
    public convenience init(channels c: Int) {
        try! self.init(weight: Parameter(shape: [c], value: [Float](repeating: 1, count: c)), bias: Parameter(zeros: [c]),
                       runningMean: [Float](repeating: 0, count: c), runningVar: [Float](repeating: 1, count: c))
    }

    /// What a training-mode forward keeps for its backward: x̂, and 1/√(σ²+ε) per channel.
    public typealias Saved = NormalisationSaved

    /// Training mode: normalises `x` in place by its batch statistics, applies `activation` (if any) in the same
    /// pass, and updates the running statistics.
    ///
    /// One pass for the statistics (Σx and Σx² in Double, four independent sums each so that the adds overlap)
    /// and one for the output, with the activation fused: a training iteration of the seed preset made five
    /// passes here plus one per activation (relu and leaky ReLU were 3.7% of it, the serial Double sums 1.7%).
    public func forwardTraining(_ x: inout ChannelMajor, then activation: PointwiseActivation? = nil) throws -> Saved {
        guard x.channels == channels else {
            throw TensorError.shapeMismatch("batch norm expects \(channels) channels, got \(x.channels)")
        }
        let m = x.rowLength
        guard m > 1 else {
            throw TensorError.invalidArgument("batch norm in training needs more than one value per channel, got \(m)")
        }
        let (saved, mean, variance) = NormalisationGroup.forward(&x, groups: channels, length: m, channel: { $0 },
                                                                 weight: weight, bias: bias, epsilon: epsilon,
                                                                 activation: activation)
        let unbias = Float(m) / Float(m - 1)
        for c in 0..<channels {
            runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean[c]
            runningVar[c] = (1 - momentum) * runningVar[c] + momentum * variance[c] * unbias
        }
        batchesTracked += 1
        return saved
    }

    /// Evaluation mode: normalises `x` in place by the running statistics, then applies `activation` (if any).
    public func forwardEvaluation(_ x: inout ChannelMajor, then activation: PointwiseActivation? = nil) throws {
        guard x.channels == channels else {
            throw TensorError.shapeMismatch("batch norm expects \(channels) channels, got \(x.channels)")
        }
        let m = x.rowLength
        var scale = [Float](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            scale[c] = weight.value[c] / (runningVar[c] + epsilon).squareRoot()
            shift[c] = bias.value[c] - runningMean[c] * scale[c]
        }
        x.data.withUnsafeMutableBufferPointer { xs in
            let xb = xs.baseAddress!
            parallelFor(channels) { c in
                let row = xb + c * m, (a, b) = (scale[c], shift[c])
                if let activation {
                    for j in 0..<m { row[j] = activation.apply(row[j] * a + b) }
                } else {
                    for j in 0..<m { row[j] = row[j] * a + b }
                }
            }
        }
    }

    /// Training-mode backward: turns dL/dy into dL/dx in place and accumulates dL/dγ, dL/dβ. With `activation`,
    /// `grad` is the gradient after it and `output` its output (as the forward with `then:` left it): the
    /// activation's backward is taken in the same pass.
    public func backward(_ grad: inout ChannelMajor, saved: Saved, after activation: PointwiseActivation? = nil,
                         output: ChannelMajor? = nil) {
        precondition(grad.channels == channels)
        let (sumG, sumGH) = NormalisationGroup.backward(&grad, saved: saved, activation: activation, output: output,
                                                        groups: channels, length: grad.rowLength, channel: { $0 },
                                                        weight: weight)
        let (dGamma, dBeta) = (sumGH.map { Float($0) }, sumG.map { Float($0) })
        weight.accumulate(dGamma)
        bias.accumulate(dBeta)
    }
}
