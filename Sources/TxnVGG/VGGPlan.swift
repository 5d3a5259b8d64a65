import Dispatch
import TxnTensor

/// VGG-19 forward and backward for one image size, on oneDNN's channel-blocked layout from end to
/// end: primitives and buffers are created once and reused every iteration, bias and ReLU run
/// inside the convolution, padding of any mode is applied on the blocked data, and only the
/// layers up to the deepest one asked for exist at all.
///
/// Memory is planned like registers: activations live in two ping-pong arenas (a layer reads one
/// and writes the other; the backward pass reuses them for gradients), ReLU's backward keeps one bit
/// per value instead of the activation, padded inputs share one scratch arena, and all primitives
/// share one oneDNN scratchpad. Only the features or Gram matrices the loss asks for are kept.
public final class VGGPlan: FeatureNetwork {
    public let model: VGG19
    public let height: Int, width: Int
    public let algorithm: ConvAlgorithm
    /// Index in `VGG19.stages` of the deepest stage planned.
    public let deepest: Int

    private let pad: Pad2D
    /// Channels per block of the layout every buffer of the plan is in (`DNNLCPU.block`).
    private let block = DNNLCPU.block
    /// [C, H, W] of each stage's output.
    private let dims: [[Int]]
    /// The input transform's output (3 channels, plain NCHW).
    private var input = Tensor(zeros: [1, 3, 1, 1])
    /// Stage s writes outputs[s], a view into arena s % 2.
    private var outputs: [DNNLBuffer?]
    /// ReLU masks of the convolutions (one bit per value), in the blocked layout of their outputs.
    private var masks: [Int: [UInt8]] = [:]
    private var convs: [Int: BlockedConvolution] = [:]
    private var pools: [Int: BlockedPooling] = [:]
    /// The padded input of each convolution, all views into one scratch arena.
    private var padded: [Int: DNNLBuffer] = [:]
    /// Two gradient views per stage, one in each of two gradient arenas.
    private var gradients: [Int: (DNNLBuffer, DNNLBuffer)] = [:]
    private var paddedGradient1: DNNLBuffer?
    private let hasBackward: Bool
    private var arenaBytes = 0
    /// Seconds spent per stage, summed over passes, when profiling (`txn bench --profile`); nil otherwise,
    /// so a normal run reads no clock.
    public var profile: StageProfile?

    public init(model: VGG19, height: Int, width: Int, upTo layer: String, algorithm: ConvAlgorithm = .auto,
                backward: Bool = true) throws {
        self.model = model
        self.height = height
        self.width = width
        self.algorithm = algorithm
        self.hasBackward = backward
        let last = try VGG19.stageIndex(of: layer)
        try model.requireLoaded(last)
        guard height > 0, width > 0 else { throw VGGError.invalidOption("image size \(width)x\(height) is empty") }
        try VGG19.requireMemory(height: height, width: width, upTo: last, copies: backward ? 3 : 2)
        deepest = last
        pad = Pad2D(pad: 1, mode: model.padding)

        let sizes = try Self.sizes(model: model, height: height, width: width, last: last, backward: backward)
        let (dims, activationBytes, paddedBytes) = (sizes.dims, sizes.activationBytes, sizes.paddedBytes)
        self.dims = dims
        let activationArenas = [try DNNLArena(bytes: activationBytes), try DNNLArena(bytes: activationBytes)]
        let scratch = try DNNLArena(bytes: paddedBytes)
        // Activations are dead once the forward pass is over (masks, pooling workspaces and Gram
        // features keep what the backward pass needs), so gradients ping-pong in the same two arenas.
        let gradientArenas = activationArenas
        arenaBytes = activationBytes * 2 + paddedBytes

        var outputs: [DNNLBuffer?] = [nil]
        if backward {
            gradients[0] = (try DNNLBuffer(dims: [1, 3, height, width], .blocked, in: gradientArenas[0]),
                            try DNNLBuffer(dims: [1, 3, height, width], .blocked, in: gradientArenas[1]))
        }
        for s in stride(from: 1, through: last, by: 1) {
            let (c, h, w) = (dims[s][0], dims[s][1], dims[s][2])
            let (inH, inW) = (dims[s - 1][1], dims[s - 1][2])
            switch VGG19.stages[s].stage {
            case .conv(let i):
                try pad.check(h, w)
                let first = i == 0
                convs[s] = try BlockedLayers.convolution(model.convs[i], height: h, width: w, source: first ? .nchw : .blocked,
                                                         gradientSource: .blocked,
                                                         algorithm: Self.algorithm(algorithm, layer: i, height: h, width: w),
                                                         backward: backward)
                padded[s] = try DNNLBuffer(dims: [1, model.convs[i].inChannels, h + 2, w + 2], first ? .nchw : .blocked,
                                           in: scratch)
                // conv1_1 reads 3 plain channels but hands back its input gradient blocked (3 of the block's
                // lanes used): oneDNN has a JIT kernel for that, and only a slow reference one for NCHW.
                if first && backward {
                    paddedGradient1 = try DNNLBuffer(dims: [1, 3, h + 2, w + 2], .blocked, in: scratch)
                }
                if backward { masks[s] = [UInt8](repeating: 0, count: (c * h * w + 7) / 8) }
            case .pool:
                pools[s] = try BlockedLayers.pooling(model.pooling, channels: c, height: inH, width: inW, backward: backward)
            case .input:
                break
            }
            outputs.append(try DNNLBuffer(dims: [1, c, h, w], .blocked, in: activationArenas[s % 2]))
            if backward {
                gradients[s] = (try DNNLBuffer(dims: [1, c, h, w], .blocked, in: gradientArenas[0]),
                                try DNNLBuffer(dims: [1, c, h, w], .blocked, in: gradientArenas[1]))
            }
        }
        self.outputs = outputs
        if backward { gramScratch = [Float](repeating: 0, count: Blocked.gramBackwardScratchCount) }
        // One scratchpad for every primitive: they run one at a time.
        let scratchBytes = max(convs.values.map(\.scratchpadBytes).max() ?? 0, pools.values.map(\.scratchpadBytes).max() ?? 0)
        if scratchBytes > 0 {
            let arena = try DNNLArena(bytes: scratchBytes)
            for conv in convs.values { try conv.bindScratchpad(arena) }
            for pool in pools.values { try pool.bindScratchpad(arena) }
            arenaBytes += arena.bytes
        }
    }

