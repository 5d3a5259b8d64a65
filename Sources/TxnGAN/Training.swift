import Foundation
import TxnCheckpoint
import TxnFiles
import TxnImage
import TxnTensor

/// The choices of a training run; defaults are the preset's.
public struct GANTrainingOptions: Sendable, Equatable {
    public var preset: GANPreset = .small
    public var crop: Int? = nil
    public var batch: Int? = nil
    /// The seed's `scaling_factor`: crop crop·scaling pixels and resize them to crop (zooms out).
    public var scaling: Double = 1
    /// Random flips and 90° rotations of the crops.
    public var augment: Bool = false
    public var seed: UInt64 = 0
    /// Adam's learning rate (default: the preset's).
    public var learningRate: Float? = nil
    /// PSGAN's periodic noise channels (`--periodic`), split as `noiseLayout` or else as the preset's
    /// `periodicLayout`. Off: the seed's all-local noise.
    public var periodic: Bool = false
    public var noiseLayout: NoiseLayout? = nil

    public init() {}

    /// How many iterations one request may ask for (`gan train --steps`, the notebook's `train steps=`).
    public static let stepRange = 1...10_000_000

    public var resolvedCrop: Int { crop ?? preset.crop }
    public var resolvedBatch: Int { batch ?? preset.batch }
    public var resolvedLearningRate: Float { learningRate ?? preset.learningRate }
    /// The periodic noise's layout, or nil for the seed's noise.
    public var resolvedNoiseLayout: NoiseLayout? { periodic ? noiseLayout ?? preset.periodicLayout : nil }

    /// The seed's Adam with this run's learning rate.
    var adamSettings: AdamSettings {
        var settings = GANTrainer.seedSettings
        settings.learningRate = resolvedLearningRate
        return settings
    }

    func sampler(_ source: Image) throws -> CropSampler {
        try CropSampler(source: source, crop: resolvedCrop, scaling: scaling, augment: augment)
    }

    /// The noise of the progress snapshots, from its own stream so that it never changes the training's.
    func fixedNoise(_ g: Generator) -> GANNoiseDraw {
        var noiseRNG = SplitMix64(seed: seed ^ 0x5EED_0F_5A4D)
        let cells = resolvedCrop / g.scale
        return GANNoiseDraw(g, batch: 1, height: cells, width: cells, rng: &noiseRNG)
    }

    /// Checks the sizes against the architecture and the memory budget before anything is allocated.
    public func validate(source: Image) throws {
        let arch = preset.architecture, crop = resolvedCrop, batch = resolvedBatch
        if let layout = resolvedNoiseLayout, layout.channels != arch.noiseChannels {
            throw GANError("the noise split (\(layout)) has \(layout.channels) channels; the \(preset) preset's generator takes \(arch.noiseChannels)")
        }
        guard crop >= arch.discriminatorScale, crop % arch.scale == 0 else {
            throw GANError("the crop must be a multiple of \(arch.scale) and at least \(arch.discriminatorScale) pixels, got \(crop)")
        }
        // The crop fits the source (so it is bounded by an image that exists) before any size is computed from it.
        _ = try sampler(source)
        guard batch >= 2, batch <= 256 else {
            throw GANError("the batch must be between 2 and 256 (batch norm needs two samples), got \(batch)")
        }
        guard resolvedLearningRate.isFinite, resolvedLearningRate > 0, resolvedLearningRate < 1 else {
            throw GANError("the learning rate must be between 0 and 1, got \(resolvedLearningRate)")
        }
        try MemoryBudget.require(try Self.trainingBytes(arch, crop: crop, batch: batch),
                                 for: "GAN training (\(preset) preset, crop \(crop), batch \(batch))")
    }

