import TxnImage
import TxnTensor
import TxnVGG

/// Everything that decides a synthesis run. Defaults follow the paper (average pooling, the five
/// layers conv1_1 and pool1–pool4, weight 1e9 each) with reflect padding and L-BFGS (m = 20).
public struct SynthesisOptions: Sendable {
    public enum Optimizer: Equatable, Sendable, CustomStringConvertible {
        /// Projected L-BFGS with `history` correction pairs (the reference code uses 20).
        case lbfgs(history: Int)
        /// Adam with a step size in pixel units (0–1 range).
        case adam(learningRate: Float)

        /// The optimisers by the name every front end reads (`optimizer=` in a notebook, `--optimizer`, the
        /// server's `"optimizer"`).
        public enum Name: String, Equatable, Sendable, CaseIterable {
            case lbfgs, adam
        }

        /// The optimiser `name` with its setting: the other one's is ignored, as each front end offers both.
        public init(_ name: Name, history: Int = defaultHistory, learningRate: Double = defaultAdamLearningRate) {
            switch name {
            case .lbfgs: self = .lbfgs(history: history)
            case .adam: self = .adam(learningRate: Float(learningRate))
            }
        }

        public var name: Name {
            switch self {
            case .lbfgs: return .lbfgs
            case .adam: return .adam
            }
        }

        public var description: String {
            switch self {
            case .lbfgs(let m): return "L-BFGS (m=\(m))"
            case .adam(let lr): return "Adam (lr=\(lr))"
            }
        }
    }

    public enum Initialisation: Equatable, Sendable {
        /// The source's mean colour plus Gaussian noise of this standard deviation (the reference code).
        case sourceMeanNoise(sigma: Float)
        /// Uniform noise in the bounds.
        case uniform
        /// A given image, resized to the output size if needed.
        case image(Image)
    }

    /// What the pixels are optimised to match.
    public enum Loss: String, Equatable, Sendable, CaseIterable {
        /// The Gram matrices (Gatys et al.).
        case gram
        /// The sorted random projections of the features: sliced Wasserstein (Heitz et al. 2021).
        case sw
        /// Both, summed.
        case gramSW = "gram+sw"

        var usesGram: Bool { self != .sw }
        var usesSliced: Bool { self != .gram }
    }

    public enum Bounds: String, Equatable, Sendable, CaseIterable {
        /// Each channel kept within the source's own range of that channel (the reference code).
        case source
        /// [0, 1].
        case unit
        /// No bounds (the result is clamped only when saved).
        case none
    }

    public var width = 256
    public var height = 256
    public var layers = VGG19.gatysLayers
    /// One weight per layer; nil: `VGG19.gatysLayerWeight` (1e9) for each.
    public var layerWeights: [Double]? = nil
    public var gramNormalisation = GramNormalisation.pixels
    public var pooling = Pool2D.Kind.avg
    /// `.circular` makes the result tile without a seam.
    public var padding = PaddingMode.reflect
    public var optimizer = Optimizer.lbfgs(history: defaultHistory)
    public var loss = Loss.gram
    /// Random directions per layer for the SW loss; nil: as many as the layer has channels (Heitz et al.).
    public var slicedProjections: Int? = nil
    /// The SW loss's layer weights are `weights` times this. It matters for gram+sw only (an optimiser of
    /// one loss is indifferent to its scale): with equal weights the SW term is 6–20 times the Gram term
    /// at the start and ~50 times at the end (256², the shipped textures), so 0.1 keeps the Gram term in play.
    public var slicedWeight = 0.1
    /// New SW directions every this many iterations. Between draws the objective is one fixed function,
    /// which L-BFGS needs (each draw costs it one more evaluation), and the source's sorted projections
    /// are reused. Measured at 256², 30 s each, L-BFGS: every 10 iterations gave the lowest SW distance
    /// (gravel 0.0292, ihc 0.0708) against every 4 (0.0296, 0.0866) and every 1 (0.0327, 0.117); Adam,
    /// which needs no fixed function, stayed behind L-BFGS at any interval (0.044, 0.139 at 4).
    public var slicedRedrawEvery = 10
    /// Coarse to fine: run at size / 2^(octaves−1) with the source scaled alike, upsample, refine, up to
    /// the full size. nil: `Octaves.automatic` (one octave up to 128 px on the long side, two up to 256, one more per doubling).
    public var octaves: Int? = nil
    /// Iterations at each octave but the last (which runs `steps`): one count for all, or one per octave, coarsest
    /// first (a large output wants many cheap iterations at the coarse octaves and few at the fine); nil: `steps`
    /// when given, else by size (`Octaves.defaultSteps`).
    public var octaveSteps: [Int]? = nil
    /// Iterations at the full size; nil: by size (`Octaves.defaultSteps`: 100 up to 256², fewer beyond).
    public var steps: Int? = nil
    /// Stop early, before `steps`, once the loss improves by less than a fraction over the last iterations
    /// (`steps=auto`); nil: run `steps` iterations (or until L-BFGS stalls).
    public var plateau: Plateau? = nil
    /// After each iteration at the output size, report the plain Gram loss of the current image (default layers
    /// and weights) as `SynthesisProgress.gramLoss`: what `--log` records. Free when the objective is that loss;
    /// otherwise one more forward pass per iteration.
    public var reportsGramLoss = false
    /// Evaluate the network in tiles of this many core pixels a side (with halos: `TiledNetwork`); nil: over the
    /// whole image when the run fits the memory limit, else in the largest tiles that do (`SynthesisMemory`).
    public var evaluationTile: Int? = nil
    public var initialisation = Initialisation.sourceMeanNoise(sigma: Float(defaultSigma))
    public var seed: UInt64 = 0
    public var bounds = Bounds.source
    /// Match the result's per-channel histogram to the source's after optimising.
    public var histogramMatching = false
    /// Hand an image of the current iterate to the progress callback every N iterations (0: never).
    public var snapshotEvery = 0
    /// oneDNN convolution algorithm for the 3x3 layers.
    public var algorithm = ConvAlgorithm.auto
    /// Compute the texture distance (Gram loss and sliced Wasserstein) of the result to the source.
    public var measureDistance = true

