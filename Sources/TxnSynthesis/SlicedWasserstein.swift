import TxnTensor
import TxnVGG

/// k random unit directions in R^c (row-major k x c), fixed by the seed. One formula for the loss
/// and the distance.
func randomDirections(_ k: Int, _ c: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    var d = [Float](repeating: 0, count: k * c)
    for p in 0..<k {
        var norm: Float = 0
        for j in 0..<c { let v = rng.nextGaussian(); d[p * c + j] = v; norm += v * v }
        let inv = 1 / norm.squareRoot()
        for j in 0..<c { d[p * c + j] *= inv }
    }
    return d
}

/// P = V F for k directions V (k x c) and features F (c x m), both row-major: one GEMM.
func project(_ directions: UnsafePointer<Float>, count k: Int, _ features: UnsafePointer<Float>, channels c: Int,
             pixels m: Int, into p: UnsafeMutablePointer<Float>) {
    sgemm(m: k, n: m, k: c, directions, lda: c, features, ldb: m, p, ldc: m)
}

/// The sliced-Wasserstein texture loss of Heitz, Vandenhende, Neyret and Toth (2021): at each layer,
/// the feature vectors of the image and of the source are projected on K random directions, each
/// projection is sorted, and E_l = w_l · mean over (k, i) of (sort(V F)_ki − sort(V F̂)_ki)². Sorting
/// matches the i-th smallest of one with the i-th smallest of the other: the 1-D optimal transport, so
/// E_l is the squared sliced Wasserstein-2 distance between the two feature distributions.
///
/// When the pixel counts differ, the source's sorted projections are resampled to the image's count by
/// linear interpolation between quantiles. The gradient flows through the sort: the i-th sorted value's
/// derivative goes back to the pixel it came from (the argsort), then dL/dF = Vᵀ dL/dP.
///
/// The directions are redrawn (`redraw`) from a seeded generator, so a run is the same for the same seed.
public final class SlicedWassersteinLoss {
    public let layers: [String]
    public let weights: [Double]
    /// Source features per layer, c x m row-major.
    private let sources: [[Float]]
    private let channels: [Int]
    private let sourcePixels: [Int]
    /// Directions per layer: K x C.
    private let counts: [Int]
    public private(set) var directions: [[Float]] = [] { didSet { sortedSources = Array(repeating: nil, count: layers.count) } }
    /// The source's sorted projections on the current directions (K x M̂ per layer), made on first use:
    /// while the directions stay (an L-BFGS line search), evaluations only sort the image's.
    private var sortedSources: [[Float]?] = []
    private var rng: SplitMix64

    /// `projections`: directions per layer; nil draws as many as the layer has channels (the paper).
    public init(sourceFeatures: [Tensor], layers: [String], weights: [Double], projections: Int? = nil,
                seed: UInt64) throws {
        guard !layers.isEmpty, sourceFeatures.count == layers.count, weights.count == layers.count else {
            throw VGGError.invalidOption("\(layers.count) layers, \(sourceFeatures.count) source features and \(weights.count) weights")
        }
        if let k = projections, !(1...4096).contains(k) {
            throw VGGError.invalidOption("projections must be 1 to 4096, got \(k)")
        }
        self.layers = layers
        self.weights = weights
        sources = sourceFeatures.map(\.data)
        channels = sourceFeatures.map(\.c)
        sourcePixels = sourceFeatures.map { $0.h * $0.w }
        counts = sourceFeatures.map { projections ?? $0.c }
        // The cache of sorted source projections (K x M̂ per layer), checked before any of it is made;
        // projections asked for beyond the channel count scale it up.
        let cached = try zip(counts, sourcePixels).reduce(0) { total, layer in
            try total + MemoryBudget.product([layer.0, layer.1], for: "the SW loss's sorted source projections")
        }
        try MemoryBudget.requireFloats([cached], for: "the SW loss's sorted source projections (\(cached) values)")
        // A stream of its own: the loss's directions do not depend on how many numbers the initial
        // image drew.
        rng = SplitMix64(seed: seed ^ 0x51_1CED_0000)
        redraw()
    }

    /// New random directions at every layer.
    public func redraw() {
        directions = layers.indices.map { l in randomDirections(counts[l], channels[l], seed: rng.next()) }
    }

