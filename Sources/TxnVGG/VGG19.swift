import TxnTensor

/// VGG-19's convolutional part as the texture model sees it: an input transform, sixteen 3x3
/// convolutions each followed by ReLU, and five 2x2 poolings.
///
/// Layer names follow Caffe, where ReLU runs in place: `conv1_1` is the rectified output of the
/// first convolution (`relu1_1` is accepted as a synonym). `input` is the image after the input
/// transform, in the units the first convolution expects.
public struct VGG19: Sendable {
    /// What the network expects of its input, and how RGB in [0, 1] is brought there.
    public enum InputConvention: Equatable, Sendable, CustomStringConvertible {
        /// The checkpoint's own 1x1 input layer does the conversion (vgg_normalised.pth).
        case checkpointLayer
        /// Caffe: BGR, 0–255, minus a per-channel mean given in BGR order (the original VGG).
        case caffeBGR(mean: [Float])
        /// torchvision: RGB in [0, 1], minus mean, divided by std (both in RGB order).
        case torchvisionRGB(mean: [Float], std: [Float])

        public static let caffeImageNet = InputConvention.caffeBGR(mean: [103.939, 116.779, 123.68])
        public static let torchvisionImageNet = InputConvention.torchvisionRGB(
            mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

        public var description: String {
            switch self {
            case .checkpointLayer: return "RGB in [0,1] through the checkpoint's own 1x1 input layer"
            case .caffeBGR(let m): return "Caffe: BGR 0-255 minus mean \(m) (BGR order)"
            case .torchvisionRGB(let m, let s): return "torchvision: RGB [0,1] minus mean \(m), divided by std \(s)"
            }
        }

        /// The convention as a 1x1 convolution from RGB in [0, 1], so every model runs the same code.
        func inputLayer() throws -> Conv2D {
            var w = [Float](repeating: 0, count: 9), b = [Float](repeating: 0, count: 3)
            switch self {
            case .checkpointLayer:
                throw VGGError.invalidOption("the checkpoint has no input layer of its own")
            case .caffeBGR(let mean):
                for o in 0..<3 { w[o * 3 + (2 - o)] = 255; b[o] = -mean[o] }
            case .torchvisionRGB(let mean, let std):
                for o in 0..<3 { w[o * 3 + o] = 1 / std[o]; b[o] = -mean[o] / std[o] }
            }
            return try Conv2D(weight: Tensor(shape: [3, 3, 1, 1], data: w), bias: Tensor(shape: [3], data: b),
                              padding: .zero)
        }
    }

    /// One step of the network.
    public enum Stage: Equatable, Sendable {
        case input
        case conv(Int)  // index into the sixteen convolutions; includes its ReLU
        case pool(Int)  // 1...5
    }

    /// Every layer name, in network order, with its stage.
    public static let stages: [(name: String, stage: Stage)] = {
        var s: [(String, Stage)] = [("input", .input)]
        var conv = 0
        for (block, count) in [(1, 2), (2, 2), (3, 4), (4, 4), (5, 4)] {
            for i in 1...count {
                s.append(("conv\(block)_\(i)", .conv(conv)))
                conv += 1
            }
            s.append(("pool\(block)", .pool(block)))
        }
        return s
    }()

    public static let layerNames: [String] = stages.map(\.name)
    /// (input, output) channels of the sixteen 3x3 convolutions.
    public static let convChannels = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
                               (256, 256), (256, 512), (512, 512), (512, 512), (512, 512),
                               (512, 512), (512, 512), (512, 512), (512, 512)]

    /// Index in `stages` of a layer name (`reluX_Y` means `convX_Y`).
    public static func stageIndex(of name: String) throws -> Int {
        let canonical = name.hasPrefix("relu") ? "conv" + name.dropFirst(4) : name
        guard let i = layerNames.firstIndex(of: canonical) else {
            throw VGGError.unknownLayer(name, suggestion: nearest(name, in: layerNames))
        }
        return i
    }

