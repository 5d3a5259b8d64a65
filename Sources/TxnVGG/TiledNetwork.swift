import TxnTensor

/// Where the tiles of an image go. Each tile is a core plus a halo at least as wide as the receptive field of
/// the deepest layer (54 px each side at pool4, rounded up to its 16-pixel grid: 64), so that the core's
/// features are exactly the whole image's: the halo's outer pixels see the tile's padding instead of their
/// neighbours, but no core feature reaches that far. The cores cover the image without overlap.
///
/// Tiles start on the pooling grid of the deepest layer, so every layer's pixels line up with the whole
/// image's. All tiles have one size, so one network plan serves them all. At a border of the image a tile
/// ends on the border (the network's own padding applies there, as for the whole image); with circular
/// padding there are no borders, and the tiles wrap around.
public struct TileLayout: Equatable, Sendable {
    /// One tile along one axis: its core, and where its extent starts (negative, or running past the end, only
    /// when wrapping). The extent is `TileLayout.tileHeight` or `tileWidth` long.
    public struct Span: Equatable, Sendable {
        public var core: Range<Int>
        public var start: Int
    }

    public let rows: [Span], columns: [Span]
    public let tileHeight: Int, tileWidth: Int
    /// Pixels of halo on each side of a core (where the image has pixels there).
    public let halo: Int
    public var count: Int { rows.count * columns.count }

    /// Tiles of at most `maxCore` x `maxCore` core pixels (rounded down to the grid) over a `height` x `width`
    /// image, for a network up to stage `deepest`; `wrap` for circular padding.
    public init(height: Int, width: Int, deepest: Int, maxCore: Int, wrap: Bool) throws {
        let grid = VGG19.grid(stage: deepest), halo = Self.halo(deepest)
        guard maxCore >= grid else {
            throw VGGError.invalidOption("a tile core of \(maxCore) px is smaller than the \(grid)-pixel grid of \(VGG19.layerNames[deepest])")
        }
        self.halo = halo
        (rows, tileHeight) = try Self.spans(height, maxCore: maxCore / grid * grid, halo: halo, grid: grid, wrap: wrap, axis: "height")
        (columns, tileWidth) = try Self.spans(width, maxCore: maxCore / grid * grid, halo: halo, grid: grid, wrap: wrap, axis: "width")
    }

    /// The receptive field of stage `s` beyond the input pixels its own pixel spans, on the wider side, rounded
    /// up to the grid: walking down from one pixel, a 3x3 convolution widens the span by one on each side and a
    /// 2x2 pooling doubles it.
    public static func halo(_ s: Int) -> Int {
        var (lo, hi) = (0, 1)
        for entry in VGG19.stages[1...max(1, s)].reversed() {
            switch entry.stage {
            case .conv: (lo, hi) = (lo - 1, hi + 1)
            case .pool: (lo, hi) = (2 * lo, 2 * hi)
            case .input: break
            }
        }
        let g = VGG19.grid(stage: s), reach = max(-lo, hi - g)
        return (reach + g - 1) / g * g
    }

    /// The pixels of a stage on a `grid`-pixel grid (of `n` in all) that cover input pixels `r`: the core of a tile
    /// at that stage, when r starts on the grid and ends on it or at the image's (or tile's) edge.
    public static func cells(_ r: Range<Int>, grid f: Int, of n: Int) -> Range<Int> {
        (r.lowerBound / f)..<min(n, (r.upperBound + f - 1) / f)
    }

