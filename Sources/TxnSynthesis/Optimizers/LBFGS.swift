/// Limited-memory BFGS with bound constraints handled by projection, and a strong-Wolfe line search
/// along the projected path — the scheme of minFunc and PyTorch's `LBFGS(line_search_fn="strong_wolfe")`,
/// with the free-variable masking of L-BFGS-B so that pixels pinned at a bound do not stall it.
public struct LBFGS {
    public var history: Int
    /// Largest number of function evaluations one line search may spend.
    public var maxLineSearchEvaluations = 25

    /// The curvature pairs, created at the first step (when the number of variables is known).
    private var pairs: CurvatureHistory?
    private var iterate = LBFGSIterate()
    /// Buffers reused every iteration: the gradient on the free variables, which variables are pinned at a
    /// bound (1) or free (0), and the search direction.
    private var free: [Float] = []
    private var pinned: [UInt8] = []
    private var direction: [Float] = []

    /// The strong-Wolfe constants of the line search (c₁, c₂; Nocedal and Wright's choice for quasi-Newton methods),
    /// public so that `explain optimize` prints the values the search uses.
    public static let sufficientDecrease = 1e-4, curvature = 0.9

    /// The correction pairs kept when none is given: the reference code's m = 20.
    public static let defaultHistory = 20

    public init(history: Int = defaultHistory) {
        self.history = max(1, history)
    }

    /// The result of one iteration.
    public struct Step {
        public var value: Double
        public var evaluations: Int
        /// True when no further progress is possible (zero projected gradient or no descent direction).
        public var converged: Bool
    }

    /// The objective changed: see `LBFGSIterate.objectiveChanged`.
    public mutating func objectiveChanged(_ f: Objective) throws {
        try iterate.objectiveChanged(f)
    }

    /// One L-BFGS iteration from `x0` (used on the first call only; later calls continue from the
    /// optimiser's own iterate, which is written back into `x0`).
    public mutating func step(_ x0: inout [Float], _ f: Objective) throws -> Step {
        var evaluations = try iterate.start(x0, f)
        let (x, value, gradient) = (iterate.x, iterate.value, iterate.gradient)

        let n = x.count
        if pairs == nil || pairs!.count != n { pairs = CurvatureHistory(count: n, capacity: history) }
        // Value semantics: a copied LBFGS must not share the pairs it is about to change.
        if !isKnownUniquelyReferenced(&pairs!) { pairs = pairs!.copy() }
        let pairs = pairs!

        // The gradient on the free variables and the pinned mask, in one pass.
        let bounded = f.lower != nil && f.upper != nil
        let gmax: Float
        if bounded {
            if free.count != n { free = [Float](repeating: 0, count: n); pinned = [UInt8](repeating: 0, count: n) }
            gmax = f.freeGradient(gradient, x: x, into: &free, pinned: &pinned)
        } else {
            free = gradient
            gmax = free.reduce(0) { max($0, abs($1)) }
        }
        if gmax == 0 { return iterate.stationary(evaluations: evaluations, into: &x0) }

        // d = -H g on the free variables (the two-loop recursion, in vector-free form), masked, with gᵀd and max |d|.
        if direction.count != n { direction = [Float](repeating: 0, count: n) }
        var (gtd, dmax) = pairs.direction(free, into: &direction, pinned: bounded ? pinned : nil, gradient: gradient)
        if gtd >= 0 {
            // Curvature information went stale (it can near the bounds): restart from steepest descent.
            pairs.removeAll()
            (gtd, dmax) = pairs.direction(free, into: &direction, pinned: nil, gradient: gradient)
        }
        let t = LBFGSIterate.initialStep(hasPairs: !pairs.isEmpty, largestDirection: dmax)

        let search = try StrongWolfe.search(x: x, t: t, d: direction, value: value, gradient: gradient, gtd: gtd,
                                            maxEvaluations: maxLineSearchEvaluations, objective: f)
        evaluations += search.evaluations
        // Curvature pair from the step actually taken (the projected one).
        let sy = pairs.offer(xNew: search.x, x: x, gNew: search.gradient, g: gradient)
        return iterate.accept(search, curvature: sy, evaluations: evaluations, into: &x0)
    }
}

/// Line search satisfying the strong Wolfe conditions (bracketing, then cubic-interpolation zoom),
/// after minFunc and PyTorch. The path is projected onto the box: x(t) = P(x + t d).
enum StrongWolfe {
    struct Result {
        var x: [Float]
        var value: Double
        var gradient: [Float]
        var t: Double
        var evaluations: Int
    }

    /// Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), kept inside the bounds.
    static func cubicInterpolate(_ x1: Double, _ f1: Double, _ g1: Double, _ x2: Double, _ f2: Double, _ g2: Double,
                                 bounds: (Double, Double)? = nil) -> Double {
        let (lo, hi) = bounds ?? (min(x1, x2), max(x1, x2))
        let d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
        let d2sq = d1 * d1 - g1 * g2
        if d2sq >= 0 {
            let d2 = d2sq.squareRoot()
            let p = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                             : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
            if p.isFinite { return min(max(p, lo), hi) }
        }
        return (lo + hi) / 2
    }

