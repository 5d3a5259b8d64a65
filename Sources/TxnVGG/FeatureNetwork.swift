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
}

/// The plain-tensor implementation of `FeatureNetwork`.
public final class ReferenceNetwork: FeatureNetwork {
    public let model: VGG19
    private var last: Activations?

    public init(model: VGG19) { self.model = model }

    public func forward(_ image: Tensor, layers: [String]) throws -> [Tensor] {
        let deepest = try layers.map { try VGG19.stageIndex(of: $0) }.max() ?? 0
        let acts = try model.forward(image, upTo: VGG19.layerNames[deepest])
        last = acts
        return layers.map { acts[$0]! }
    }

    public func backward(_ gradients: [String: Tensor]) throws -> Tensor {
        guard let last else { throw VGGError.invalidOption("backward called before forward") }
        return try model.backward(last, gradients: gradients)
    }
}