    /// [C, H, W] of each stage's output up to `last`, and the bytes of one activation arena (the largest
    /// output, blocked) and of the padded-input scratch (the largest padded input).
    static func sizes(model: VGG19, height: Int, width: Int, last: Int, backward: Bool) throws
        -> (dims: [[Int]], activationBytes: Int, paddedBytes: Int) {
        var dims: [[Int]] = [[3, height, width]]
        for s in stride(from: 1, through: last, by: 1) {
            let (h, w) = VGG19.mapSize(height: height, width: width, stage: s)
            dims.append([try VGG19.channels(of: VGG19.stages[s].name), h, w])
        }
        var activationBytes = 64, paddedBytes = 64
        for s in stride(from: 1, through: last, by: 1) {
            activationBytes = max(activationBytes, try DNNLBuffer.bytes(dims: [1] + dims[s], .blocked))
            if case .conv(let i) = VGG19.stages[s].stage {
                let c = model.convs[i].inChannels
                paddedBytes = max(paddedBytes, try DNNLBuffer.bytes(dims: [1, c, dims[s][1] + 2, dims[s][2] + 2],
                                                                    i == 0 ? .nchw : .blocked))
                if i == 0 && backward {
                    // conv1_1's input gradient is blocked: a whole block of lanes for its 3 channels.
                    paddedBytes = max(paddedBytes, try DNNLBuffer.bytes(dims: [1, 3, dims[s][1] + 2, dims[s][2] + 2], .blocked))
                }
            }
        }
        return (dims, activationBytes, paddedBytes)
    }

    /// The bytes a plan for `layers` at this size will hold, known before making it: two activation arenas, the
    /// padded-input scratch, the ReLU masks, and the pixel-major features the Gram backward keeps (of a tile's
    /// core of `corePixels` input pixels, or of all). oneDNN's own copies of the weights and its scratchpad are
    /// not known before its primitives exist: callers allow for them (`SynthesisMemory`).
    public static func plannedBytes(model: VGG19, height: Int, width: Int, layers: [String], corePixels: Int? = nil) throws -> Int {
        let last = try VGG19.deepestStage(of: layers)
        let sizes = try sizes(model: model, height: height, width: width, last: last, backward: true)
        let what = "a VGG-19 plan for \(width)x\(height)"
        var total = try MemoryBudget.product([2, sizes.activationBytes], for: what) + sizes.paddedBytes
        let share = Double(corePixels ?? height * width) / Double(height * width)
        for s in stride(from: 1, through: last, by: 1) {
            let count = try MemoryBudget.product(sizes.dims[s], for: what)
            if case .conv = VGG19.stages[s].stage { total += (count + 7) / 8 }
            if layers.contains(VGG19.stages[s].name) { total += Int(Double(count) * share) * MemoryLayout<Float>.stride }
        }
        return total
    }

