import Foundation
import TxnFiles
import TxnGAN
import TxnImage
import TxnSynthesis
import TxnTensor
import TxnTexNet
import TxnVGG

/// The defaults of a synthesis (the paper's), which `optimize`'s keys declare.
private let gatys = SynthesisOptions()

/// A list of layer names as a default value.
func layerList(_ layers: [String]) -> Value { .list(layers.map(Value.word)) }

extension CommandContext {
    /// The model to use: the one given, else the last one made, else the default weights.
    func resolveModel(_ args: Arguments) throws -> ModelValue {
        if let given = try args.model("model") { return given }
        if let current = currentModel { return current }
        print("(no model yet: loading the default, as `model` would)")
        let path = defaultWeightsPath
        let vgg = try VGG19.load(path, upTo: VGG19.gatysDeepestLayer)
        let m = ModelValue(vgg: vgg, path: path, algorithm: gatys.algorithm)
        currentModel = m
        return m
    }

    func imageTensor(_ image: Image) throws -> Tensor {
        try Tensor(shape: [1, 3, image.height, image.width], data: image.pixels)
    }

    func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == 0 ? pad(c, widths[i]) : String(repeating: " ", count: widths[i] - c.count) + c }
                .joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

func methodCommands() -> [CommandSpec] {
    [modelCommand(), loadCommand(), preprocessCommand(), extractCommand(), gramCommand(), noiseCommand(), optimizeCommand(), saveCommand()]
}

// MARK: model

private func modelCommand() -> CommandSpec {
    CommandSpec(
        name: "model", summary: "load VGG-19 weights and choose pooling, padding and input convention",
        positional: [ParamSpec("path", .path, whenAbsent: "Models/vgg_normalised.pth", "a PyTorch checkpoint (.pth)")],
        keys: [
            .choice("pooling", default: gatys.pooling, "average pooling (the paper) or max pooling (VGG as trained)"),
            .choice("padding", default: gatys.padding, "how convolutions see past the border; circular makes tileable textures"),
            ParamSpec("convention", .choice(["auto", "checkpoint", "caffe", "torchvision"]), default: .word("auto"), "how RGB in [0,1] becomes the network input"),
            ParamSpec("upto", .layers, default: .word(VGG19.gatysDeepestLayer), "deepest layer to load (Gatys needs pool4: 10.6M of 20M parameters)"),
            .choice("algorithm", default: gatys.algorithm, "oneDNN convolution algorithm"),
        ],
        example: "m = model pooling=avg padding=reflect",
        detail: """
            The texture model is VGG-19 without its classifier. The default weights are the normalised VGG-19 of \
            Gatys et al.: each filter rescaled so its mean activation is about 1, which keeps the layers' Gram \
            matrices on similar scales.
            """,
        describesItsResult: true,
        run: runModel)
}

private func runModel(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let given = try args.string("path", default: "")
    let path = given.isEmpty ? session.defaultWeightsPath : try session.inputPath(given)
    let convention: VGG19.InputConvention?
    switch try args.choice("convention") {
    case "caffe": convention = .caffeImageNet
    case "torchvision": convention = .torchvisionImageNet
    case "checkpoint": convention = .checkpointLayer
    default: convention = nil
    }
    let upTo = try VGG19.deepestLayer(of: try args.layers("upto"))
    let vgg = try VGG19.load(path, upTo: upTo,
                             pooling: try args.choice("pooling"),
                             padding: try args.choice("padding"),
                             convention: convention)
    let algorithm: ConvAlgorithm = try args.choice("algorithm")
    let m = ModelValue(vgg: vgg, path: path, algorithm: algorithm)
    session.currentModel = m
    session.print("VGG-19 from \(vgg.origin)")
    session.print("up to \(vgg.deepestLayer): \(vgg.parameterCount) parameters; \(vgg.pooling) pooling, \(vgg.padding) padding")
    return .model(m)
}

// MARK: load

private func loadCommand() -> CommandSpec {
    CommandSpec(
        name: "load", summary: "read a PNG or JPEG image",
        positional: [ParamSpec("path", .path, "the image file")],
        keys: [ParamSpec("maxpixels", .integer, default: .number(Double(Image.defaultMaxPixels)), "refuse images with more pixels than this")],
        example: "src = load \"data/gravel.png\"",
        describesItsResult: true,
        run: runLoad)
}

