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

    /// What a forward keeps for its backward: x̂ and 1/√(σ²+ε) per plane ([C][N]).
    public struct Saved: Sendable {
        public var normalised: ChannelMajor
        public var inverseStd: [Float]
    }

    /// Normalises `x` in place plane by plane, then applies `activation` (if any) in the same pass.
    public func forward(_ x: inout ChannelMajor, then activation: PointwiseActivation? = nil) throws -> Saved {
        guard x.channels == channels else {
            throw TensorError.shapeMismatch("instance norm expects \(channels) channels, got \(x.channels)")
        }
        let p = x.height * x.width, planes = x.channels * x.batch, batch = x.batch
        guard p > 1 else {
            throw TensorError.invalidArgument("instance norm needs more than one value per plane, got \(x.height)x\(x.width)")
        }
        var inverseStd = [Float](repeating: 0, count: planes)
        var normalised = ChannelMajor(unfilled: x.channels, batch: x.batch, height: x.height, width: x.width)
        let eps = Double(epsilon)
        normalised.data.withUnsafeMutableBufferPointer { xh in
        x.data.withUnsafeMutableBufferPointer { xs in
        inverseStd.withUnsafeMutableBufferPointer { inv in
        weight.value.withUnsafeBufferPointer { g in
        bias.value.withUnsafeBufferPointer { b in
            let xb = xs.baseAddress!, hb = xh.baseAddress!
            parallelFor(planes) { plane in
                let row = xb + plane * p, nrow = hb + plane * p, c = plane / batch
                // Σx and Σx² in Double, four independent sums each so that the adds overlap.
                var (s0, s1, s2, s3) = (0.0, 0.0, 0.0, 0.0), (q0, q1, q2, q3) = (0.0, 0.0, 0.0, 0.0)
                var j = 0
                while j + 4 <= p {
                    let (a0, a1, a2, a3) = (Double(row[j]), Double(row[j + 1]), Double(row[j + 2]), Double(row[j + 3]))
                    s0 += a0; s1 += a1; s2 += a2; s3 += a3
                    q0 += a0 * a0; q1 += a1 * a1; q2 += a2 * a2; q3 += a3 * a3
                    j += 4
                }
                while j < p { let a = Double(row[j]); s0 += a; q0 += a * a; j += 1 }
                let mean = (s0 + s1 + s2 + s3) / Double(p)
                let variance = max(0, (q0 + q1 + q2 + q3) / Double(p) - mean * mean)
                let (fm, fi) = (Float(mean), Float(1 / (variance + eps).squareRoot()))
                let (gc, bc) = (g[c], b[c])
                if let activation {
                    for j in 0..<p {
                        let h = (row[j] - fm) * fi
                        nrow[j] = h
                        row[j] = activation.apply(gc * h + bc)
                    }
                } else {
                    for j in 0..<p {
                        let h = (row[j] - fm) * fi
                        nrow[j] = h
                        row[j] = gc * h + bc
                    }
                }
                inv[plane] = fi
            }
        }}}}}
        return Saved(normalised: normalised, inverseStd: inverseStd)
    }

    /// Turns dL/dy into dL/dx in place and accumulates dL/dγ, dL/dβ. With `activation`, `grad` is the gradient
    /// after it and `output` its output (as the forward with `then:` left it): its backward is taken in the same pass.
    public func backward(_ grad: inout ChannelMajor, saved: Saved, after activation: PointwiseActivation? = nil,
                         output: ChannelMajor? = nil) {
        precondition(grad.channels == channels && grad.count == saved.normalised.count)
        precondition((activation == nil) == (output == nil) && (output?.count ?? grad.count) == grad.count)
        let p = grad.height * grad.width, batch = grad.batch, planes = channels * batch
        // Per-plane sums, reduced to per-channel parameter gradients afterwards (planes run in parallel).
        var sumG = [Double](repeating: 0, count: planes), sumGH = sumG
        let y = output ?? saved.normalised  // read only with an activation
        grad.data.withUnsafeMutableBufferPointer { gs in
        saved.normalised.data.withUnsafeBufferPointer { hs in
        y.data.withUnsafeBufferPointer { ys in
        sumG.withUnsafeMutableBufferPointer { sg in
        sumGH.withUnsafeMutableBufferPointer { sgh in
        weight.value.withUnsafeBufferPointer { gamma in
            let gb = gs.baseAddress!, hb = hs.baseAddress!, yb = ys.baseAddress!
            parallelFor(planes) { plane in
                let g = gb + plane * p, h = hb + plane * p, yr = yb + plane * p
                if let activation {
                    for j in 0..<p { g[j] = activation.gradient(g[j], output: yr[j]) }
                }
                var (a0, a1, a2, a3) = (0.0, 0.0, 0.0, 0.0), (b0, b1, b2, b3) = (0.0, 0.0, 0.0, 0.0)
                var j = 0
                while j + 4 <= p {
                    let (g0, g1, g2, g3) = (Double(g[j]), Double(g[j + 1]), Double(g[j + 2]), Double(g[j + 3]))
                    a0 += g0; a1 += g1; a2 += g2; a3 += g3
                    b0 += g0 * Double(h[j]); b1 += g1 * Double(h[j + 1]); b2 += g2 * Double(h[j + 2]); b3 += g3 * Double(h[j + 3])
                    j += 4
                }
                while j < p { let gj = Double(g[j]); a0 += gj; b0 += gj * Double(h[j]); j += 1 }
                let (s, sh) = (a0 + a1 + a2 + a3, b0 + b1 + b2 + b3)
                sg[plane] = s
                sgh[plane] = sh
                let k = gamma[plane / batch] * saved.inverseStd[plane] / Float(p)
                let (fs, fsh) = (Float(s), Float(sh))
                for j in 0..<p { g[j] = k * (Float(p) * g[j] - fs - h[j] * fsh) }
            }
        }}}}}}
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
