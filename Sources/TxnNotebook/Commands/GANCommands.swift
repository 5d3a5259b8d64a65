import Foundation
import TxnFiles
import TxnGAN
import TxnImage
import TxnPlot
import TxnTensor

/// A spatial GAN in a session: a training run (networks, optimiser state, data, history) or, when loaded from a
/// generator file alone, just a generator.
public typealias GANValue = GeneratorRun<GANTraining, Generator>

extension GeneratorRun where Training == GANTraining, Network == Generator {
    convenience init(training: GANTraining, label: String) { self.init(training: training, network: training.generator, label: label) }
    convenience init(generator: Generator, label: String) { self.init(training: nil, network: generator, label: label) }
    public var generator: Generator { network }

    static var kind: String { "generator" }

    var summary: String {
        let widths = generator.channels.map(String.init).joined(separator: "→")
            + (generator.periodic.map { ", periodic noise: \($0.layout)" } ?? "")
        guard let t = training else { return "GAN generator \(widths) (\(label)), not trainable here" }
        let last = t.history.last.map { String(format: ", D loss %.3f, G loss %.3f", $0.discriminatorLoss, $0.generatorLoss) } ?? ""
        return "GAN \(t.options.preset) (G \(widths)) on \(label), \(t.iteration) iterations\(last)"
    }
}

extension Arguments {
    func gan(_ name: String) throws -> GANValue {
        let v = try any(name)
        guard case .gan(let g) = v else {
            throw CommandError("\(name): expected a GAN (from `gan` or `loadgan`), got \(v.typeName) \(v.summary)", at: ref(name))
        }
        return g
    }
}

/// The defaults of a GAN run, which `gan`'s keys declare.
private let ganDefaults = GANTrainingOptions()

func ganCommands() -> [CommandSpec] {
    [ganCommand(), loadganCommand(), animateCommand()]
}

// MARK: gan

private func ganCommand() -> CommandSpec {
    CommandSpec(
        name: "gan", summary: "a spatial GAN to train on random crops of a texture (the seed's PSGAN-style networks)",
        positional: [ParamSpec("source", .image, "the texture to learn")],
        keys: [
            .choice("preset", default: ganDefaults.preset, GANPreset.allCases.map(\.summary).joined(separator: "; ") + " (small trains in minutes)"),
            ParamSpec("crop", .integer, whenAbsent: "(preset)", range: 1...8192, "training crop size, a multiple of 32"),
            ParamSpec("batch", .integer, whenAbsent: "(preset)", range: 1...256, "crops per iteration"),
            ParamSpec("scaling", .number, default: .number(ganDefaults.scaling), "crop crop×scaling pixels and shrink them to crop (zooms out)"),
            ParamSpec("augment", .bool, default: .bool(ganDefaults.augment), "random flips and 90° rotations of the crops"),
            ParamSpec("lr", .number, whenAbsent: "(preset)", "Adam learning rate: \(GANPreset.learningRates) (betas 0.5, 0.999, weight decay 1e-8)"),
            .seed("initial weights, crops and noise"),
            ParamSpec("periodic", .bool, default: .bool(ganDefaults.periodic), "PSGAN's noise: global, local and periodic sine channels with learnt wave vectors"),
            ParamSpec("split", .string, whenAbsent: "(preset)", "with periodic=true: the noise split \"GLOBAL,LOCAL,PERIODIC[,HIDDEN]\""),
        ],
        example: "g = gan src preset=small",
        detail: """
            The generator turns a grid of uniform noise (one cell per 32x32 pixels) into an image through transposed \
            convolutions; the discriminator scores every 32x32 patch of an image as real or generated. Both are fully \
            convolutional, so a generator trained on small crops makes textures of any size.
            """,
        run: runGan)
}

/// The options of a `gan` statement, read once for the command and for `explain` (the noise split, which needs
/// the checks of `gan` itself, apart).
func ganOptions(_ args: Arguments, sessionSeed: UInt64) throws -> GANTrainingOptions {
    var o = GANTrainingOptions()
    o.preset = try args.choice("preset")
    if args.has("crop") { o.crop = try args.int("crop") }
    if args.has("batch") { o.batch = try args.int("batch") }
    o.scaling = try args.number("scaling")
    o.augment = try args.bool("augment")
    if args.has("lr") { o.learningRate = Float(try args.number("lr")) }
    o.seed = try args.seed(session: sessionSeed)
    o.periodic = try args.bool("periodic")
    return o
}

