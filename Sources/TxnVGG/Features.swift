import TxnTensor

/// The outputs of every stage of one forward pass, kept for the backward pass.
public struct Activations: Sendable {
    /// The RGB image the pass started from.
    public let image: Tensor
    /// outputs[i] is the output of `VGG19.stages[i]`, for i up to the deepest layer computed.
    public internal(set) var outputs: [Tensor]

    /// Name of the deepest layer computed.
    public var deepestLayer: String { VGG19.stages[outputs.count - 1].name }

    public subscript(name: String) -> Tensor? {
        guard let i = try? VGG19.stageIndex(of: name), i < outputs.count else { return nil }
        return outputs[i]
    }
}

extension VGG19 {
    /// Runs the network on an RGB image batch [N, 3, H, W] in [0, 1] up to and including `layer`.
    public func forward(_ image: Tensor, upTo layer: String) throws -> Activations {
        try image.requireNCHW(channels: 3, "VGG-19")
        let last = try Self.stageIndex(of: layer)
        try requireLoaded(last)
        try Self.requireMemory(height: image.h, width: image.w, upTo: last, batch: image.n)
        var outputs: [Tensor] = []
        outputs.reserveCapacity(last + 1)
        for s in 0...last {
            let x = s == 0 ? image : outputs[s - 1]
            switch Self.stages[s].stage {
            case .input:
                outputs.append(try inputLayer.forward(x))
            case .conv(let i):
                var y = try convs[i].forward(x)
                ReLU.forwardInPlace(&y)
                outputs.append(y)
            case .pool:
                outputs.append(try Pool2D(pooling).forward(x))
            }
        }
        return Activations(image: image, outputs: outputs)
    }

    /// dL/d(image) given dL/d(output) at some layers of a forward pass. Layers deeper than the
    /// deepest gradient are never visited.
    public func backward(_ acts: Activations, gradients: [String: Tensor]) throws -> Tensor {
        var byStage: [Int: Tensor] = [:]
        for (name, g) in gradients {
            let s = try Self.stageIndex(of: name)
            guard s < acts.outputs.count else {
                throw VGGError.invalidOption("gradient given for '\(name)', deeper than the forward pass (\(acts.deepestLayer))")
            }
            guard g.shape == acts.outputs[s].shape else {
                throw TensorError.shapeMismatch("gradient for '\(name)' has shape \(g.shape), the layer \(acts.outputs[s].shape)")
            }
            byStage[s] = g
        }
        guard let deepest = byStage.keys.max() else { return Tensor(zeros: acts.image.shape) }
        var grad = byStage[deepest]!
        for s in stride(from: deepest, through: 0, by: -1) {
            if s != deepest, let extra = byStage[s] { grad += extra }
            let input = s == 0 ? acts.image : acts.outputs[s - 1]
            switch Self.stages[s].stage {
            case .input:
                grad = try inputLayer.backwardData(inputShape: input.shape, gradOutput: grad)
            case .conv(let i):
                ReLU.backwardInPlace(output: acts.outputs[s], grad: &grad)
                grad = try convs[i].backwardData(inputShape: input.shape, gradOutput: grad)
            case .pool:
                grad = try Pool2D(pooling).backward(input: input, gradOutput: grad)
            }
        }
        return grad
    }

    func requireLoaded(_ stage: Int) throws {
        let loaded = try Self.stageIndex(of: deepestLayer)
        if stage > loaded { throw VGGError.layerNotLoaded(Self.stages[stage].name, deepest: deepestLayer) }
    }
}
