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
    private var iterate = LBFGSIterate()

    init(history: Int = LBFGS.defaultHistory) {
        self.history = max(1, history)
    }

    /// The objective changed: see `LBFGSIterate.objectiveChanged`.
    mutating func objectiveChanged(_ f: Objective) throws {
        try iterate.objectiveChanged(f)
    }

    /// One L-BFGS iteration from `x0` (used on the first call only; later calls continue from the
    /// optimiser's own iterate, which is written back into `x0`).
    mutating func step(_ x0: inout [Float], _ f: Objective) throws -> LBFGS.Step {
        var evaluations = try iterate.start(x0, f)
        let (x, value, gradient) = (iterate.x, iterate.value, iterate.gradient)

        var free = gradient
        f.maskActive(&free, x: x, gradient: gradient)
        let gmax = free.reduce(0) { max($0, abs($1)) }
        if gmax == 0 { return iterate.stationary(evaluations: evaluations, into: &x0) }

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
        let dmax = d.reduce(Float(0)) { max($0, abs($1)) }
        let t = LBFGSIterate.initialStep(hasPairs: !s.isEmpty, largestDirection: dmax)

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
        return iterate.accept(search, curvature: sy, evaluations: evaluations, into: &x0)
    }
}

