/// A differentiable function of a flat parameter vector, kept inside a box.
///
/// Optimisers see pixels only as a `[Float]`; the synthesis wraps the texture loss in this.
public struct Objective {
    /// f(x) and ∇f(x). May throw to stop the optimisation (for example on Ctrl-C).
    public var evaluate: ([Float]) throws -> (value: Double, gradient: [Float])
    /// Per-component bounds (same count as x), or nil for none.
    public var lower: [Float]?
    public var upper: [Float]?

    public init(lower: [Float]? = nil, upper: [Float]? = nil,
                evaluate: @escaping ([Float]) throws -> (value: Double, gradient: [Float])) {
        self.evaluate = evaluate
        self.lower = lower
        self.upper = upper
    }

    /// Projects x onto the box.
    func project(_ x: inout [Float]) {
        guard let lower, let upper else { return }
        for i in x.indices { x[i] = min(max(x[i], lower[i]), upper[i]) }
    }

    /// Zeroes the components of `v` whose variable sits on a bound that the gradient pushes against:
    /// those variables cannot move, so they take no part in the search direction (as in L-BFGS-B).
    func maskActive(_ v: inout [Float], x: [Float], gradient g: [Float]) {
        guard let lower, let upper else { return }
        for i in v.indices where (x[i] <= lower[i] && g[i] > 0) || (x[i] >= upper[i] && g[i] < 0) { v[i] = 0 }
    }
}

/// Dot product accumulated in Double: the loss is ~1e9 and gradients span many orders of magnitude. Eight lanes at a
/// time, each product formed in Double: the two-loop recursion takes 2m of these per L-BFGS iteration, and one at a
/// time in scalar code they were a measurable part of it.
@inline(__always)
func dot(_ a: [Float], _ b: [Float]) -> Double {
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            let n = min(pa.count, pb.count)
            guard n > 0, let ra = UnsafeRawPointer(pa.baseAddress), let rb = UnsafeRawPointer(pb.baseAddress) else { return 0 }
            var acc0 = SIMD4<Double>(repeating: 0), acc1 = SIMD4<Double>(repeating: 0)
            var i = 0
            while i + 8 <= n {
                let x = ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                let y = rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                acc0 = acc0.addingProduct(SIMD4<Double>(x.lowHalf), SIMD4<Double>(y.lowHalf))
                acc1 = acc1.addingProduct(SIMD4<Double>(x.highHalf), SIMD4<Double>(y.highHalf))
                i += 8
            }
            var s = (acc0 + acc1).sum()
            while i < n { s += Double(pa[i]) * Double(pb[i]); i += 1 }
            return s
        }
    }
}

/// y += a * x
@inline(__always)
func axpy(_ a: Float, _ x: [Float], _ y: inout [Float]) {
    x.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in
            for i in 0..<py.count { py[i] += a * px[i] }
        }
    }
}
