import TxnImage
import TxnTensor
import TxnVGG

/// How far apart two textures are, in the VGG-19 feature space, whatever their sizes.
///
/// Two measures: the Gram loss of the synthesis itself (second-order statistics), and a sliced
/// Wasserstein distance between the distributions of feature vectors (all orders along random
/// directions), which also catches what Gram matrices miss. The projections come from a fixed seed,
/// so the numbers are comparable across runs and methods.
public struct TextureDistance: Sendable {
    public var layers: [String]
    /// Σ w_l ¼ mean((G_l(a) − G_l(b))²).
    public var gramLoss: Double
    /// Sliced Wasserstein-2 distance per layer.
    public var slicedPerLayer: [Double]
    /// Mean of `slicedPerLayer`.
    public var sliced: Double { slicedPerLayer.reduce(0, +) / Double(max(1, slicedPerLayer.count)) }

    public static func measure(_ a: Image, _ b: Image, model: VGG19,
                               layers: [String] = ["conv1_1", "pool1", "pool2", "pool3", "pool4"],
                               weights: [Double]? = nil, normalisation: GramNormalisation = .pixels,
                               projections: Int = 64, seed: UInt64 = 0x5EED,
                               algorithm: ConvAlgorithm = .winograd) throws -> TextureDistance {
        let deepest = VGG19.layerNames[try layers.map { try VGG19.stageIndex(of: $0) }.max() ?? 0]
        func features(_ image: Image) throws -> [Tensor] {
            let plan = try VGGPlan(model: model, height: image.height, width: image.width, upTo: deepest,
                                   algorithm: algorithm, backward: false)
            return try plan.forward(try Tensor(shape: [1, 3, image.height, image.width], data: image.pixels), layers: layers)
        }
        let fa = try features(a), fb = try features(b)
        let w = weights ?? Array(repeating: 1e9, count: layers.count)
        var gram = 0.0
        var sliced: [Double] = []
        for l in layers.indices {
            let ga = try normalisation.gram(fa[l]), gb = try normalisation.gram(fb[l])
            var sq = 0.0
            for i in 0..<ga.count { let d = Double(ga.data[i] - gb.data[i]); sq += d * d }
            gram += w[l] * 0.25 * sq / Double(ga.count)
            sliced.append(slicedWasserstein(fa[l], fb[l], projections: projections, seed: seed &+ UInt64(l)))
        }
        return TextureDistance(layers: layers, gramLoss: gram, slicedPerLayer: sliced)
    }

    /// SW2 between the columns of two C x M feature matrices: project both on K random unit
    /// directions, sort, and compare equal quantiles.
    static func slicedWasserstein(_ a: Tensor, _ b: Tensor, projections k: Int, seed: UInt64) -> Double {
        let c = a.c, ma = a.h * a.w, mb = b.h * b.w
        var rng = SplitMix64(seed: seed)
        var directions = [Float](repeating: 0, count: k * c)
        for p in 0..<k {
            var norm: Float = 0
            for j in 0..<c { let v = rng.nextGaussian(); directions[p * c + j] = v; norm += v * v }
            let inv = 1 / norm.squareRoot()
            for j in 0..<c { directions[p * c + j] *= inv }
        }
        func project(_ f: Tensor, _ m: Int) -> [Float] {
            var out = [Float](repeating: 0, count: k * m)
            directions.withUnsafeBufferPointer { d in
                f.data.withUnsafeBufferPointer { fp in
                    out.withUnsafeMutableBufferPointer { o in
                        sgemm(m: k, n: m, k: c, d.baseAddress!, lda: c, fp.baseAddress!, ldb: m, o.baseAddress!, ldc: m)
                    }
                }
            }
            return out
        }
        let pa = project(a, ma), pb = project(b, mb)
        let n = min(ma, mb)
        var total = 0.0
        for p in 0..<k {
            let ra = pa[(p * ma)..<((p + 1) * ma)].sorted(), rb = pb[(p * mb)..<((p + 1) * mb)].sorted()
            for i in 0..<n {
                let qa = ra[(2 * i + 1) * ma / (2 * n)], qb = rb[(2 * i + 1) * mb / (2 * n)]
                let d = Double(qa - qb)
                total += d * d
            }
        }
        return (total / Double(k * n)).squareRoot()
    }
}