    /// The stopping rule of `steps=auto`: the loss of iteration i is compared with that of iteration i − window.
    public struct Plateau: Equatable, Sendable, CustomStringConvertible {
        public var window: Int
        /// Stop when (loss[i − window] − loss[i]) < fraction × loss[i − window].
        public var fraction: Double
        public init(window: Int, fraction: Double) { self.window = window; self.fraction = fraction }
        /// What `steps=auto` means.
        public static let standard = Plateau(window: 10, fraction: 0.01)
        public static let windows = 1...1000
        public var description: String {
            "the loss improved by less than \(fraction * 100)% over the last \(window) iterations"
        }
        /// Whether the run whose losses are `history` (one per iteration) has reached its plateau.
        public func reached(_ history: [Double]) -> Bool {
            guard history.count > window else { return false }
            let before = history[history.count - 1 - window], now = history[history.count - 1]
            return before - now < fraction * abs(before)
        }
    }
    /// The most iterations of `steps=auto` at each octave.
    public static let automaticStepsCap = 1000

    /// L-BFGS's memory when the optimiser is not given (the reference code's).
    public static let defaultHistory = LBFGS.defaultHistory
    /// Adam's step size when Adam is chosen without one (pixel units).
    public static let defaultAdamLearningRate = 0.02
    /// The noise of the default initialisation, as the reference code starts.
    public static let defaultSigma = 0.01

    // The ranges `validate` checks, which the front ends declare (help, the notebook's keys, the server's
    // parameters) by reading them here.
    /// Each side of the output, in pixels.
    public static let sizeRange = 1...8192
    /// Iterations: `steps`, and each count of `octaveSteps`.
    public static let stepsRange = 1...1_000_000
    public static let historyRange = 1...1000
    /// Adam's step size lies in (0, this].
    public static let largestLearningRate = 10.0
    public static let projectionsRange = 1...4096
    public static let redrawRange = 1...1_000_000
    public static let evaluationTileRange = 16...8192
    /// 0: never.
    public static let snapshotRange = 0...1_000_000

    /// The layer weights from what a user wrote: one weight for all layers, or one per layer (checked by `validate`).
    public static func layerWeights(_ given: [Double], layerCount: Int) -> [Double] {
        given.count == 1 ? Array(repeating: given[0], count: layerCount) : given
    }

    public init() {}

    /// Why `octaveSteps` does not fit a run of `n` octaves, if it does not: one count, or one per octave but the last.
    /// (With automatic octaves, n is known only to the synthesizer.)
    public func octaveStepsProblem(octaves n: Int) -> String? {
        guard let counts = octaveSteps, counts.count != 1 && counts.count != n - 1 else { return nil }
        return "\(counts.count) counts for \(n) octaves: give one, or one for each octave but the last (\(n - 1))"
    }

