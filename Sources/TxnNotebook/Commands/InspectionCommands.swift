import Foundation
import TxnImage
import TxnPlot
import TxnSynthesis
import TxnTensor
import TxnVGG

extension CommandContext {
    /// A detailed description of a value, and its picture if it has one.
    func describe(_ value: Value, name: String) throws {
        switch value {
        case .image(let image):
            let n = image.width * image.height
            let stats = (0..<3).map { c -> String in
                let ch = image.pixels[(c * n)..<((c + 1) * n)]
                let mean = ch.reduce(0, +) / Float(max(1, n))
                return "\(["R", "G", "B"][c]) mean \(formatNumber(Double(mean))) range \(formatNumber(Double(ch.min() ?? 0)))…\(formatNumber(Double(ch.max() ?? 0)))"
            }
            print("\(name): image \(image.width)x\(image.height); " + stats.joined(separator: "; "))
            output.show(image, caption: name)
        case .tensor(let t):
            let (mean, std) = t.meanAndStd()
            print("\(name): tensor \(t.shape.map(String.init).joined(separator: "x")), mean \(formatNumber(mean)), std \(formatNumber(std)), "
                + "min \(formatNumber(Double(t.data.min() ?? 0))), max \(formatNumber(Double(t.data.max() ?? 0)))")
        case .features(let f):
            print("\(name): features")
            print(table(["layer", "shape", "mean", "std"], zip(f.layers, f.tensors).map { l, t in
                let (m, s) = t.meanAndStd()
                return [l, t.shape.map(String.init).joined(separator: "x"), formatNumber(m), formatNumber(s)]
            }))
        case .grams(let g):
            print("\(name): Gram matrices")
            print(table(["layer", "size", "trace"], zip(g.layers, g.matrices).map { l, m in
                let c = m.shape[1]
                return [l, "\(c) x \(c)", formatNumber((0..<c).reduce(0.0) { $0 + Double(m.data[$1 * c + $1]) })]
            }))
        case .model(let m):
            print("\(name): VGG-19 from \(m.vgg.origin)")
            print("loaded up to \(m.vgg.deepestLayer) (\(m.vgg.parameterCount) parameters), \(m.vgg.pooling) pooling, \(m.vgg.padding) padding, \(m.algorithm) convolutions")
        case .synthesis(let s):
            let r = s.result
            print("\(name): \(s.label), \(r.image.width)x\(r.image.height), loss \(formatNumber(r.loss)) after \(r.history.count) iterations "
                + "(\(r.evaluations) evaluations, \(String(format: "%.1f", r.seconds)) s)\(r.interrupted ? ", interrupted" : "")")
            if let d = r.distance { try describe(.distance(d), name: "  distance to source") }
            output.show(r.image, caption: name)
        case .distance(let d):
            print("\(name): Gram loss \(formatNumber(d.gramLoss)), sliced Wasserstein \(formatNumber(d.sliced))")
            print(table(["layer", "Gram loss", "sliced Wasserstein"], d.layers.indices.map {
                [d.layers[$0], formatNumber(d.gramPerLayer[$0]), formatNumber(d.slicedPerLayer[$0])]
            }))
        default:
            print("\(name): \(value.typeName) \(value.summary)")
        }
    }
}

func inspectionCommands() -> [CommandSpec] {
    [showCommand(), plotCommand(), tileCommand(), compareCommand(), histmatchCommand(), montageCommand(), varsCommand()]
}

// MARK: show

private func showCommand() -> CommandSpec {
    CommandSpec(
        name: "show", summary: "describe any value; images appear inline",
        positional: [ParamSpec("value", .any, "anything")],
        example: "show t",
        describesItsResult: true,
        run: runShow)
}

private func runShow(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let (value, _) = args.value("value")!
    try session.describe(value, name: args.positionalNames.first.flatMap { $0 } ?? value.typeName)
    return .none
}

// MARK: plot

private func plotCommand() -> CommandSpec {
    CommandSpec(
        name: "plot", summary: "draw a loss curve, a Gram matrix or feature maps as a PNG",
        positional: [ParamSpec("value", .any, "a synthesis (or a list of them), a GAN's or a texture network's training curves, a Gram matrix (g.conv1_1), or feature maps (f.pool1)"),
                     ParamSpec("path", .path, whenAbsent: "-", "also write the picture here")],
        keys: [ParamSpec("title", .string, whenAbsent: "automatic", "the title"),
               ParamSpec("linear", .bool, default: .bool(false), "linear instead of logarithmic loss axis")],
        example: "plot [a, b] \"out/losses.png\" title=\"L-BFGS vs Adam\"",
        describesItsResult: true,
        run: runPlot)
}

