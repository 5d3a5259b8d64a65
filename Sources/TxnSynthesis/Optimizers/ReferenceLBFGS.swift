/// The L-BFGS of `LBFGS` as it was written first: plain two-loop recursion over arrays, masks and projections as
/// separate passes. Kept as the reference the fast one is tested against (its loss curve must match), not used
/// by the synthesis.
struct ReferenceLBFGS {
    var history: Int
    /// Largest number of function evaluations one line search may spend.
    var maxLineSearchEvaluations = 25

    private var s: [[Float]] = []
    private var y: [[Float]] = []
    private var rho: [Double] = []
    private var x: [Float] = []
    private var value = 0.0
    private var gradient: [Float] = []
    private var started = false
    private var iteration = 0

    init(history: Int = LBFGS.defaultHistory) {
        self.history = max(1, history)
    }

    /// The objective changed (the SW loss drew new directions): evaluates it again at the current
    /// iterate, so that the next line search compares values of one function. The curvature pairs are
    /// kept: they stay a fair model of the curvature, which new directions change little.
    mutating func objectiveChanged(_ f: Objective) throws {
        guard started else { return }
        (value, gradient) = try f.evaluate(x)
    }

    /// One L-BFGS iteration from `x0` (used on the first call only; later calls continue from the
    /// optimiser's own iterate, which is written back into `x0`).
    mutating func step(_ x0: inout [Float], _ f: Objective) throws -> LBFGS.Step {
        var evaluations = 0
        if !started {
            x = x0
            f.project(&x)
            (value, gradient) = try f.evaluate(x)
            evaluations += 1
            started = true
        }
        iteration += 1

        var free = gradient
        f.maskActive(&free, x: x, gradient: gradient)
        let gmax = free.reduce(0) { max($0, abs($1)) }
        if gmax == 0 { x0 = x; return LBFGS.Step(value: value, evaluations: evaluations, converged: true) }

        // Two-loop recursion: d = -H g on the free variables.
        var d = CurvatureHistory.referenceTwoLoop(s: s, y: y, rho: rho, g: free).map { -$0 }
        f.maskActive(&d, x: x, gradient: gradient)

        var gtd = dot(gradient, d)
        if gtd >= 0 {
            // Curvature information went stale (it can near the bounds): restart from steepest descent.
            s.removeAll(); y.removeAll(); rho.removeAll()
            d = free.map { -$0 }
            gtd = dot(gradient, d)
        }
        // Without curvature pairs d is the raw gradient (~1e6 per pixel at a loss of 1e9): start the
        // line search at a step that moves the largest pixel by 0.05 and let it bracket from there.
        let dmax = d.reduce(Float(0)) { max($0, abs($1)) }
        let t = s.isEmpty ? 0.05 / Double(dmax) : 1.0

        let search = try StrongWolfe.search(x: x, t: t, d: d, value: value, gradient: gradient, gtd: gtd,
                                            maxEvaluations: maxLineSearchEvaluations, objective: f,
                                            separatePasses: true)
        evaluations += search.evaluations
        let newX = search.x, newG = search.gradient
        // Curvature pair from the step actually taken (the projected one).
        var sk = newX, yk = newG
        for i in sk.indices { sk[i] -= x[i]; yk[i] -= gradient[i] }
        let sy = dot(sk, yk)
        if sy > 1e-10 * dot(yk, yk) {
            if s.count == history { s.removeFirst(); y.removeFirst(); rho.removeFirst() }
            s.append(sk); y.append(yk); rho.append(1 / sy)
        }
        let improved = search.value < value
        x = newX
        value = search.value
        gradient = newG
        x0 = x
        return LBFGS.Step(value: value, evaluations: evaluations, converged: !improved && search.evaluations > 0 && sy <= 0)
    }
}

