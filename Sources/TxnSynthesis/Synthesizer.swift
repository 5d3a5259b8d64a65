import Foundation
import TxnImage
import TxnTensor
import TxnVGG

/// Gatys et al.'s texture synthesis: optimise the pixels of an image so that the Gram matrices of
/// its VGG-19 features match the source's.
///
/// Creating a synthesizer computes the source's Gram matrices and plans the network for the output
/// size; `run` then optimises. Front ends (command line, notebook, web) all go through here.
public final class Synthesizer {
    public let options: SynthesisOptions
    public let source: Image
    public let model: VGG19
    public let loss: TextureLoss
    /// The SW loss, when `options.loss` uses it.
    public let sliced: SlicedWassersteinLoss?
    /// Coarse to fine: the number of octaves this run makes (1: the full size only).
    public let octaves: Int
    /// How the network is evaluated (whole or tiled) and what the run holds at its peak.
    public let memory: SynthesisMemory
    let network: FeatureNetwork
    let sourceStatistics: TextureStatistics?

    public init(model: VGG19, source: Image, options: SynthesisOptions) throws {
        try options.validate()
        if let problem = options.sizeProblem(width: source.width, height: source.height) {
            throw SynthesisError(.source, "the source image \(source.width)x\(source.height) \(problem)")
        }
        var m = model
        m.pooling = options.pooling
        m.padding = options.padding
        self.model = m
        self.source = source
        self.options = options
        octaves = options.octaveCount
        if let problem = options.octaveStepsProblem(octaves: octaves) {
            throw SynthesisError(.octaveSteps, problem)
        }
        if octaves > 1 {
            // The coarsest octave must go through the network too, its source as well as its output.
            let (w, h) = (Octaves.scaled(options.width, octave: 0, of: octaves), Octaves.scaled(options.height, octave: 0, of: octaves))
            let (sw, sh) = (Octaves.scaled(source.width, octave: 0, of: octaves), Octaves.scaled(source.height, octave: 0, of: octaves))
            for (what, a, b) in [("output", w, h), ("source", sw, sh)] {
                if let problem = options.sizeProblem(width: a, height: b) {
                    throw SynthesisError(.octaves, "\(octaves) octaves: the coarsest \(what) \(a)x\(b) \(problem)")
                }
                if min(a, b) < 16 {
                    throw SynthesisError(.octaves, "\(octaves) octaves make the coarsest \(what) \(a)x\(b); "
                        + "use fewer octaves (at least 16 pixels a side)")
                }
            }
        }
        let deepestName = try VGG19.deepestLayer(of: options.layers)
        // Before any work: a run that cannot fit says so now, not after the source's network has run.
        memory = try SynthesisMemory.plan(model: m, options: options)
        // The source's network is only needed for its statistics; it is freed right after. Direct
        // convolution: one forward pass does not pay for Winograd's scratch memory.
        (loss, sliced, sourceStatistics) = try {
            let sourceTensor = try Tensor(shape: [1, 3, source.height, source.width], data: source.pixels)
            let features = try VGGPlan(model: m, height: source.height, width: source.width, upTo: deepestName,
                                       algorithm: .direct, backward: false).forward(sourceTensor, layers: options.layers)
            let loss = try TextureLoss(targets: features.map { try options.gramNormalisation.gram($0) },
                                       layers: options.layers, weights: options.weights,
                                       normalisation: options.gramNormalisation)
            let sliced = options.loss.usesSliced
                ? try SlicedWassersteinLoss(sourceFeatures: features, layers: options.layers,
                                            weights: options.weights.map { $0 * options.slicedWeight },
                                            projections: options.slicedProjections, seed: options.seed)
                : nil
            let statistics = options.measureDistance
                ? try TextureStatistics(features: features, layers: options.layers, normalisation: options.gramNormalisation)
                : nil
            return (loss, sliced, statistics)
        }()
        // Planned after the source's network and features are gone, so the two never share the peak.
        if let tile = memory.tile {
            network = try TiledNetwork(model: m, height: options.height, width: options.width, upTo: deepestName,
                                       maxCore: tile, algorithm: options.algorithm, keepState: memory.keepsState)
        } else {
            network = try VGGPlan(model: m, height: options.height, width: options.width, upTo: deepestName,
                                  algorithm: options.algorithm)
        }
    }

    /// Per-channel [min, max] of the source.
    var sourceRange: [(Float, Float)] {
        let n = source.width * source.height
        return (0..<3).map { c in
            let channel = source.pixels[(c * n)..<((c + 1) * n)]
            return (channel.min() ?? 0, channel.max() ?? 1)
        }
    }

