import Foundation
import TxnImage
import TxnSynthesis
import TxnTensor
import TxnVGG

/// The choices of a training run; defaults are the preset's (declared once, in `TexNetPreset`).
public struct TexNetTrainingOptions: Sendable, Equatable {
    public var preset: TexNetPreset = .small
    public var normalisation: TexNetNormalisation = .instance
    public var size: Int? = nil
    public var batch: Int? = nil
    /// The texture loss, as `optimize`'s: Gram, sliced Wasserstein or both.
    public var loss: SynthesisOptions.Loss = .gram
    /// Circular padding in the generator (and in VGG, as a tiling synthesis has): a texture that tiles.
    public var tile = false
    public var seed: UInt64 = 0
    public var learningRate: Float? = nil

    public init() {}

    /// How many iterations one request may ask for (`texnet train --steps`, the notebook's `steps=`).
    public static let stepRange = 1...10_000_000
    public static let batchRange = 1...64
    /// The training sizes any request may ask for (the source, the noise pyramid and the memory budget narrow it).
    public static let sizeRange = 1...8192

    public var resolvedSize: Int { size ?? preset.size }
    public var resolvedBatch: Int { batch ?? preset.batch }
    public var resolvedLearningRate: Float { learningRate ?? preset.learningRate }
    public var architecture: TexNetArchitecture { preset.architecture(normalisation) }
    /// The generator's padding: circular for a tileable texture, else reflect (the paper's reference code).
    public var padding: PaddingMode { tile ? .circular : .reflect }

    /// The loss `optimize` would use for this source at the training size: its layers, weights and normalisation.
    public var synthesisOptions: SynthesisOptions {
        var o = SynthesisOptions()
        (o.width, o.height) = (resolvedSize, resolvedSize)
        o.loss = loss
        o.padding = padding
        o.seed = seed
        return o
    }

    /// Checks every number against the architecture, the source and the memory budget before anything is allocated.
    public func validate(source: Image) throws {
        let a = architecture, size = resolvedSize, batch = resolvedBatch
        guard Self.sizeRange.contains(size) else {
            throw TexNetError(option: "size", "must be \(Self.sizeRange.lowerBound) to \(Self.sizeRange.upperBound), got \(size)")
        }
        if let problem = a.sizeProblem(width: size, height: size) { throw TexNetError(option: "size", problem) }
        guard size <= min(source.width, source.height) else {
            throw TexNetError(option: "size", "the training size \(size) is larger than the source (\(source.width)x\(source.height)); "
                + "train at most at \(min(source.width, source.height)) or use a larger source")
        }
        guard Self.batchRange.contains(batch) else {
            throw TexNetError(option: "batch", "must be \(Self.batchRange.lowerBound) to \(Self.batchRange.upperBound), got \(batch)")
        }
        if a.normalisation == .batch && batch < 2 {
            throw TexNetError(option: "batch", "batch norm needs at least 2 images a batch, got \(batch) (or use instance norm)")
        }
        let lr = resolvedLearningRate
        guard lr.isFinite, lr > 0, lr < 1 else { throw TexNetError(option: "lr", "the learning rate must be between 0 and 1, got \(lr)") }
        try MemoryBudget.require(try a.trainingBytes(size: size, batch: batch),
                                 for: "texture network training (\(preset) preset, size \(size), batch \(batch))")
    }
}

/// One iteration's numbers, for progress lines, curves and the resume file.
public struct TexNetRecord: Sendable, Equatable {
    public var iteration: Int
    /// The texture loss, averaged over the batch.
    public var loss: Double
    public var seconds: Double
}

/// A training run: the generator, Adam's state, the loss on VGG, the random stream and the history. Each iteration
/// draws a batch of noise, generates images at the training size, evaluates each image's texture loss (the same as
/// `optimize`'s) with its gradient, back-propagates the mean through the generator and takes an Adam step.
public final class TexNetTraining: @unchecked Sendable {
    public let network: TextureNetwork
    public let options: TexNetTrainingOptions
    public let objective: TextureObjective
    public internal(set) var iteration = 0
    public internal(set) var history: [TexNetRecord] = []
    var rng: SplitMix64
    var moments: [AdamMoments]
    var settings: AdamSettings { AdamSettings(learningRate: options.resolvedLearningRate) }

    /// A fresh run: weights from `options.seed`, the final bias at the source's mean colour.
    public init(source: Image, model: VGG19, options: TexNetTrainingOptions) throws {
        try options.validate(source: source)
        var rng = SplitMix64(seed: options.seed)
        let mean = source.channelMean()
        network = TextureNetwork(options.architecture, rng: &rng, outputMean: [mean.0, mean.1, mean.2])
        objective = try TextureObjective(model: model, source: source, options: options.synthesisOptions)
        self.options = options
        self.rng = rng
        moments = network.namedParameters.map { AdamMoments(count: $0.parameter.count) }
        AllocationPolicy.reuseLargeBuffers()
    }

    init(network: TextureNetwork, options: TexNetTrainingOptions, objective: TextureObjective, rng: SplitMix64,
         moments: [AdamMoments], iteration: Int, history: [TexNetRecord]) {
        (self.network, self.options, self.objective, self.rng, self.moments, self.iteration, self.history) =
            (network, options, objective, rng, moments, iteration, history)
        AllocationPolicy.reuseLargeBuffers()
    }

