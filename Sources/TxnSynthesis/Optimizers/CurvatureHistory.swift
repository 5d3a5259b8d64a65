import TxnTensor

/// The curvature pairs (s, y) of L-BFGS and the product d = −H g, computed without the vector passes of the
/// plain two-loop recursion.
///
/// The plain recursion (`referenceTwoLoop`) makes 4m passes over image-sized vectors, each also reading and
/// writing q: at 512² and m = 20 that was ~35 ms per iteration, single-threaded. Here the recursion runs on
/// coefficients instead (the "vector-free" L-BFGS of Chen, Wang, Zhou and Ng, NIPS 2014): q is always a
/// combination of the stored s_i, y_i and g, so every dot product the recursion takes is a combination of the
/// dot products between those 2m + 1 vectors. Those are kept in small m × m tables; each iteration adds only
/// the dots with g and with the newest pair, which one blocked pass over the history gives (`gatherDots`), and
/// one more pass forms d (`combine`). Both passes are split over threads in fixed blocks whose partial sums are
/// added in block order, so the result does not depend on the thread count.
///
/// A class, so that the vectors live in stable storage of their own; `LBFGS` copies it before mutating a
/// shared one, which keeps its value semantics.
final class CurvatureHistory {
    let count: Int
    let capacity: Int
    /// m + 1 slots each for s and y (one spare takes the candidate pair before it is accepted), allocated on
    /// first use so memory grows with the pairs actually stored, as before.
    private var sSlots: [UnsafeMutablePointer<Float>] = []
    private var ySlots: [UnsafeMutablePointer<Float>] = []
    /// Slots in use, oldest first.
    private(set) var order: [Int] = []
    /// The slot whose dot products with the others are not known yet (the pair added last).
    private var pending: Int?
    /// Dot products between stored vectors, by slot: ss[a·S + b] = s_a·s_b, sy[a·S + b] = s_a·y_b, yy likewise.
    private var ss: [Double], sy: [Double], yy: [Double]
    /// s·y and y·y of each slot, from the pass that formed the pair (for ρ and the initial scaling γ).
    private var pairSY: [Double], pairYY: [Double]

    private var slotCount: Int { capacity + 1 }

    init(count: Int, capacity: Int) {
        self.count = count
        self.capacity = capacity
        let s = capacity + 1
        ss = [Double](repeating: 0, count: s * s); sy = ss; yy = ss
        pairSY = [Double](repeating: 0, count: s); pairYY = pairSY
    }

    deinit {
        for p in sSlots { p.deallocate() }
        for p in ySlots { p.deallocate() }
    }

    func copy() -> CurvatureHistory {
        let c = CurvatureHistory(count: count, capacity: capacity)
        for i in sSlots.indices {
            let s = UnsafeMutablePointer<Float>.allocate(capacity: count), y = UnsafeMutablePointer<Float>.allocate(capacity: count)
            s.update(from: sSlots[i], count: count); y.update(from: ySlots[i], count: count)
            c.sSlots.append(s); c.ySlots.append(y)
        }
        c.order = order; c.pending = pending
        c.ss = ss; c.sy = sy; c.yy = yy; c.pairSY = pairSY; c.pairYY = pairYY
        return c
    }

    var isEmpty: Bool { order.isEmpty }

    func removeAll() {
        order.removeAll()
        pending = nil
    }

    /// A slot not in use, allocated if every allocated one is.
    private func spareSlot() -> Int {
        if let free = sSlots.indices.first(where: { !order.contains($0) }) { return free }
        sSlots.append(.allocate(capacity: count))
        ySlots.append(.allocate(capacity: count))
        return sSlots.count - 1
    }