    /// The spans along an axis of `n` pixels, and the extent every tile has along it.
    static func spans(_ n: Int, maxCore: Int, halo: Int, grid: Int, wrap: Bool, axis: String) throws -> ([Span], Int) {
        // One tile no larger than a tiled one would be: the whole axis, with no halo needed.
        if n <= maxCore + 2 * halo { return ([Span(core: 0..<n, start: 0)], n) }
        // Wrapping joins the last pixel to the first; on every layer's grid only if the length is on the deepest's.
        guard !wrap || n % grid == 0 else {
            throw VGGError.invalidOption("tiled evaluation with circular padding needs a \(axis) that is a multiple of "
                + "\(grid), got \(n)")
        }
        let cells = (n + grid - 1) / grid, perTile = maxCore / grid
        let tiles = (cells + perTile - 1) / perTile
        // Cores of whole grid cells, as even as they can be; the last one ends at n.
        var spans: [Span] = [], first = 0
        for t in 0..<tiles {
            let size = cells / tiles + (t < cells % tiles ? 1 : 0)
            let core = (first * grid)..<min(n, (first + size) * grid)
            spans.append(Span(core: core, start: core.lowerBound - halo))
            first += size
        }
        let largest = (cells + tiles - 1) / tiles * grid
        if wrap { return (spans, largest + 2 * halo) }
        // Without wrapping, the tiles are pushed inside the image. The extent ≡ n (mod grid), so the last tile,
        // which ends at n, still starts on the grid.
        let extent = largest + 2 * halo + n % grid
        for i in spans.indices { spans[i].start = min(max(spans[i].start, 0), n - extent) }
        return (spans, extent)
    }
}

/// VGG-19 over an image too large to evaluate whole, in tiles with halos (see `TileLayout`): the Gram
/// matrices, features and gradients equal the whole image's to float rounding, while memory holds one tile's
/// network.
///
/// The Gram loss takes two passes over the tiles. Gram matrices are sums over pixels, so `grams` adds up the
/// cores' matrices. `backward(gramGradients:)` then runs each tile forward again (nothing of the first pass
/// is kept), injects the loss's gradient at the core's features only, and adds the tile's input gradient,
/// halo included, into the image's: each core's features get their gradient once, and it reaches every pixel
/// they depend on.
public final class TiledNetwork: FeatureNetwork {
    public let model: VGG19
    public let height: Int, width: Int
    public let layout: TileLayout
    private let plan: VGGPlan
    /// The image of the last forward or Gram pass, and its layers: the backward pass runs the tiles again.
    private var image: Tensor?
    private var lastLayers: [String] = []
    /// Whether the Gram pass keeps each tile's `VGGPlan.ForwardState` beyond pool1 for the backward pass, which
    /// then runs each tile's forward only to pool1 (about a fifth less work per evaluation, for the memory of
    /// `keptBytes`).
    public let keepsState: Bool
    private var states: [VGGPlan.ForwardState] = []
    /// Where the kept state starts: after pool1.
    public static let keptAfter = VGG19.layerNames.firstIndex(of: "pool1")!

    /// The bytes of the states kept between the passes over a `height` x `width` image in tiles of `layout`: the
    /// ReLU masks after pool1 of every tile (one bit per value), and the Gram features after pool1 of every core,
    /// which together are the whole image's.
    public static func keptBytes(layout: TileLayout, layers: [String], height: Int, width: Int) throws -> Int {
        let deepest = try VGG19.deepestStage(of: layers)
        guard deepest > keptAfter else { return 0 }
        var total = 0
        for s in (keptAfter + 1)...deepest {
            let channels = try VGG19.channels(of: VGG19.stages[s].name)
            if case .conv = VGG19.stages[s].stage {
                let (h, w) = VGG19.mapSize(height: layout.tileHeight, width: layout.tileWidth, stage: s)
                total += layout.count * ((channels * h * w + 7) / 8)
            }
            if layers.contains(VGG19.stages[s].name) {
                let (h, w) = VGG19.mapSize(height: height, width: width, stage: s)
                total += channels * h * w * MemoryLayout<Float>.stride
            }
        }
        return total
    }