private func runLoad(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let path = try session.inputPath(try args.string("path"))
    let maxPixels = try args.int("maxpixels")
    let decoded: DecodedImage
    // A file's error (missing, corrupt, over a decode limit) points at the path that named it.
    do { decoded = try Image.load(path, maxPixels: maxPixels) } catch { throw CommandError("\(error)", at: args.ref("path")) }
    session.print("\(session.displayPath(path)): \(decoded.image.width)x\(decoded.image.height) \(decoded.format.rawValue.uppercased())")
    for note in decoded.notes { session.print("note: \(note)") }
    return session.imageResult(decoded.image, caption: session.displayPath(path))
}

// MARK: preprocess

private func preprocessCommand() -> CommandSpec {
    CommandSpec(
        name: "preprocess", summary: "crop and resize an image to the working size",
        positional: [ParamSpec("image", .image, "the source image")],
        keys: [
            ParamSpec("size", .size, default: .sizeDefault(gatys.width, gatys.height), "working size, N or WxH"),
            ParamSpec("crop", .choice(["center", "random", "none"]), default: .word("center"),
                      "center: largest centred region of the working aspect ratio, then resize; random: a crop of exactly the working size; none: resize only"),
            ParamSpec("box", .numbers, whenAbsent: "-", "explicit crop x,y,w,h before resizing"),
            .seed("for crop=random"),
        ],
        example: "x = preprocess src size=256",
        detail: """
            Gatys et al. work at a fixed size. Shrinking uses an antialiasing (Lanczos) filter so fine texture \
            does not alias. The network then sees the image through its input transform (for the default model: \
            BGR, 0-255, minus the ImageNet mean), printed here.
            """,
        describesItsResult: true,
        run: runPreprocess)
}

private func runPreprocess(_ args: Arguments, _ session: CommandContext) throws -> Value {
    var image = try args.image("image")
    let (w, h) = try args.size("size")
    let from = "\(image.width)x\(image.height)"
    var how = ""
    if args.has("box") {
        let b = try args.wholeNumbers("box", count: 4)  // x,y,w,h
        image = try image.cropped(x: b[0], y: b[1], width: b[2], height: b[3])
        how = "box \(b[2])x\(b[3]) at \(b[0]),\(b[1]), "
    }
    switch try args.choice("crop") {
    case "center":
        // The largest centred region with the working aspect ratio.
        let scale = min(Double(image.width) / Double(w), Double(image.height) / Double(h))
        let cw = max(1, min(image.width, Int((Double(w) * scale).rounded()))), ch = max(1, min(image.height, Int((Double(h) * scale).rounded())))
        if cw != image.width || ch != image.height {
            image = try image.centerCropped(width: cw, height: ch)
            how += "centre crop \(cw)x\(ch), "
        }
    case "random":
        guard image.width >= w && image.height >= h else {
            throw CommandError("crop=random needs an image of at least \(w)x\(h), this one is \(image.width)x\(image.height)", at: args.ref("crop"))
        }
        let seed = try args.seed(session: session.seed)
        image = try image.randomCropped(width: w, height: h, seed: seed)
        how += "random crop (seed \(seed)), "
    default: break
    }
    if image.width != w || image.height != h {
        image = try image.resized(width: w, height: h)
        how += "resized"
    }
    session.print("\(w)x\(h) from \(from)" + (how.isEmpty ? "" : " (\(how.hasSuffix(", ") ? String(how.dropLast(2)) : how))"))
    if let m = session.currentModel {
        let x = try m.vgg.forward(session.imageTensor(image), upTo: "input").outputs[0]
        let (mean, std) = x.meanAndStd()
        session.print("network input: \(m.vgg.convention); mean \(formatNumber(mean)), std \(formatNumber(std))")
    }
    return session.imageResult(image, caption: "preprocessed \(w)x\(h)")
}

// MARK: extract

private func extractCommand() -> CommandSpec {
    CommandSpec(
        name: "extract", summary: "VGG-19 features of an image at named layers",
        positional: [ParamSpec("image", .image, "the image"), ParamSpec("model", .model, whenAbsent: "(last)", "from `model`")],
        keys: [ParamSpec("layers", .layers, default: layerList(gatys.layers), "layers to keep")],
        example: "f = extract x layers=conv1_1,pool1,pool2,pool3,pool4",
        detail: """
            Runs the image through the network and keeps the rectified activations at the layers asked for. \
            Each layer is a stack of C feature maps of H x W; deeper layers see larger regions.
            """,
        describesItsResult: true,
        run: runExtract)
}