    /// Fixes the directions (for gradient checks): one K x C matrix per layer.
    public func setDirections(_ d: [[Float]]) throws {
        guard d.count == layers.count, zip(d, layers.indices).allSatisfy({ $0.count % channels[$1] == 0 && !$0.isEmpty }) else {
            throw VGGError.invalidOption("directions must be K x C for each of the \(layers.count) layers")
        }
        directions = d
    }

    public struct Evaluation {
        /// w_l E_l per layer.
        public var perLayer: [Double]
        /// dL/dF per layer (same shapes as the features), when asked for.
        public var gradients: [Tensor]
    }

    /// The loss of features (in the order of `layers`), with dL/dF if `gradient`.
    public func evaluate(features: [Tensor], gradient: Bool = true) throws -> Evaluation {
        var gradients: [Tensor] = []
        let perLayer = try evaluate(features: features, gradients: &gradients, gradient: gradient)
        return Evaluation(perLayer: perLayer, gradients: gradients)
    }

    /// w_l E_l per layer of features (in the order of `layers`), with dL/dF written into `gradients` if
    /// `gradient`. Its tensors are written in place where they have the features' shapes (else replaced),
    /// so a caller that keeps them from one evaluation to the next allocates nothing.
    func evaluate(features: [Tensor], gradients: inout [Tensor], gradient: Bool = true) throws -> [Double] {
        guard features.count == layers.count else {
            throw VGGError.invalidOption("\(features.count) feature maps for \(layers.count) layers")
        }
        for (l, f) in features.enumerated() where f.n != 1 || f.c != channels[l] {
            throw TensorError.shapeMismatch("layer \(layers[l]): features \(f.shape), the source has \(channels[l]) channels")
        }
        if gradient {
            if gradients.count != layers.count { gradients = [] }
            for (l, f) in features.enumerated() {
                // A kept tensor holds the last evaluation's values: all are overwritten (the first chunk's product
                // has beta 0).
                if l == gradients.count { gradients.append(Tensor(zeros: f.shape)) }
                else if gradients[l].shape != f.shape { gradients[l] = Tensor(zeros: f.shape) }
            }
        }
        var perLayer: [Double] = []
        for l in layers.indices {
            let f = features[l]
            let k = directions[l].count / channels[l]
            let ready = sortedSources[l] != nil
            var sorted = sortedSources[l] ?? [Float](repeating: 0, count: k * sourcePixels[l])
            sortedSources[l] = nil  // `sorted` is then the only reference: no copy when it is written
            func run(_ g: UnsafeMutablePointer<Float>?) -> Double {
                f.data.withUnsafeBufferPointer { fp in
                    sources[l].withUnsafeBufferPointer { sp in
                        directions[l].withUnsafeBufferPointer { vp in
                            sorted.withUnsafeMutableBufferPointer { tp in
                                layerLoss(fp.baseAddress!, channels: f.c, pixels: f.h * f.w, source: sp.baseAddress!,
                                          sourcePixels: sourcePixels[l], sortedSource: tp.baseAddress!, sourceReady: ready,
                                          directions: vp.baseAddress!, count: k, weight: weights[l], gradient: g)
                            }
                        }
                    }
                }
            }
            perLayer.append(gradient ? gradients[l].data.withUnsafeMutableBufferPointer { run($0.baseAddress!) } : run(nil))
            sortedSources[l] = sorted
        }
        return perLayer
    }

    /// Projections held at once: at 1024² conv1_1 all 64 would be 256 MiB per buffer.
    static let chunkElements = 1 << 22

    /// The scratch `layerLoss` keeps between evaluations when its largest layer (image or source) has `pixels`
    /// pixels: per thread a sorter (two 8-byte entries per pixel) and a resampled source row, and one chunk of
    /// projections. For the memory plan.
    static func scratchBytes(pixels m: Int, threads: Int) throws -> Int {
        let what = "the SW loss's sorters and projections"
        return try MemoryBudget.product([threads, 16 + 4, m], for: what)
            + MemoryBudget.product([max(chunkElements, m), MemoryLayout<Float>.stride], for: what)
    }

    /// Scratch kept for the loss's life, grown to the largest layer: the projections of a chunk, and per
    /// thread a sorter and a resampled source row. Allocated per call, each buffer over 1 MiB was fresh pages
    /// to fault in at every evaluation (see MALLOC_MMAP_THRESHOLD_ in txn's ProcessSetup): with the features'
    /// and gradients' copies, about 18,000 page faults and 30 ms of system time per evaluation at 256².
    private let projections = ScratchBuffer()
    private var rowScratch: [(sorter: RadixSorter, target: ScratchBuffer)] = []