    /// Forms s = xNew − x and y = gNew − g in one pass and keeps the pair when s·y > 1e-10 y·y (dropping the
    /// oldest when full). Returns s·y.
    @discardableResult
    func offer(xNew: [Float], x: [Float], gNew: [Float], g: [Float]) -> Double {
        precondition(xNew.count == count && x.count == count && gNew.count == count && g.count == count)
        let slot = spareSlot()
        let (s, y) = (sSlots[slot], ySlots[slot])
        let sums = xNew.withUnsafeBufferPointer { xn in x.withUnsafeBufferPointer { xo in
        gNew.withUnsafeBufferPointer { gn in g.withUnsafeBufferPointer { go in
            let (xn, xo, gn, go) = (xn.baseAddress!, xo.baseAddress!, gn.baseAddress!, go.baseAddress!)
            return blockwise(count) { range -> SIMD2<Double> in
                var sy = 0.0, yy = 0.0
                for i in range {
                    let si = xn[i] - xo[i], yi = gn[i] - go[i]
                    s[i] = si; y[i] = yi
                    sy += Double(si) * Double(yi)
                    yy += Double(yi) * Double(yi)
                }
                return SIMD2(sy, yy)
            }.reduce(SIMD2<Double>.zero, +)
        }}}}
        let (sy0, yy0) = (sums.x, sums.y)
        guard sy0 > 1e-10 * yy0 else { return sy0 }
        if order.count == capacity { order.removeFirst() }
        order.append(slot)
        pairSY[slot] = sy0; pairYY[slot] = yy0
        pending = slot
        return sy0
    }

    /// Floats per block of the two passes: a block of g and of the newest pair stays in L1/L2 while the
    /// history vectors stream past it.
    static let block = 4096

    /// Writes d = −H g into `d` (H the L-BFGS inverse-Hessian approximation, H₀ = γI with γ = s·y / y·y of the
    /// newest pair), with the components where `pinned` is nonzero set to 0, and returns gradient·d and max |d|.
    func direction(_ g: [Float], into d: inout [Float], pinned: [UInt8]?, gradient: [Float]) -> (gtd: Double, dmax: Float) {
        precondition(g.count == count && d.count == count && gradient.count == count)
        let k = order.count
        // Coefficients of q over the basis (s_0 … s_{k−1}, y_0 … y_{k−1}, g), in the order `order` gives.
        var cs = [Double](repeating: 0, count: k), cy = cs, cg = 1.0
        if k > 0 {
            let (dotS, dotY) = gatherDots(g)
            let S = slotCount
            // s_i·q and y_i·q for the current coefficients.
            func sq(_ i: Int) -> Double {
                let a = order[i]
                var v = cg * dotS[i]
                for j in 0..<k { let b = order[j]; v += cs[j] * ss[a * S + b] + cy[j] * sy[a * S + b] }
                return v
            }
            func yq(_ i: Int) -> Double {
                let a = order[i]
                var v = cg * dotY[i]
                for j in 0..<k { let b = order[j]; v += cs[j] * sy[b * S + a] + cy[j] * yy[a * S + b] }
                return v
            }
            var alpha = [Double](repeating: 0, count: k)
            for i in stride(from: k - 1, through: 0, by: -1) {
                alpha[i] = sq(i) / pairSY[order[i]]
                cy[i] -= alpha[i]
            }
            let newest = order[k - 1]
            let gamma = pairSY[newest] / pairYY[newest]
            cg *= gamma
            for j in 0..<k { cs[j] *= gamma; cy[j] *= gamma }
            for i in 0..<k {
                let beta = yq(i) / pairSY[order[i]]
                cs[i] += alpha[i] - beta
            }
        }
        return combine(g, cs: cs.map(Float.init), cy: cy.map(Float.init), cg: Float(cg), into: &d, pinned: pinned, gradient: gradient)
    }