private func runGan(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let source = try args.image("source")
    var o = try ganOptions(args, sessionSeed: session.seed)
    if args.has("split") {
        guard o.periodic else { throw CommandError("split: the noise split needs periodic=true", at: args.ref("split")) }
        do { o.noiseLayout = try NoiseLayout(parsing: try args.string("split"), defaultHidden: o.preset.periodicLayout.hidden) } catch let e as GANError {
            throw CommandError(e.message, at: args.ref("split"))
        }
    }
    let training: GANTraining
    do { training = try GANTraining(source: source, options: o) } catch let e as GANError {
        throw CommandError(e.message, at: args.ref("source"))
    }
    let g = GANValue(training: training, label: "a \(source.width)x\(source.height) source")
    session.print("\(g.summary): crop \(o.resolvedCrop), batch \(o.resolvedBatch), "
        + "\(training.generator.parameterCount) generator parameters")
    return .gan(g)
}

extension GANTraining: NotebookRun {
    public func saveRun(to path: String) throws { try save(generatorTo: path) }
}

extension Generator: NotebookNetwork {}

// MARK: loadgan

private func loadganCommand() -> CommandSpec {
    CommandSpec(
        name: "loadgan", summary: "load a generator (.pth: txn's or the seed project's), with its training state if beside it",
        positional: [ParamSpec("path", .path, "generator checkpoint"), ParamSpec("source", .image, whenAbsent: "-", "the texture, to continue training")],
        example: "g = loadgan \"out/G.pth\" src",
        run: runLoadgan)
}

private func runLoadgan(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let path = try session.inputPath(try args.string("path"))
    // Errors of the files (a FIFO, a mixed pair, a number out of range) point at the path.
    func atPath<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as CommandError { throw e } catch { throw CommandError(notebookWording(error), at: args.ref("path")) }
    }
    if args.has("source"), FileManager.default.fileExists(atPath: GANTraining.resumePath(for: path)) {
        let source = try args.image("source")
        let training = try atPath { try GANTraining(resuming: path, source: source, preset: .small) }
        let g = GANValue(training: training, label: session.displayPath(path))
        session.print("\(g.summary) (training state from \(session.displayPath(GANTraining.resumePath(for: path))))")
        return .gan(g)
    }
    let g = GANValue(generator: try atPath { try Generator.load(path) }, label: session.displayPath(path))
    session.print(g.summary)
    return .gan(g)
}

// MARK: animate

private func animateCommand() -> CommandSpec {
    CommandSpec(
        name: "animate", summary: "an animated GIF of a walk through the generator's noise, and a strip of its frames",
        positional: [ParamSpec("gan", .any, "a GAN"), ParamSpec("path", .path, "the .gif to write")],
        keys: [
            ParamSpec("size", .size, default: .number(128), "frame size, multiples of 32"),
            ParamSpec("frames", .integer, default: .number(40), range: GANGeneration.frameRange, "frames in the loop"),
            .choice("walk", default: GANGeneration.Walk.standard, "sine: sin(z + 2πt), the seed's; keyframes: straight lines between random noises"),
            ParamSpec("delay", .integer, default: .number(Double(GIF.defaultDelay)), range: GIF.delays, "hundredths of a second per frame"),
            .seed("the noise"),
        ],
        example: "strip = animate g \"out/walk.gif\" frames=30",
        run: runAnimate)
}

private func runAnimate(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let g = try args.gan("gan")
    let (w, h) = try args.size("size")
    let frames = try args.int("frames")
    let path = try session.outputPath(try args.string("path"))
    do {
        try SafeFile.checkExtension(path, ["gif"], kind: "an animation")
        try SafeFile.checkWritable(path, createFolders: true)
    } catch { throw CommandError(notebookWording(error), at: args.ref("path")) }
    let images: [Image]
    do {
        images = try GANGeneration.animate(g.generator, width: w, height: h, frames: frames,
                                           walk: try args.choice("walk"),
                                           seed: try args.seed(session: session.seed))
    } catch let e as GANError {
        throw CommandError(e.concernsWeights ? "\(g.label): \(e.message)" : e.message,
                           at: e.concernsWeights ? args.ref("gan") : args.ref("size"))
    }
    try SafeFile.write(try GIF.encode(images, delay: try args.int("delay")), to: path, createFolders: true)
    session.print("wrote \(session.displayPath(path)) (\(frames) frames of \(w)x\(h))")
    let shown = stride(from: 0, to: frames, by: max(1, frames / 6)).prefix(6).map { (label: "frame \($0 + 1)", image: images[$0]) }
    let strip = try Plot.sideBySide(Array(shown), height: min(h, 160))
    return session.imageResult(strip, caption: "frames")
}

extension CommandContext {
    /// `plot g`: D's and G's losses per iteration.
    func ganCurves(_ g: GANValue, title: String) throws -> Image {
        guard let t = g.training, !t.history.isEmpty else {
            throw CommandError("\(g.label): no training history to plot yet (train it first)")
        }
        return Plot.lines([("D loss", t.history.map(\.discriminatorLoss)), ("G loss", t.history.map(\.generatorLoss)),
                           ("D(real)", t.history.map(\.meanReal)), ("D(fake)", t.history.map(\.meanFake))],
                          title: title.isEmpty ? "GAN training" : title, logY: false)
    }
}