    /// The octaves of this run: `octaves`, else `Octaves.automatic` for the output size.
    public var octaveCount: Int { octaves ?? Octaves.automatic(width: width, height: height) }

    /// The iterations of octave `i` (0 the coarsest) of `n`: those given (an octave before the last without a count
    /// of its own runs `steps`, as scripts written before the size's defaults expect), else by size
    /// (`Octaves.defaultSteps`).
    public func steps(octave i: Int, of n: Int) -> Int {
        if i < n - 1, let counts = octaveSteps { return counts.count == 1 ? counts[0] : counts[min(i, counts.count - 1)] }
        return steps ?? Octaves.defaultSteps(octave: i, of: n, width: width, height: height)
    }

    /// The iterations at the full size.
    public var finalSteps: Int { steps(octave: octaveCount - 1, of: octaveCount) }

    public var weights: [Double] { layerWeights ?? Array(repeating: VGG19.gatysLayerWeight, count: layers.count) }

    /// Whether the objective is the plain Gram loss on the default layers and weights (what `gramLoss` reports).
    public var objectiveIsPlainGram: Bool {
        loss == .gram && layers == VGG19.gatysLayers && gramNormalisation == SynthesisOptions().gramNormalisation
            && weights == Array(repeating: VGG19.gatysLayerWeight, count: VGG19.gatysLayers.count)
    }

    /// Checks every option and says which one is wrong and why.
    public func validate() throws {
        func fail(_ field: Field, _ message: String) -> SynthesisError { SynthesisError(field, message) }
        func within(_ range: ClosedRange<Int>) -> String { "\(range.lowerBound) to \(range.upperBound)" }
        guard Self.sizeRange.contains(width), Self.sizeRange.contains(height) else {
            throw fail(.size, "the output size must be \(Self.sizeRange.lowerBound)x\(Self.sizeRange.lowerBound) to "
                       + "\(Self.sizeRange.upperBound)x\(Self.sizeRange.upperBound), got \(width)x\(height)")
        }
        if let steps, !Self.stepsRange.contains(steps) { throw fail(.steps, "must be \(within(Self.stepsRange)), got \(steps)") }
        if let p = plateau {
            guard Plateau.windows.contains(p.window) else {
                throw fail(.steps, "the plateau window must be \(within(Plateau.windows)) iterations, got \(p.window)")
            }
            guard p.fraction > 0 && p.fraction < 1 else {
                throw fail(.steps, "the plateau fraction must be between 0 and 1, got \(p.fraction)")
            }
        }
        guard !layers.isEmpty else { throw fail(.layers, "at least one layer is needed") }
        for layer in layers {
            do { _ = try VGG19.stageIndex(of: layer) } catch { throw fail(.layers, "\(error)") }
            if layer == "input" { throw fail(.layers, "'input' is the image itself, not a feature layer") }
        }
        if let w = layerWeights {
            guard w.count == layers.count else {
                throw fail(.weights, "\(w.count) weights for \(layers.count) layers (\(layers.joined(separator: ",")))")
            }
            guard w.allSatisfy({ $0 >= 0 && $0.isFinite }), w.contains(where: { $0 > 0 }) else {
                throw fail(.weights, "weights must be finite, non-negative, and not all zero")
            }
        }
        switch optimizer {
        case .lbfgs(let m) where !Self.historyRange.contains(m):
            throw fail(.history, "L-BFGS history must be \(within(Self.historyRange)), got \(m)")
        case .adam(let lr) where !(lr > 0 && Double(lr) <= Self.largestLearningRate):
            throw fail(.learningRate, "Adam's learning rate must be in (0, \(formatted(Self.largestLearningRate))], got \(lr)")
        default: break
        }
        if case .sourceMeanNoise(let sigma) = initialisation, !(sigma >= 0 && sigma.isFinite) {
            throw fail(.sigma, "the noise level must be finite and non-negative, got \(sigma)")
        }
        if let k = slicedProjections, !Self.projectionsRange.contains(k) {
            throw fail(.projections, "must be \(within(Self.projectionsRange)) directions per layer, got \(k)")
        }
        guard slicedWeight > 0, slicedWeight.isFinite else {
            throw fail(.slicedWeight, "must be finite and positive, got \(slicedWeight)")
        }
        guard Self.redrawRange.contains(slicedRedrawEvery) else {
            throw fail(.redraw, "must be \(within(Self.redrawRange)) iterations, got \(slicedRedrawEvery)")
        }
        if let n = octaves, !(1...Octaves.maximum).contains(n) {
            throw fail(.octaves, "must be 1 to \(Octaves.maximum), got \(n)")
        }
        if let counts = octaveSteps {
            guard !counts.isEmpty, counts.allSatisfy({ Self.stepsRange.contains($0) }) else {
                throw fail(.octaveSteps, "each count must be \(within(Self.stepsRange)), got \(counts.map(String.init).joined(separator: ","))")
            }
            if let n = octaves, let problem = octaveStepsProblem(octaves: n) { throw fail(.octaveSteps, problem) }
        }
        if let n = evaluationTile, !Self.evaluationTileRange.contains(n) {
            throw fail(.evaluationTile, "tiles must be \(within(Self.evaluationTileRange)) px a side, got \(n)")
        }
        guard Self.snapshotRange.contains(snapshotEvery) else {
            throw fail(.snapshot, "must be 0 (never) or a count up to \(Self.snapshotRange.upperBound), got \(snapshotEvery)")
        }
        if let problem = sizeProblem(width: width, height: height) { throw fail(.size, "\(width)x\(height) \(problem)") }
    }