    /// A bound on what one iteration holds at once: every activation of both networks with its saved copy and
    /// gradient, the largest unfolded-patch matrix, and the parameters with their gradients and Adam moments.
    static func trainingBytes(_ arch: GANArchitecture, crop: Int, batch: Int) throws -> Int {
        let what = "GAN training"
        func product(_ f: [Int]) throws -> Int { try MemoryBudget.product(f, for: what) }
        var floats = 0, largestColumns = 0, side = crop / arch.scale
        for i in 0..<(arch.generatorChannels.count - 1) {
            let (cin, cout) = (arch.generatorChannels[i], arch.generatorChannels[i + 1])
            let twice = try product([2, side])
            floats = try MemoryBudget.sum([floats, try product([3, cout, batch, twice, twice]), try product([4, cin, cout, 16])], for: what)
            largestColumns = max(largestColumns, try product([cout, 16, batch, side, side]))
            side = twice
        }
        side = crop
        for i in 0..<(arch.discriminatorChannels.count - 1) {
            let (cin, cout) = (arch.discriminatorChannels[i], arch.discriminatorChannels[i + 1])
            side /= 2
            floats = try MemoryBudget.sum([floats, try product([6, cout, batch, side, side]), try product([4, cin, cout, 16])], for: what)
            largestColumns = max(largestColumns, try product([cin, 16, batch, side, side]))
        }
        return try MemoryBudget.bytes(count: try MemoryBudget.sum([floats, try product([2, largestColumns])], for: what), for: what)
    }
}

/// One iteration's numbers, for progress lines, curves and the resume file.
public struct GANRecord: Sendable, Equatable {
    public var iteration: Int
    public var discriminatorLoss: Double
    public var generatorLoss: Double
    public var meanReal: Double
    public var meanFake: Double
    public var seconds: Double
}

/// A training run: the networks, their optimiser state, the data, the random stream and the history, with
/// checkpoints that resume exactly (same losses as an uninterrupted run).
public final class GANTraining: @unchecked Sendable {
    public let trainer: GANTrainer
    public let sampler: CropSampler
    public let options: GANTrainingOptions
    public private(set) var rng: SplitMix64
    public private(set) var history: [GANRecord] = []
    /// The noise of the progress snapshots: the same every time, so they show how G changes.
    public let fixedNoise: GANNoiseDraw

    public var generator: Generator { trainer.generator }
    public var iteration: Int { trainer.iteration }

    /// A fresh run: networks initialised from `options.seed`.
    public init(source: Image, options: GANTrainingOptions) throws {
        try options.validate(source: source)
        let arch = options.preset.architecture
        var rng = SplitMix64(seed: options.seed)
        let g = Generator(channels: arch.generatorChannels, rng: &rng, noise: options.resolvedNoiseLayout)
        let d = Discriminator(channels: arch.discriminatorChannels, rng: &rng)
        trainer = GANTrainer(generator: g, discriminator: d, settings: options.adamSettings)
        sampler = try options.sampler(source)
        self.options = options
        fixedNoise = options.fixedNoise(g)
        self.rng = rng
    }