    /// One blocked pass over the history: s_i·g and y_i·g for every stored pair, and, when a pair was added
    /// since the last pass, its dots with every stored vector (filling the tables). Within a block the dots
    /// run in Float over 256 elements at a time and are then added in Double: q in the plain recursion
    /// carries Float rounding of the same order.
    private func gatherDots(_ g: [Float]) -> (s: [Double], y: [Double]) {
        let k = order.count, n = count, block = Self.block
        let blocks = (n + block - 1) / block
        let p = pending
        // Per vector (s_0…s_{k−1}, y_0…y_{k−1}): dot with g, and with the pending pair's s and y.
        let perBlock = 2 * k * 3
        var partial = [Double](repeating: 0, count: blocks * perBlock)
        let sPtrs = order.map { UnsafePointer(sSlots[$0]) }, yPtrs = order.map { UnsafePointer(ySlots[$0]) }
        let vectors = sPtrs + yPtrs
        g.withUnsafeBufferPointer { gb in
            partial.withUnsafeMutableBufferPointer { out in
                let gp = gb.baseAddress!, outp = out.baseAddress!
                let ps = p.map { UnsafePointer(sSlots[$0]) }, py = p.map { UnsafePointer(ySlots[$0]) }
                parallelRanges(blocks, minChunk: 8) { range in
                    for b in range {
                        let start = b * block, len = min(block, n - start)
                        let o = outp + b * perBlock
                        for (v, vec) in vectors.enumerated() {
                            if let ps, let py {
                                let r = dot3(vec + start, gp + start, ps + start, py + start, len)
                                o[3 * v] = r.0; o[3 * v + 1] = r.1; o[3 * v + 2] = r.2
                            } else {
                                o[3 * v] = dot1(vec + start, gp + start, len)
                            }
                        }
                    }
                }
            }
        }
        var sums = [Double](repeating: 0, count: perBlock)
        for b in 0..<blocks { for j in 0..<perBlock { sums[j] += partial[b * perBlock + j] } }
        if let p {
            let S = slotCount
            for (i, a) in order.enumerated() {
                let sDotS = sums[3 * i + 1], sDotY = sums[3 * i + 2]
                let yDotS = sums[3 * (k + i) + 1], yDotY = sums[3 * (k + i) + 2]
                ss[a * S + p] = sDotS; ss[p * S + a] = sDotS
                sy[a * S + p] = sDotY          // s_a·y_p
                sy[p * S + a] = yDotS          // s_p·y_a
                yy[a * S + p] = yDotY; yy[p * S + a] = yDotY
            }
            pending = nil
        }
        return ((0..<k).map { sums[3 * $0] }, (0..<k).map { sums[3 * (k + $0)] })
    }

    /// d = −(cg·g + Σ cs_i s_i + Σ cy_i y_i), zero where pinned, in one blocked pass; returns gradient·d and max |d|.
    private func combine(_ g: [Float], cs: [Float], cy: [Float], cg: Float, into d: inout [Float], pinned: [UInt8]?,
                         gradient: [Float]) -> (gtd: Double, dmax: Float) {
        let n = count, block = Self.block
        let blocks = (n + block - 1) / block
        let vectors = order.map { UnsafePointer(sSlots[$0]) } + order.map { UnsafePointer(ySlots[$0]) }
        let coefficients = cs + cy
        var gtdPartial = [Double](repeating: 0, count: blocks), maxPartial = [Float](repeating: 0, count: blocks)
        g.withUnsafeBufferPointer { gb in gradient.withUnsafeBufferPointer { grb in d.withUnsafeMutableBufferPointer { db in
        gtdPartial.withUnsafeMutableBufferPointer { gtdp in maxPartial.withUnsafeMutableBufferPointer { maxp in
            let gp = gb.baseAddress!, grp = grb.baseAddress!, dp = db.baseAddress!
            let gtdo = gtdp.baseAddress!, maxo = maxp.baseAddress!
            pinned.withOptionalBuffer { pin in
                parallelRanges(blocks, minChunk: 8) { range in
                    for b in range {
                        let start = b * block, len = min(block, n - start)
                        let out = dp + start
                        scale(gp + start, cg, into: out, len)
                        for (v, c) in zip(vectors, coefficients) { axpyKernel(c, v + start, out, len) }
                        var gtd = 0.0, dmax: Float = 0
                        for i in 0..<len {
                            var di = -out[i]
                            if let pin, pin[start + i] != 0 { di = 0 }
                            out[i] = di
                            gtd += Double(grp[start + i]) * Double(di)
                            dmax = max(dmax, abs(di))
                        }
                        gtdo[b] = gtd; maxo[b] = dmax
                    }
                }
            }
        }}}}}
        return (gtdPartial.reduce(0, +), maxPartial.max() ?? 0)
    }