private func runExtract(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let image = try args.image("image")
    let layers = try args.layers("layers")
    let deepest = try VGG19.deepestLayer(of: layers)
    let m = try session.resolveModel(args)
    let plan = try VGGPlan(model: m.vgg, height: image.height, width: image.width, upTo: deepest,
                           algorithm: m.algorithm, backward: false)
    let tensors = try plan.forward(session.imageTensor(image), layers: layers)
    var rows: [[String]] = []
    for (l, t) in zip(layers, tensors) {
        let (mean, std) = t.meanAndStd()
        rows.append([l, "\(t.c) x \(t.h)x\(t.w)", formatNumber(mean), formatNumber(std), formatNumber(Double(t.data.max() ?? 0))])
    }
    session.print(session.table(["layer", "channels x size", "mean", "std", "max"], rows))
    return .features(FeatureSet(layers: layers, tensors: tensors))
}

// MARK: gram

private func gramCommand() -> CommandSpec {
    CommandSpec(
        name: "gram", summary: "Gram matrices G = F Fᵀ / M of features (the texture statistics)",
        positional: [ParamSpec("features", .any, "features from `extract`, or an image"),
                     ParamSpec("model", .model, whenAbsent: "(last)", "for an image")],
        keys: [ParamSpec("layers", .layers, whenAbsent: "those of the features", "layers"),
               .choice("norm", default: gatys.gramNormalisation, "pixels: F Fᵀ/M; pixels-channels: /(C M); none: F Fᵀ")],
        example: "g = gram f",
        detail: """
            Entry (i, j) is how strongly feature maps i and j fire together, averaged over all positions: \
            where things are is gone, what goes with what stays. That is the texture model of Gatys et al.
            """,
        describesItsResult: true,
        run: runGram)
}

private func runGram(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let norm: GramNormalisation = try args.choice("norm")
    var set: FeatureSet
    switch args.raw("features") {
    case .features(let f)?: set = f
    case .image?, .synthesis?:
        let image = try args.image("features")
        let layers = try args.layers("layers", default: gatys.layers)
        let deepest = try VGG19.deepestLayer(of: layers)
        let m = try session.resolveModel(args)
        let plan = try VGGPlan(model: m.vgg, height: image.height, width: image.width, upTo: deepest,
                               algorithm: m.algorithm, backward: false)
        set = FeatureSet(layers: layers, tensors: try plan.forward(session.imageTensor(image), layers: layers))
    case .word(let w)?:
        throw CommandError("features: expected features (from extract) or an image, but there is no variable '\(w)'", at: args.ref("features"))
    case let other?:
        throw CommandError("features: expected features (from extract) or an image, got \(other.typeName)", at: args.ref("features"))
    case nil:
        throw CommandError("gram needs features or an image", at: .command)
    }
    if args.has("layers"), case .features = args.raw("features") {
        let wanted = try args.layers("layers")
        let indices = try wanted.map { l -> Int in
            guard let i = set.layers.firstIndex(of: l) else {
                throw CommandError("layers: '\(l)' is not among the extracted layers (\(set.layers.joined(separator: ", ")))", at: args.ref("layers"))
            }
            return i
        }
        set = FeatureSet(layers: wanted, tensors: indices.map { set.tensors[$0] })
    }
    let matrices = try set.tensors.map { try norm.gram($0) }
    var rows: [[String]] = []
    for (l, g) in zip(set.layers, matrices) {
        let c = g.shape[1]
        let trace = (0..<c).reduce(0.0) { $0 + Double(g.data[$1 * c + $1]) }
        rows.append([l, "\(c) x \(c)", formatNumber(trace), formatNumber(g.meanAndStd().mean)])
    }
    session.print(session.table(["layer", "size", "trace", "mean"], rows))
    return .grams(GramSet(layers: set.layers, matrices: matrices))
}

// MARK: noise

private func noiseCommand() -> CommandSpec {
    CommandSpec(
        name: "noise", summary: "a starting image: seeded noise",
        keys: [
            ParamSpec("size", .size, default: .sizeDefault(gatys.width, gatys.height), "N or WxH"),
            ParamSpec("like", .image, whenAbsent: "-", "take the mean colour from this image"),
            ParamSpec("kind", .choice(["meannoise", "uniform"]), default: .word("meannoise"), "mean colour plus Gaussian noise (the reference code), or uniform noise"),
            ParamSpec("sigma", .number, default: .number(SynthesisOptions.defaultSigma), "standard deviation of the Gaussian noise"),
            .seed("random seed"),
        ],
        example: "x0 = noise size=256 like=x seed=1",
        run: runNoise)
}