    /// The algorithm one convolution uses: Winograd (oneDNN's on AVX-512, txn's elsewhere) where it pays. conv1_1
    /// has 3 input channels. oneDNN's F(4x4, 3x3) does not pay under 32x32 (measured at 16x16: 5.1 ms forward and
    /// 5.6 ms backward per 512-channel layer against 3.3 and 3.5 ms direct); txn's own on AVX2 does down to 16x16
    /// (conv4_x at a 128² input: 14.3 against 23.3 ms forward+backward per layer with F(2x2, 3x3), medians of 3
    /// `txn bench --profile` runs, AMD EPYC Zen 3; the F(4x4, 3x3) that replaced it took 0.48-0.80 of its time on a
    /// 512-channel layer at 32², C harness; at 16² the two were not compared).
    static func algorithm(_ requested: ConvAlgorithm, layer: Int, height: Int, width: Int) -> ConvAlgorithm {
        switch requested {
        case .direct: return .direct
        case .auto, .winograd:
            let smallest = ConvAlgorithm.oneDNNWinogradAvailable ? 32 : 16
            return layer == 0 || height * width < smallest * smallest ? .direct : .winograd
        }
    }

    /// Bytes held by oneDNN weights, arenas and masks.
    public var memoryReport: String {
        let w = convs.values.reduce(0) { $0 + $1.weightBytes }
        let m = masks.values.reduce(0) { $0 + $1.count }
        return "weights \(w >> 20) MiB, arenas \(arenaBytes >> 20) MiB, ReLU masks \(m >> 20) MiB"
    }

    /// What computes each layer, forward / backward, e.g. "conv1_2: jit:avx2 / jit:avx2" or "gemm fallback".
    public var implementations: [(layer: String, forward: String, backward: String, scratchMiB: Int)] {
        let layers: [Int: BlockedLayer] = convs.mapValues { $0 as BlockedLayer }.merging(pools.mapValues { $0 }) { a, _ in a }
        return layers.keys.sorted().map {
            (VGG19.stages[$0].name, layers[$0]!.implementation, layers[$0]!.backwardImplementation, layers[$0]!.scratchpadBytes >> 20)
        }
    }

    // MARK: Forward

    public func forward(_ image: Tensor, layers: [String]) throws -> [Tensor] {
        try run(image, layers: layers, grams: false)
    }

    public func grams(_ image: Tensor, layers: [String]) throws -> [Tensor] {
        try run(image, layers: layers, grams: true)
    }

    /// A tile of a larger image: the rows and columns of this plan's input whose features count (the tile's
    /// core; the rest is halo), and the size of the whole image.
    public struct TileCore: Equatable, Sendable {
        public var rows: Range<Int>, columns: Range<Int>
        public var imageHeight: Int, imageWidth: Int

        public init(rows: Range<Int>, columns: Range<Int>, imageHeight: Int, imageWidth: Int) {
            (self.rows, self.columns, self.imageHeight, self.imageWidth) = (rows, columns, imageHeight, imageWidth)
        }
    }

    /// The Gram matrices of `layers` over the core of a tile only, each divided by the whole image's pixel count
    /// at its layer, so that the matrices of tiles whose cores cover the image add up to the image's. The
    /// backward pass that follows injects the loss's gradient at the core only.
    ///
    /// The core must start on the pooling grid of the deepest layer (a multiple of its stride, 16 at pool4) and
    /// end on it or at the tile's edge, so that every layer's core is whole pixels of that layer.
    public func grams(_ image: Tensor, layers: [String], core: TileCore) throws -> [Tensor] {
        let stride = VGG19.grid(stage: try VGG19.deepestStage(of: layers))
        for (range, size, what) in [(core.rows, height, "rows"), (core.columns, width, "columns")] {
            guard range.lowerBound >= 0, range.upperBound <= size, !range.isEmpty, range.lowerBound % stride == 0,
                  range.upperBound % stride == 0 || range.upperBound == size else {
                throw VGGError.invalidOption("tile core \(what) \(range) of a \(width)x\(height) tile: "
                    + "must start on the \(stride)-pixel grid and end on it or at the tile's edge")
            }
        }
        return try run(image, layers: layers, grams: true, core: core)
    }