    public init(model: VGG19, height: Int, width: Int, upTo layer: String, maxCore: Int,
                algorithm: ConvAlgorithm = .auto, keepState: Bool = true) throws {
        self.model = model
        keepsState = try keepState && VGG19.stageIndex(of: layer) > Self.keptAfter
        (self.height, self.width) = (height, width)
        layout = try TileLayout(height: height, width: width, deepest: try VGG19.stageIndex(of: layer), maxCore: maxCore,
                                wrap: model.padding == .circular)
        plan = try VGGPlan(model: model, height: layout.tileHeight, width: layout.tileWidth, upTo: layer, algorithm: algorithm)
    }

    public var memoryReport: String {
        "\(layout.count) tiles of \(layout.tileWidth)x\(layout.tileHeight)\(keepsState ? ", state kept between passes" : ""); " + plan.memoryReport
    }

    /// Every tile, row by row: its spans and its core in the tile's own coordinates.
    private var tiles: [(TileLayout.Span, TileLayout.Span, VGGPlan.TileCore)] {
        layout.rows.flatMap { r in
            layout.columns.map { c in
                (r, c, VGGPlan.TileCore(rows: (r.core.lowerBound - r.start)..<(r.core.upperBound - r.start),
                                        columns: (c.core.lowerBound - c.start)..<(c.core.upperBound - c.start),
                                        imageHeight: height, imageWidth: width))
            }
        }
    }

    private func check(_ image: Tensor) throws {
        guard image.shape == [1, 3, height, width] else {
            throw TensorError.shapeMismatch("this network is for [1, 3, \(height), \(width)] images, got \(image.shape)")
        }
    }

    /// Where the tile's pixels are in the image, wrapping around where a span runs off it: `body(image, tile,
    /// columns)` for each channel and row, the row's pixel j being image[image + columns[j]] and tile[tile + j].
    private func rows(_ r: TileLayout.Span, _ c: TileLayout.Span, _ body: (Int, Int, [Int]) -> Void) {
        let (th, tw) = (layout.tileHeight, layout.tileWidth)
        let columns = (0..<tw).map { ((c.start + $0) % width + width) % width }
        for ch in 0..<3 {
            for i in 0..<th {
                let y = ((r.start + i) % height + height) % height
                body((ch * height + y) * width, (ch * th + i) * tw, columns)
            }
        }
    }

    /// The tile's pixels of the image.
    private func crop(_ image: Tensor, _ r: TileLayout.Span, _ c: TileLayout.Span) -> Tensor {
        var tile = Tensor(zeros: [1, 3, layout.tileHeight, layout.tileWidth])
        image.data.withUnsafeBufferPointer { src in
            tile.data.withUnsafeMutableBufferPointer { dst in
                rows(r, c) { from, to, columns in for j in columns.indices { dst[to + j] = src[from + columns[j]] } }
            }
        }
        return tile
    }

    /// gradient += the tile's gradient, at the tile's pixels.
    private func add(_ tileGradient: Tensor, into gradient: inout Tensor, _ r: TileLayout.Span, _ c: TileLayout.Span) {
        tileGradient.data.withUnsafeBufferPointer { src in
            gradient.data.withUnsafeMutableBufferPointer { dst in
                rows(r, c) { to, from, columns in for j in columns.indices { dst[to + columns[j]] += src[from + j] } }
            }
        }
    }

    // MARK: Gram matrices

    public func grams(_ image: Tensor, layers: [String]) throws -> [Tensor] {
        try check(image)
        var sums: [Tensor] = []
        states = []
        for (r, c, core) in tiles {
            let g = try plan.grams(crop(image, r, c), layers: layers, core: core)
            if sums.isEmpty { sums = g } else { for l in sums.indices { sums[l] += g[l] } }
            if keepsState { states.append(plan.takeForwardState(after: Self.keptAfter)) }
        }
        (self.image, lastLayers) = (image, layers)
        return sums
    }

    public func backward(gramGradients: [String: Tensor]) throws -> Tensor {
        guard let image else { throw VGGError.invalidOption("backward called before a Gram pass") }
        var gradient = Tensor(zeros: [1, 3, height, width])
        for (i, (r, c, core)) in tiles.enumerated() {
            if keepsState {
                try plan.resumeGrams(crop(image, r, c), layers: lastLayers, core: core, from: states[i])
            } else {
                _ = try plan.grams(crop(image, r, c), layers: lastLayers, core: core)
            }
            add(try plan.backward(gramGradients: gramGradients), into: &gradient, r, c)
        }
        states = []
        return gradient
    }