private func runNoise(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let (w, h) = try args.size("size")
    let seed = try args.seed(session: session.seed)
    var rng = SplitMix64(seed: seed)
    var pixels = [Float](repeating: 0, count: 3 * w * h)
    if try args.choice("kind") == "uniform" {
        for i in pixels.indices { pixels[i] = rng.nextUnit() }
    } else {
        let mean = try args.optionalImage("like")?.channelMean() ?? (0.5, 0.5, 0.5)
        let sigma = Float(try args.number("sigma"))
        let means = [mean.0, mean.1, mean.2]
        for c in 0..<3 { for i in (c * w * h)..<((c + 1) * w * h) { pixels[i] = means[c] + sigma * rng.nextGaussian() } }
    }
    let image = Image(width: w, height: h, pixels: pixels)
    session.print("noise \(w)x\(h), seed \(seed)")
    return session.imageResult(image, caption: "noise")
}

// MARK: optimize

private func optimizeCommand() -> CommandSpec {
    CommandSpec(
        name: "optimize", summary: "synthesise: optimise pixels until their Gram matrices (or, loss=sw, feature distributions) match the source's",
        positional: [ParamSpec("source", .image, "the texture to imitate"), ParamSpec("model", .model, whenAbsent: "(last)", "from `model`")],
        keys: [
            ParamSpec("size", .size, default: .sizeDefault(gatys.width, gatys.height), "output size, N or WxH (independent of the source's)"),
            ParamSpec("steps", .any, whenAbsent: "(by size)", range: SynthesisOptions.stepsRange,
                      "iterations, or auto: stop when \(SynthesisOptions.Plateau.standard) (at most \(SynthesisOptions.automaticStepsCap)); by size: \(Octaves.defaultStepsSummary)"),
            .choice("optimizer", default: gatys.optimizer.name, "optimiser"),
            ParamSpec("history", .integer, default: .number(Double(SynthesisOptions.defaultHistory)), range: SynthesisOptions.historyRange, "L-BFGS memory"),
            ParamSpec("lr", .number, default: .number(SynthesisOptions.defaultAdamLearningRate), "Adam's step size (pixel units)"),
            ParamSpec("layers", .layers, default: layerList(gatys.layers), "layers whose Gram matrices are matched"),
            ParamSpec("weights", .numbers, default: .number(VGG19.gatysLayerWeight), "one weight per layer, or one for all"),
            .choice("norm", default: gatys.gramNormalisation, "Gram normalisation"),
            ParamSpec("padding", .cases(of: PaddingMode.self), whenAbsent: "(model)", "circular: a seamless, tileable result"),
            ParamSpec("pooling", .cases(of: Pool2D.Kind.self), whenAbsent: "(model)", "pooling"),
            ParamSpec("init", .any, default: .word("meannoise"), "meannoise, uniform, or an image to start from"),
            ParamSpec("sigma", .number, default: .number(SynthesisOptions.defaultSigma), "noise level for init=meannoise"),
            .seed("random seed of the initial image"),
            .choice("bounds", default: gatys.bounds, "keep each channel in the source's range, in [0,1], or free"),
            ParamSpec("histmatch", .bool, default: .bool(gatys.histogramMatching), "match the colour histogram to the source's afterwards"),
            ParamSpec("every", .integer, whenAbsent: "10", range: 1...1_000_000, "print progress every N iterations"),
            ParamSpec("snapshot", .integer, default: .number(Double(gatys.snapshotEvery)), range: SynthesisOptions.snapshotRange, "show the image every N iterations (0: never)"),
            ParamSpec("distance", .bool, default: .bool(gatys.measureDistance), "measure the texture distance to the source at the end"),
            ParamSpec("show", .bool, default: .bool(false), "watch: a small preview of the image, redrawn in place with each progress line (terminal only)"),
            .choice("loss", default: gatys.loss, "gram: Gram matrices (Gatys); sw: sliced Wasserstein (Heitz et al.); gram+sw: both"),
            ParamSpec("projections", .integer, whenAbsent: "(channels)", range: SynthesisOptions.projectionsRange, "SW random directions per layer"),
            ParamSpec("sw_weight", .number, default: .number(gatys.slicedWeight), "SW layer weights = weights x this"),
            ParamSpec("redraw", .integer, default: .number(Double(gatys.slicedRedrawEvery)), range: SynthesisOptions.redrawRange, "new SW directions every N iterations"),
            ParamSpec("octaves", .integer, whenAbsent: "(auto)", range: 1...Octaves.maximum, "coarse to fine: start at size/2^(octaves-1); auto: 1 up to \(Octaves.automaticSingle) px, 2 up to \(Octaves.automaticCoarsest), +1 per doubling"),
            ParamSpec("octave_steps", .numbers, whenAbsent: "(steps, else by size)", "iterations at each octave but the last: one count for all, or one per octave, coarsest first"),
            ParamSpec("eval_tile", .integer, whenAbsent: "(auto)", range: SynthesisOptions.evaluationTileRange, "evaluate the network in tiles of N x N core pixels plus halos; auto: whole if the run fits the memory limit, else the largest tiles that do"),
            ParamSpec("log", .path, whenAbsent: "(none)", "write one JSON object per iteration to this file: iteration, seconds, loss, gram_loss (the plain Gram loss at the output size)"),
        ],
        example: "t = optimize x size=256 steps=100 layers=conv1_1,pool1,pool2,pool3,pool4",
        detail: """
            Starts from noise and changes the pixels to lower L = Σ w_l ¼ mean((G_l − Ĝ_l)²), the gradient \
            coming back through the network. L-BFGS (the paper's choice) reaches low losses in a few hundred \
            iterations. Ctrl-C stops after the current evaluation and keeps the best image so far. \
            loss=sw matches sorted random projections of the features instead (sliced Wasserstein, new \
            directions every `redraw` iterations); octaves=N starts at size/2^(N-1) and refines upwards.
            """,
        describesItsResult: true,
        check: checkOptimize,
        run: runOptimize)
}

