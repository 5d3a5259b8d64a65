import Foundation
import TxnGAN
import TxnImage
import TxnTensor
import TxnTexNet

/// `train` and `generate`: one command each for every method with a generator (the spatial GAN, the texture
/// network), the same keys, the same progress line and samples (`NotebookTrainingLoop`); each method's own work
/// follows its command's spec.

func generatorCommands() -> [CommandSpec] {
    [trainCommand(), generateCommand()]
}

extension Arguments {
    /// Hands argument `name` to the method it is: `gan` for a GAN, `texnet` for a texture network.
    func withGenerator<R>(_ name: String, gan: (GANValue) throws -> R, texnet: (TexNetValue) throws -> R) throws -> R {
        switch try any(name) {
        case .gan(let g): return try gan(g)
        case .texnet(let t): return try texnet(t)
        case let v:
            throw CommandError("\(name): expected a GAN or a texture network (from `gan`, `texnet`, `loadgan` or `loadtexnet`), "
                + "got \(v.typeName) \(v.summary)", at: ref(name))
        }
    }
}

// MARK: train

private func trainCommand() -> CommandSpec {
    CommandSpec(
        name: "train", summary: "train a GAN (D on real crops and on G's fakes, then G through D) or a texture network (Adam on the texture loss)",
        positional: [ParamSpec("network", .any, "from `gan` or `texnet`")],
        keys: NotebookTrainingLoop.keys,
        example: "train g steps=300 every=50 snapshot=100",
        detail: """
            A GAN's iteration, in the seed's order: the discriminator D learns to call a batch of real crops real \
            (label 1) and the generator's fakes fake (label 0), one Adam step; then G learns to make D call its fakes \
            real, through D, one Adam step. Losses are binary cross-entropies; D(real) and D(fake) are D's mean \
            probabilities. A texture network's iteration: a batch of images from fresh noise, the texture loss of \
            each on VGG-19 (optimize's), its gradient back through VGG into the generator, one Adam step. Ctrl-C stops \
            after the current iteration and keeps what was learnt.
            """,
        run: runTrain)
}

private func runTrain(_ args: Arguments, _ session: CommandContext) throws -> Value {
    try args.withGenerator("network", gan: { try trainGAN($0, args, session) }, texnet: { try trainTexNet($0, args, session) })
}

private func trainGAN(_ g: GANValue, _ args: Arguments, _ session: CommandContext) throws -> Value {
    try trainGenerator(g, args, session, resumeFile: "G.resume.pth", maker: "gan", kept: "the networks keep what they learnt",
                       progress: \.ganProgress) { training, _ in
        "crop \(training.options.resolvedCrop), batch \(training.options.resolvedBatch)"
    }
    return .gan(g)
}

private func trainTexNet(_ t: TexNetValue, _ args: Arguments, _ session: CommandContext) throws -> Value {
    try trainGenerator(t, args, session, resumeFile: "T.resume.pth", maker: "texnet", kept: "the network keeps what it learnt",
                       progress: \.texnetProgress) { training, loop in
        guard TexNetTrainingOptions.stepRange.contains(loop.steps) else {
            throw CommandError("steps: a texture network trains \(TexNetTrainingOptions.stepRange) iterations at a time", at: args.ref("steps"))
        }
        let o = training.options
        return "size \(o.resolvedSize), batch \(o.resolvedBatch), \(o.loss.rawValue) loss"
    }
    return .texnet(t)
}