    /// The plain two-loop recursion (Nocedal and Wright, algorithm 7.4): returns H g. Kept as the reference the
    /// vector-free form is tested against.
    static func referenceTwoLoop(s: [[Float]], y: [[Float]], rho: [Double], g: [Float]) -> [Float] {
        var q = g
        var alpha = [Double](repeating: 0, count: s.count)
        for i in stride(from: s.count - 1, through: 0, by: -1) {
            alpha[i] = rho[i] * dot(s[i], q)
            axpy(Float(-alpha[i]), y[i], &q)
        }
        if let lastS = s.last, let lastY = y.last {
            let gamma = Float(dot(lastS, lastY) / dot(lastY, lastY))
            for i in q.indices { q[i] *= gamma }
        }
        for i in 0..<s.count {
            let beta = rho[i] * dot(y[i], q)
            axpy(Float(alpha[i] - beta), s[i], &q)
        }
        return q
    }

    /// The stored pairs, oldest first (for tests).
    var pairs: [(s: [Float], y: [Float])] {
        order.map { (Array(UnsafeBufferPointer(start: sSlots[$0], count: count)),
                     Array(UnsafeBufferPointer(start: ySlots[$0], count: count))) }
    }
}

private extension Optional where Wrapped == [UInt8] {
    func withOptionalBuffer<R>(_ body: (UnsafePointer<UInt8>?) -> R) -> R {
        switch self {
        case .none: return body(nil)
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        }
    }
}

/// Float lanes accumulate 256 elements (32 per lane) before the sum goes to Double.
private let dotRun = 256

@inline(__always)
private func load8(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
}

/// v·a over `count` floats, accumulated exactly as `dot3` does, so a dot does not depend on which pass took it.
@inline(__always)
private func dot1(_ v: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ count: Int) -> Double {
    var total = 0.0, i = 0
    while i < count {
        let end = min(count, i + dotRun)
        var acc = SIMD8<Float>()
        while i + 8 <= end {
            acc = acc.addingProduct(load8(v, i), load8(a, i))
            i += 8
        }
        var tail: Float = 0
        while i < end { tail += v[i] * a[i]; i += 1 }
        total += Double(acc.sum()) + Double(tail)
    }
    return total
}

/// (v·a, v·b, v·c) over `count` floats, reading v once.
@inline(__always)
private func dot3(_ v: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>,
                  _ count: Int) -> (Double, Double, Double) {
    var ta = 0.0, tb = 0.0, tc = 0.0, i = 0
    while i < count {
        let end = min(count, i + dotRun)
        var aa = SIMD8<Float>(), ab = SIMD8<Float>(), ac = SIMD8<Float>()
        while i + 8 <= end {
            let x = load8(v, i)
            aa = aa.addingProduct(x, load8(a, i))
            ab = ab.addingProduct(x, load8(b, i))
            ac = ac.addingProduct(x, load8(c, i))
            i += 8
        }
        var sa: Float = 0, sb: Float = 0, sc: Float = 0
        while i < end { sa += v[i] * a[i]; sb += v[i] * b[i]; sc += v[i] * c[i]; i += 1 }
        ta += Double(aa.sum()) + Double(sa); tb += Double(ab.sum()) + Double(sb); tc += Double(ac.sum()) + Double(sc)
    }
    return (ta, tb, tc)
}

/// out = c·a over `count` floats.
@inline(__always)
private func scale(_ a: UnsafePointer<Float>, _ c: Float, into out: UnsafeMutablePointer<Float>, _ count: Int) {
    for i in 0..<count { out[i] = c * a[i] }
}

/// out += c·a over `count` floats.
@inline(__always)
private func axpyKernel(_ c: Float, _ a: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ count: Int) {
    for i in 0..<count { out[i] += c * a[i] }
}