    /// One iteration on a fresh batch of crops and noise.
    @discardableResult
    public func step() throws -> GANRecord {
        let start = DispatchTime.now().uptimeNanoseconds
        let real = try sampler.batch(options.resolvedBatch, rng: &rng)
        let cells = options.resolvedCrop / generator.scale
        let z = GANNoiseDraw(generator, batch: options.resolvedBatch, height: cells, width: cells, rng: &rng)
        let r = try trainer.step(real: real, noise: z.noise, periodicDraw: z.periodic)
        let record = GANRecord(iteration: trainer.iteration, discriminatorLoss: r.discriminatorLoss, generatorLoss: r.generator,
                               meanReal: r.meanReal, meanFake: r.meanFake,
                               seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        guard record.discriminatorLoss.isFinite, record.generatorLoss.isFinite else {
            throw GANError("training diverged at iteration \(record.iteration): a loss is not finite (D \(record.discriminatorLoss), G \(record.generatorLoss)); try a lower learning rate")
        }
        history.append(record)
        return record
    }

    /// Trains until iteration `target`, or until `shouldStop` (asked before each iteration) says so; `report` sees
    /// each iteration's record and the seconds per iteration so far. Returns whether it stopped early.
    @discardableResult
    public func train(until target: Int, shouldStop: () -> Bool,
                      report: (_ record: GANRecord, _ secondsPerIteration: Double) throws -> Void) throws -> Bool {
        try IterationLoop.run(until: target, iteration: { iteration }, shouldStop: shouldStop, step: { try step() }, report: report)
    }

    /// The snapshot image: G in evaluation mode on the fixed noise, in [0, 1].
    public func snapshot() throws -> Image {
        try GANImages.image(try generator.generate(fixedNoise.current(generator)))
    }

    // MARK: checkpoints

    /// Writes the generator (a PyTorch state dict with the seed's keys) and, beside it, everything else a resumed
    /// run needs: D, both Adam states, the iteration, the random stream, the options and the history. The two files
    /// are consistent by construction: both are written to temporary files first and renamed into place one right
    /// after the other (`Checkpoint.writePair`), so a process killed while checkpointing leaves the previous pair;
    /// and the resume file records the SHA-256 of the generator file written with it, so the one pair a kill
    /// between the two renames can leave is recognised by resuming (`CheckpointPair.checkBelongs`) as mixed, never continued.
    public func save(generatorTo path: String) throws {
        var entries = trainer.discriminator.stateEntries
        for (params, moments) in [(trainer.generator.namedParameters, trainer.generatorMoments),
                                  (trainer.discriminator.namedParameters, trainer.discriminatorMoments)] {
            for (i, (name, p)) in params.enumerated() {
                entries += ResumeState.adamEntries(name, shape: p.shape, m: moments[i].m, v: moments[i].v)
            }
        }
        let o = options
        entries += ResumeState.runEntries(iteration: trainer.iteration, rng: rng.state, seed: o.seed)
        entries += [
            CheckpointEntry("train.crop_batch_augment", shape: [3], integers: [Int64(o.resolvedCrop), Int64(o.resolvedBatch), o.augment ? 1 : 0]),
            CheckpointEntry("train.scaling_lr", shape: [2], floats: [Float(o.scaling), o.resolvedLearningRate]),
            ResumeState.historyEntry(history.map {
                [Float($0.iteration), Float($0.discriminatorLoss), Float($0.generatorLoss), Float($0.meanReal), Float($0.meanFake), Float($0.seconds)]
            }, columns: 6),
        ]
        try Checkpoint.writePair(generator.stateEntries, to: path, then: { hash in
            entries + [CheckpointPair.hashEntry(hash)]
        }, to: Self.resumePath(for: path))
    }

    /// Continues the run saved at `path` (and its resume file) on `source`. Every number read from the files is
    /// checked (the options as a fresh run's are, the iteration, the history row by row) before it is used.
    public init(resuming path: String, source: Image, preset: GANPreset) throws {
        let statePath = Self.resumePath(for: path)
        do { try SafeFile.checkReadable(statePath) } catch let f as SafeFile.Failure where f.kind == .notFound {
            throw GANError("\(statePath): no resume state beside \(path) (it is written with every checkpoint of a training run)")
        } catch { throw GANError("\(error)") }
        let gDict = try Checkpoint.load(path), state = try Checkpoint.load(statePath)
        let reader = StateDictReader(gan: state, path: statePath)
        let iteration = try ResumeState.iteration(reader)
        try CheckpointPair.checkBelongs(reader, networkFile: path, iteration: iteration)
        let g = try Generator(stateDict: gDict, path: path)
        let d = try Discriminator(stateDict: state, path: statePath)
        let options = try Self.savedOptions(reader, generator: g, discriminator: d, preset: preset)
        // The saved options are checked as a fresh run's are; what is wrong is in the resume file.
        do { try options.validate(source: source) } catch let e as GANError { throw reader.error(e.message) } catch let e as MemoryBudgetError {
            throw reader.error("\(e)")
        }

        let trainer = GANTrainer(generator: g, discriminator: d, settings: options.adamSettings)
        trainer.generatorMoments = try Self.savedMoments(reader, g.namedParameters)
        trainer.discriminatorMoments = try Self.savedMoments(reader, d.namedParameters)
        trainer.iteration = iteration
        self.trainer = trainer
        self.options = options
        sampler = try options.sampler(source)
        rng = SplitMix64(seed: 0)
        rng.state = try ResumeState.rngState(reader)
        fixedNoise = options.fixedNoise(g)
        history = try Self.savedHistory(reader, iteration: iteration)
    }

    /// The options a resume file saved (checked later by `validate`, as a fresh run's are).
    private static func savedOptions(_ reader: StateDictReader, generator g: Generator, discriminator d: Discriminator,
                                     preset: GANPreset) throws -> GANTrainingOptions {
        let cba = try reader.integers("train.crop_batch_augment", 3)
        let sl = try reader.tensor("train.scaling_lr", shape: [2]).values
        var options = GANTrainingOptions()
        guard cba.allSatisfy({ $0 >= 0 && $0 <= Int64(Int32.max) }) else {
            throw reader.error("train.crop_batch_augment \(cba) is out of range")
        }
        (options.crop, options.batch, options.augment) = (Int(cba[0]), Int(cba[1]), cba[2] != 0)
        (options.scaling, options.learningRate) = (Double(sl[0]), sl[1])
        options.seed = try ResumeState.seed(reader)
        (options.periodic, options.noiseLayout) = (g.periodic != nil, g.periodic?.layout)
        let arch = try GANArchitecture(generatorChannels: g.channels, discriminatorChannels: d.channels)
        options.preset = GANPreset.allCases.first { $0.architecture == arch } ?? preset
        guard options.resolvedCrop % arch.scale == 0 else { throw reader.error("the saved crop \(options.resolvedCrop) does not fit the networks") }
        return options
    }

    /// Adam's moments of `params` from a resume file (`ResumeState.adamMoments`).
    private static func savedMoments(_ reader: StateDictReader, _ params: [(name: String, parameter: Parameter)]) throws -> [AdamMoments] {
        try params.map { name, p in
            var m = AdamMoments(count: p.count)
            (m.m, m.v) = try ResumeState.adamMoments(reader, name, shape: p.shape)
            return m
        }
    }

    /// The history table of a resume file, row by row: an iteration from 1 to the file's, finite non-negative
    /// losses and times, and D's means in [0, 1]; anything else (NaN, Inf, an iteration of 1e30) is an error
    /// naming the row.
    private static func savedHistory(_ reader: StateDictReader, iteration: Int) throws -> [GANRecord] {
        try ResumeState.history(reader, columns: 6, iteration: iteration,
                                expected: "losses and seconds that are finite and not negative, D's means from 0 to 1",
                                rowIsValid: { $0[3] <= 1 && $0[4] <= 1 }).map { v in
            GANRecord(iteration: Int(v[0]), discriminatorLoss: v[1], generatorLoss: v[2], meanReal: v[3], meanFake: v[4], seconds: v[5])
        }
    }
}

/// Conversions between the networks' [−1, 1] batches and images.
public enum GANImages {
    /// Sample 0 of a [3][N][H][W] batch in [−1, 1] as an image in [0, 1].
    public static func image(_ x: ChannelMajor, sample: Int = 0) throws -> Image {
        guard x.channels == 3, sample < x.batch else { throw GANError("not an RGB batch") }
        let plane = x.height * x.width
        var pixels = [Float](repeating: 0, count: 3 * plane)
        for c in 0..<3 {
            let src = (c * x.batch + sample) * plane
            for i in 0..<plane { pixels[c * plane + i] = min(max((x.data[src + i] + 1) / 2, 0), 1) }
        }
        return Image(width: x.width, height: x.height, pixels: pixels)
    }
}

/// `G.pth` and `G.resume.pth`: resumePath, checkOutputs and removeStaleTemporaries come from `PairCheckpointed`.
extension GANTraining: PairCheckpointed {
    public static let checkpointKind = "a generator checkpoint"
}