    /// Stage `s`'s pixels under `core` (nil: all of them), and the whole image's pixel count at that stage.
    private func window(_ s: Int, _ core: TileCore?) -> (PixelWindow?, Int) {
        let (h, w) = (dims[s][1], dims[s][2])
        guard let core else { return (nil, h * w) }
        let f = VGG19.grid(stage: s)
        let whole = VGG19.mapSize(height: core.imageHeight, width: core.imageWidth, stage: s)
        return (PixelWindow(rows: TileLayout.cells(core.rows, grid: f, of: h), columns: TileLayout.cells(core.columns, grid: f, of: w),
                            width: w), whole.height * whole.width)
    }

    /// Pixel-major (M x C) copies of the outputs whose Gram matrices were taken, for their backward.
    private var gramFeatures: [Int: [Float]] = [:]
    /// The Gram backward's band scratch, kept for the plan's life. A stored property, not `lazy`: a lazy array
    /// goes through its getter, so taking its buffer copied all 4 MiB at every layer.
    private var gramScratch: [Float] = []
    private var lastGramStages: Set<Int> = []
    /// The tile core of the last Gram pass, if it had one.
    private var lastCore: TileCore?

    /// The forward pass; returns the features of `layers` (NCHW), or their Gram matrices.
    private func run(_ image: Tensor, layers: [String], grams: Bool, core: TileCore? = nil, through: Int? = nil) throws -> [Tensor] {
        guard image.shape == [1, 3, height, width] else {
            throw TensorError.shapeMismatch("this plan is for [1, 3, \(height), \(width)] images, got \(image.shape)")
        }
        let wanted = try layers.map { try VGG19.stageIndex(of: $0) }
        guard let last = wanted.max() else { return [] }
        guard last <= deepest else {
            throw VGGError.layerNotLoaded(VGG19.layerNames[last], deepest: VGG19.layerNames[deepest])
        }
        input = try model.inputLayer.forward(image)
        var features: [Int: Tensor] = [0: input]
        for s in stride(from: 1, through: min(last, through ?? last), by: 1) {
            let started = profile?.now()
            switch VGG19.stages[s].stage {
            case .conv:
                let source = padded[s]!
                if s == 1 {
                    input.data.withUnsafeBufferPointer {
                        pad.forward($0.baseAddress!, source.pointer, planes: 3, h: height, w: width)
                    }
                } else {
                    let (c, h, w) = (dims[s - 1][0], dims[s - 1][1], dims[s - 1][2])
                    pad.forward(outputs[s - 1]!.pointer, source.pointer, planes: c / block, h: h, w: w, vector: block)
                }
                try convs[s]!.forward(source: source, destination: outputs[s]!)
                if hasBackward {
                    masks[s]!.withUnsafeMutableBufferPointer { outputs[s]!.positiveMask(into: $0.baseAddress!) }
                }
            case .pool:
                try pools[s]!.forward(source: outputs[s - 1]!, destination: outputs[s]!)
            case .input:
                break
            }
            let computed = profile?.now()
            // The arena is overwritten two stages later: take what the caller asked for now.
            if wanted.contains(s) { features[s] = grams ? try gram(s, core) : nchw(s) }
            if let started, let computed {
                profile!.add(.forward, stage: s, computed - started)
                if wanted.contains(s) { profile!.add(.features, stage: s, profile!.now() - computed) }
            }
        }
        if grams { (lastGramStages, lastCore) = (Set(wanted), core) }
        return wanted.compactMap { features[$0] }
    }

    /// What the backward pass needs of one forward pass beyond stage `stage`: the convolutions' ReLU masks and
    /// the Gram features kept there. A tiled evaluation keeps one per tile between its two passes, so that the
    /// second runs the forward only up to `stage` (after pool1: 11% of the forward's work, and what it keeps
    /// there, conv1_1's and pool1's features at full resolution, is most of the memory).
    public struct ForwardState {
        public let stage: Int
        fileprivate let masks: [Int: [UInt8]]
        fileprivate let gramFeatures: [Int: [Float]]
        fileprivate let core: TileCore?
    }

    /// Takes (not copies) the state beyond `stage` of the last Gram pass; the plan gets fresh buffers for those stages.
    public func takeForwardState(after stage: Int) -> ForwardState {
        var kept: [Int: [UInt8]] = [:], features: [Int: [Float]] = [:]
        for (s, m) in masks where s > stage {
            kept[s] = m
            masks[s] = [UInt8](repeating: 0, count: m.count)
        }
        for s in lastGramStages where s > stage { features[s] = gramFeatures.removeValue(forKey: s) }
        return ForwardState(stage: stage, masks: kept, gramFeatures: features, core: lastCore)
    }

