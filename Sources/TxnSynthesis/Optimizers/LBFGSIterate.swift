/// The iterate an L-BFGS carries from step to step, with the rules both versions (`LBFGS`, `ReferenceLBFGS`) follow
/// around their direction: where the first step starts, what a changed objective does, where a line search starts,
/// and what a step accepts and when it has converged. The versions differ only in how they form the direction.
struct LBFGSIterate {
    private(set) var x: [Float] = []
    private(set) var value = 0.0
    private(set) var gradient: [Float] = []
    private var started = false

    /// On the first call only: starts at `x0`, projected onto the box and evaluated. Returns the evaluations spent.
    mutating func start(_ x0: [Float], _ f: Objective) throws -> Int {
        guard !started else { return 0 }
        x = x0
        f.project(&x)
        (value, gradient) = try f.evaluate(x)
        started = true
        return 1
    }

    /// The objective changed (the SW loss drew new directions): evaluates it again at the current iterate, so that
    /// the next line search compares values of one function. The curvature pairs are kept: they stay a fair model of
    /// the curvature, which new directions change little.
    mutating func objectiveChanged(_ f: Objective) throws {
        guard started else { return }
        (value, gradient) = try f.evaluate(x)
    }

    /// The line search's first step. Without curvature pairs the direction is the raw gradient (~1e6 per pixel at a
    /// loss of 1e9): a step that moves the largest pixel by 0.05, from which the search brackets; else the unit step.
    static func initialStep(hasPairs: Bool, largestDirection dmax: Float) -> Double {
        hasPairs ? 1.0 : 0.05 / Double(dmax)
    }

    /// Moves to the line search's point and writes it back into `x0`. Converged when the step did not lower the value
    /// although the search evaluated, and gave no positive curvature (`sy`, of the pair the step offered).
    mutating func accept(_ search: StrongWolfe.Result, curvature sy: Double, evaluations: Int,
                         into x0: inout [Float]) -> LBFGS.Step {
        let improved = search.value < value
        (x, value, gradient) = (search.x, search.value, search.gradient)
        x0 = x
        return LBFGS.Step(value: value, evaluations: evaluations, converged: !improved && search.evaluations > 0 && sy <= 0)
    }

    /// A step at a point where nothing moves (no free gradient): `x0` is the iterate.
    func stationary(evaluations: Int, into x0: inout [Float]) -> LBFGS.Step {
        x0 = x
        return LBFGS.Step(value: value, evaluations: evaluations, converged: true)
    }
}
