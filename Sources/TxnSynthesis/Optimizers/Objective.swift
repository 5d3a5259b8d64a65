import TxnTensor

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

    // The passes below each fuse what `project`, `maskActive` and `dot` did in separate passes over copies
    // (ReferenceLBFGS still does it that way): at 512² every pass over the image-sized vectors costs about 1 ms.

    /// `free` = g with the components `maskActive` would zero set to 0, `pinned` = 1 there and 0 elsewhere;
    /// returns max |free|. Needs bounds.
    func freeGradient(_ g: [Float], x: [Float], into free: inout [Float], pinned: inout [UInt8]) -> Float {
        guard let lower, let upper else { preconditionFailure("freeGradient needs bounds") }
        precondition(g.count == x.count && free.count == x.count && pinned.count == x.count && lower.count == x.count)
        let n = x.count
        return g.withUnsafeBufferPointer { g in x.withUnsafeBufferPointer { x in
        lower.withUnsafeBufferPointer { lo in upper.withUnsafeBufferPointer { hi in
        free.withUnsafeMutableBufferPointer { free in pinned.withUnsafeMutableBufferPointer { pinned in
            let (g, x, lo, hi, free, pinned) = (g.baseAddress!, x.baseAddress!, lo.baseAddress!, hi.baseAddress!,
                                                free.baseAddress!, pinned.baseAddress!)
            return blockwise(n) { range -> SIMD2<Double> in
                var gmax: Float = 0
                for i in range {
                    let stuck = (x[i] <= lo[i] && g[i] > 0) || (x[i] >= hi[i] && g[i] < 0)
                    let v: Float = stuck ? 0 : g[i]
                    free[i] = v
                    pinned[i] = stuck ? 1 : 0
                    gmax = max(gmax, abs(v))
                }
                return SIMD2(Double(gmax), 0)
            }.reduce(Float(0)) { max($0, Float($1.x)) }
        }}}}}}
    }

    /// P(x + t d), the projection onto the box of a step along d, in one pass into a new vector.
    func projectedStep(_ x: [Float], t: Float, d: [Float]) -> [Float] {
        precondition(d.count == x.count)
        let n = x.count
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            let out = out.baseAddress!
            x.withUnsafeBufferPointer { x in d.withUnsafeBufferPointer { d in
                let (x, d) = (x.baseAddress!, d.baseAddress!)
                if let lower, let upper {
                    lower.withUnsafeBufferPointer { lo in upper.withUnsafeBufferPointer { hi in
                        let (lo, hi) = (lo.baseAddress!, hi.baseAddress!)
                        _ = blockwise(n) { range -> SIMD2<Double> in
                            for i in range { out[i] = min(max(x[i] + t * d[i], lo[i]), hi[i]) }
                            return .zero
                        }
                    }}
                } else {
                    _ = blockwise(n) { range -> SIMD2<Double> in
                        for i in range { out[i] = x[i] + t * d[i] }
                        return .zero
                    }
                }
            }}
            initialized = n
        }
    }

    /// gᵀd along the projected path at x(t) = `xt`: components clipped at a bound they are pushed against do
    /// not move, so they count 0.
    func pathDerivative(_ g: [Float], d: [Float], at xt: [Float]) -> Double {
        guard let lower, let upper else { return dot(g, d) }
        precondition(g.count == d.count && xt.count == d.count)
        let n = d.count
        return g.withUnsafeBufferPointer { g in d.withUnsafeBufferPointer { d in xt.withUnsafeBufferPointer { xt in
        lower.withUnsafeBufferPointer { lo in upper.withUnsafeBufferPointer { hi in
            let (g, d, xt, lo, hi) = (g.baseAddress!, d.baseAddress!, xt.baseAddress!, lo.baseAddress!, hi.baseAddress!)
            return blockwise(n) { range -> SIMD2<Double> in
                var total = 0.0
                for i in range {
                    let clipped = (xt[i] <= lo[i] && d[i] < 0) || (xt[i] >= hi[i] && d[i] > 0)
                    total += clipped ? 0 : Double(g[i]) * Double(d[i])
                }
                return SIMD2(total, 0)
            }.reduce(0.0) { $0 + $1.x }
        }}}}}
    }
}

/// Runs `body` over 0..<count in fixed blocks spread over the threads and returns each block's result in block
/// order, so that sums over them do not depend on the thread count. For the optimisers' passes over image-sized
/// vectors: 786k floats at 512², memory-bound, one thread cannot saturate the memory bus.
func blockwise(_ count: Int, block: Int = 16_384, _ body: (Range<Int>) -> SIMD2<Double>) -> [SIMD2<Double>] {
    let blocks = (count + block - 1) / block
    var results = [SIMD2<Double>](repeating: .zero, count: blocks)
    results.withUnsafeMutableBufferPointer { out in
        let out = out.baseAddress!
        parallelRanges(blocks, minChunk: 4) { range in
            for b in range { out[b] = body(b * block ..< min(count, (b + 1) * block)) }
        }
    }
    return results
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