    /// w · mean((sort(V F) − resample(sort(V F̂)))²) for one layer; dL/dF into `gradient` when given.
    /// `sortedSource` (k x ms) holds the source's sorted projections if `sourceReady`, else receives them.
    func layerLoss(_ f: UnsafePointer<Float>, channels c: Int, pixels m: Int, source: UnsafePointer<Float>,
                   sourcePixels ms: Int, sortedSource: UnsafeMutablePointer<Float>, sourceReady: Bool,
                   directions v: UnsafePointer<Float>, count k: Int, weight: Double,
                   gradient: UnsafeMutablePointer<Float>?) -> Double {
        let chunk = max(1, min(k, Self.chunkElements / m))
        let p = projections.reserve(chunk * m)
        let workers = min(Threads.count, chunk)
        if rowScratch.count < workers || rowScratch[0].sorter.capacity < max(m, ms) {
            let length = max(m, ms, rowScratch.first?.sorter.capacity ?? 0)
            rowScratch = (0..<max(workers, rowScratch.count)).map { _ in (RadixSorter(capacity: length), ScratchBuffer()) }
        }
        let rows = rowScratch
        // dL/dP is written over P in place: row j's values are read (sorted copies) before it is overwritten.
        let scale = Float(2 * weight / Double(k * m))
        var total = 0.0
        var rowSums = [Double](repeating: 0, count: chunk)
        for first in stride(from: 0, to: k, by: chunk) {
            let count = min(chunk, k - first)
            let vc = v + first * c
            project(vc, count: count, f, channels: c, pixels: m, into: p)
            let ps = sortedSource + first * ms
            if !sourceReady { project(vc, count: count, source, channels: c, pixels: ms, into: ps) }
            let parts = min(workers, count)
            rowSums.withUnsafeMutableBufferPointer { sums in
                parallelFor(parts) { t in
                    let sorter = rows[t].sorter
                    for j in (count * t / parts)..<(count * (t + 1) / parts) {
                        let sourceRow = ps + j * ms
                        if !sourceReady { sorter.sortValues(sourceRow, count: ms) }
                        // Equal pixel counts (the usual case): the source's sorted row is the target itself.
                        let target = ms == m ? UnsafePointer(sourceRow) : {
                            let buffer = rows[t].target.reserve(m)
                            resampleSorted(sourceRow, count: ms, into: buffer, count: m)
                            return UnsafePointer(buffer)
                        }()
                        let row = p + j * m
                        let order = sorter.sortWithIndices(row, count: m)
                        var s = 0.0
                        if gradient != nil {
                            for i in 0..<m {
                                let e = order[i], d = RadixSorter.value(e) - target[i]
                                s += Double(d) * Double(d)
                                row[RadixSorter.index(e)] = scale * d
                            }
                        } else {
                            for i in 0..<m { let d = RadixSorter.value(order[i]) - target[i]; s += Double(d) * Double(d) }
                        }
                        sums[j] = s
                    }
                }
            }
            for j in 0..<count { total += rowSums[j] }
            // dL/dF (+)= V_chunkᵀ dL/dP_chunk.
            if let gradient {
                sgemm(transA: true, m: c, n: m, k: count, vc, lda: c, p, ldb: m, beta: first == 0 ? 0 : 1,
                      gradient, ldc: m)
            }
        }
        return weight * total / Double(k * m)
    }
}

/// A Float buffer that keeps its memory between uses and grows when asked for more.
final class ScratchBuffer {
    private var pointer: UnsafeMutablePointer<Float>?
    private var capacity = 0

    deinit { pointer?.deallocate() }

    /// At least `count` Floats (their values are whatever was left there).
    func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if let pointer, capacity >= count { return pointer }
        pointer?.deallocate()
        pointer = .allocate(capacity: count)
        capacity = count
        return pointer!
    }
}

/// The values of a sorted sample of `n` at the `m` quantile positions of a sample of `m`, by linear
/// interpolation: position i of m maps to (i + ½) n / m − ½ of n. Equal counts copy.
func resampleSorted(_ s: UnsafePointer<Float>, count n: Int, into t: UnsafeMutablePointer<Float>, count m: Int) {
    if n == m { t.update(from: s, count: m); return }
    let ratio = Double(n) / Double(m)
    for i in 0..<m {
        let x = min(max((Double(i) + 0.5) * ratio - 0.5, 0), Double(n - 1))
        let j = min(Int(x), n - 2 < 0 ? 0 : n - 2)
        let frac = Float(x - Double(j))
        t[i] = n == 1 ? s[0] : s[j] + frac * (s[j + 1] - s[j])
    }
}

