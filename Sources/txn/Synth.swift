import ArgumentParser
import Foundation
import TxnFiles
import TxnImage
import TxnSynthesis
import TxnTensor
import TxnVGG

/// Gatys texture synthesis from the command line (the notebook's `optimize` in one go).
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Synthesise a texture like SOURCE (Gatys et al. 2015).",
        discussion: "Ctrl-C stops after the current evaluation and saves the best image so far.")

    @OptionGroup var numeric: NumericOptions

    @OptionGroup var input: SourceTextureArgument

    @Option(name: .shortAndLong, help: "Output image (.png or .jpg).")
    var output: String = "texture.png"

    /// The defaults of a synthesis, the same the notebook's `optimize` declares.
    private static let defaults = SynthesisOptions()

    @Option(help: "Output size: N or WxH.")
    var size: String = defaults.width == defaults.height ? "\(defaults.width)" : "\(defaults.width)x\(defaults.height)"

    @Option(help: "Resize the source to this size first (N or WxH; default: keep it).")
    var sourceSize: String?

    @Option(help: ArgumentHelp("Iterations, or auto: stop when \(SynthesisOptions.Plateau.standard) (at most \(SynthesisOptions.automaticStepsCap) per octave) (default: by size, \(Octaves.defaultStepsSummary)).", valueName: "N|auto"))
    var steps: StepCount?

    @Option(help: "Optimiser: \(SynthesisOptions.Optimizer.Name.allCases.map(\.rawValue).joined(separator: " or ")).")
    var optimizer: SynthesisOptions.Optimizer.Name = defaults.optimizer.name

    @Option(help: "L-BFGS history size (\(SynthesisOptions.historyRange.lowerBound) to \(SynthesisOptions.historyRange.upperBound)).")
    var history: Int = SynthesisOptions.defaultHistory

    @Option(help: "Adam learning rate (pixel units).")
    var lr: Double = SynthesisOptions.defaultAdamLearningRate

    @Option(help: "Layers, comma separated.")
    var layers: String = defaults.layers.joined(separator: ",")

    // Not --weights: that is the checkpoint (NumericOptions), and two options of one name made `txn synth` unusable.
    @Option(help: "Layer weights, comma separated (one per layer, or one for all).")
    var layerWeights: String = "\(VGG19.gatysLayerWeight)"

    @Option(help: "Loss: gram (Gatys), sw (sliced Wasserstein, Heitz et al. 2021) or gram+sw.")
    var loss: SynthesisOptions.Loss = defaults.loss

    @Option(help: "SW directions per layer (default: the layer's channel count).")
    var projections: Int?

    @Option(help: "SW layer weights are the layer weights times this.")
    var swWeight: Double = defaults.slicedWeight

    @Option(help: "New SW directions every N iterations.")
    var redraw: Int = defaults.slicedRedrawEvery

    @Option(help: "Coarse to fine: start at size/2^(octaves-1) (default: 1 up to \(Octaves.automaticSingle) px, 2 up to \(Octaves.automaticCoarsest), one more per doubling).")
    var octaves: Int?

    @Option(help: ArgumentHelp("Iterations at each octave but the last: one count for all, or one per octave, coarsest first (default: --steps if given, else by size: \(Octaves.defaultOctaveStepsSummary)).", valueName: "N[,N…]"))
    var octaveSteps: String?

    @Option(help: ArgumentHelp("Evaluate the network in tiles of N x N core pixels plus halos (default: the whole image if the run fits --max-memory, else the largest tiles that do).", valueName: "N"))
    var evalTile: Int?

    @Option(help: "Padding: reflect, zero or circular (circular tiles without a seam).")
    var padding: PaddingMode = defaults.padding

    @Option(help: "Pooling: avg or max.")
    var pooling: Pool2D.Kind = defaults.pooling

    @Flag(help: "Seamless: same as --padding circular.")
    var tile = false

    @Flag(help: "Match the result's colour histogram to the source's.")
    var histmatch = defaults.histogramMatching

    @Option(help: "Random seed.")
    var seed: UInt64 = defaults.seed

    @Option(help: "Stop after this many seconds, keeping the best image so far (for comparisons at equal time).")
    var seconds: Double?

    @Option(help: "Print progress every N iterations.")
    var every: Int = 10

    @Option(help: ArgumentHelp("Write one JSON object per iteration to FILE: iteration, seconds, loss, and gram_loss (the plain Gram loss at the output size).", valueName: "FILE"))
    var log: String?

    @Option(help: "Convolution algorithm: auto (Winograd where oneDNN has it and it pays), direct or winograd.")
    var algorithm: ConvAlgorithm = defaults.algorithm

    func run() throws {
        numeric.apply()
        if let seconds, !(seconds > 0 && seconds.isFinite) { throw ValidationError("--seconds must be positive, got \(seconds)") }
        var options = SynthesisOptions()
        (options.width, options.height) = try parseSize(size, "--size")
        steps?.apply(to: &options)
        options.reportsGramLoss = log != nil
        options.optimizer = .init(optimizer, history: history, learningRate: lr)
        options.layers = layers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let w = try layerWeights.split(separator: ",").map { s -> Double in
            guard let v = Double(s.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--layer-weights: '\(s)' is not a number")
            }
            return v
        }
        options.layerWeights = SynthesisOptions.layerWeights(w, layerCount: options.layers.count)
        options.padding = tile ? .circular : padding
        options.pooling = pooling
        options.histogramMatching = histmatch
        options.seed = seed
        options.algorithm = algorithm
        options.loss = loss
        options.slicedProjections = projections
        options.slicedWeight = swWeight
        options.slicedRedrawEvery = redraw
        options.octaves = octaves
        options.octaveSteps = try octaveSteps.map { text in
            try text.split(separator: ",").map { s in
                guard let n = Int(s.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--octave-steps: '\(s)' is not a whole number")
                }
                return n
            }
        }
        options.evaluationTile = evalTile
        do { try options.validate() } catch let e as SynthesisError where !e.isOverMemoryLimit { throw ValidationError(e.asFlag) }

        // Known before the run, not after it: an output that cannot be written would lose the whole run.
        do { try SafeFile.checkWritable(output, createFolders: true) } catch { throw ValidationError("-o \(error)") }
        var sourceImage = try loadInputImage(input.source)
        if let sourceSize {
            let (sw, sh) = try parseSize(sourceSize, "--source-size")
            sourceImage = try sourceImage.resized(width: sw, height: sh)
        }
        // The log's gram_loss is on the default layers, which the run's own may not reach.
        let deepest = try VGG19.deepestLayer(of: options.layers + (log != nil ? VGG19.gatysLayers : []))
        let model = try VGG19.load(numeric.weightsPath, upTo: deepest)
        let logFile: SynthesisLog?
        do { logFile = try log.map { try SynthesisLog(path: $0) } } catch { throw ValidationError("--log \(error)") }
        let synthesizer: Synthesizer
        do { synthesizer = try Synthesizer(model: model, source: sourceImage, options: options) } catch let e as SynthesisError where !e.isOverMemoryLimit {
            throw ValidationError(e.asFlag)
        }
        print("synthesising \(options.width)x\(options.height) from \(input.source) (\(sourceImage.width)x\(sourceImage.height)), "
            + "\(options.optimizer), \(loss.rawValue) loss, \(synthesizer.octaves) octave(s), \(steps.map { "\($0)" } ?? "\(options.finalSteps)") steps, \(options.padding) padding, \(options.pooling) pooling, \(Threads.count) threads")
        print(synthesizer.memory.summary)
        Interrupt.install()
        defer { Interrupt.uninstall() }
        let started = DispatchTime.now().uptimeNanoseconds
        let result = try synthesizer.run(progress: { p in
            logFile?.record(p)
            if p.iteration % max(1, every) == 0 || p.iteration == p.totalIterations || p.iteration == 1 { print(p.line) }
        }, shouldStop: seconds.map { limit in
            { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 >= limit }
        })
        if result.plateaued, let plateau = options.plateau {
            print("stopped after \(result.history.count) iterations: \(plateau)")
        }
        if result.interrupted {
            print(seconds.map { "time limit of \($0) s reached" } ?? "interrupted", terminator: "")
            print(": keeping the best image so far (loss \(result.loss))")
        }
        try result.image.save(output, createFolders: true)
        if let failure = logFile?.failure { print("txn: warning: --log \(failure)") }
        print(String(format: "wrote %@ — loss %.4g after %d iterations, %d evaluations, %.1f s",
                     output, result.loss, result.history.count, result.evaluations, result.seconds))
        if let d = result.distance {
            print(String(format: "distance to source: Gram loss %.4g, sliced Wasserstein %.4g", d.gramLoss, d.sliced))
            print("  per layer: " + d.layers.indices.map {
                String(format: "%@ %.3g / %.3g", d.layers[$0], d.gramPerLayer[$0], d.slicedPerLayer[$0])
            }.joined(separator: ", ") + " (Gram loss / sliced Wasserstein)")
        }
    }
}

func parseSize(_ text: String, _ option: String) throws -> (Int, Int) {
    guard let size = Image.parseSize(text) else {
        throw ValidationError("\(option): '\(text)' is not a size (N or WxH in whole numbers from 1, e.g. 256 or 320x200)")
    }
    return size
}

extension SynthesisError {
    /// The error as the command line says it: the option by its flag (`--sw-weight`, not `sw_weight`).
    var asFlag: String {
        let flag: String
        switch field {
        case .weights: flag = "--layer-weights"
        case .source: flag = "SOURCE"
        case .memory: return "\(message) \(CommandLineMessage.raiseMemoryLimit)"
        case .learningRate: flag = "--lr"
        default: flag = "--" + field.rawValue.replacingOccurrences(of: "_", with: "-")
        }
        return "\(flag): \(message)"
    }
}

extension PaddingMode: ExpressibleByArgument {}
extension StepCount: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}
extension SynthesisOptions.Optimizer.Name: ExpressibleByArgument {}
extension SynthesisOptions.Loss: ExpressibleByArgument {}
extension Pool2D.Kind: ExpressibleByArgument {}