/// `train` of either method: refuses a network loaded without its training state (`resumeFile` and the `maker`
/// command say how to get one), checks and describes the run (`settings`, checks of the method's own first), then
/// trains `steps` more iterations, with the progress lines and samples of `NotebookTrainingLoop` and the monitor's
/// `progress` callback. `kept` says what an interruption keeps.
private func trainGenerator<T: GeneratorTraining, N: AnyObject>(
    _ g: GeneratorRun<T, N>, _ args: Arguments, _ session: CommandContext, resumeFile: String, maker: String, kept: String,
    progress: KeyPath<RunMonitor, (T.Record, Int, Double, Image?) -> Void>,
    settings: (T, NotebookTrainingLoop) throws -> String
) throws {
    guard let training = g.training else {
        throw CommandError("network: \(g.label) holds no training state (load it with its source beside \(resumeFile), or make one with `\(maker)`)",
                           at: args.ref("network"))
    }
    let loop = try NotebookTrainingLoop(args, session, from: training.iteration, sample: training.snapshot,
                                        keep: { g.samples.append(($0, $1)) })
    let described = try settings(training, loop)
    session.print("training \(loop.steps) iterations: \(described), \(Threads.count) threads")
    try loop.run(kept: kept, iteration: { training.iteration }) {
        try training.train(until: loop.target, shouldStop: loop.shouldStop) { r, perIteration in
            let sample = try loop.afterIteration(training.iteration) {
                T.progressLine(r, total: loop.target, secondsPerIteration: perIteration)
            }
            session.monitor?[keyPath: progress](r, loop.target, perIteration, sample)
        }
    }
}

// MARK: generate

private func generateCommand() -> CommandSpec {
    CommandSpec(
        name: "generate", summary: "a texture of any size from a GAN's generator or a texture network",
        positional: [ParamSpec("network", .any, "from `gan`, `texnet`, `train`, `loadgan` or `loadtexnet`")],
        keys: [
            ParamSpec("size", .size, default: .number(256), "N or WxH; a GAN: multiples of 32 are exact, others are cropped from a larger one; "
                + "a texture network: multiples of its coarsest noise period"),
            .seed("the noise"),
            ParamSpec("tile", .bool, default: .bool(false), "tile seamlessly (a GAN: noise repeated 2x2, one period cropped from the middle; a texture network: circular padding)"),
        ],
        example: "t = generate g size=512 tile=true",
        run: runGenerate)
}

private func runGenerate(_ args: Arguments, _ session: CommandContext) throws -> Value {
    try args.withGenerator("network", gan: { try generateGAN($0, args, session) }, texnet: { try generateTexNet($0, args, session) })
}

private func generateGAN(_ g: GANValue, _ args: Arguments, _ session: CommandContext) throws -> Value {
    try generateImage(args, session) { w, h, seed, tile in
        do {
            return try GANGeneration.generate(g.generator, width: w, height: h, seed: seed, tile: tile)[0]
        } catch let e as GANError {
            throw CommandError(e.concernsWeights ? "\(g.label): \(e.message)" : e.message,
                               at: e.concernsWeights ? args.ref("network") : tile ? args.ref("tile") : args.ref("size"))
        }
    }
}

private func generateTexNet(_ t: TexNetValue, _ args: Arguments, _ session: CommandContext) throws -> Value {
    try generateImage(args, session) { w, h, seed, tile in
        do {
            return try TexNetGeneration.generate(t.network, width: w, height: h, seed: seed, tile: tile)
        } catch let e as TexNetError {
            // A size the noise pyramid cannot make is the size's; values that are not finite are the weights'.
            throw e.option == nil ? CommandError("\(t.label): \(e.reason)", at: args.ref("network")) : args.texnetError(e, fallback: "size")
        } catch let e as MemoryLimitError {
            throw CommandError("size: \(notebookWording(e))", at: args.ref("size"))
        }
    }
}

/// `generate` of either method: reads size, tile and seed, asks the method's network for the image (`make`, which
/// phrases its refusals at the keys they are about) and shows it.
private func generateImage(_ args: Arguments, _ session: CommandContext,
                           _ make: (_ width: Int, _ height: Int, _ seed: UInt64, _ tile: Bool) throws -> Image) throws -> Value {
    let (w, h) = try args.size("size")
    let tile = try args.bool("tile")
    let image = try make(w, h, try args.seed(session: session.seed), tile)
    return session.imageResult(image, caption: "generated \(w)x\(h)" + (tile ? ", tileable" : ""))
}
