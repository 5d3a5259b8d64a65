import Foundation
import TxnImage
import TxnNotebook

/// Gatys et al. 2015: `optimize` in a notebook, with the page's parameters.
struct GatysJob: JobKind {
    static let method = "gatys"
    static let keys = ["method", "source", "size", "steps", "seed", "tile", "optimizer", "layers", "lr", "history",
                       "histmatch", "sourceSize"]

    let source: SourceEntry
    let width: Int, height: Int
    let steps: Int
    let seed: Int
    let tile: Bool
    let optimizer: String
    let layers: [String]
    let learningRate: Double
    let history: Int
    let histmatch: Bool
    /// Centre-crop and resize the source to this square size first (big uploads).
    let sourceSize: Int?

    /// The defaults of a web job: the library's, but for the size (`defaultSize`).
    static let defaults = Hosting.OptimizeOptions()
    /// 128, not the library's 256: the page's choice, so that a first result comes in seconds on two cores.
    static let defaultSize = 128
    /// The iterations at the full size that `optimize` runs when none are given (`Octaves.defaultSteps`).
    static func defaultSteps(width: Int, height: Int) -> Int {
        var o = defaults
        (o.width, o.height) = (width, height)
        return o.finalSteps
    }
    /// The square sizes `sourceSize` may shrink the source to.
    static let sourceSizeRange = 16...4096

    /// What the page shows before the user changes anything, and the ranges of its fields (`GET /api/defaults`).
    static var pageDefaults: [String: Any] {
        ["size": defaultSize, "sizeRange": [Hosting.OptimizeOptions.sizeRange.lowerBound, Hosting.OptimizeOptions.sizeRange.upperBound],
         "steps": Self.defaultSteps(width: defaultSize, height: defaultSize), "seed": Parameters.defaultSeed, "optimizer": defaults.optimizer.name.rawValue,
         "optimizers": Hosting.OptimizeOptions.Optimizer.Name.allCases.map(\.rawValue), "layers": defaults.layers,
         "history": Hosting.OptimizeOptions.defaultHistory, "lr": Hosting.OptimizeOptions.defaultAdamLearningRate,
         "tile": false, "histmatch": defaults.histogramMatching]
    }

    init(parameters: [String: JSONValue], sources: SourceStore, limits: ServerSettings.Limits) throws {
        let p = try Parameters(parameters, allowed: Self.keys)
        let entry = try p.source(in: sources)
        source = entry
        let sizes = Hosting.OptimizeOptions.sizeRange
        switch p.values["size"] {
        case .string(let s)?:
            guard let size = Image.parseSize(s) else { throw APIError.badRequest("'size' must be a number or \"WxH\", got '\(s)'") }
            (width, height) = size
        default:
            let n = try p.int("size", default: Self.defaultSize, range: sizes)
            (width, height) = (n, n)
        }
        guard sizes.contains(width), sizes.contains(height) else {
            throw APIError.badRequest("'size' must be \(sizes.lowerBound) to \(sizes.upperBound) on each side, got \(width)x\(height)")
        }
        try limits.checkJobWork("'size' \(width)x\(height)", pixels: width * height)
        let defaults = Self.defaults
        steps = try p.int("steps", default: min(Self.defaultSteps(width: width, height: height), limits.steps), range: Hosting.OptimizeOptions.stepsRange.lowerBound...limits.steps)
        seed = try p.seed()
        tile = try p.tile()
        optimizer = try p.choice("optimizer", Hosting.OptimizeOptions.Optimizer.Name.allCases.map(\.rawValue),
                                 default: defaults.optimizer.name.rawValue)
        layers = try p.words("layers", default: defaults.layers)
        // Written into the statement as words: each must be one (the notebook's check then knows the names).
        if let bad = layers.first(where: { !isNotebookWord($0) }) {
            throw APIError.badRequest("'layers' must be layer names such as \(defaults.layers[0]), got '\(bad)'")
        }
        learningRate = try p.number("lr", default: Hosting.OptimizeOptions.defaultAdamLearningRate, range: 1e-6...Hosting.OptimizeOptions.largestLearningRate)
        history = try p.int("history", default: Hosting.OptimizeOptions.defaultHistory, range: Hosting.OptimizeOptions.historyRange)
        histmatch = try p.bool("histmatch", default: defaults.histogramMatching)
        sourceSize = p.values["sourceSize"] == nil ? nil : try p.int("sourceSize", default: 256, range: Self.sourceSizeRange)

        // The notebook's own rules (layer names, sizes the network can take…) on the statements the job will run.
        try JobNotebook.check(statements(completedSteps: nil))
        // The source's size is the one thing the check cannot see: it knows no image.
        var o = Hosting.OptimizeOptions()
        (o.layers, o.padding) = (layers, tile ? .circular : .reflect)
        let (sw, sh) = sourceSize.map { ($0, $0) } ?? (entry.width, entry.height)
        guard sw * sh <= limits.sourcePixels else {
            throw APIError.badRequest("the source is \(sw)x\(sh), over the limit of \(limits.sourcePixels) pixels; "
                                      + "set 'sourceSize' (e.g. 256) to shrink it first")
        }
        if let problem = o.sizeProblem(width: sw, height: sh) {
            throw APIError.badRequest("the source \(sw)x\(sh) \(problem)")
        }
    }

    var parameters: [String: Any] {
        var p: [String: Any] = ["source": source.id, "sourceName": source.name, "width": width, "height": height,
                                "steps": steps, "seed": seed, "tile": tile, "optimizer": optimizer, "layers": layers,
                                "histmatch": histmatch]
        if optimizer == "adam" { p["lr"] = learningRate } else { p["history"] = history }
        if let sourceSize { p["sourceSize"] = sourceSize }
        return p
    }

    /// The one place the job becomes notebook text: the server runs `statements`, the download adds
    /// a header and the `save` line.
    func statements(completedSteps: Int?) -> [String] {
        var lines = ["set threads=\(Hosting.threads)", "m = model", "src = load \(notebookLiteral(source.path))"]
        var input = "src"
        if let sourceSize {
            lines.append("x = preprocess src size=\(sourceSize)")
            input = "x"
        }
        var optimize = "\(JobNotebook.result) = optimize \(input) size=\(width)x\(height) steps=\(completedSteps ?? steps) optimizer=\(optimizer)"
        optimize += optimizer == "adam" ? " lr=\(learningRate)" : " history=\(history)"
        optimize += " layers=\(layers.joined(separator: ",")) padding=\(tile ? "circular" : "reflect") seed=\(seed)"
        if histmatch { optimize += " histmatch=true" }
        lines.append(optimize)
        return lines
    }

    func notebook(jobID: String, completedSteps: Int?) -> String {
        JobNotebook.text(jobID: jobID, what: "Gatys et al. 2015, \(width)x\(height) like \(notebookLiteral(source.name))",
                         replayNote: "the same weights, seed and thread count give the same bytes.",
                         stopped: completedSteps.map { "Stopped after \($0) of \(steps) steps: this notebook runs the steps that completed." },
                         statements: statements(completedSteps: completedSteps), tile: tile)
    }

    func run(_ context: JobContext) throws -> JobOutcome {
        let run = try JobNotebook.run(statements(completedSteps: nil), context: context, snapshotEvery: 1)
        let r = run.result
        return JobOutcome(image: r.image, fields: r.fields, stoppedAfter: r.interrupted ? r.iterations : nil)
    }
}

/// A job that failed: the message names what went wrong (a notebook diagnostic, with its line).
struct JobFailure: Error {
    var message: String
    var log: String
}