/// LSD radix sort of Float values with their original positions: the sort of the SW loss runs over every
/// pixel of every projection each evaluation (6 million values at 256²), where a comparison sort costs
/// several times more.
///
/// Each value travels as one 64-bit entry, its order-preserving integer key above its index, so a pass
/// scatters one word per value instead of a key and an index to two places; the first pass makes the
/// entries straight from the values. Three passes of 11, 11 and 10 key bits.
final class RadixSorter {
    let capacity: Int
    private let entries: UnsafeMutablePointer<UInt64>, spare: UnsafeMutablePointer<UInt64>
    private let counts: UnsafeMutablePointer<UInt32>

    private static let digits: [(shift: UInt64, bits: Int)] = [(32, 11), (43, 11), (54, 10)]

    init(capacity: Int) {
        precondition(capacity <= Int(UInt32.max), "indices are 32-bit")
        self.capacity = max(1, capacity)
        entries = .allocate(capacity: self.capacity); spare = .allocate(capacity: self.capacity)
        counts = .allocate(capacity: 3 * 2048)
    }

    deinit { entries.deallocate(); spare.deallocate(); counts.deallocate() }

    /// Monotone map of Float onto UInt32 (negative values reversed below the positive ones).
    @inline(__always) static func key(_ v: Float) -> UInt32 {
        let b = v.bitPattern
        return b & 0x8000_0000 != 0 ? ~b : b | 0x8000_0000
    }

    /// The value of a sorted entry.
    @inline(__always) static func value(_ entry: UInt64) -> Float {
        let k = UInt32(truncatingIfNeeded: entry >> 32)
        return Float(bitPattern: k & 0x8000_0000 != 0 ? k & 0x7FFF_FFFF : ~k)
    }

    /// Where a sorted entry's value was.
    @inline(__always) static func index(_ entry: UInt64) -> Int { Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: entry)) }

    /// Sorts `values[0..<n]` in place, ascending.
    func sortValues(_ values: UnsafeMutablePointer<Float>, count n: Int) {
        let sorted = sortWithIndices(values, count: n)
        for i in 0..<n { values[i] = Self.value(sorted[i]) }
    }

    /// The entries of `values[0..<n]` in ascending order of value (equal values in their original order):
    /// read them with `value` and `index`. Valid until the next sort.
    func sortWithIndices(_ values: UnsafePointer<Float>, count n: Int) -> UnsafePointer<UInt64> {
        precondition(n <= capacity)
        guard n > 0 else { return UnsafePointer(entries) }
        counts.update(repeating: 0, count: 3 * 2048)
        let (c0, c1, c2) = (counts, counts + 2048, counts + 4096)
        for i in 0..<n {
            let k = Self.key(values[i])
            c0[Int(k & 0x7FF)] &+= 1
            c1[Int((k >> 11) & 0x7FF)] &+= 1
            c2[Int(k >> 22)] &+= 1
        }
        var (src, dst) = (entries, spare)
        var fromValues = true
        for (pass, digit) in Self.digits.enumerated() {
            let c = counts + pass * 2048
            let mask = UInt64((1 << digit.bits) - 1)
            // A digit that every key shares moves nothing.
            if c[Int(((UInt64(Self.key(values[0])) << 32) >> digit.shift) & mask)] == n { continue }
            var sum: UInt32 = 0
            for d in 0..<(1 << digit.bits) { let t = c[d]; c[d] = sum; sum &+= t }
            if fromValues {
                for i in 0..<n {
                    let e = UInt64(Self.key(values[i])) << 32 | UInt64(i)
                    let d = Int((e >> digit.shift) & mask)
                    let at = c[d]; c[d] = at &+ 1
                    dst[Int(at)] = e
                }
                fromValues = false
            } else {
                for i in 0..<n {
                    let e = src[i], d = Int((e >> digit.shift) & mask)
                    let at = c[d]; c[d] = at &+ 1
                    dst[Int(at)] = e
                }
            }
            swap(&src, &dst)
        }
        if fromValues { for i in 0..<n { src[i] = UInt64(Self.key(values[i])) << 32 | UInt64(i) } }
        return UnsafePointer(src)
    }
}