    // MARK: Features

    /// [C, H, W] of each of `layers` over the whole image, and its grid.
    private func shapes(_ layers: [String]) throws -> [(c: Int, h: Int, w: Int, grid: Int)] {
        try layers.map { name in
            let s = try VGG19.stageIndex(of: name)
            let (h, w) = VGG19.mapSize(height: height, width: width, stage: s)
            return (try VGG19.channels(of: name), h, w, VGG19.grid(stage: s))
        }
    }

    /// Copies the core's pixels between a tile's feature map and the whole image's (`toImage`: tile → image).
    private func copyCore(_ tile: inout Tensor, _ whole: inout Tensor, _ r: TileLayout.Span, _ c: TileLayout.Span,
                          grid f: Int, toImage: Bool) {
        let (ch, th, tw) = (tile.shape[1], tile.shape[2], tile.shape[3])
        let (h, w) = (whole.shape[2], whole.shape[3])
        let rows = TileLayout.cells(r.core, grid: f, of: h), cols = TileLayout.cells(c.core, grid: f, of: w)
        // The core sits inside the tile (it never wraps within a tile), at the tile's offset on this layer's grid.
        let (dy, dx) = ((r.core.lowerBound - r.start) / f - rows.lowerBound, (c.core.lowerBound - c.start) / f - cols.lowerBound)
        for k in 0..<ch {
            for y in rows {
                for x in cols {
                    let t = (k * th + y + dy) * tw + x + dx, i = (k * h + y) * w + x
                    if toImage { whole.data[i] = tile.data[t] } else { tile.data[t] = whole.data[i] }
                }
            }
        }
    }

    /// The whole image's features at `layers`, put together from the tiles' cores. They are as large as the
    /// image's features: the SW loss and feature dumps need them all; the Gram loss does not (`grams`).
    public func forward(_ image: Tensor, layers: [String]) throws -> [Tensor] {
        try check(image)
        let shapes = try shapes(layers)
        for s in shapes { try MemoryBudget.requireFloats([s.c, s.h, s.w], copies: layers.count, for: "the features of a \(width)x\(height) image") }
        var whole = shapes.map { Tensor(zeros: [1, $0.c, $0.h, $0.w]) }
        for (r, c, _) in tiles {
            var features = try plan.forward(crop(image, r, c), layers: layers)
            for l in layers.indices { copyCore(&features[l], &whole[l], r, c, grid: shapes[l].grid, toImage: true) }
        }
        (self.image, lastLayers) = (image, layers)
        return whole
    }

    public func backward(_ gradients: [String: Tensor]) throws -> Tensor {
        guard let image else { throw VGGError.invalidOption("backward called before a forward pass") }
        let names = Array(gradients.keys)
        let shapes = try shapes(names)
        for (name, s) in zip(names, shapes) where gradients[name]!.shape != [1, s.c, s.h, s.w] {
            throw TensorError.shapeMismatch("gradient for '\(name)' has shape \(gradients[name]!.shape), expected \([1, s.c, s.h, s.w])")
        }
        var gradient = Tensor(zeros: [1, 3, height, width])
        for (r, c, _) in tiles {
            let features = try plan.forward(crop(image, r, c), layers: names)
            var injected: [String: Tensor] = [:]
            for (l, name) in names.enumerated() {
                // Zero outside the core: each feature's gradient enters through the one tile whose core holds it.
                var g = Tensor(zeros: features[l].shape), whole = gradients[name]!
                copyCore(&g, &whole, r, c, grid: shapes[l].grid, toImage: false)
                injected[name] = g
            }
            add(try plan.backward(injected), into: &gradient, r, c)
        }
        return gradient
    }
}
