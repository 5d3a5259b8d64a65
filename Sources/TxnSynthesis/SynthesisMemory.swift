import TxnTensor
import TxnVGG

/// What a synthesis holds at its peak, known before it starts, and how the network is evaluated so that it fits
/// the memory limit (`MemoryBudget`, `--max-memory` or `set memory=`): over the whole image when it fits, else
/// in the largest tiles that do (`TiledNetwork`). A run that cannot fit even in the smallest tiles is an error
/// that says where the memory goes, before any work.
public struct SynthesisMemory: Equatable, Sendable {
    /// Side of the tiles' cores, or nil for the whole image at once.
    public let tile: Int?
    /// Whether the tiles' forward state beyond pool1 is kept between the two passes (`TiledNetwork.keepsState`).
    public var keepsState = false
    /// The network: arenas, masks, kept features (one tile's, when tiled), weights, scratch.
    public let networkBytes: Int
    /// The image-sized vectors of the optimiser and the run (`vectors`), and the SW loss's whole features.
    public let imageBytes: Int
    public var totalBytes: Int { networkBytes + imageBytes + Self.processBytes }

    /// One line for progress output: how the network runs and the planned peak.
    public var summary: String {
        let how = tile.map { "in tiles of \($0) px with halos\(keepsState ? ", state kept between passes" : "")" } ?? "over the whole image"
        return "network \(how); planned peak \(MemoryBudgetError.mib(totalBytes)) MiB of the \(MemoryBudget.limitMiB) MiB limit"
    }

    /// Tile cores tried, largest first, when the whole image does not fit. Not larger than 384 (tiles of 512 or
    /// less with pool4's halos): beyond that oneDNN's Winograd backward switches to a schedule that is 5–7 times
    /// slower on conv3 (160² maps: 221 ms against 29 ms at 128², `txn bench --sizes 512,640 --profile`), and an
    /// evaluation costs more per pixel than in smaller tiles despite the smaller share of halo (8.2 µs against
    /// 6.6 µs per pixel of core, two passes).
    public static let tileSides = [384, 256, 192, 128, 64]

    /// The process before any image: the libraries, the loaded weights and the source's statistics. Measured:
    /// `txn synth` at 64x64 peaks at about this (release build, pool4 model).
    static let processBytes = 160 * MemoryBudget.mebibyte

    /// oneDNN's copies of the weights (blocked, and Winograd-transformed) and its scratchpad: not known until its
    /// primitives exist, so allowed for as measured with `txn synth`: VGG-19 to pool4 holds 42 MiB of weights.
    static func oneDNNBytes(tilePixels: Int) -> Int { 3 * 42 * MemoryBudget.mebibyte + tilePixels * 64 }

    /// Image-sized Float vectors alive at once, counted in the code. L-BFGS: m + 1 slots each for s and y, the
    /// iterate, its gradient, the free gradient, the direction and the pinned mask (a quarter), then in the line
    /// search a trial image, the gradients of the bracket's ends and of the newest trial (four) and the point
    /// returned. Adam: m, v, the iterate and its gradient. The run adds the best image and the two bounds.
    /// A run of `steps` iterations stores at most that many pairs (`CurvatureHistory` allocates a slot on its first
    /// use), so a short octave at a large size holds fewer than m.
    public static func vectors(_ optimizer: SynthesisOptions.Optimizer, steps: Int) -> Int {
        switch optimizer {
        case .lbfgs(let m): return 2 * min(m, steps) + 15
        case .adam: return 8
        }
    }

    /// Plans a run of `options` (at its full size) on `model`.
    public static func plan(model: VGG19, options: SynthesisOptions) throws -> SynthesisMemory {
        let (w, h) = (options.width, options.height)
        let what = "synthesising \(w)x\(h)"
        let pixels = try MemoryBudget.product([3, w, h, MemoryLayout<Float>.stride], for: what)
        var imageBytes = try MemoryBudget.product([vectors(options.optimizer, steps: options.finalSteps), pixels], for: what)
        if options.loss.usesSliced {
            // The SW loss sorts every pixel's projections: whole features, their gradients and the sorted copy,
            // and the sorters and projections it keeps for its largest layer.
            var largest = 0
            for name in options.layers {
                let (lh, lw) = VGG19.mapSize(height: h, width: w, stage: try VGG19.stageIndex(of: name))
                imageBytes += try MemoryBudget.product([3, try VGG19.channels(of: name), lh, lw, MemoryLayout<Float>.stride], for: what)
                largest = max(largest, lh * lw)
            }
            imageBytes += try SlicedWassersteinLoss.scratchBytes(pixels: largest, threads: Threads.count)
        }
        func whole() throws -> SynthesisMemory {
            SynthesisMemory(tile: nil, networkBytes: try VGGPlan.plannedBytes(model: model, height: h, width: w, layers: options.layers)
                                + oneDNNBytes(tilePixels: h * w), imageBytes: imageBytes)
        }
        func tiled(_ side: Int, keepState: Bool) throws -> SynthesisMemory {
            let layout = try TileLayout(height: h, width: w, deepest: try VGG19.deepestStage(of: options.layers), maxCore: side,
                                        wrap: options.padding == .circular)
            let (th, tw) = (layout.tileHeight, layout.tileWidth)
            // The tile's crop, its input gradient, and the input transform's copies of both.
            let crops = 4 * 3 * th * tw * MemoryLayout<Float>.stride
            let bytes = try VGGPlan.plannedBytes(model: model, height: th, width: tw, layers: options.layers,
                                                 corePixels: min(side, h) * min(side, w))
            let kept = keepState && layout.count > 1 ? try TiledNetwork.keptBytes(layout: layout, layers: options.layers, height: h, width: w) : 0
            return SynthesisMemory(tile: layout.count > 1 ? side : nil, keepsState: kept > 0,
                                   networkBytes: bytes + crops + kept + oneDNNBytes(tilePixels: th * tw), imageBytes: imageBytes)
        }
        let limit = MemoryBudget.limitBytes
        if let side = options.evaluationTile {
            for keep in [true, false] {
                let plan = try tiled(side, keepState: keep)
                if plan.totalBytes <= limit { return plan }
                if !keep { throw overBudget(plan, what: what, limit: limit) }
            }
        }
        var best = try whole()
        if best.totalBytes <= limit { return best }
        // Keeping the state saves more time than a larger tile does: try both at each size.
        for side in tileSides where side < max(w, h) {
            for keep in [true, false] {
                let plan = try tiled(side, keepState: keep)
                if plan.totalBytes <= limit { return plan }
                best = plan
            }
        }
        throw overBudget(best, what: what, limit: limit)
    }

    static func overBudget(_ plan: SynthesisMemory, what: String, limit: Int) -> SynthesisError {
        let mib = MemoryBudgetError.mib
        let network = plan.tile.map { "the network in tiles of \($0) px" } ?? "the network over the whole image"
        return SynthesisError(.memory, "\(what) needs at least \(mib(plan.totalBytes)) MiB "
            + "(\(network): \(mib(plan.networkBytes)) MiB; the optimiser's image-sized vectors and features: "
            + "\(mib(plan.imageBytes)) MiB; the process: \(mib(processBytes)) MiB), over the memory limit of \(mib(limit)) MiB: "
            + "keep fewer L-BFGS pairs, use Adam, make it smaller, or raise the limit")
    }
}
