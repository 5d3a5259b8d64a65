import TxnTensor

/// What the texture loss needs of a network: features at some layers for an image, then the
/// gradient with respect to that image given gradients at those layers.
///
/// Two implementations: `ReferenceNetwork` (plain tensors, im2col; easy to read and to check) and
/// `VGGPlan` (oneDNN, blocked layout, buffers planned once per image size; fast).
public protocol FeatureNetwork: AnyObject {
    var model: VGG19 { get }
    /// Runs the forward pass up to the deepest of `layers` and returns their outputs (NCHW), keeping
    /// what `backward` needs.
    func forward(_ image: Tensor, layers: [String]) throws -> [Tensor]
    /// dL/d(image) of the last forward pass, given dL/d(output) at some of its layers.
    func backward(_ gradients: [String: Tensor]) throws -> Tensor
    /// Runs the forward pass and returns the Gram matrices G = F Fᵀ / M ([1, C, C]) of `layers`.
    func grams(_ image: Tensor, layers: [String]) throws -> [Tensor]
    /// dL/d(image) of the last `grams` pass, given dL/dG at some of its layers.
    func backward(gramGradients: [String: Tensor]) throws -> Tensor
}

/// Through the features, for networks that keep them.
extension FeatureNetwork {
    func gramsThroughFeatures(_ image: Tensor, layers: [String], keep: inout [String: Tensor]) throws -> [Tensor] {
        let features = try forward(image, layers: layers)
        keep = Dictionary(zip(layers, features), uniquingKeysWith: { a, _ in a })
        return try features.map { try Gram.forward($0) }
    }

    func backwardThroughFeatures(_ gramGradients: [String: Tensor], features: [String: Tensor]) throws -> Tensor {
        var gradients: [String: Tensor] = [:]
        for (name, dg) in gramGradients {
            guard let f = features[name] else {
                throw VGGError.invalidOption("no Gram matrix was computed at '\(name)' in the last forward pass")
            }
            gradients[name] = try Gram.backward(features: f, gradGram: dg)
        }
        return try backward(gradients)
    }
}

/// The plain-tensor implementation of `FeatureNetwork`.
public final class ReferenceNetwork: FeatureNetwork {
    public let model: VGG19
    private var last: Activations?

    public init(model: VGG19) { self.model = model }

    public func forward(_ image: Tensor, layers: [String]) throws -> [Tensor] {
        let deepest = try VGG19.deepestStage(of: layers)
        let acts = try model.forward(image, upTo: VGG19.layerNames[deepest])
        last = acts
        return layers.map { acts[$0]! }
    }

    public func backward(_ gradients: [String: Tensor]) throws -> Tensor {
        guard let last else { throw VGGError.invalidOption("backward called before forward") }
        return try model.backward(last, gradients: gradients)
    }

    private var gramFeatures: [String: Tensor] = [:]

    public func grams(_ image: Tensor, layers: [String]) throws -> [Tensor] {
        try gramsThroughFeatures(image, layers: layers, keep: &gramFeatures)
    }

    public func backward(gramGradients: [String: Tensor]) throws -> Tensor {
        try backwardThroughFeatures(gramGradients, features: gramFeatures)
    }
}