    /// Per-pixel bounds for the optimiser, or nil.
    func bounds() -> (lower: [Float], upper: [Float])? {
        let ranges: [(Float, Float)]
        switch options.bounds {
        case .none: return nil
        case .unit: ranges = Array(repeating: (0, 1), count: 3)
        case .source: ranges = sourceRange
        }
        let n = options.width * options.height
        var lower = [Float](repeating: 0, count: 3 * n), upper = lower
        for c in 0..<3 {
            for i in (c * n)..<((c + 1) * n) { lower[i] = ranges[c].0; upper[i] = ranges[c].1 }
        }
        return (lower, upper)
    }

    /// The starting image, fixed by the seed.
    public func initialImage() throws -> Image {
        let (w, h) = (options.width, options.height)
        var rng = SplitMix64(seed: options.seed)
        switch options.initialisation {
        case .sourceMeanNoise(let sigma):
            let mean = source.channelMean()
            let means = [mean.0, mean.1, mean.2]
            var pixels = [Float](repeating: 0, count: 3 * w * h)
            for c in 0..<3 {
                for i in (c * w * h)..<((c + 1) * w * h) { pixels[i] = means[c] + sigma * rng.nextGaussian() }
            }
            return Image(width: w, height: h, pixels: pixels)
        case .uniform:
            let ranges = options.bounds == .source ? sourceRange : Array(repeating: (Float(0), Float(1)), count: 3)
            var pixels = [Float](repeating: 0, count: 3 * w * h)
            for c in 0..<3 {
                let (lo, hi) = ranges[c]
                for i in (c * w * h)..<((c + 1) * w * h) { pixels[i] = lo + (hi - lo) * rng.nextUnit() }
            }
            return Image(width: w, height: h, pixels: pixels)
        case .image(let image):
            return image.width == w && image.height == h ? image : try image.resized(width: w, height: h)
        }
    }

    private struct Stopped: Error {}

    /// dL/dF per layer of the last SW evaluation, kept so that the next one writes into the same memory
    /// (a buffer over 1 MiB allocated anew is fresh pages to fault in: see MALLOC_MMAP_THRESHOLD_ in ProcessSetup).
    private var featureGradients: [Tensor] = []
    /// `gramLoss(of:)`'s forward-only network and loss, made at its first use.
    private var plainGram: (VGGPlan, TextureLoss)?

    /// The loss chosen by `options.loss` at `image`, with its gradient. The Gram loss alone runs on the
    /// network's blocked Gram path; SW (alone or with Gram) needs the features themselves.
    func evaluate(_ image: Tensor) throws -> TextureLoss.Evaluation {
        guard let sliced else { return try loss.evaluate(network, image) }
        let features = try network.forward(image, layers: options.layers)
        // Moved out, not copied: a second reference to a gradient's storage would make the writes below copy it.
        var gradients: [Tensor] = []
        swap(&gradients, &featureGradients)
        var perLayer = try sliced.evaluate(features: features, gradients: &gradients)
        var grams: [Tensor] = []
        if options.loss.usesGram {
            // The Gram term's gradient is added to the SW term's, in place.
            let e = try loss.evaluate(features: features, height: image.h, width: image.w, addingGradientsInto: &gradients)
            grams = e.grams
            for l in perLayer.indices { perLayer[l] += e.perLayer[l] }
        }
        let gradient = try network.backward(summedByLayer(options.layers, gradients))
        featureGradients = gradients
        return TextureLoss.Evaluation(total: perLayer.reduce(0, +), perLayer: perLayer, gradient: gradient, grams: grams)
    }

    /// The source scaled for octave `i` of `octaves`.
    func octaveSource(_ i: Int) throws -> Image {
        let (w, h) = (Octaves.scaled(source.width, octave: i, of: octaves), Octaves.scaled(source.height, octave: i, of: octaves))
        return w == source.width && h == source.height ? source : try source.resized(width: w, height: h)
    }

