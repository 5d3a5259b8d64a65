/// The arithmetic batch norm and instance norm share, on reduction groups: runs of `length` values, one after the
/// other in a channel-major tensor, that a mean and a variance are taken over (one channel across the batch for
/// `BatchNorm2D`, one (channel, sample) plane for `InstanceNorm2D`), each scaled by the γ and shifted by the β of
/// its channel. The layers differ only in how they cut a tensor into groups and what they keep of the statistics.
enum NormalisationGroup {
    /// Normalises every group of `x` in place (groups run in parallel); `channel(g)` is group g's channel. Returns
    /// what the backward needs, and each group's mean and biased variance.
    static func forward(_ x: inout ChannelMajor, groups: Int, length: Int, channel: (Int) -> Int, weight: Parameter,
                        bias: Parameter, epsilon: Float,
                        activation: PointwiseActivation?) -> (saved: NormalisationSaved, mean: [Float], variance: [Float]) {
        var mean = [Float](repeating: 0, count: groups), variance = mean, inverseStd = mean
        var normalised = ChannelMajor(unfilled: x.channels, batch: x.batch, height: x.height, width: x.width)
        let eps = Double(epsilon)
        normalised.data.withUnsafeMutableBufferPointer { xh in
        x.data.withUnsafeMutableBufferPointer { xs in
        mean.withUnsafeMutableBufferPointer { mu in
        variance.withUnsafeMutableBufferPointer { va in
        inverseStd.withUnsafeMutableBufferPointer { inv in
        weight.value.withUnsafeBufferPointer { g in
        bias.value.withUnsafeBufferPointer { b in
            let xb = xs.baseAddress!, hb = xh.baseAddress!
            parallelFor(groups) { group in
                let c = channel(group)
                (mu[group], va[group], inv[group]) = forward(xb + group * length, normalised: hb + group * length,
                                                             count: length, epsilon: eps, gamma: g[c], beta: b[c],
                                                             activation: activation)
            }
        }}}}}}}
        return (NormalisationSaved(normalised: normalised, inverseStd: inverseStd), mean, variance)
    }

    /// Turns dL/dy into dL/dx in place, group by group (in parallel), first through `activation`'s backward when
    /// there is one (`output` is its output, as the forward with it left it). Returns Σg and Σg·x̂ of each group.
    static func backward(_ grad: inout ChannelMajor, saved: NormalisationSaved, activation: PointwiseActivation?,
                         output: ChannelMajor?, groups: Int, length: Int, channel: (Int) -> Int,
                         weight: Parameter) -> (sumG: [Double], sumGH: [Double]) {
        precondition(grad.count == saved.normalised.count && groups * length == grad.count)
        precondition((activation == nil) == (output == nil) && (output?.count ?? grad.count) == grad.count)
        var sumG = [Double](repeating: 0, count: groups), sumGH = sumG
        let y = output ?? saved.normalised  // read only with an activation
        grad.data.withUnsafeMutableBufferPointer { gs in
        saved.normalised.data.withUnsafeBufferPointer { hs in
        y.data.withUnsafeBufferPointer { ys in
        sumG.withUnsafeMutableBufferPointer { sg in
        sumGH.withUnsafeMutableBufferPointer { sgh in
        weight.value.withUnsafeBufferPointer { gamma in
            let gb = gs.baseAddress!, hb = hs.baseAddress!, yb = ys.baseAddress!
            parallelFor(groups) { group in
                let at = group * length
                (sg[group], sgh[group]) = backward(gb + at, normalised: hb + at, output: yb + at, count: length,
                                                   gamma: gamma[channel(group)], inverseStd: saved.inverseStd[group],
                                                   activation: activation)
            }
        }}}}}}
        return (sumG, sumGH)
    }

    /// Normalises `row` in place: x̂ = (x − μ) / √(σ² + ε) into `normalised`, then γx̂ + β (through `activation`, if
    /// any) into `row`. μ and σ² (biased) are summed in Double, four independent sums each so that the adds overlap.
    @inline(__always)
    static func forward(_ row: UnsafeMutablePointer<Float>, normalised: UnsafeMutablePointer<Float>, count m: Int,
                        epsilon: Double, gamma: Float, beta: Float,
                        activation: PointwiseActivation?) -> (mean: Float, variance: Float, inverseStd: Float) {
        var (s0, s1, s2, s3) = (0.0, 0.0, 0.0, 0.0), (q0, q1, q2, q3) = (0.0, 0.0, 0.0, 0.0)
        var j = 0
        while j + 4 <= m {
            let (a0, a1, a2, a3) = (Double(row[j]), Double(row[j + 1]), Double(row[j + 2]), Double(row[j + 3]))
            s0 += a0; s1 += a1; s2 += a2; s3 += a3
            q0 += a0 * a0; q1 += a1 * a1; q2 += a2 * a2; q3 += a3 * a3
            j += 4
        }
        while j < m { let a = Double(row[j]); s0 += a; q0 += a * a; j += 1 }
        let mean = (s0 + s1 + s2 + s3) / Double(m)
        let variance = max(0, (q0 + q1 + q2 + q3) / Double(m) - mean * mean)
        let (fm, fi) = (Float(mean), Float(1 / (variance + epsilon).squareRoot()))
        if let activation {
            for j in 0..<m {
                let h = (row[j] - fm) * fi
                normalised[j] = h
                row[j] = activation.apply(gamma * h + beta)
            }
        } else {
            for j in 0..<m {
                let h = (row[j] - fm) * fi
                normalised[j] = h
                row[j] = gamma * h + beta
            }
        }
        return (fm, Float(variance), fi)
    }

    /// Turns dL/dy of the group into dL/dx in place, dx = γ/(σ·m) (m·g − Σg − x̂ Σg·x̂), first through `activation`'s
    /// backward when there is one (`output` is its output; read only then). Returns Σg and Σg·x̂, from which the
    /// layer makes dL/dβ and dL/dγ.
    @inline(__always)
    static func backward(_ g: UnsafeMutablePointer<Float>, normalised h: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                         count m: Int, gamma: Float, inverseStd: Float,
                         activation: PointwiseActivation?) -> (sumG: Double, sumGH: Double) {
        if let activation {
            for j in 0..<m { g[j] = activation.gradient(g[j], output: y[j]) }
        }
        var (a0, a1, a2, a3) = (0.0, 0.0, 0.0, 0.0), (b0, b1, b2, b3) = (0.0, 0.0, 0.0, 0.0)
        var j = 0
        while j + 4 <= m {
            let (g0, g1, g2, g3) = (Double(g[j]), Double(g[j + 1]), Double(g[j + 2]), Double(g[j + 3]))
            a0 += g0; a1 += g1; a2 += g2; a3 += g3
            b0 += g0 * Double(h[j]); b1 += g1 * Double(h[j + 1]); b2 += g2 * Double(h[j + 2]); b3 += g3 * Double(h[j + 3])
            j += 4
        }
        while j < m { let gj = Double(g[j]); a0 += gj; b0 += gj * Double(h[j]); j += 1 }
        let (s, sh) = (a0 + a1 + a2 + a3, b0 + b1 + b2 + b3)
        let k = gamma * inverseStd / Float(m)
        let (fs, fsh) = (Float(s), Float(sh))
        for j in 0..<m { g[j] = k * (Float(m) * g[j] - fs - h[j] * fsh) }
        return (s, sh)
    }
}

/// What a normalisation's forward keeps for its backward: x̂, and 1/√(σ²+ε) per reduction group.
public struct NormalisationSaved: Sendable {
    public var normalised: ChannelMajor
    public var inverseStd: [Float]
}
