import TxnTensor
import TxnVGG

/// The texture loss of Gatys et al.: at each chosen layer l, E_l = ¼ · mean((G_l − Ĝ_l)²) between the
/// Gram matrices of the image and of the source, and L = Σ w_l E_l.
///
/// The mean runs over the C_l² entries (the paper's 1/(4 N_l² M_l²) with G already divided by M_l).
public struct TextureLoss: Sendable {
    public let layers: [String]
    public let weights: [Double]
    public let normalisation: GramNormalisation
    /// Ĝ_l, [1, C_l, C_l], in the order of `layers`.
    public let targets: [Tensor]

    /// Computes the targets from the source image [1, 3, H, W] in [0, 1] (any size: Gram matrices
    /// do not depend on it).
    public init(network: FeatureNetwork, source: Tensor, layers: [String], weights: [Double],
                normalisation: GramNormalisation = .pixels) throws {
        guard !layers.isEmpty else { throw VGGError.invalidOption("the texture loss needs at least one layer") }
        guard weights.count == layers.count else {
            throw VGGError.invalidOption("\(layers.count) layers but \(weights.count) layer weights")
        }
        self.layers = layers
        self.weights = weights
        self.normalisation = normalisation
        self.targets = try network.forward(source, layers: layers).map { try normalisation.gram($0) }
    }

    /// A loss with given target Gram matrices (in the order of `layers`).
    public init(targets: [Tensor], layers: [String], weights: [Double], normalisation: GramNormalisation = .pixels) throws {
        guard !layers.isEmpty, targets.count == layers.count, weights.count == layers.count else {
            throw VGGError.invalidOption("\(layers.count) layers, \(targets.count) targets and \(weights.count) weights")
        }
        self.layers = layers
        self.weights = weights
        self.normalisation = normalisation
        self.targets = targets
    }

    public init(network: FeatureNetwork, source: Tensor, layers: [String], weight: Double = VGG19.gatysLayerWeight) throws {
        try self.init(network: network, source: source, layers: layers,
                      weights: Array(repeating: weight, count: layers.count))
    }

    /// The loss of one evaluation: total, per layer (weighted), and optionally dL/d(image).
    public struct Evaluation: Sendable {
        public var total: Double
        public var perLayer: [Double]
        public var gradient: Tensor?
        /// The image's own Gram matrices, in the order of `layers`.
        public var grams: [Tensor]
    }

    public func evaluate(_ network: FeatureNetwork, _ image: Tensor, gradient: Bool = true) throws -> Evaluation {
        let raw = try network.grams(image, layers: layers)
        let (evaluation, gramGrads) = try terms(raw, height: image.h, width: image.w, gradient: gradient)
        var e = evaluation
        if gradient {
            e.gradient = try network.backward(gramGradients: summedByLayer(layers, gramGrads))
        }
        return e
    }

    /// The loss of given features (in the order of `layers`, from an image of `height` x `width`), with
    /// dL/dF added into `gradients` (one per layer, shaped like its features): for objectives that combine
    /// the Gram loss with another loss of the same features, whose gradient is already there.
    public func evaluate(features: [Tensor], height: Int, width: Int, addingGradientsInto gradients: inout [Tensor]) throws -> Evaluation {
        guard features.count == layers.count, gradients.count == layers.count else {
            throw VGGError.invalidOption("\(features.count) feature maps and \(gradients.count) gradients for \(layers.count) layers")
        }
        let (e, gramGrads) = try terms(try features.map { try Gram.forward($0) }, height: height, width: width, gradient: true)
        for l in layers.indices {
            try Gram.backward(features: features[l], gradGram: gramGrads[l], into: &gradients[l], adding: true)
        }
        return e
    }

    /// E_l and dE_l/dG_l (raw G = F Fᵀ / M, in the order of `layers`) from the raw Gram matrices.
    private func terms(_ raw: [Tensor], height: Int, width: Int, gradient: Bool) throws -> (Evaluation, [Tensor]) {
        var perLayer: [Double] = []
        var grams: [Tensor] = []
        var gramGrads: [Tensor] = []
        for (l, name) in layers.enumerated() {
            let k = normalisation.factor(channels: raw[l].shape[1], height: height, width: width, layer: name)
            var g = raw[l]
            if k != 1 { for i in 0..<g.count { g.data[i] *= k } }
            let target = targets[l]
            guard g.shape == target.shape else {
                throw TensorError.shapeMismatch("layer \(name): Gram \(g.shape) vs target \(target.shape)")
            }
            let entries = Double(g.count)
            var sq = 0.0
            var dG = Tensor(zeros: g.shape)
            // dE/dG = w (G − Ĝ) / (2 C²) for E = w/4 · mean((G − Ĝ)²).
            let scale = Float(weights[l] / (2 * entries))
            for i in 0..<g.count {
                let d = g.data[i] - target.data[i]
                sq += Double(d) * Double(d)
                dG.data[i] = scale * d
            }
            perLayer.append(weights[l] * 0.25 * sq / entries)
            grams.append(g)
            if gradient {
                if k != 1 { for i in 0..<dG.count { dG.data[i] *= k } }
                gramGrads.append(dG)
            }
        }
        return (Evaluation(total: perLayer.reduce(0, +), perLayer: perLayer, gradient: nil, grams: grams), gramGrads)
    }
}

/// Per-layer tensors (in the order of `layers`) by layer name, for a network's backward: a layer named twice gets
/// the sum of its terms.
func summedByLayer(_ layers: [String], _ tensors: [Tensor]) -> [String: Tensor] {
    Dictionary(zip(layers, tensors), uniquingKeysWith: { a, b in var sum = a; sum += b; return sum })
}

/// How the Gram matrix is scaled. The paper's G = F Fᵀ is divided here by M (pixels) so that the loss
/// does not depend on the image size; the default weights (1e9) assume that.
public enum GramNormalisation: String, CaseIterable, Sendable {
    /// G = F Fᵀ / M (the reference notebook and parity_64.json).
    case pixels
    /// G = F Fᵀ / (C M): also independent of the channel count, so layers weigh more alike (use smaller weights).
    case pixelsAndChannels = "pixels-channels"
    /// G = F Fᵀ, as printed in the paper; the loss then grows with M², so the weights must shrink with the image.
    case none

    /// The factor applied to F Fᵀ / M.
    func factor(_ f: Tensor) -> Float {
        switch self {
        case .pixels: return 1
        case .pixelsAndChannels: return 1 / Float(f.c)
        case .none: return Float(f.h * f.w)
        }
    }

    /// The factor for a layer of `channels` channels when the image is `height` x `width`.
    func factor(channels: Int, height: Int, width: Int, layer: String) -> Float {
        switch self {
        case .pixels: return 1
        case .pixelsAndChannels: return 1 / Float(channels)
        case .none:
            // M at the layer.
            let size = VGG19.mapSize(height: height, width: width, stage: (try? VGG19.stageIndex(of: layer)) ?? 0)
            return Float(size.height * size.width)
        }
    }

    public func gram(_ f: Tensor) throws -> Tensor {
        var g = try Gram.forward(f)
        let k = factor(f)
        if k != 1 { for i in 0..<g.count { g.data[i] *= k } }
        return g
    }
}