    /// Why an image of this size cannot go through the network with these options, if it cannot:
    /// reflect padding mirrors one pixel, so every feature map a convolution sees must be at least 2x2.
    public func sizeProblem(width: Int, height: Int) -> String? {
        guard padding == .reflect else { return nil }
        // Unknown or missing layers are `validate`'s to report.
        guard let deepest = try? VGG19.deepestStage(of: layers) else { return nil }
        for (s, entry) in VGG19.stages[...deepest].enumerated() {
            guard case .conv = entry.stage else { continue }
            let (h, w) = VGG19.mapSize(height: height, width: width, stage: s)
            if h < 2 || w < 2 {
                return "is too small for reflect padding down to \(VGG19.layerNames[deepest]) "
                    + "(\(entry.name) would see \(w)x\(h) feature maps); use at least 16x16 or zero/circular padding"
            }
        }
        return nil
    }
}

/// A synthesis option that is out of range or inconsistent: which one (`field`) and why, in no front end's words;
/// each front end names the field as it is written there (`--sw-weight`, `sw_weight=`, `"optimizer"`).
public struct SynthesisError: MemoryLimitError, CustomStringConvertible, Equatable {
    public let field: SynthesisOptions.Field
    public var isOverMemoryLimit: Bool { field == .memory }
    public let message: String
    public init(_ field: SynthesisOptions.Field, _ message: String) { (self.field, self.message) = (field, message) }
    public var description: String { "\(field.rawValue): \(message)" }
}

/// What `steps` may say on every front end: a count, or `auto` (stop at the plateau, `SynthesisOptions.Plateau.standard`,
/// after at most `SynthesisOptions.automaticStepsCap` iterations).
public enum StepCount: Equatable, Sendable, CustomStringConvertible {
    case fixed(Int)
    case automatic

    public static let automaticWord = "auto"

    /// "auto" or a whole number (range checked by `SynthesisOptions.validate`).
    public init?(_ text: String) {
        if text == Self.automaticWord { self = .automatic; return }
        guard let n = Int(text) else { return nil }
        self = .fixed(n)
    }

    public var description: String {
        switch self {
        case .fixed(let n): return "\(n)"
        case .automatic: return Self.automaticWord
        }
    }

    /// Sets `options.steps` and `options.plateau`.
    public func apply(to options: inout SynthesisOptions) {
        switch self {
        case .fixed(let n): options.steps = n; options.plateau = nil
        case .automatic: options.steps = SynthesisOptions.automaticStepsCap; options.plateau = .standard
        }
    }
}

extension SynthesisOptions {
    /// The options by name, for errors. The names are those of the notebook's `optimize` keys and the server's
    /// parameters (one spelling, snake case); the command line writes them as flags (`SynthesisError.field`).
    public enum Field: String, Equatable, Sendable, CaseIterable {
        case size, steps, layers, weights, loss, optimizer, history, learningRate = "lr", sigma, projections
        case slicedWeight = "sw_weight", redraw, octaves, octaveSteps = "octave_steps", evaluationTile = "eval_tile"
        case snapshot
        /// The source image (its size).
        case source
        /// The run as a whole against the memory limit.
        case memory
    }
}

/// A limit as written in a message: `10`, not `10.0`.
private func formatted(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)" }
