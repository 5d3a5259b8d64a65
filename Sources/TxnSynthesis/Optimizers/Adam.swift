/// Adam (Kingma and Ba 2015) on the pixels, projected onto the bounds after each step.
/// One evaluation per iteration; the step size is in pixel units, whatever the scale of the loss.
public struct Adam {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    private var m: [Float] = []
    private var v: [Float] = []
    private var t = 0

    public init(learningRate: Float = Float(SynthesisOptions.defaultAdamLearningRate)) {
        self.learningRate = learningRate
    }

    /// Evaluates at x, then moves x; returns the value at the point evaluated.
    public mutating func step(_ x: inout [Float], _ f: Objective) throws -> Double {
        let (value, g) = try f.evaluate(x)
        if m.isEmpty {
            m = [Float](repeating: 0, count: x.count)
            v = m
        }
        t += 1
        let c1 = 1 - pow(beta1, Float(t)), c2 = 1 - pow(beta2, Float(t))
        let step = learningRate / c1
        for i in x.indices {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
            x[i] -= step * m[i] / ((v[i] / c2).squareRoot() + epsilon)
        }
        f.project(&x)
        return value
    }
}

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