    /// The Gram pass of `grams(_:layers:core:)` again on the same tile, computing only up to `state.stage` and
    /// taking the rest from `state`; the Gram matrices are not needed again, so none are returned. The backward
    /// pass that follows is the same as after the full pass.
    public func resumeGrams(_ image: Tensor, layers: [String], core: TileCore, from state: ForwardState) throws {
        guard state.core == core else { throw VGGError.invalidOption("a forward state of another tile") }
        _ = try run(image, layers: layers, grams: true, core: core, through: state.stage)
        for (s, m) in state.masks { masks[s] = m }
        for (s, f) in state.gramFeatures { gramFeatures[s] = f }
    }

    /// The Gram matrix of stage `s`'s output (just computed), over the tile core if given; keeps the output
    /// (the core's), pixel-major, for the backward pass.
    private func gram(_ s: Int, _ core: TileCore?) throws -> Tensor {
        guard s > 0 else { throw VGGError.invalidOption("'input' is the image itself, it has no Gram matrix here") }
        let (c, m) = (dims[s][0], dims[s][1] * dims[s][2])
        let (window, n) = window(s, core)
        let count = window?.count ?? m
        // Without a backward pass the pixel-major copy is only scratch, freed on return. Tiles reuse it: only
        // the last tile's core can be smaller.
        var x = gramFeatures.removeValue(forKey: s) ?? []
        if x.count < c * count { x = [Float](repeating: 0, count: c * count) }
        var g = Tensor(zeros: [1, c, c])
        x.withUnsafeMutableBufferPointer { x in
            Blocked.toPixelMajor(outputs[s]!.pointer, x.baseAddress!, channels: c, pixels: m, window: window)
            g.data.withUnsafeMutableBufferPointer {
                Blocked.gram(pixelMajor: x.baseAddress!, channels: c, pixels: count, dividedBy: n, into: $0.baseAddress!)
            }
        }
        if hasBackward { gramFeatures[s] = x }
        return g
    }

    /// The NCHW features last handed out, per stage: the next forward pass writes into the same memory once
    /// the caller has let go of them (a buffer over 1 MiB allocated anew is fresh pages to fault in: see
    /// MALLOC_MMAP_THRESHOLD_ in txn's ProcessSetup).
    private var nchwFeatures: [Int: Tensor] = [:]

    /// The output of stage `s` (just computed) as an NCHW tensor.
    private func nchw(_ s: Int) -> Tensor {
        let (c, h, w) = (dims[s][0], dims[s][1], dims[s][2])
        // Taken out of the cache, so that unless the caller still holds it this is the only reference: no copy.
        var t = nchwFeatures.removeValue(forKey: s) ?? Tensor(zeros: [1, c, h, w])
        t.data.withUnsafeMutableBufferPointer { Blocked.toNCHW(outputs[s]!.pointer, $0.baseAddress!, channels: c, pixels: h * w) }
        nchwFeatures[s] = t
        return t
    }

    // MARK: Backward

    public func backward(_ given: [String: Tensor]) throws -> Tensor {
        let byStage = try gradientsByStage(given, shape: { [1] + self.dims[$0] })
        return try backward(from: byStage.keys.max()) { s, grad, other, isTop in
            guard let g = byStage[s] else { return }
            let (c, m) = (dims[s][0], dims[s][1] * dims[s][2])
            let target = isTop ? grad : other
            g.data.withUnsafeBufferPointer { Blocked.fromNCHW($0.baseAddress!, target.pointer, channels: c, pixels: m) }
            if !isTop { grad.add(other) }
        }
    }

    public func backward(gramGradients given: [String: Tensor]) throws -> Tensor {
        let byStage = try gradientsByStage(given, shape: { [1, self.dims[$0][0], self.dims[$0][0]] })
        for s in byStage.keys where !lastGramStages.contains(s) {
            throw VGGError.invalidOption("no Gram matrix was computed at '\(VGG19.layerNames[s])' in the last forward pass")
        }
        return try backward(from: byStage.keys.max()) { s, grad, _, isTop in
            guard let dg = byStage[s] else { return }
            let (c, m) = (dims[s][0], dims[s][1] * dims[s][2])
            let (window, n) = window(s, lastCore)
            if isTop { grad.pointer.update(repeating: 0, count: grad.count) }
            dg.data.withUnsafeBufferPointer { dg in
                gramScratch.withUnsafeMutableBufferPointer { scratch in
                    Blocked.gramBackward(pixelMajor: gramFeatures[s]!, channels: c, pixels: m, window: window, dividedBy: n,
                                         gradGram: dg.baseAddress!, addInto: grad.pointer, scratch: scratch.baseAddress!)
                }
            }
        }
    }