    /// Optimises: at each coarser octave with a synthesizer of its own (freed before the next), then at
    /// the full size from the upsampled result. `progress` is called after every iteration of every
    /// octave; the run stops early, keeping the best image so far, on Ctrl-C (see `Interrupt`) or when
    /// `shouldStop` returns true.
    public func run(progress: ((SynthesisProgress) -> Void)? = nil,
                    shouldStop: (() -> Bool)? = nil) throws -> SynthesisResult {
        guard octaves > 1 else { return try optimize(from: nil, progress: progress, shouldStop: shouldStop) }
        let start = DispatchTime.now().uptimeNanoseconds
        var history: [Double] = [], evaluations = 0
        var previous: Image?
        let wrap = options.padding == .circular
        for i in 0..<(octaves - 1) {
            var o = options
            o.octaves = 1
            (o.width, o.height) = (Octaves.scaled(options.width, octave: i, of: octaves), Octaves.scaled(options.height, octave: i, of: octaves))
            o.steps = options.steps(octave: i, of: octaves)
            o.octaveSteps = nil
            o.measureDistance = false
            o.histogramMatching = false
            o.reportsGramLoss = false
            // Each octave draws its own SW directions.
            o.seed = options.seed &+ UInt64(i)
            let octaveSource = try octaveSource(i)
            if let previous { o.initialisation = .image(try startOfOctave(previous, width: o.width, height: o.height, source: octaveSource, octave: i)) }
            let result = try Synthesizer(model: model, source: octaveSource, options: o).run(progress: progress.map { report in
                { p in var p = p; p.octave = i + 1; p.octaves = self.octaves; report(p) }
            }, shouldStop: shouldStop)
            history += result.history
            evaluations += result.evaluations
            previous = result.image
            if result.interrupted {
                let image = Octaves.bilinear(result.image, width: options.width, height: options.height, wrap: wrap)
                return SynthesisResult(image: image, loss: result.loss, history: history, evaluations: evaluations,
                                       seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, interrupted: true,
                                       distance: try distance(of: image))
            }
        }
        let first = try startOfOctave(previous!, width: options.width, height: options.height, source: source, octave: octaves - 1)
        var result = try optimize(from: first, progress: progress.map { report in
            { p in var p = p; p.octave = self.octaves; p.octaves = self.octaves; report(p) }
        }, shouldStop: shouldStop)
        result.history = history + result.history
        result.evaluations += evaluations
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return result
    }

    /// Octave `i`'s starting image from the previous octave's result (`Octaves.upsampledWithDetail`).
    /// Its noise has a seed stream of its own, apart from the octaves' SW directions (seed + i).
    func startOfOctave(_ previous: Image, width: Int, height: Int, source: Image, octave i: Int) throws -> Image {
        try Octaves.upsampledWithDetail(previous, width: width, height: height, wrap: options.padding == .circular,
                                        source: source, seed: options.seed &+ 0x0C7A_7E00 &+ UInt64(i))
    }

    /// The texture distance of a full-size image to the source, when measured.
    func distance(of image: Image) throws -> TextureDistance? {
        guard let sourceStatistics else { return nil }
        let statistics: TextureStatistics
        if let tile = memory.tile {
            // The whole image's features would not fit: measure a centred crop the size of a tile's core (textures
            // are stationary, so it samples the same statistics).
            let (w, h) = (min(tile, options.width), min(tile, options.height))
            statistics = try TextureStatistics(image: image.cropped(x: (options.width - w) / 2, y: (options.height - h) / 2,
                                                                    width: w, height: h),
                                               model: model, layers: options.layers, normalisation: options.gramNormalisation)
        } else {
            // The synthesis network is planned for exactly this size: reuse it for the result's features.
            let features = try network.forward(try Tensor(shape: [1, 3, options.height, options.width], data: image.pixels),
                                               layers: options.layers)
            statistics = try TextureStatistics(features: features, layers: options.layers, normalisation: options.gramNormalisation)
        }
        return try TextureDistance(statistics, sourceStatistics, weights: options.weights)
    }