    /// Number of channels of a layer's output.
    public static func channels(of name: String) throws -> Int {
        switch stages[try stageIndex(of: name)].stage {
        case .input: return 3
        case .conv(let i): return convChannels[i].1
        case .pool(let b): return [64, 128, 256, 512, 512][b - 1]
        }
    }

    public var pooling: Pool2D.Kind
    public var padding: PaddingMode { didSet { applyPadding() } }
    public let convention: InputConvention
    /// Where the weights came from and what was assumed about them, for `show` and logs.
    public let origin: String
    /// The deepest layer whose weights are loaded.
    public let deepestLayer: String

    var inputLayer: Conv2D
    var convs: [Conv2D]

    public init(inputLayer: Conv2D, convs: [Conv2D], convention: InputConvention, pooling: Pool2D.Kind,
                padding: PaddingMode, origin: String) throws {
        guard inputLayer.inChannels == 3, inputLayer.outChannels == 3, inputLayer.kernel == 1 else {
            throw VGGError.invalidOption("the input layer must be a 1x1 convolution from 3 to 3 channels")
        }
        guard !convs.isEmpty, convs.count <= 16 else {
            throw VGGError.invalidOption("VGG-19 has 1 to 16 convolutions, got \(convs.count)")
        }
        for (i, c) in convs.enumerated() where (c.inChannels, c.outChannels) != Self.convChannels[i] || c.kernel != 3 {
            throw VGGError.invalidOption(
                "convolution \(i + 1) is \(c.outChannels)x\(c.inChannels)x\(c.kernel)x\(c.kernel), "
                + "VGG-19 has \(Self.convChannels[i].1)x\(Self.convChannels[i].0)x3x3")
        }
        self.inputLayer = inputLayer
        self.convs = convs
        self.convention = convention
        self.pooling = pooling
        self.padding = padding
        self.origin = origin
        // The deepest loaded layer: the pool right after the last conv of a full block, else that conv.
        let lastConv = Self.stages.lastIndex { $0.stage == .conv(convs.count - 1) }!
        let next = lastConv + 1
        if next < Self.stages.count, case .pool = Self.stages[next].stage {
            deepestLayer = Self.stages[next].name
        } else {
            deepestLayer = Self.stages[lastConv].name
        }
        applyPadding()
    }

    private mutating func applyPadding() {
        for i in convs.indices { convs[i].padding = padding }
    }

    /// Number of parameters loaded.
    public var parameterCount: Int {
        convs.reduce(inputLayer.weight.count + inputLayer.bias.count) { $0 + $1.weight.count + $1.bias.count }
    }
}

/// Errors of the VGG layer: bad names, options and checkpoints.
public enum VGGError: Error, CustomStringConvertible, Equatable {
    case unknownLayer(String, suggestion: String?)
    case layerNotLoaded(String, deepest: String)
    case invalidOption(String)
    case unrecognisedCheckpoint(path: String, keys: [String])
    case badCheckpoint(path: String, reason: String)

    public var description: String {
        switch self {
        case .unknownLayer(let name, let suggestion):
            let hint = suggestion.map { " (did you mean '\($0)'?)" } ?? ""
            return "unknown VGG-19 layer '\(name)'\(hint); layers are \(VGG19.layerNames.joined(separator: ", "))"
        case .layerNotLoaded(let name, let deepest):
            return "layer '\(name)' is deeper than the loaded weights (up to \(deepest)); load the model with a deeper layer"
        case .invalidOption(let m):
            return m
        case .unrecognisedCheckpoint(let path, let keys):
            let shown = keys.prefix(12).joined(separator: ", ") + (keys.count > 12 ? ", … (\(keys.count) keys)" : "")
            return """
                \(path): not a VGG-19 checkpoint txn knows. Keys found: \(shown). Layouts expected: \
                vgg_normalised ('0.weight' [3,3,1,1], '2.weight' … '51.bias'), torchvision ('features.0.weight' … \
                'features.34.bias'), or Keras-quantised ('block1_conv1_W_q', '_W_table', '_b')
                """
        case .badCheckpoint(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