    static func search(x: [Float], t initial: Double, d: [Float], value f: Double, gradient g: [Float], gtd: Double,
                       c1: Double = LBFGS.sufficientDecrease, c2: Double = LBFGS.curvature, tolerance: Double = 1e-9, maxEvaluations: Int,
                       objective: Objective, separatePasses: Bool = false) throws -> Result {
        let dmax = d.reduce(Float(0)) { max($0, abs($1)) }
        var evaluations = 0

        /// x(t) = P(x + t d), the same floats every time it is formed.
        func position(_ t: Double) -> [Float] {
            if t == 0 { return x }
            if !separatePasses { return objective.projectedStep(x, t: Float(t), d: d) }
            var xt = x
            axpy(Float(t), d, &xt)
            objective.project(&xt)
            return xt
        }

        // A trial point's image is dropped once evaluated and formed again for the point returned: an image-sized
        // vector per bracket end and trial less at the peak (48 MiB each at 2048²).
        func point(_ t: Double) throws -> (f: Double, g: [Float], gtd: Double) {
            let xt = position(t)
            let (ft, gt) = try objective.evaluate(xt)
            evaluations += 1
            if !separatePasses { return (ft, gt, objective.pathDerivative(gt, d: d, at: xt)) }
            // The reference's separate passes (ReferenceLBFGS). Directional derivative along the projected path:
            // clipped components do not move.
            var dt = d
            if let lo = objective.lower, let hi = objective.upper {
                for i in dt.indices where (xt[i] <= lo[i] && dt[i] < 0) || (xt[i] >= hi[i] && dt[i] > 0) { dt[i] = 0 }
            }
            return (ft, gt, dot(gt, dt))
        }

        var t = initial
        var (fNew, gNew, gtdNew) = try point(t)
        var tPrev = 0.0, fPrev = f, gPrev = g, gtdPrev = gtd
        var bracket: [Double] = [], bracketF: [Double] = [], bracketG: [[Float]] = [], bracketGtd: [Double] = []
        var done = false
        var iterations = 0

        // Bracketing phase.
        while iterations < maxEvaluations {
            if fNew > f + c1 * t * gtd || (iterations > 1 && fNew >= fPrev) {
                bracket = [tPrev, t]; bracketF = [fPrev, fNew]; bracketG = [gPrev, gNew]; bracketGtd = [gtdPrev, gtdNew]
                break
            }
            if abs(gtdNew) <= -c2 * gtd {
                bracket = [t]; bracketF = [fNew]; bracketG = [gNew]
                done = true
                break
            }
            if gtdNew >= 0 {
                bracket = [tPrev, t]; bracketF = [fPrev, fNew]; bracketG = [gPrev, gNew]; bracketGtd = [gtdPrev, gtdNew]
                break
            }
            let minStep = t + 0.01 * (t - tPrev), maxStep = t * 10
            let next = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, bounds: (minStep, maxStep))
            tPrev = t; fPrev = fNew; gPrev = gNew; gtdPrev = gtdNew
            t = next
            (fNew, gNew, gtdNew) = try point(t)
            iterations += 1
        }
        if bracket.isEmpty {
            bracket = [t]; bracketF = [fNew]; bracketG = [gNew]
        }
        gPrev = []; gNew = []

        // Zoom phase: shrink the bracket until the strong Wolfe conditions hold.
        var insufficientProgress = false
        while !done && bracket.count == 2 && iterations < maxEvaluations {
            if abs(bracket[1] - bracket[0]) * Double(dmax) < tolerance { break }
            let (lowPos, highPos) = bracketF[0] <= bracketF[1] ? (0, 1) : (1, 0)
            var tz = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1])
            // Keep the trial away from the bracket ends (minFunc's safeguard).
            let lo = min(bracket[0], bracket[1]), hi = max(bracket[0], bracket[1])
            let eps = 0.1 * (hi - lo)
            if min(hi - tz, tz - lo) < eps {
                if insufficientProgress || tz >= hi || tz <= lo {
                    tz = abs(tz - hi) < abs(tz - lo) ? hi - eps : lo + eps
                    insufficientProgress = false
                } else {
                    insufficientProgress = true
                }
            } else {
                insufficientProgress = false
            }
            let p = try point(tz)
            iterations += 1
            if p.f > f + c1 * tz * gtd || p.f >= bracketF[lowPos] {
                bracket[highPos] = tz; bracketF[highPos] = p.f; bracketG[highPos] = p.g; bracketGtd[highPos] = p.gtd
            } else {
                if abs(p.gtd) <= -c2 * gtd {
                    done = true
                } else if p.gtd * (bracket[highPos] - bracket[lowPos]) >= 0 {
                    bracket[highPos] = bracket[lowPos]; bracketF[highPos] = bracketF[lowPos]
                    bracketG[highPos] = bracketG[lowPos]; bracketGtd[highPos] = bracketGtd[lowPos]
                }
                bracket[lowPos] = tz; bracketF[lowPos] = p.f; bracketG[lowPos] = p.g; bracketGtd[lowPos] = p.gtd
            }
        }
        let best = bracket.count == 1 ? 0 : (bracketF[0] <= bracketF[1] ? 0 : 1)
        if bracketF[best] > f {
            // No decrease found: stay put (the caller sees no improvement).
            return Result(x: x, value: f, gradient: g, t: 0, evaluations: evaluations)
        }
        let chosen = bracketG[best]
        bracketG = []
        return Result(x: position(bracket[best]), value: bracketF[best], gradient: chosen, t: bracket[best],
                      evaluations: evaluations)
    }
}
