import ArgumentParser
import Foundation
import TxnFiles
import TxnImage
import TxnSynthesis
import TxnTensor
import TxnTexNet
import TxnVGG

/// Texture networks from the command line: train a feed-forward generator with the Gatys loss on one texture, then
/// generate any size from it at once.
struct TexNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "texnet",
        abstract: "Train a texture network (Ulyanov et al. 2016) with the Gatys loss, and generate textures of any size from it.",
        subcommands: [TexNetTrain.self, GenerateCommand<TextureNetwork>.self])
}

extension TexNetPreset: ExpressibleByArgument {}
extension TexNetNormalisation: ExpressibleByArgument {}

struct TexNetTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a texture network on SOURCE; writes T.pth (a PyTorch state dict, see scripts/texnet.py) and T.resume.pth.",
        discussion: """
            Each iteration generates a batch of images from fresh noise, evaluates the texture loss of each on VGG-19 \
            (the layers and weights of `txn synth`), and takes an Adam step on the generator. Ctrl-C stops after the \
            current iteration and writes a checkpoint; --resume continues from -o's checkpoint exactly.
            """)

    @OptionGroup var numeric: NumericOptions

    @OptionGroup var input: SourceTextureArgument

    @Option(name: .shortAndLong, help: "Texture network checkpoint to write (.pth).")
    var output: String

    private static let defaults = TexNetTrainingOptions()

    @Option(help: ArgumentHelp("Preset: " + TexNetPreset.allCases.map(\.summary).joined(separator: "; ") + "."))
    var preset: TexNetPreset = defaults.preset

    @Option(help: "Normalisation: instance or batch.")
    var norm: TexNetNormalisation = defaults.normalisation

    @Option(parsing: .unconditional, help: "Side of the training images (default: the preset's).")
    var size: Int?

    @Option(parsing: .unconditional, help: "Images per iteration (default: the preset's).")
    var batch: Int?

    @Option(help: "Texture loss: gram, sw or gram+sw.")
    var loss: SynthesisOptions.Loss = defaults.loss

    @Flag(help: "Train a tileable texture (circular padding in the generator and in VGG).")
    var tile = false

    @Option(parsing: .unconditional, help: "Adam learning rate (default: the preset's).")
    var lr: Float?

    @Option(help: "Random seed (weights and noise).")
    var seed: UInt64 = defaults.seed

    @OptionGroup var loop: TrainingLoopOptions

    func validate() throws {
        try loop.checkSteps(TexNetTrainingOptions.stepRange)
    }

    func run() throws {
        numeric.apply()
        try loop.prepare(TexNetTraining.self, output: output)
        let image = try loadInputImage(input.source)
        let model = try VGG19.load(numeric.weightsPath, upTo: try VGG19.deepestLayer(of: VGG19.gatysLayers))
        let training = try loop.training(output: output, resumed: {
            try TexNetTraining(resuming: output, source: image, model: model)
        }, fresh: {
            var options = TexNetTrainingOptions()
            (options.preset, options.normalisation, options.size, options.batch) = (preset, norm, size, batch)
            (options.loss, options.tile, options.seed, options.learningRate) = (loss, tile, seed, lr)
            do { return try TexNetTraining(source: image, model: model, options: options) } catch let e as TexNetError {
                throw ValidationError(e.commandLineMessage)
            }
        })
        let o = training.options
        print("training a texture network (\(o.preset) preset: \(training.network.architecture), "
            + "\(training.network.parameterCount) parameters) on \(input.source) (\(image.width)x\(image.height)): "
            + "size \(o.resolvedSize), batch \(o.resolvedBatch), \(o.loss.rawValue) loss\(o.tile ? ", tileable" : ""), "
            + "\(loop.steps) iterations, seed \(o.seed), \(Threads.count) threads")
        try loop.loop(output: output).run(training)
    }
}

extension TextureNetwork: CommandLineGenerating {
    static let generateAbstract = "Generate a texture of any size the noise pyramid can make from a trained texture network."
    static let checkpointHelp = "Texture network checkpoint (.pth)."
    static let checkpointName = "network"
    static let sizeHelp = "Size: N or WxH, multiples of the coarsest noise period (16 for small, 32 for paper)."
    static let tileHelp = "Make the texture tile seamlessly (circular padding)."
    static func loadCheckpoint(_ path: String) throws -> TextureNetwork { try load(path) }
    func generate(width: Int, height: Int, seed: UInt64, tile: Bool) throws -> Image {
        try TexNetGeneration.generate(self, width: width, height: height, seed: seed, tile: tile)
    }
}
