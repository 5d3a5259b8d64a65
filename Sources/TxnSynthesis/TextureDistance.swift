import TxnImage
import TxnTensor
import TxnVGG

/// The statistics of one texture that the distance compares: per layer, its Gram matrix and the
/// sorted projections of its feature vectors on fixed random directions, kept at no more than
/// `quantiles` evenly spaced quantiles so that a 512x512 source costs kilobytes, not its features.
public struct TextureStatistics: Sendable {
    public var layers: [String]
    var grams: [Tensor]
    /// [layer][direction * q + i]: sorted projection quantiles.
    var projections: [[Float]]
    var quantiles: [Int]

    public static let defaultProjections = 64
    public static let defaultSeed: UInt64 = 0x5EED

    public init(features: [Tensor], layers: [String], normalisation: GramNormalisation = .pixels,
                projections k: Int = defaultProjections, quantiles maxQ: Int = 4096, seed: UInt64 = defaultSeed) throws {
        self.layers = layers
        grams = try features.map { try normalisation.gram($0) }
        var projections: [[Float]] = [], quantiles: [Int] = []
        for (l, f) in features.enumerated() {
            let (c, m) = (f.c, f.h * f.w)
            let q = min(m, maxQ)
            let d = randomDirections(k, c, seed: seed &+ UInt64(l))
            var kept = [Float](repeating: 0, count: k * q)
            // Eight directions at a time: the projections of a 512x512 conv1_1 would be 64 MiB at once.
            let chunk = 8
            var p = [Float](repeating: 0, count: chunk * m)
            for first in stride(from: 0, to: k, by: chunk) {
                let count = min(chunk, k - first)
                d.withUnsafeBufferPointer { dp in
                    f.data.withUnsafeBufferPointer { fp in
                        p.withUnsafeMutableBufferPointer { o in
                            project(dp.baseAddress! + first * c, count: count, fp.baseAddress!, channels: c, pixels: m,
                                    into: o.baseAddress!)
                        }
                    }
                }
                for j in 0..<count {
                    p[(j * m)..<((j + 1) * m)].sort()
                    // The centre of each of q equal-mass bins.
                    for i in 0..<q { kept[(first + j) * q + i] = p[j * m + (2 * i + 1) * m / (2 * q)] }
                }
            }
            projections.append(kept)
            quantiles.append(q)
        }
        self.projections = projections
        self.quantiles = quantiles
    }

    /// The statistics of an image, computed with a forward-only network planned for its size.
    public init(image: Image, model: VGG19, layers: [String], normalisation: GramNormalisation = .pixels) throws {
        let deepest = try VGG19.deepestLayer(of: layers)
        // Direct convolution: one forward pass, and Winograd's scratch memory would be wasted here.
        let plan = try VGGPlan(model: model, height: image.height, width: image.width, upTo: deepest,
                               algorithm: .direct, backward: false)
        let x = try Tensor(shape: [1, 3, image.height, image.width], data: image.pixels)
        try self.init(features: try plan.forward(x, layers: layers), layers: layers, normalisation: normalisation)
    }
}

/// How far apart two textures are, in the VGG-19 feature space, whatever their sizes.
///
/// Two measures: the Gram loss of the synthesis itself (second-order statistics), and a sliced
/// Wasserstein distance between the distributions of feature vectors (all orders along random
/// directions), which also catches what Gram matrices miss. The projections come from a fixed seed,
/// so the numbers are comparable across runs and methods.
public struct TextureDistance: Sendable {
    public var layers: [String]
    /// w_l ¼ mean((G_l(a) − G_l(b))²) per layer.
    public var gramPerLayer: [Double]
    /// Σ w_l ¼ mean((G_l(a) − G_l(b))²).
    public var gramLoss: Double { gramPerLayer.reduce(0, +) }
    /// Sliced Wasserstein-2 distance per layer.
    public var slicedPerLayer: [Double]
    /// Mean of `slicedPerLayer`.
    public var sliced: Double { slicedPerLayer.reduce(0, +) / Double(max(1, slicedPerLayer.count)) }

    public init(_ a: TextureStatistics, _ b: TextureStatistics, weights: [Double]? = nil) throws {
        guard a.layers == b.layers else {
            throw VGGError.invalidOption("texture statistics of different layers: \(a.layers) vs \(b.layers)")
        }
        layers = a.layers
        let w = weights ?? Array(repeating: VGG19.gatysLayerWeight, count: layers.count)
        var gram: [Double] = []
        var sliced: [Double] = []
        for l in layers.indices {
            let ga = a.grams[l], gb = b.grams[l]
            var sq = 0.0
            for i in 0..<ga.count { let d = Double(ga.data[i] - gb.data[i]); sq += d * d }
            gram.append(w[l] * 0.25 * sq / Double(ga.count))
            // Compare at the coarser of the two quantile grids.
            let (qa, qb) = (a.quantiles[l], b.quantiles[l]), q = min(qa, qb)
            let k = a.projections[l].count / qa
            var total = 0.0
            for dir in 0..<k {
                for i in 0..<q {
                    let va = a.projections[l][dir * qa + (2 * i + 1) * qa / (2 * q)]
                    let vb = b.projections[l][dir * qb + (2 * i + 1) * qb / (2 * q)]
                    total += Double(va - vb) * Double(va - vb)
                }
            }
            sliced.append((total / Double(k * q)).squareRoot())
        }
        gramPerLayer = gram
        slicedPerLayer = sliced
    }

    /// The distance between two images.
    public static func measure(_ a: Image, _ b: Image, model: VGG19,
                               layers: [String] = VGG19.gatysLayers,
                               weights: [Double]? = nil, normalisation: GramNormalisation = .pixels) throws -> TextureDistance {
        try TextureDistance(TextureStatistics(image: a, model: model, layers: layers, normalisation: normalisation),
                            TextureStatistics(image: b, model: model, layers: layers, normalisation: normalisation),
                            weights: weights)
    }
}
