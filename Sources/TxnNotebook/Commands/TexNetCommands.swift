import Foundation
import TxnFiles
import TxnImage
import TxnPlot
import TxnSynthesis
import TxnTensor
import TxnTexNet
import TxnVGG

/// A texture network in a session (Ulyanov et al. 2016): a training run (generator, Adam's state, the loss on VGG,
/// history) or, when loaded from a generator file alone, just the generator.
public typealias TexNetValue = GeneratorRun<TexNetTraining, TextureNetwork>

extension GeneratorRun where Training == TexNetTraining, Network == TextureNetwork {
    convenience init(training: TexNetTraining, label: String) { self.init(training: training, network: training.network, label: label) }
    convenience init(network: TextureNetwork, label: String) { self.init(training: nil, network: network, label: label) }

    static var kind: String { "texture network" }

    var summary: String {
        let shape = "\(network.architecture)"
        guard let t = training else { return "texture network \(shape) (\(label)), not trainable here" }
        let last = t.history.last.map { ", loss \(formatNumber($0.loss))" } ?? ""
        return "texture network \(t.options.preset) (\(shape)) on \(label), \(t.iteration) iterations\(last)"
    }
}

/// The defaults of a texture network run, which `texnet`'s keys declare (TxnTexNet declares them once).
private let texnetDefaults = TexNetTrainingOptions()

func texnetCommands() -> [CommandSpec] {
    [texnetCommand(), loadtexnetCommand()]
}

// MARK: texnet

private func texnetCommand() -> CommandSpec {
    CommandSpec(
        name: "texnet", summary: "a texture network to train with the Gatys loss itself: a feed-forward generator (Ulyanov et al. 2016)",
        positional: [ParamSpec("source", .image, "the texture to learn"),
                     ParamSpec("model", .model, whenAbsent: "(last)", "VGG-19 for the texture loss, from `model`")],
        keys: [
            .choice("preset", default: texnetDefaults.preset, TexNetPreset.allCases.map(\.summary).joined(separator: "; ")),
            .choice("norm", default: texnetDefaults.normalisation, "instance: each image's own statistics (Ulyanov et al. 2017); batch: the batch's (2016)"),
            ParamSpec("size", .integer, whenAbsent: "(preset)", range: TexNetTrainingOptions.sizeRange,
                      "side of the training images: a multiple of the coarsest noise period, at most the source's"),
            ParamSpec("batch", .integer, whenAbsent: "(preset)", range: TexNetTrainingOptions.batchRange, "images per iteration"),
            .choice("loss", default: texnetDefaults.loss, "optimize's losses, layers and weights: gram, sw (sliced Wasserstein) or gram+sw"),
            ParamSpec("tile", .bool, default: .bool(texnetDefaults.tile), "circular padding in the generator and in VGG: a texture that tiles"),
            ParamSpec("lr", .number, whenAbsent: "(preset)", "Adam's learning rate: \(TexNetPreset.allCases.map { "\($0.learningRate) \($0.rawValue)" }.joined(separator: ", "))"),
            .seed("initial weights and noise"),
        ],
        example: "t = texnet src preset=small size=64",
        detail: """
            Noise at K scales, each through 3x3, 3x3 and 1x1 convolutions with normalisation and LeakyReLU, upsampled \
            x2 (nearest) and joined with the next finer scale; a 1x1 convolution to RGB. Training (`train t`) makes \
            a batch of images from fresh noise, evaluates the texture loss of each on VGG-19 (the layers, weights and \
            losses of `optimize`), back-propagates through VGG into the generator and takes an Adam step. Once \
            trained it makes any size the noise pyramid can (`generate t size=…`) in one forward pass.
            """,
        run: runTexnet)
}

func texnetOptions(_ args: Arguments, sessionSeed: UInt64) throws -> TexNetTrainingOptions {
    var o = TexNetTrainingOptions()
    o.preset = try args.choice("preset")
    o.normalisation = try args.choice("norm")
    if args.has("size") { o.size = try args.int("size") }
    if args.has("batch") { o.batch = try args.int("batch") }
    o.loss = try args.choice("loss")
    o.tile = try args.bool("tile")
    if args.has("lr") { o.learningRate = Float(try args.number("lr")) }
    o.seed = try args.seed(session: sessionSeed)
    return o
}