/// The options `optimize`'s arguments ask for. Without a model (a check before running: `checkOptimize`) padding
/// and pooling default to the default model's, and an image to start from is left to the run.
private func synthesisOptions(_ args: Arguments, model m: ModelValue?, sessionSeed: UInt64) throws -> SynthesisOptions {
    var o = SynthesisOptions()
    (o.width, o.height) = try args.size("size")
    try args.steps("steps")?.apply(to: &o)
    o.reportsGramLoss = args.has("log")
    o.layers = try args.layers("layers")
    o.layerWeights = SynthesisOptions.layerWeights(try args.numbers("weights"), layerCount: o.layers.count)
    o.gramNormalisation = try args.choice("norm")
    o.padding = try args.choice("padding", default: m?.vgg.padding ?? gatys.padding)
    o.pooling = try args.choice("pooling", default: m?.vgg.pooling ?? gatys.pooling)
    o.optimizer = .init(try args.choice("optimizer"), history: try args.int("history"), learningRate: try args.number("lr"))
    o.seed = try args.seed(session: sessionSeed)
    switch try args.any("init") {
    case .word("meannoise"): o.initialisation = .sourceMeanNoise(sigma: Float(try args.number("sigma")))
    case .word("uniform"): o.initialisation = .uniform
    case .image, .synthesis: o.initialisation = .image(try args.image("init"))
    case .word where m == nil: break  // a variable's name, known when the statement runs
    case let other:
        throw CommandError("init: expected meannoise, uniform or an image, got \(other.typeName) \(other.summary)", at: args.ref("init"))
    }
    o.bounds = try args.choice("bounds")
    o.histogramMatching = try args.bool("histmatch")
    o.snapshotEvery = try args.int("snapshot")
    o.measureDistance = try args.bool("distance")
    o.algorithm = m?.algorithm ?? gatys.algorithm
    o.loss = try args.choice("loss")
    if args.has("projections") { o.slicedProjections = try args.int("projections") }
    o.slicedWeight = try args.number("sw_weight")
    o.slicedRedrawEvery = try args.int("redraw")
    if args.has("octaves") { o.octaves = try args.int("octaves") }
    if args.has("octave_steps") {
        o.octaveSteps = try args.wholeNumbers("octave_steps", within: SynthesisOptions.stepsRange)
    }
    if args.has("eval_tile") { o.evaluationTile = try args.int("eval_tile") }
    return o
}

/// `optimize`'s rules without running it: the options its arguments make, validated as the synthesis will.
private func checkOptimize(_ args: Arguments) throws {
    try synthesisOptions(args, model: nil, sessionSeed: 0).validate()
}