    private func gradientsByStage(_ given: [String: Tensor], shape: (Int) -> [Int]) throws -> [Int: Tensor] {
        guard hasBackward else { throw VGGError.invalidOption("this plan was made without backward") }
        var byStage: [Int: Tensor] = [:]
        for (name, g) in given {
            let s = try VGG19.stageIndex(of: name)
            guard s <= deepest, s > 0 else {
                throw VGGError.invalidOption("gradient at '\(name)' is outside the planned layers conv1_1…\(VGG19.layerNames[deepest])")
            }
            guard g.shape == shape(s) else {
                throw TensorError.shapeMismatch("gradient for '\(name)' has shape \(g.shape), expected \(shape(s))")
            }
            byStage[s] = g
        }
        return byStage
    }

    /// Walks the stages from `top` down to the image. `inject(s, grad, spare, isTop)` adds the loss's
    /// gradient at stage s into `grad` (which it must overwrite when `isTop`); `spare` is a free buffer
    /// of the same shape.
    private func backward(from top: Int?, inject: (Int, DNNLBuffer, DNNLBuffer, Bool) throws -> Void) throws -> Tensor {
        guard let top else { return Tensor(zeros: [1, 3, height, width]) }
        // `grad` holds dL/d(output of stage s) in the blocked layout; `side` is its arena.
        var side = 0
        var grad = gradients[top]!.0
        for s in stride(from: top, through: 1, by: -1) {
            let started = profile?.now()
            try inject(s, grad, side == 0 ? gradients[s]!.1 : gradients[s]!.0, s == top)
            let injected = profile?.now()
            let next = side == 0 ? gradients[s - 1]!.1 : gradients[s - 1]!.0
            switch VGG19.stages[s].stage {
            case .conv:
                masks[s]!.withUnsafeBufferPointer { grad.applyMask($0.baseAddress!) }
                let source = s == 1 ? paddedGradient1! : padded[s]!
                try convs[s]!.backwardData(gradOutput: grad, gradSource: source)
                let (c, h, w) = (dims[s - 1][0], dims[s - 1][1], dims[s - 1][2])
                pad.backward(source.pointer, next.pointer, planes: (c + block - 1) / block, h: h, w: w, vector: block)
            case .pool:
                try pools[s]!.backward(gradOutput: grad, gradSource: next)
            case .input:
                break
            }
            if let started, let injected {
                profile!.add(.featuresBackward, stage: s, injected - started)
                profile!.add(.backward, stage: s, profile!.now() - injected)
            }
            grad = next
            side = 1 - side
        }
        // grad is dL/d(input transform's output), 3 channels in the first lanes of one block.
        var dInput = Tensor(zeros: [1, 3, height, width])
        let (m, block) = (height * width, block)
        dInput.data.withUnsafeMutableBufferPointer { d in
            for p in 0..<m { for c in 0..<3 { d[c * m + p] = grad.pointer[p * block + c] } }
        }
        return try model.inputLayer.backwardData(inputShape: [1, 3, height, width], gradOutput: dInput)
    }
}

/// Where a plan's time goes, per stage and phase: the breakdown `txn bench --profile` prints.
public struct StageProfile {
    public enum Phase: Int, CaseIterable {
        /// The layer itself (padding, convolution with bias and ReLU, or pooling).
        case forward
        /// Taking the features or Gram matrix the loss asked for.
        case features
        /// The loss's gradient added at this stage (Gram backward).
        case featuresBackward
        /// The layer's backward-data (mask, convolution, padding's adjoint, or pooling).
        case backward
    }

    /// seconds[stage][phase]
    public private(set) var seconds: [[Double]]

    public init(stages: Int) {
        seconds = Array(repeating: Array(repeating: 0, count: Phase.allCases.count), count: stages)
    }

    func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    mutating func add(_ phase: Phase, stage: Int, _ t: Double) {
        if stage < seconds.count { seconds[stage][phase.rawValue] += t }
    }

    public mutating func reset() {
        for s in seconds.indices { for p in seconds[s].indices { seconds[s][p] = 0 } }
    }
}
