import Foundation

/// Adam's settings, with PyTorch's `weight_decay` (L2: wd·p added to the gradient, not AdamW's decoupled decay).
public struct AdamSettings: Sendable, Equatable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float

    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0) {
        (self.learningRate, self.beta1, self.beta2, self.epsilon, self.weightDecay) =
            (learningRate, beta1, beta2, epsilon, weightDecay)
    }
}

/// The moments of Adam (Kingma and Ba 2015) for one vector of variables, updated as `torch.optim.Adam` does:
///   g ← g + wd·p;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
///   p ← p − (lr/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + ε)
public struct AdamMoments: Sendable, Equatable {
    public var m: [Float]
    public var v: [Float]

    public init(count: Int) {
        m = [Float](repeating: 0, count: count)
        v = m
    }

    /// One step at step number `t` (1-based) on `p`, with gradient `g`.
    public mutating func step(_ p: inout [Float], gradient g: [Float], t: Int, _ s: AdamSettings) {
        precondition(p.count == m.count && g.count == m.count, "Adam: \(p.count) variables, \(g.count) gradients, \(m.count) moments")
        let c1 = 1 - pow(s.beta1, Float(t)), c2 = (1 - pow(s.beta2, Float(t))).squareRoot()
        let stepSize = s.learningRate / c1
        let (b1, b2, eps, wd) = (s.beta1, s.beta2, s.epsilon, s.weightDecay)
        let count = p.count
        p.withUnsafeMutableBufferPointer { pp in
        g.withUnsafeBufferPointer { gp in
        m.withUnsafeMutableBufferPointer { mp in
        v.withUnsafeMutableBufferPointer { vp in
            let (pb, gb, mb, vb) = (pp.baseAddress!, gp.baseAddress!, mp.baseAddress!, vp.baseAddress!)
            parallelRanges(count, minChunk: 1 << 15) { r in
                for i in r {
                    let gi = wd == 0 ? gb[i] : gb[i] + wd * pb[i]
                    mb[i] = b1 * mb[i] + (1 - b1) * gi
                    vb[i] = b2 * vb[i] + (1 - b2) * gi * gi
                    pb[i] -= stepSize * mb[i] / (vb[i].squareRoot() / c2 + eps)
                }
            }
        }}}}
    }
}
