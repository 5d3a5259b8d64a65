import Foundation
import TxnImage
import TxnSynthesis
import TxnTensor
import TxnVGG

/// The Gatys layers as the commands' help shows them.
let defaultLayers = VGG19.gatysLayers.joined(separator: ",")

extension Interpreter {
    /// The model to use: the one given, else the last one made, else the default weights.
    func resolveModel(_ args: Arguments, upTo layers: [String] = VGG19.gatysLayers) throws -> ModelValue {
        if let given = try args.model("model") { return given }
        if let current = currentModel { return current }
        print("(no model yet: loading the default, as `model` would)")
        let path = defaultWeightsPath
        let vgg = try VGG19.load(path, upTo: "pool4")
        let m = ModelValue(vgg: vgg, path: path, algorithm: .winograd)
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
    [
        CommandSpec(
            name: "model", summary: "load VGG-19 weights and choose pooling, padding and input convention",
            positional: [ParamSpec("path", .path, default: "Models/vgg_normalised.pth", "a PyTorch checkpoint (.pth)")],
            keys: [
                ParamSpec("pooling", .cases(of: Pool2D.Kind.self), default: Pool2D.Kind.avg.rawValue, "average pooling (the paper) or max pooling (VGG as trained)"),
                ParamSpec("padding", .cases(of: PaddingMode.self), default: PaddingMode.reflect.rawValue, "how convolutions see past the border; circular makes tileable textures"),
                ParamSpec("convention", .choice(["auto", "checkpoint", "caffe", "torchvision"]), default: "auto", "how RGB in [0,1] becomes the network input"),
                ParamSpec("upto", .layers, default: "pool4", "deepest layer to load (Gatys needs pool4: 10.6M of 20M parameters)"),
                ParamSpec("algorithm", .cases(of: ConvAlgorithm.self), default: ConvAlgorithm.winograd.rawValue, "oneDNN convolution algorithm"),
            ],
            example: "m = model pooling=avg padding=reflect",
            detail: """
                The texture model is VGG-19 without its classifier. The default weights are the normalised VGG-19 of \
                Gatys et al.: each filter rescaled so its mean activation is about 1, which keeps the layers' Gram \
                matrices on similar scales.
                """,
            run: { args, interp in
                let given = try args.string("path", default: "")
                let path = given.isEmpty ? interp.defaultWeightsPath : try interp.inputPath(given)
                let convention: VGG19.InputConvention?
                switch try args.choice("convention", ["auto", "checkpoint", "caffe", "torchvision"], default: "auto") {
                case "caffe": convention = .caffeImageNet
                case "torchvision": convention = .torchvisionImageNet
                case "checkpoint": convention = .checkpointLayer
                default: convention = nil
                }
                let upTo = try VGG19.deepestLayer(of: try args.layers("upto", default: ["pool4"]))
                let vgg = try VGG19.load(path, upTo: upTo,
                                         pooling: try args.choice("pooling", default: Pool2D.Kind.avg),
                                         padding: try args.choice("padding", default: PaddingMode.reflect),
                                         convention: convention)
                let algorithm = try args.choice("algorithm", default: ConvAlgorithm.winograd)
                let m = ModelValue(vgg: vgg, path: path, algorithm: algorithm)
                interp.currentModel = m
                interp.print("VGG-19 from \(vgg.origin)")
                interp.print("up to \(vgg.deepestLayer): \(vgg.parameterCount) parameters; \(vgg.pooling) pooling, \(vgg.padding) padding")
                return .model(m)
            }),

        CommandSpec(
            name: "load", summary: "read a PNG or JPEG image",
            positional: [ParamSpec("path", .path, "the image file")],
            keys: [ParamSpec("maxpixels", .integer, default: "64000000", "refuse images with more pixels than this")],
            example: "src = load \"data/gravel.png\"",
            run: { args, interp in
                let path = try interp.inputPath(try args.string("path"))
                let decoded = try Image.load(path, maxPixels: try args.int("maxpixels", default: 64_000_000))
                interp.print("\(interp.displayPath(path)): \(decoded.image.width)x\(decoded.image.height) \(decoded.format.rawValue.uppercased())")
                for note in decoded.notes { interp.print("note: \(note)") }
                interp.output.show(decoded.image, caption: interp.displayPath(path))
                return .image(decoded.image)
            }),

        CommandSpec(
            name: "preprocess", summary: "crop and resize an image to the working size",
            positional: [ParamSpec("image", .image, "the source image")],
            keys: [
                ParamSpec("size", .size, default: "256", "working size, N or WxH"),
                ParamSpec("crop", .choice(["center", "random", "none"]), default: "center",
                          "center: largest centred region of the working aspect ratio, then resize; random: a crop of exactly the working size; none: resize only"),
                ParamSpec("box", .numbers, default: "-", "explicit crop x,y,w,h before resizing"),
                ParamSpec("seed", .integer, default: "(session)", "for crop=random"),
            ],
            example: "x = preprocess src size=256",
            detail: """
                Gatys et al. work at a fixed size. Shrinking uses an antialiasing (Lanczos) filter so fine texture \
                does not alias. The network then sees the image through its input transform (for the default model: \
                BGR, 0-255, minus the ImageNet mean), printed here.
                """,
            run: { args, interp in
                var image = try args.image("image")
                let (w, h) = try args.size("size", default: (256, 256))
                let from = "\(image.width)x\(image.height)"
                var how = ""
                if args.has("box") {
                    let b = try args.wholeNumbers("box", count: 4)  // x,y,w,h
                    image = try image.cropped(x: b[0], y: b[1], width: b[2], height: b[3])
                    how = "box \(b[2])x\(b[3]) at \(b[0]),\(b[1]), "
                }
                switch try args.choice("crop", ["center", "random", "none"], default: "center") {
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
                    let seed = try args.seed(session: interp.seed)
                    image = try image.randomCropped(width: w, height: h, seed: seed)
                    how += "random crop (seed \(seed)), "
                default: break
                }
                if image.width != w || image.height != h {
                    image = try image.resized(width: w, height: h)
                    how += "resized"
                }
                interp.print("\(w)x\(h) from \(from)" + (how.isEmpty ? "" : " (\(how.hasSuffix(", ") ? String(how.dropLast(2)) : how))"))
                if let m = interp.currentModel {
                    let x = try m.vgg.forward(interp.imageTensor(image), upTo: "input").outputs[0]
                    let (mean, std) = x.meanAndStd()
                    interp.print("network input: \(m.vgg.convention); mean \(formatNumber(mean)), std \(formatNumber(std))")
                }
                interp.output.show(image, caption: "preprocessed \(w)x\(h)")
                return .image(image)
            }),

        CommandSpec(
            name: "extract", summary: "VGG-19 features of an image at named layers",
            positional: [ParamSpec("image", .image, "the image"), ParamSpec("model", .model, default: "(last)", "from `model`")],
            keys: [ParamSpec("layers", .layers, default: defaultLayers, "layers to keep")],
            example: "f = extract x layers=conv1_1,pool1,pool2,pool3,pool4",
            detail: """
                Runs the image through the network and keeps the rectified activations at the layers asked for. \
                Each layer is a stack of C feature maps of H x W; deeper layers see larger regions.
                """,
            run: { args, interp in
                let image = try args.image("image")
                let layers = try args.layers("layers", default: VGG19.gatysLayers)
                let deepest = try VGG19.deepestLayer(of: layers)
                let m = try interp.resolveModel(args)
                let plan = try VGGPlan(model: m.vgg, height: image.height, width: image.width, upTo: deepest,
                                       algorithm: m.algorithm, backward: false)
                let tensors = try plan.forward(interp.imageTensor(image), layers: layers)
                var rows: [[String]] = []
                for (l, t) in zip(layers, tensors) {
                    let (mean, std) = t.meanAndStd()
                    rows.append([l, "\(t.c) x \(t.h)x\(t.w)", formatNumber(mean), formatNumber(std), formatNumber(Double(t.data.max() ?? 0))])
                }
                interp.print(interp.table(["layer", "channels x size", "mean", "std", "max"], rows))
                return .features(FeatureSet(layers: layers, tensors: tensors))
            }),

        CommandSpec(
            name: "gram", summary: "Gram matrices G = F Fᵀ / M of features (the texture statistics)",
            positional: [ParamSpec("features", .any, "features from `extract`, or an image"),
                         ParamSpec("model", .model, default: "(last)", "for an image")],
            keys: [ParamSpec("layers", .layers, default: "those of the features", "layers"),
                   ParamSpec("norm", .cases(of: GramNormalisation.self), default: GramNormalisation.pixels.rawValue, "pixels: F Fᵀ/M; pixels-channels: /(C M); none: F Fᵀ")],
            example: "g = gram f",
            detail: """
                Entry (i, j) is how strongly feature maps i and j fire together, averaged over all positions: \
                where things are is gone, what goes with what stays. That is the texture model of Gatys et al.
                """,
            run: { args, interp in
                let norm = try args.choice("norm", default: GramNormalisation.pixels)
                var set: FeatureSet
                switch args.raw("features") {
                case .features(let f)?: set = f
                case .image?, .synthesis?:
                    let image = try args.image("features")
                    let layers = try args.layers("layers", default: VGG19.gatysLayers)
                    let deepest = try VGG19.deepestLayer(of: layers)
                    let m = try interp.resolveModel(args)
                    let plan = try VGGPlan(model: m.vgg, height: image.height, width: image.width, upTo: deepest,
                                           algorithm: m.algorithm, backward: false)
                    set = FeatureSet(layers: layers, tensors: try plan.forward(interp.imageTensor(image), layers: layers))
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
                interp.print(interp.table(["layer", "size", "trace", "mean"], rows))
                return .grams(GramSet(layers: set.layers, matrices: matrices))
            }),

        CommandSpec(
            name: "noise", summary: "a starting image: seeded noise",
            keys: [
                ParamSpec("size", .size, default: "256", "N or WxH"),
                ParamSpec("like", .image, default: "-", "take the mean colour from this image"),
                ParamSpec("kind", .choice(["meannoise", "uniform"]), default: "meannoise", "mean colour plus Gaussian noise (the reference code), or uniform noise"),
                ParamSpec("sigma", .number, default: "0.01", "standard deviation of the Gaussian noise"),
                ParamSpec("seed", .integer, default: "(session)", "random seed"),
            ],
            example: "x0 = noise size=256 like=x seed=1",
            run: { args, interp in
                let (w, h) = try args.size("size", default: (256, 256))
                let seed = try args.seed(session: interp.seed)
                var rng = SplitMix64(seed: seed)
                var pixels = [Float](repeating: 0, count: 3 * w * h)
                if try args.choice("kind", ["meannoise", "uniform"], default: "meannoise") == "uniform" {
                    for i in pixels.indices { pixels[i] = rng.nextUnit() }
                } else {
                    let mean = try args.optionalImage("like")?.channelMean() ?? (0.5, 0.5, 0.5)
                    let sigma = Float(try args.number("sigma", default: 0.01))
                    let means = [mean.0, mean.1, mean.2]
                    for c in 0..<3 { for i in (c * w * h)..<((c + 1) * w * h) { pixels[i] = means[c] + sigma * rng.nextGaussian() } }
                }
                let image = Image(width: w, height: h, pixels: pixels)
                interp.print("noise \(w)x\(h), seed \(seed)")
                interp.output.show(image, caption: "noise")
                return .image(image)
            }),

        CommandSpec(
            name: "optimize", summary: "synthesise: optimise pixels until their Gram matrices (or, loss=sw, feature distributions) match the source's",
            positional: [ParamSpec("source", .image, "the texture to imitate"), ParamSpec("model", .model, default: "(last)", "from `model`")],
            keys: [
                ParamSpec("size", .size, default: "256", "output size, N or WxH (independent of the source's)"),
                ParamSpec("steps", .integer, default: "100", "iterations"),
                ParamSpec("method", .choice(["lbfgs", "adam"]), default: "lbfgs", "optimiser"),
                ParamSpec("history", .integer, default: "20", "L-BFGS memory"),
                ParamSpec("lr", .number, default: "0.02", "Adam's step size (pixel units)"),
                ParamSpec("layers", .layers, default: defaultLayers, "layers whose Gram matrices are matched"),
                ParamSpec("weights", .numbers, default: formatNumber(VGG19.gatysLayerWeight), "one weight per layer, or one for all"),
                ParamSpec("norm", .cases(of: GramNormalisation.self), default: GramNormalisation.pixels.rawValue, "Gram normalisation"),
                ParamSpec("padding", .cases(of: PaddingMode.self), default: "(model)", "circular: a seamless, tileable result"),
                ParamSpec("pooling", .cases(of: Pool2D.Kind.self), default: "(model)", "pooling"),
                ParamSpec("init", .any, default: "meannoise", "meannoise, uniform, or an image to start from"),
                ParamSpec("sigma", .number, default: "0.01", "noise level for init=meannoise"),
                ParamSpec("seed", .integer, default: "(session)", "random seed of the initial image"),
                ParamSpec("bounds", .cases(of: SynthesisOptions.Bounds.self), default: SynthesisOptions.Bounds.source.rawValue, "keep each channel in the source's range, in [0,1], or free"),
                ParamSpec("histmatch", .bool, default: "false", "match the colour histogram to the source's afterwards"),
                ParamSpec("every", .integer, default: "10", "print progress every N iterations"),
                ParamSpec("snapshot", .integer, default: "0", "show the image every N iterations (0: never)"),
                ParamSpec("distance", .bool, default: "true", "measure the texture distance to the source at the end"),
                ParamSpec("loss", .cases(of: SynthesisOptions.Loss.self), default: SynthesisOptions.Loss.gram.rawValue, "gram: Gram matrices (Gatys); sw: sliced Wasserstein (Heitz et al.); gram+sw: both"),
                ParamSpec("projections", .integer, default: "(channels)", "SW random directions per layer"),
                ParamSpec("sw_weight", .number, default: formatNumber(SynthesisOptions().slicedWeight), "SW layer weights = weights x this"),
                ParamSpec("redraw", .integer, default: "\(SynthesisOptions().slicedRedrawEvery)", "new SW directions every N iterations"),
                ParamSpec("octaves", .integer, default: "(auto)", "coarse to fine: start at size/2^(octaves-1); auto: 1 up to 256 px, +1 per doubling"),
                ParamSpec("octave_steps", .integer, default: "(steps)", "iterations at each octave but the last"),
            ],
            example: "t = optimize x size=256 steps=100 layers=conv1_1,pool1,pool2,pool3,pool4",
            detail: """
                Starts from noise and changes the pixels to lower L = Σ w_l ¼ mean((G_l − Ĝ_l)²), the gradient \
                coming back through the network. L-BFGS (the paper's choice) reaches low losses in a few hundred \
                iterations. Ctrl-C stops after the current evaluation and keeps the best image so far. \
                loss=sw matches sorted random projections of the features instead (sliced Wasserstein, new \
                directions every `redraw` iterations); octaves=N starts at size/2^(N-1) and refines upwards.
                """,
            run: { args, interp in
                let source = try args.image("source")
                let m = try interp.resolveModel(args)
                var o = SynthesisOptions()
                (o.width, o.height) = try args.size("size", default: (256, 256))
                o.steps = try args.int("steps", default: 100)
                o.layers = try args.layers("layers", default: VGG19.gatysLayers)
                let w = try args.numbers("weights", default: [VGG19.gatysLayerWeight])
                o.layerWeights = w.count == 1 ? Array(repeating: w[0], count: o.layers.count) : w
                o.gramNormalisation = try args.choice("norm", default: GramNormalisation.pixels)
                o.padding = try args.choice("padding", default: m.vgg.padding)
                o.pooling = try args.choice("pooling", default: m.vgg.pooling)
                o.optimizer = try args.choice("method", ["lbfgs", "adam"], default: "lbfgs") == "adam"
                    ? .adam(learningRate: Float(try args.number("lr", default: 0.02)))
                    : .lbfgs(history: try args.int("history", default: 20))
                o.seed = try args.seed(session: interp.seed)
                switch args.raw("init") {
                case nil, .word("meannoise")?: o.initialisation = .sourceMeanNoise(sigma: Float(try args.number("sigma", default: 0.01)))
                case .word("uniform")?: o.initialisation = .uniform
                case .image?, .synthesis?: o.initialisation = .image(try args.image("init"))
                case let other?:
                    throw CommandError("init: expected meannoise, uniform or an image, got \(other.typeName) \(other.summary)", at: args.ref("init"))
                }
                o.bounds = try args.choice("bounds", default: SynthesisOptions.Bounds.source)
                o.histogramMatching = try args.bool("histmatch", default: false)
                o.snapshotEvery = try args.int("snapshot", default: 0, range: 0...1_000_000)
                o.measureDistance = try args.bool("distance", default: true)
                o.algorithm = m.algorithm
                o.loss = try args.choice("loss", default: SynthesisOptions.Loss.gram)
                if args.has("projections") { o.slicedProjections = try args.int("projections", range: 1...4096) }
                o.slicedWeight = try args.number("sw_weight", default: o.slicedWeight)
                o.slicedRedrawEvery = try args.int("redraw", default: o.slicedRedrawEvery, range: 1...1_000_000)
                if args.has("octaves") { o.octaves = try args.int("octaves", range: 1...Octaves.maximum) }
                if args.has("octave_steps") { o.octaveSteps = try args.int("octave_steps", range: 1...1_000_000) }
                let every = try args.int("every", default: interp.progressEvery, range: 1...1_000_000)

                // A monitor's snapshots are copies of the iterate: they do not change the result.
                if let monitor = interp.monitor, o.snapshotEvery == 0 { o.snapshotEvery = monitor.snapshotEvery }
                let synthesizer = try Synthesizer(model: m.vgg, source: source, options: o)
                interp.print("optimising \(o.width)x\(o.height) with \(o.optimizer), \(o.loss.rawValue) loss, \(synthesizer.octaves) octave\(synthesizer.octaves == 1 ? "" : "s"), \(o.steps) steps, layers \(o.layers.joined(separator: ",")), "
                    + "\(o.padding) padding, \(o.pooling) pooling, seed \(o.seed), \(Threads.count) threads")
                Interrupt.reset()
                let monitor = interp.monitor
                let showEvery = try args.int("snapshot", default: 0, range: 0...1_000_000)
                let result = try synthesizer.run(progress: { p in
                    if p.iteration == 1 || p.iteration % every == 0 || p.iteration == p.totalIterations { interp.print(p.line) }
                    if let snapshot = p.snapshot, showEvery > 0, p.iteration % showEvery == 0 {
                        interp.output.show(snapshot, caption: "iteration \(p.iteration)")
                    }
                    monitor?.synthesisProgress(p)
                }, shouldStop: monitor?.shouldStop)
                Interrupt.reset()
                if result.interrupted {
                    interp.print("interrupted after \(result.history.count) iterations: keeping the best image so far (loss \(formatNumber(result.loss)))")
                }
                interp.print(String(format: "loss %@ after %d iterations (%d evaluations) in %.1f s", formatNumber(result.loss),
                                    result.history.count, result.evaluations, result.seconds))
                if let d = result.distance {
                    interp.print("distance to the source: Gram loss \(formatNumber(d.gramLoss)), sliced Wasserstein \(formatNumber(d.sliced))")
                }
                interp.output.show(result.image, caption: "result, loss \(formatNumber(result.loss))")
                let label = "\(o.optimizer)"
                return .synthesis(SynthesisValue(result: result, options: o, label: label))
            }),

        CommandSpec(
            name: "save", summary: "write an image as PNG or JPEG, or a GAN's generator as .pth",
            positional: [ParamSpec("image", .any, "an image, a synthesis or a GAN"), ParamSpec("path", .path, "file name ending in .png, .jpg or .jpeg (.pth for a GAN)")],
            keys: [ParamSpec("quality", .integer, default: "92", "JPEG quality 1-100")],
            example: "save t \"out/gravel.png\"",
            run: { args, interp in
                if case .gan(let g)? = args.value("image")?.0 {
                    try interp.saveGAN(g, to: try interp.outputPath(try args.string("path")))
                    return .none
                }
                let image = try args.image("image")
                let path = try interp.outputPath(try args.string("path"))
                try image.save(path, jpegQuality: try args.int("quality", default: 92, range: 1...100), createFolders: true)
                interp.print("wrote \(interp.displayPath(path)) (\(image.width)x\(image.height))")
                return .none
            }),
    ]
}