    /// One octave at the full size, from `start` (else the initial image the options ask for). `progress` is called after every iteration; the run stops early, keeping the best
    /// image so far, on Ctrl-C (see `Interrupt`) or when `shouldStop` returns true.
    func optimize(from start: Image?, progress: ((SynthesisProgress) -> Void)?,
                  shouldStop: (() -> Bool)?) throws -> SynthesisResult {
        let (w, h) = (options.width, options.height)
        var x = try start?.pixels ?? initialImage().pixels
        let box = bounds()
        var bestValue = Double.infinity, bestX = x
        var evaluations = 0
        var evaluationNanoseconds: UInt64 = 0
        var lastLayerLosses = [Double](repeating: 0, count: options.layers.count)
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

        let objective = Objective(lower: box?.lower, upper: box?.upper) { x in
            // The caller's stop is honoured before evaluating, so nothing after it counts: a caller that
            // asks right after iteration k gets exactly the result of a run with k steps.
            if shouldStop?() == true { throw Stopped() }
            let began = DispatchTime.now().uptimeNanoseconds
            defer { evaluationNanoseconds += DispatchTime.now().uptimeNanoseconds - began }
            let image = try Tensor(shape: [1, 3, h, w], data: x)
            let e = try self.evaluate(image)
            evaluations += 1
            // An overflowed loss would poison every later step and still end as "success": stop, and say why.
            guard e.total.isFinite else {
                throw SynthesisError(.weights, "the loss became \(e.total) at evaluation \(evaluations) "
                    + "(Float overflow): lower the layer weights (now \(self.options.weights.map { "\($0)" }.joined(separator: ",")))")
            }
            lastLayerLosses = e.perLayer
            if e.total < bestValue { bestValue = e.total; bestX = x }
            if Interrupt.isRequested { throw Stopped() }
            return (e.total, e.gradient!.data)
        }
        if box != nil { objective.project(&x) }

        var history: [Double] = []
        let steps = options.finalSteps
        var interrupted = false, reachedPlateau = false
        // In a function of its own so that the optimiser's memory (L-BFGS keeps 2m image-sized
        // vectors) is released before the distance is measured.
        func iterate() throws {
        var lbfgs = LBFGS(history: { if case .lbfgs(let m) = options.optimizer { return m } else { return LBFGS.defaultHistory } }())
        var adam = Adam(learningRate: { if case .adam(let lr) = options.optimizer { return lr } else { return Float(SynthesisOptions.defaultAdamLearningRate) } }())
            for iteration in 1...steps {
                let value: Double
                var converged = false
                // The SW loss draws new directions every `slicedRedrawEvery` iterations. L-BFGS's line search
                // and curvature pairs need one function, so they stay fixed within an iteration, and the
                // iterate is evaluated again under the new ones (one extra evaluation per draw).
                if iteration > 1, let sliced, (iteration - 1) % options.slicedRedrawEvery == 0 {
                    sliced.redraw()
                    if case .lbfgs = options.optimizer { try lbfgs.objectiveChanged(objective) }
                }
                switch options.optimizer {
                case .lbfgs:
                    let step = try lbfgs.step(&x, objective)
                    value = step.value
                    converged = step.converged
                case .adam:
                    value = try adam.step(&x, objective)
                }
                history.append(value)
                let plateaued = options.plateau?.reached(history) ?? false
                if let progress {
                    let t = elapsed(), perIteration = t / Double(iteration)
                    let snapshot = options.snapshotEvery > 0 && iteration % options.snapshotEvery == 0
                        ? Image(width: w, height: h, pixels: x) : nil
                    progress(SynthesisProgress(
                        iteration: iteration, totalIterations: steps, loss: value, layerLosses: lastLayerLosses,
                        layers: options.layers, evaluations: evaluations, elapsed: t, secondsPerIteration: perIteration,
                        remaining: perIteration * Double(steps - iteration), snapshot: snapshot,
                        evaluationSeconds: Double(evaluationNanoseconds) / 1e9,
                        gramLoss: options.reportsGramLoss ? try gramLoss(of: x, objective: value) : nil))
                }
                if plateaued { reachedPlateau = true; break }
                // A stalled line search is final for a fixed objective, not for one that draws new directions.
                if converged && sliced == nil { break }
            }
        }
        do {
            try iterate()
        } catch is Stopped {
            interrupted = true
        }

        var image = Image(width: w, height: h, pixels: bestX)
        if options.histogramMatching { image = image.histogramMatched(to: source) }
        let distance = try self.distance(of: image)
        return SynthesisResult(image: image, loss: bestValue, history: history, evaluations: evaluations,
                               seconds: elapsed(), interrupted: interrupted, plateaued: reachedPlateau, distance: distance)
    }

    /// The plain Gram loss (default layers and weights) of the image `x` at the output size: `objective` itself when
    /// the run optimises that loss, else measured with a forward pass (its network and the source's Grams made once).
    func gramLoss(of x: [Float], objective: Double) throws -> Double {
        if options.objectiveIsPlainGram { return objective }
        // The run's own network and Gram loss are the plain ones when only the objective differs (loss=sw or
        // gram+sw on the default layers and weights): no second network, which the memory plan does not count.
        var plain = options
        plain.loss = .gram
        if plain.objectiveIsPlainGram {
            return try loss.evaluate(network, try Tensor(shape: [1, 3, options.height, options.width], data: x), gradient: false).total
        }
        if plainGram == nil {
            let layers = VGG19.gatysLayers
            let deepest = try VGG19.deepestLayer(of: layers)
            func plan(_ h: Int, _ w: Int) throws -> VGGPlan {
                try VGGPlan(model: model, height: h, width: w, upTo: deepest, algorithm: .direct, backward: false)
            }
            let sourceFeatures = try plan(source.height, source.width)
                .forward(try Tensor(shape: [1, 3, source.height, source.width], data: source.pixels), layers: layers)
            let loss = try TextureLoss(targets: sourceFeatures.map { try GramNormalisation.pixels.gram($0) }, layers: layers,
                                       weights: Array(repeating: VGG19.gatysLayerWeight, count: layers.count),
                                       normalisation: .pixels)
            plainGram = (try plan(options.height, options.width), loss)
        }
        let (network, loss) = plainGram!
        return try loss.evaluate(network, try Tensor(shape: [1, 3, options.height, options.width], data: x), gradient: false).total
    }
}
