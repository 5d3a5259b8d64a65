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
    let network: VGGPlan
    let sourceStatistics: TextureStatistics?

    public init(model: VGG19, source: Image, options: SynthesisOptions) throws {
        try options.validate()
        if let problem = options.sizeProblem(width: source.width, height: source.height) {
            throw SynthesisError(option: "source", message: "the source image \(source.width)x\(source.height) \(problem)")
        }
        var m = model
        m.pooling = options.pooling
        m.padding = options.padding
        self.model = m
        self.source = source
        self.options = options
        let deepestName = try VGG19.deepestLayer(of: options.layers)
        // The source's network is only needed for its statistics; it is freed right after. Direct
        // convolution: one forward pass does not pay for Winograd's scratch memory.
        (loss, sourceStatistics) = try {
            let sourceTensor = try Tensor(shape: [1, 3, source.height, source.width], data: source.pixels)
            let features = try VGGPlan(model: m, height: source.height, width: source.width, upTo: deepestName,
                                       algorithm: .direct, backward: false).forward(sourceTensor, layers: options.layers)
            let loss = try TextureLoss(targets: features.map { try options.gramNormalisation.gram($0) },
                                       layers: options.layers, weights: options.weights,
                                       normalisation: options.gramNormalisation)
            let statistics = options.measureDistance
                ? try TextureStatistics(features: features, layers: options.layers, normalisation: options.gramNormalisation)
                : nil
            return (loss, statistics)
        }()
        // Planned after the source's network and features are gone, so the two never share the peak.
        network = try VGGPlan(model: m, height: options.height, width: options.width, upTo: deepestName,
                              algorithm: options.algorithm)
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

    /// Optimises. `progress` is called after every iteration; the run stops early, keeping the best
    /// image so far, on Ctrl-C (see `Interrupt`) or when `shouldStop` returns true.
    public func run(progress: ((SynthesisProgress) -> Void)? = nil,
                    shouldStop: (() -> Bool)? = nil) throws -> SynthesisResult {
        let (w, h) = (options.width, options.height)
        var x = try initialImage().pixels
        let box = bounds()
        var bestValue = Double.infinity, bestX = x
        var evaluations = 0
        var lastLayerLosses = [Double](repeating: 0, count: options.layers.count)
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

        let objective = Objective(lower: box?.lower, upper: box?.upper) { [network, loss] x in
            // The caller's stop is honoured before evaluating, so nothing after it counts: a caller that
            // asks right after iteration k gets exactly the result of a run with k steps.
            if shouldStop?() == true { throw Stopped() }
            let image = try Tensor(shape: [1, 3, h, w], data: x)
            let e = try loss.evaluate(network, image)
            evaluations += 1
            // An overflowed loss would poison every later step and still end as "success": stop, and say why.
            guard e.total.isFinite else {
                throw SynthesisError(option: "weights", message: "the loss became \(e.total) at evaluation \(evaluations) "
                    + "(Float overflow): lower the layer weights (now \(self.options.weights.map { "\($0)" }.joined(separator: ",")))")
            }
            lastLayerLosses = e.perLayer
            if e.total < bestValue { bestValue = e.total; bestX = x }
            if Interrupt.isRequested { throw Stopped() }
            return (e.total, e.gradient!.data)
        }
        if box != nil { objective.project(&x) }

        var history: [Double] = []
        var interrupted = false
        // In a function of its own so that the optimiser's memory (L-BFGS keeps 2m image-sized
        // vectors) is released before the distance is measured.
        func optimise() throws {
        var lbfgs = LBFGS(history: { if case .lbfgs(let m) = options.optimizer { return m } else { return 20 } }())
        var adam = Adam(learningRate: { if case .adam(let lr) = options.optimizer { return lr } else { return Float(SynthesisOptions.defaultAdamLearningRate) } }())
            for iteration in 1...options.steps {
                let value: Double
                var converged = false
                switch options.optimizer {
                case .lbfgs:
                    let step = try lbfgs.step(&x, objective)
                    value = step.value
                    converged = step.converged
                case .adam:
                    value = try adam.step(&x, objective)
                }
                history.append(value)
                if let progress {
                    let t = elapsed(), perIteration = t / Double(iteration)
                    let snapshot = options.snapshotEvery > 0 && iteration % options.snapshotEvery == 0
                        ? Image(width: w, height: h, pixels: x) : nil
                    progress(SynthesisProgress(
                        iteration: iteration, totalIterations: options.steps, loss: value, layerLosses: lastLayerLosses,
                        layers: options.layers, evaluations: evaluations, elapsed: t, secondsPerIteration: perIteration,
                        remaining: perIteration * Double(options.steps - iteration), snapshot: snapshot))
                }
                if converged { break }
            }
        }
        do {
            try optimise()
        } catch is Stopped {
            interrupted = true
        }

        var image = Image(width: w, height: h, pixels: bestX)
        if options.histogramMatching { image = image.histogramMatched(to: source) }
        var distance: TextureDistance?
        if let sourceStatistics {
            // The synthesis network is planned for exactly this size: reuse it for the result's features.
            let features = try network.forward(try Tensor(shape: [1, 3, h, w], data: image.pixels), layers: options.layers)
            let statistics = try TextureStatistics(features: features, layers: options.layers,
                                                   normalisation: options.gramNormalisation)
            distance = try TextureDistance(statistics, sourceStatistics, weights: options.weights)
        }
        return SynthesisResult(image: image, loss: bestValue, history: history, evaluations: evaluations,
                               seconds: elapsed(), interrupted: interrupted, distance: distance)
    }
}