private func runOptimize(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let source = try args.image("source")
    let m = try session.resolveModel(args)
    var o = try synthesisOptions(args, model: m, sessionSeed: session.seed)
    let every = try args.int("every", default: session.progressEvery)
    let watch = try args.bool("show") ? LivePreview.make(for: session) : nil
    defer { watch?.finish() }
    if watch != nil && o.snapshotEvery == 0 { o.snapshotEvery = every }

    // A monitor's snapshots are copies of the iterate: they do not change the result.
    if let monitor = session.monitor, o.snapshotEvery == 0 { o.snapshotEvery = monitor.snapshotEvery }
    var log: SynthesisLog?
    if args.has("log") {
        do { log = try SynthesisLog(path: try session.outputPath(try args.string("log"))) } catch {
            throw CommandError("log: \(error)", at: args.ref("log"))
        }
    }
    let synthesizer = try Synthesizer(model: m.vgg, source: source, options: o)
    session.print("optimising \(o.width)x\(o.height) with \(o.optimizer), \(o.loss.rawValue) loss, \(synthesizer.octaves) octave\(synthesizer.octaves == 1 ? "" : "s"), \(o.finalSteps) steps, layers \(o.layers.joined(separator: ",")), "
        + "\(o.padding) padding, \(o.pooling) pooling, seed \(o.seed), \(Threads.count) threads")
    if synthesizer.memory.tile != nil { session.print(synthesizer.memory.summary) }
    Interrupt.reset()
    let monitor = session.monitor
    let showEvery = try args.int("snapshot")
    let result = try synthesizer.run(progress: { p in
        log?.record(p)
        if p.iteration == 1 || p.iteration % every == 0 || p.iteration == p.totalIterations {
            if let watch { watch.update(line: p.line, image: p.snapshot, print: session.print) } else { session.print(p.line) }
        }
        if let snapshot = p.snapshot, showEvery > 0, p.iteration % showEvery == 0 {
            watch?.keep()
            session.output.show(snapshot, caption: "iteration \(p.iteration)")
        }
        monitor?.synthesisProgress(p)
    }, shouldStop: monitor?.shouldStop)
    watch?.finish()
    Interrupt.reset()
    if let failure = log?.failure { session.print("warning: log: \(failure)") }
    if result.plateaued, let plateau = o.plateau {
        session.print("stopped after \(result.history.count) iterations: \(plateau)")
    }
    if result.interrupted {
        session.print("interrupted after \(result.history.count) iterations: keeping the best image so far (loss \(formatNumber(result.loss)))")
    }
    session.print(String(format: "loss %@ after %d iterations (%d evaluations) in %.1f s", formatNumber(result.loss),
                        result.history.count, result.evaluations, result.seconds))
    if let d = result.distance {
        session.print("distance to the source: Gram loss \(formatNumber(d.gramLoss)), sliced Wasserstein \(formatNumber(d.sliced))")
    }
    session.output.show(result.image, caption: "result, loss \(formatNumber(result.loss))")
    let label = "\(o.optimizer)"
    return .synthesis(SynthesisValue(result: result, options: o, label: label))
}

// MARK: save

private func saveCommand() -> CommandSpec {
    CommandSpec(
        name: "save", summary: "write an image as PNG or JPEG, or a GAN's generator or a texture network as .pth",
        positional: [ParamSpec("image", .any, "an image, a synthesis, a GAN or a texture network"), ParamSpec("path", .path, "file name ending in .png, .jpg or .jpeg (.pth for a GAN or a texture network)")],
        keys: [ParamSpec("quality", .integer, default: .number(92), range: 1...100, "JPEG quality 1-100")],
        example: "save t \"out/gravel.png\"",
        describesItsResult: true,
        run: runSave)
}

private func runSave(_ args: Arguments, _ session: CommandContext) throws -> Value {
    switch args.value("image")?.0 {
    case .gan(let g)?:
        try session.save(g, kind: GANValue.kind, args)
        return .none
    case .texnet(let t)?:
        try session.save(t, kind: TexNetValue.kind, args)
        return .none
    default: break
    }
    let image = try args.image("image")
    let path = try session.outputPath(try args.string("path"))
    try image.save(path, jpegQuality: try args.int("quality"), createFolders: true)
    session.print("wrote \(session.displayPath(path)) (\(image.width)x\(image.height))")
    return .none
}
