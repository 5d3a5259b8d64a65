import TxnTensor

extension VGG19 {
    /// The texture model of Gatys et al. 2015: the layers whose Gram matrices are matched by default, everywhere
    /// (the notebook's commands, `txn synth`, `txn bench`, the texture distance).
    public static let gatysLayers = ["conv1_1", "pool1", "pool2", "pool3", "pool4"]

    /// The deepest of `gatysLayers`: how far the default model is loaded (10.6M of VGG-19's 20M parameters).
    public static let gatysDeepestLayer = gatysLayers.last!

    /// The weight of each layer's Gram loss in Gatys et al. (with Gram matrices normalised by the number of
    /// positions, the loss does not depend on the image size; this weight assumes that).
    public static let gatysLayerWeight = 1e9

    /// The index in `stages` of the deepest of `layers`: how far a network must run to produce them all.
    /// An empty list is an error (there is nothing to run to), as is an unknown name.
    public static func deepestStage(of layers: [String]) throws -> Int {
        guard !layers.isEmpty else {
            throw VGGError.invalidOption("no layers given: name at least one, e.g. \(gatysLayers.joined(separator: ","))")
        }
        return try layers.map { try stageIndex(of: $0) }.max()!
    }

    /// The height and width of stage `s`'s feature maps for a `height` x `width` image: halved, rounded up (ceil
    /// mode), at every pooling up to it.
    public static func mapSize(height: Int, width: Int, stage s: Int) -> (height: Int, width: Int) {
        var (h, w) = (height, width)
        for entry in stages[...s] {
            if case .pool = entry.stage { (h, w) = (Pool2D.outputSize(h), Pool2D.outputSize(w)) }
        }
        return (h, w)
    }

    /// Input pixels per pixel of stage `s` (its grid): 2 per pooling up to it.
    public static func grid(stage s: Int) -> Int {
        stages[...s].reduce(1) { f, entry in if case .pool = entry.stage { return f * 2 } else { return f } }
    }

    /// The name of the deepest of `layers` (see `deepestStage(of:)`).
    public static func deepestLayer(of layers: [String]) throws -> String {
        layerNames[try deepestStage(of: layers)]
    }

    /// Checks that one pass over a `batch` x 3 x `height` x `width` image up to stage `last` fits in the memory
    /// budget: the activations of every stage, `copies` times (forward outputs, gradients, scratch), with
    /// overflow-checked products, before any of it is allocated.
    public static func requireMemory(height: Int, width: Int, upTo last: Int, batch: Int = 1, copies: Int = 2) throws {
        let what = "a VGG-19 pass over \(width)x\(height) up to \(layerNames[max(0, min(last, layerNames.count - 1))])"
        var total = try MemoryBudget.product([batch, 3, height, width], for: what)
        for s in stride(from: 1, through: last, by: 1) {
            let (h, w) = mapSize(height: height, width: width, stage: s)
            let (sum, overflow) = total.addingReportingOverflow(
                try MemoryBudget.product([batch, try channels(of: stages[s].name), h, w], for: what))
            guard !overflow else { throw MemoryBudgetError.overBudget(what: what, bytes: .max, limit: MemoryBudget.limitBytes) }
            total = sum
        }
        try MemoryBudget.requireFloats([total], copies: copies, for: what)
    }
}