private func runPlot(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let (value, ref) = args.value("value")!
    let title = try args.string("title", default: "")
    let picture: Image
    switch value {
    case .synthesis, .list:
        var items: [Value] = []
        if case .list(let l) = value { items = l } else { items = [value] }
        let series = try items.enumerated().map { i, item -> (label: String, values: [Double]) in
            guard case .synthesis(let s) = item else {
                throw CommandError("value: a list to plot must hold syntheses, item \(i + 1) is \(item.typeName)", at: ref)
            }
            return ("\(s.label) \(s.result.image.width)x\(s.result.image.height)", s.result.history)
        }
        picture = Plot.lines(series, title: title.isEmpty ? "texture loss" : title,
                             logY: !(try args.bool("linear")))
    case .gan(let g):
        picture = try session.ganCurves(g, title: title)
    case .texnet(let t):
        picture = try session.texnetCurve(t, title: title, logY: !(try args.bool("linear")))
    case .tensor(let t) where t.rank == 3:
        picture = Plot.heatmap(t.data, rows: t.shape[1], columns: t.shape[2],
                               title: title.isEmpty ? "Gram matrix \(t.shape[1])x\(t.shape[2])" : title)
    case .tensor(let t) where t.rank == 4:
        let planes = (0..<t.c).map { c in Array(t.data[(c * t.h * t.w)..<((c + 1) * t.h * t.w)]) }
        picture = Plot.grid(planes, height: t.h, width: t.w, title: title.isEmpty ? "\(t.c) feature maps of \(t.h)x\(t.w)" : title)
    default:
        throw CommandError("value: cannot plot \(value.typeName); plot a synthesis, a Gram matrix (g.conv1_1) or features (f.pool1)", at: ref)
    }
    if let path = try? args.string("path"), path != "-" {
        let full = try session.outputPath(path)
        try picture.save(full, createFolders: true)
        session.print("wrote \(session.displayPath(full))")
    }
    return session.imageResult(picture, caption: title)
}

// MARK: tile

private func tileCommand() -> CommandSpec {
    CommandSpec(
        name: "tile", summary: "repeat an image n x m times, to judge how it tiles",
        positional: [ParamSpec("image", .image, "an image or a synthesis"), ParamSpec("grid", .size, default: .size(2, 2), "columns x rows")],
        example: "preview = tile t 2x2",
        run: runTile)
}

private func runTile(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let image = try args.image("image")
    let (c, r) = try args.size("grid")
    let tiled = try image.tiled(columns: c, rows: r)
    return session.imageResult(tiled, caption: "\(c)x\(r) tiles")
}

// MARK: compare

private func compareCommand() -> CommandSpec {
    CommandSpec(
        name: "compare", summary: "texture distance of two images: Gram loss and sliced Wasserstein",
        positional: [ParamSpec("a", .image, "an image"), ParamSpec("b", .image, "another image (any size)"),
                     ParamSpec("model", .model, whenAbsent: "(last)", "from `model`")],
        keys: [ParamSpec("layers", .layers, default: layerList(VGG19.gatysLayers), "layers compared")],
        example: "d = compare t x",
        describesItsResult: true,
        run: runCompare)
}

private func runCompare(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let a = try args.image("a"), b = try args.image("b")
    let m = try session.resolveModel(args)
    let d = try TextureDistance.measure(a, b, model: m.vgg, layers: try args.layers("layers"))
    try session.describe(.distance(d), name: "distance")
    return .distance(d)
}

// MARK: histmatch

private func histmatchCommand() -> CommandSpec {
    CommandSpec(
        name: "histmatch", summary: "give an image another image's colour histogram, channel by channel",
        positional: [ParamSpec("image", .image, "the image to change"), ParamSpec("reference", .image, "whose colours to take")],
        example: "t2 = histmatch t x",
        run: runHistmatch)
}

private func runHistmatch(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let matched = try args.image("image").histogramMatched(to: try args.image("reference"))
    return session.imageResult(matched, caption: "histogram matched")
}

// MARK: montage

private func montageCommand() -> CommandSpec {
    CommandSpec(
        name: "montage", summary: "images side by side with captions",
        positional: [ParamSpec("images", .any, "a list of images or syntheses")],
        keys: [ParamSpec("labels", .any, whenAbsent: "1,2,…", "one caption per image"),
               ParamSpec("height", .integer, default: .number(256), range: 16...4096, "common height")],
        example: "m = montage [a, b, c] labels=conv1_1,pool1,pool2",
        run: runMontage)
}

private func runMontage(_ args: Arguments, _ session: CommandContext) throws -> Value {
    let (value, ref) = args.value("images")!
    guard case .list(let items) = value else { throw CommandError("images: expected a list like [a, b]", at: ref) }
    var labels: [String] = items.indices.map { "\($0 + 1)" }
    if let l = args.raw("labels") {
        let words: [Value]
        if case .list(let w) = l { words = w } else { words = [l] }
        labels = words.map { w in if case .string(let s) = w { return s } else if case .word(let s) = w { return s } else { return w.summary } }
        guard labels.count == items.count else {
            throw CommandError("labels: \(labels.count) labels for \(items.count) images", at: args.ref("labels"))
        }
    }
    let images = try items.enumerated().map { i, item -> Image in
        switch item {
        case .image(let image): return image
        case .synthesis(let s): return s.result.image
        default: throw CommandError("images: item \(i + 1) is \(item.typeName), not an image", at: ref)
        }
    }
    let picture = try Plot.sideBySide(Array(zip(labels, images)).map { (label: $0.0, image: $0.1) },
                                  height: try args.int("height"))
    return session.imageResult(picture, caption: labels.joined(separator: " | "))
}

// MARK: vars

private func varsCommand() -> CommandSpec {
    CommandSpec(
        name: "vars", summary: "list the session's variables",
        example: "vars",
        describesItsResult: true,
        run: runVars)
}

private func runVars(_ args: Arguments, _ session: CommandContext) throws -> Value {
    if session.variables.isEmpty { session.print("no variables yet") }
    for name in session.variables.keys.sorted() { session.print("\(pad(name, 12)) \(session.variables[name]!.summary)") }
    return .none
}