extension Arguments {
    /// A refusal of TxnTexNet at the key it is about when the call gave that key; else (the preset's value) at
    /// `fallback`, saying whose value it was.
    func texnetError(_ e: TexNetError, fallback: String) -> CommandError {
        guard let option = e.option else { return CommandError(e.reason, at: ref(fallback)) }
        if has(option) { return CommandError("\(option): \(e.reason)", at: ref(option)) }
        return CommandError("\(option) (the preset's): \(e.reason)", at: ref(fallback))
    }

    /// A refusal of the memory budget at the key that makes the run large (size, then batch), else at `fallback`.
    func memoryError(_ e: Error, fallback: String) -> CommandError {
        let key = ["size", "batch"].first(where: { has($0) }) ?? fallback
        return CommandError("\(key == fallback ? "" : key + ": ")\(notebookWording(e))", at: ref(key))
    }

    /// `error` in the notebook's words, at argument `name` (a name the caller chose at run time).
    func refusal(_ error: Error, at name: String) -> CommandError {
        CommandError(notebookWording(error), at: ref(name))
    }
}

/// A training run on `source`, every refusal at the argument it concerns.
private func texnetTraining(_ make: () throws -> TexNetTraining, _ args: Arguments, fallback: String) throws -> TexNetTraining {
    do { return try make() } catch let e as TexNetError {
        throw args.texnetError(e, fallback: fallback)
    } catch let e as MemoryLimitError {
        throw args.memoryError(e, fallback: fallback)
    } catch let e as CommandError {
        throw e
    } catch {
        throw args.refusal(error, at: fallback)
    }
}

private func runTexnet(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let source = try args.image("source")
    let o = try texnetOptions(args, sessionSeed: session.seed)
    let m = try session.resolveModel(args)
    let training = try texnetTraining({ try TexNetTraining(source: source, model: m.vgg, options: o) }, args, fallback: "source")
    let t = TexNetValue(training: training, label: "a \(source.width)x\(source.height) source")
    session.print("\(t.summary): size \(o.resolvedSize), batch \(o.resolvedBatch), \(o.loss.rawValue) loss"
        + (o.tile ? ", tileable" : "") + ", \(training.network.parameterCount) parameters")
    return .texnet(t)
}

// MARK: loadtexnet

private func loadtexnetCommand() -> CommandSpec {
    CommandSpec(
        name: "loadtexnet", summary: "load a texture network (.pth from `txn texnet train` or `save`), with its training state if beside it",
        positional: [ParamSpec("path", .path, "texture network checkpoint"),
                     ParamSpec("source", .image, whenAbsent: "-", "the texture, to continue training"),
                     ParamSpec("model", .model, whenAbsent: "(last)", "VGG-19 for the texture loss, to continue training")],
        example: "t = loadtexnet \"out/T.pth\" src",
        run: runLoadtexnet)
}

private func runLoadtexnet(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let path = try session.inputPath(try args.string("path"))
    if args.has("source"), FileManager.default.fileExists(atPath: TexNetTraining.resumePath(for: path)) {
        let source = try args.image("source")
        let m = try session.resolveModel(args)
        let training = try texnetTraining({ try TexNetTraining(resuming: path, source: source, model: m.vgg) }, args, fallback: "path")
        let t = TexNetValue(training: training, label: session.displayPath(path))
        session.print("\(t.summary) (training state from \(session.displayPath(TexNetTraining.resumePath(for: path))))")
        return .texnet(t)
    }
    // Errors of the file (another kind of checkpoint, a FIFO, a number out of range) point at the path.
    let network: TextureNetwork
    do { network = try TextureNetwork.load(path) } catch { throw CommandError(notebookWording(error), at: args.ref("path")) }
    let t = TexNetValue(network: network, label: session.displayPath(path))
    session.print(t.summary)
    return .texnet(t)
}

extension TexNetTraining: NotebookRun {
    public func saveRun(to path: String) throws { try save(to: path) }
}

extension TextureNetwork: NotebookNetwork {}

extension CommandContext {
    /// `plot t`: the texture loss per iteration.
    func texnetCurve(_ t: TexNetValue, title: String, logY: Bool) throws -> Image {
        guard let training = t.training, !training.history.isEmpty else {
            throw CommandError("\(t.label): no training history to plot yet (train it first)")
        }
        return Plot.lines([("texture loss", training.history.map(\.loss))],
                          title: title.isEmpty ? "texture network training" : title, logY: logY)
    }
}