    /// What one iteration computed, before Adam's step (the parity test reads the gradients there).
    public struct StepResult {
        public var loss: Double
        /// The images of this iteration, [3][N][H][W].
        public var images: ChannelMajor
    }

    /// One iteration on a fresh draw of noise. `beforeStep` sees the generator's gradients before Adam's step.
    @discardableResult
    public func step(beforeStep: ((StepResult) throws -> Void)? = nil) throws -> TexNetRecord {
        let start = DispatchTime.now().uptimeNanoseconds
        let (size, batch) = (options.resolvedSize, options.resolvedBatch)
        let noise = try NoisePyramid.draw(network.architecture, batch: batch, height: size, width: size, rng: &rng)
        let result = try lossAndGradients(noise)
        try beforeStep?(result)
        iteration += 1
        for (i, (_, p)) in network.namedParameters.enumerated() {
            moments[i].step(&p.value, gradient: p.gradient, t: iteration, settings)
        }
        let record = TexNetRecord(iteration: iteration, loss: result.loss,
                                  seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        guard record.loss.isFinite else {
            throw TexNetError("training diverged at iteration \(iteration): the loss is \(record.loss); try a lower learning rate")
        }
        history.append(record)
        return record
    }

    /// The mean texture loss of the images generated from `noise` (training mode), with every parameter's gradient
    /// (set, not accumulated onto an earlier one).
    public func lossAndGradients(_ noise: [ChannelMajor]) throws -> StepResult {
        for (_, p) in network.namedParameters { p.zeroGradient() }
        let trace = try network.forwardTraining(noise, padding: options.padding)
        let images = trace.output
        let (n, plane) = (images.batch, images.height * images.width)
        var dImages = ChannelMajor(zerosLike: images)
        var total = 0.0
        for s in 0..<n {
            var pixels = [Float](repeating: 0, count: 3 * plane)
            for c in 0..<3 { pixels[(c * plane)..<((c + 1) * plane)] = images.data[((c * n + s) * plane)..<((c * n + s + 1) * plane)] }
            let e = try objective.evaluate(try Tensor(shape: [1, 3, images.height, images.width], data: pixels), iteration: iteration + 1)
            total += e.loss / Double(n)
            let scale = 1 / Float(n)
            for c in 0..<3 {
                for i in 0..<plane { dImages.data[(c * n + s) * plane + i] = e.gradient.data[c * plane + i] * scale }
            }
        }
        try network.backward(dImages, trace: trace, padding: options.padding)
        return StepResult(loss: total, images: images)
    }

    /// Trains until iteration `target`, or until `shouldStop` (asked before each iteration) says so; `report` sees
    /// each iteration's record and the seconds per iteration so far. Returns whether it stopped early. What was
    /// learnt stays in `network` either way (the caller saves it).
    @discardableResult
    public func train(until target: Int, shouldStop: () -> Bool,
                      report: (_ record: TexNetRecord, _ secondsPerIteration: Double) throws -> Void) throws -> Bool {
        try IterationLoop.run(until: target, iteration: { iteration }, shouldStop: shouldStop, step: { try step() }, report: report)
    }

    /// The progress snapshot: the generator in evaluation mode on noise of its own stream (the same every time, so
    /// that snapshots show how it changes), at the training size.
    public func snapshot() throws -> Image {
        try TexNetGeneration.generate(network, width: options.resolvedSize, height: options.resolvedSize,
                                      seed: options.seed ^ 0x5EED_7E47, tile: options.tile)
    }
}

/// The progress line of training, one for every front end:
/// `iter 20/1000  loss 1.234e+05  0.41 s/it  6m42s left`
public enum TexNetProgressLine {
    public static func line(_ r: TexNetRecord, total: Int, secondsPerIteration: Double) -> String {
        "iter \(r.iteration)/\(total)  loss " + String(format: "%.4g", r.loss) + "  "
            + ProgressTiming.text(secondsPerIteration: secondsPerIteration, iterationsLeft: total - r.iteration)
    }
}

/// Images from a trained texture network.
public enum TexNetGeneration {
    /// One `width` x `height` image from noise of `seed`, clamped to [0, 1]. `tile`: circular padding, so the
    /// image tiles seamlessly. Sizes are checked against the noise pyramid and the memory budget first.
    public static func generate(_ network: TextureNetwork, width: Int, height: Int, seed: UInt64, tile: Bool) throws -> Image {
        let a = network.architecture
        if let problem = a.sizeProblem(width: width, height: height) { throw TexNetError(option: "size", problem) }
        try MemoryBudget.require(try a.generationBytes(width: width, height: height),
                                 for: "generating \(width)x\(height) with the texture network")
        var rng = SplitMix64(seed: seed)
        let noise = try NoisePyramid.draw(a, batch: 1, height: height, width: width, rng: &rng)
        let padding: PaddingMode = tile ? .circular : .reflect
        var y = MapGeneration.supports(a) ? try MapGeneration.generate(network, noise: noise, padding: padding)
            : try network.generate(noise, padding: padding)
        y.data.withUnsafeMutableBufferPointer { values in
            parallelRanges(values.count, minChunk: 1 << 16) { range in for i in range { values[i] = min(max(values[i], 0), 1) } }
        }
        return Image(width: width, height: height, pixels: y.data)
    }
}
