import Foundation

/// Instance normalisation over a channel-major batch (PyTorch's `InstanceNorm2d(affine=True)`, without running
/// statistics; Ulyanov, Vedaldi and Lempitsky 2017): forward and backward side by side.
///
/// Each (channel, sample) plane of P = H·W values is normalised by its own mean and biased variance,
/// x̂ = (x − μ)/√(σ² + ε), y = γ_c x̂ + β_c. The statistics never depend on the rest of the batch, so training and
/// generating compute the same function, at any size.
/// Backward, per plane: dβ_c += Σ dy, dγ_c += Σ dy x̂, dx = γ_c/(P √(σ²+ε)) · (P dy − Σ dy − x̂ Σ dy x̂).
public final class InstanceNorm2D: @unchecked Sendable {
    public let weight: Parameter
    public let bias: Parameter
    public let epsilon: Float

    public var channels: Int { weight.count }

    public init(weight: Parameter, bias: Parameter, epsilon: Float = 1e-5) throws {
        let c = weight.count
        guard weight.shape == [c], bias.shape == [c] else {
            throw TensorError.invalidShape("instance norm parameters must both have \(c) channels, got \(weight.shape) and \(bias.shape)")
        }
        (self.weight, self.bias, self.epsilon) = (weight, bias, epsilon)
    }

    /// γ = 1, β = 0: PyTorch's initial state.
    public convenience init(channels c: Int) {
        try! self.init(weight: Parameter(shape: [c], value: [Float](repeating: 1, count: c)), bias: Parameter(zeros: [c]))
    }

    /// What a forward keeps for its backward: x̂, and 1/√(σ²+ε) per plane ([C][N]).
    public typealias Saved = NormalisationSaved

    /// Normalises `x` in place plane by plane, then applies `activation` (if any) in the same pass.
    public func forward(_ x: inout ChannelMajor, then activation: PointwiseActivation? = nil) throws -> Saved {
        guard x.channels == channels else {
            throw TensorError.shapeMismatch("instance norm expects \(channels) channels, got \(x.channels)")
        }
        let p = x.height * x.width, planes = x.channels * x.batch, batch = x.batch
        guard p > 1 else {
            throw TensorError.invalidArgument("instance norm needs more than one value per plane, got \(x.height)x\(x.width)")
        }
        return NormalisationGroup.forward(&x, groups: planes, length: p, channel: { $0 / batch }, weight: weight,
                                          bias: bias, epsilon: epsilon, activation: activation).saved
    }

    /// Turns dL/dy into dL/dx in place and accumulates dL/dγ, dL/dβ. With `activation`, `grad` is the gradient
    /// after it and `output` its output (as the forward with `then:` left it): its backward is taken in the same pass.
    public func backward(_ grad: inout ChannelMajor, saved: Saved, after activation: PointwiseActivation? = nil,
                         output: ChannelMajor? = nil) {
        precondition(grad.channels == channels)
        let p = grad.height * grad.width, batch = grad.batch
        // Per-plane sums, reduced to per-channel parameter gradients afterwards (planes run in parallel).
        let (sumG, sumGH) = NormalisationGroup.backward(&grad, saved: saved, activation: activation, output: output,
                                                        groups: channels * batch, length: p, channel: { $0 / batch },
                                                        weight: weight)
        var dGamma = [Float](repeating: 0, count: channels), dBeta = dGamma
        for c in 0..<channels {
            var (a, b) = (0.0, 0.0)
            for n in 0..<batch { a += sumG[c * batch + n]; b += sumGH[c * batch + n] }
            (dBeta[c], dGamma[c]) = (Float(a), Float(b))
        }
        weight.accumulate(dGamma)
        bias.accumulate(dBeta)
    }
}
