import ArgumentParser
import Foundation
import TxnFiles
import TxnGAN
import TxnImage
import TxnTensor

/// The spatial GAN from the command line: train a generator on one texture, then generate any size from it.
struct GANCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gan",
        abstract: "Train a spatial GAN on one texture and generate textures of any size from it.",
        subcommands: [GANTrain.self, GenerateCommand<Generator>.self, GANAnimate.self])
}

struct GANTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a generator on random crops of SOURCE; writes G.pth (a PyTorch state dict) and G.resume.pth.",
        discussion: """
            Ctrl-C stops after the current iteration and writes a checkpoint. --resume continues from -o's checkpoint \
            (same losses as an uninterrupted run). The generator loads in PyTorch with the seed project's PSGenerator.
            """)

    @OptionGroup var numeric: NumericOptions

    @OptionGroup var input: SourceTextureArgument

    @Option(name: .shortAndLong, help: "Generator checkpoint to write (.pth).")
    var output: String

    /// The defaults of a GAN run, the same the notebook's `gan` declares.
    private static let defaults = GANTrainingOptions()

    @Option(help: "Preset: \(GANPreset.allCases.map(\.summary).joined(separator: "; ")).")
    var preset: GANPreset = defaults.preset

    @Option(parsing: .unconditional, help: "Crop size (default: the preset's).")
    var crop: Int?

    @Option(parsing: .unconditional, help: "Batch size (default: the preset's).")
    var batch: Int?

    @Option(parsing: .unconditional, help: "Crop crop×scaling pixels and resize them to crop (the seed's scaling_factor).")
    var scaling: Double = defaults.scaling

    @Flag(help: "Random flips and 90° rotations of the crops.")
    var augment = defaults.augment

    @Option(parsing: .unconditional, help: "Adam learning rate (default: the preset's, \(GANPreset.learningRates)).")
    var lr: Float?

    @Option(help: "Random seed (weights, crops, noise).")
    var seed: UInt64 = defaults.seed

    @Flag(help: "PSGAN's noise: global, local and periodic sine channels whose wave vectors a small MLP learns from the global code.")
    var periodic = false

    @Option(help: "With --periodic: the noise split GLOBAL,LOCAL,PERIODIC[,HIDDEN] (default: the preset's; the sum must be its noise channels).")
    var noiseSplit: String?

    @OptionGroup var loop: TrainingLoopOptions

    func validate() throws {
        try loop.checkSteps(GANTrainingOptions.stepRange)
        if noiseSplit != nil && !periodic { throw ValidationError("--noise-split needs --periodic") }
        if noiseSplit != nil && loop.resume { throw ValidationError("--noise-split: a resumed run keeps the split of its checkpoint") }
    }

    func run() throws {
        numeric.apply()
        // Every output is checked before the work: the generator, its resume file, the samples' folder.
        try loop.prepare(GANTraining.self, output: output)
        let folder = parentPath(output)
        do { if !folder.isEmpty { try SafeFile.makeFolder(folder) } } catch { throw ValidationError("-o \(error)") }
        let image = try loadInputImage(input.source)
        let training = try loop.training(output: output, resumed: {
            let training = try GANTraining(resuming: output, source: image, preset: preset)
            if periodic && training.generator.periodic == nil {
                throw ValidationError("--periodic: \(output) was trained without periodic noise; a resumed run keeps its noise")
            }
            return training
        }, fresh: {
            var options = GANTrainingOptions()
            options.preset = preset
            (options.crop, options.batch, options.scaling, options.augment) = (crop, batch, scaling, augment)
            (options.seed, options.learningRate) = (seed, lr)
            options.periodic = periodic
            if let noiseSplit {
                do { options.noiseLayout = try NoiseLayout(parsing: noiseSplit, defaultHidden: preset.periodicLayout.hidden) } catch {
                    throw ValidationError("--noise-split: \(error)")
                }
            }
            return try GANTraining(source: image, options: options)
        })
        let o = training.options
        print("training \(o.preset) preset (\(GANArchitecture.describe(training)) on \(input.source) "
            + "(\(image.width)x\(image.height)): crop \(o.resolvedCrop), batch \(o.resolvedBatch), "
            + "\(loop.steps) iterations, seed \(o.seed), \(Threads.count) threads"
            + (training.generator.periodic.map { ", periodic noise (\($0.layout))" } ?? ""))
        try loop.loop(output: output).run(training)
    }
}

extension GANArchitecture {
    static func describe(_ t: GANTraining) -> String {
        "G \(t.generator.channels.map(String.init).joined(separator: "→")), D \(t.trainer.discriminator.channels.map(String.init).joined(separator: "→")))"
    }
}

extension Generator: CommandLineGenerating {
    static let generateAbstract = "Generate a texture of any size from a trained generator (txn's or the seed project's .pth)."
    static let checkpointHelp = "Generator checkpoint (.pth)."
    static let checkpointName = "generator"
    static let sizeHelp = "Size: N or WxH (multiples of the generator's scale, 32 for the seed's, are exact; others are cropped)."
    static let tileHelp = "Make the texture tile seamlessly (the size must be a multiple of the scale)."
    static func loadCheckpoint(_ path: String) throws -> Generator { try load(path) }
    func generate(width: Int, height: Int, seed: UInt64, tile: Bool) throws -> Image {
        try GANGeneration.generate(self, width: width, height: height, seed: seed, tile: tile)[0]
    }
}

struct GANAnimate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "animate",
        abstract: "An animated GIF from a trained generator: a looping walk through its noise (the seed's animate.py).")

    @OptionGroup var numeric: NumericOptions

    @Argument(help: "Generator checkpoint (.pth).")
    var generator: String

    @Option(name: .shortAndLong, help: "Output animation (.gif).")
    var output: String

    @Option(parsing: .unconditional, help: "Size: N or WxH, multiples of the generator's scale.")
    var size: String = "256"

    @Option(parsing: .unconditional, help: "Frames (2 to 1000).")
    var frames: Int = 60

    @Option(help: "Noise walk: sine or keyframes.")
    var walk: GANGeneration.Walk = .standard

    @Option(parsing: .unconditional, help: "Hundredths of a second per frame (1 to 65535).")
    var delay: Int = GIF.defaultDelay

    @Option(help: "Random seed of the noise.")
    var seed: UInt64 = 0

    func validate() throws {
        let range = GANGeneration.frameRange
        guard range.contains(frames) else { throw ValidationError("--frames must be \(range.lowerBound) to \(range.upperBound), got \(frames)") }
        do { try GIF.checkDelay(delay) } catch { throw ValidationError("--delay: \(error.reason)") }
    }

    func run() throws {
        numeric.apply()
        let (w, h) = try parseSize(size, "--size")
        do {
            try SafeFile.checkExtension(output, ["gif"], kind: "an animation")
            try SafeFile.checkWritable(output, createFolders: true)
        } catch { throw ValidationError("-o \(error)") }
        let g = try Generator.load(generator)
        let images = try generationRequest(generator) {
            try GANGeneration.animate(g, width: w, height: h, frames: frames, walk: walk, seed: seed)
        }
        try SafeFile.write(try GIF.encode(images, delay: delay), to: output, createFolders: true)
        print("wrote \(output) (\(frames) frames of \(w)x\(h))")
    }
}

extension GANGeneration.Walk: ExpressibleByArgument {}
