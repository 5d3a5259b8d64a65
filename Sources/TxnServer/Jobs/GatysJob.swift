import Foundation
import TxnImage
import TxnNotebook
import TxnSynthesis
import TxnTensor
import TxnVGG

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

    init(parameters: [String: JSONValue], sources: SourceStore, limits: ServerSettings.Limits) throws {
        let p = try Parameters(parameters, allowed: Self.keys)
        let entry = try p.source(in: sources)
        source = entry
        switch p.values["size"] {
        case .string(let s)?:
            guard let size = Image.parseSize(s) else { throw APIError.badRequest("'size' must be a number or \"WxH\", got '\(s)'") }
            (width, height) = size
        default:
            let n = try p.int("size", default: 256, range: 1...8192)
            (width, height) = (n, n)
        }
        guard width >= 16, height >= 16, width <= 8192, height <= 8192 else {
            throw APIError.badRequest("'size' must be 16 to 8192 on each side, got \(width)x\(height)")
        }
        guard width * height <= limits.jobWork else {
            throw APIError.badRequest("'size' \(width)x\(height) is over this server's limit of \(limits.jobWork) pixels per job")
        }
        let defaults = SynthesisOptions()
        steps = try p.int("steps", default: defaults.steps, range: 1...limits.steps)
        seed = try p.int("seed", default: 0, range: 0...Int(Int32.max))
        tile = try p.bool("tile", default: false)
        optimizer = try p.choice("optimizer", ["lbfgs", "adam"], default: "lbfgs")
        layers = try p.words("layers", default: defaults.layers)
        learningRate = try p.number("lr", default: SynthesisOptions.defaultAdamLearningRate, range: 1e-6...10)
        history = try p.int("history", default: SynthesisOptions.defaultHistory, range: 1...1000)
        histmatch = try p.bool("histmatch", default: defaults.histogramMatching)
        sourceSize = p.values["sourceSize"] == nil ? nil : try p.int("sourceSize", default: 256, range: 16...4096)

        // The synthesis's own checks (layer names, sizes the network can take), before queueing.
        var o = SynthesisOptions()
        (o.width, o.height, o.steps, o.layers) = (width, height, steps, layers)
        o.padding = tile ? .circular : .reflect
        do { try o.validate() } catch let e as SynthesisError {
            throw APIError.badRequest("'\(e.option)': \(e.message)")
        }
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
        var lines = ["set threads=\(Threads.count)", "m = model", "src = load \(quoted(source.path))"]
        var input = "src"
        if let sourceSize {
            lines.append("x = preprocess src size=\(sourceSize)")
            input = "x"
        }
        var optimize = "t = optimize \(input) size=\(width)x\(height) steps=\(completedSteps ?? steps) method=\(optimizer)"
        optimize += optimizer == "adam" ? " lr=\(learningRate)" : " history=\(history)"
        optimize += " layers=\(layers.joined(separator: ",")) padding=\(tile ? "circular" : "reflect") seed=\(seed)"
        if histmatch { optimize += " histmatch=true" }
        lines.append(optimize)
        return lines
    }

    func notebook(jobID: String, completedSteps: Int?) -> String {
        var text = """
            # txn serve job \(jobID): Gatys et al. 2015, \(width)x\(height) like \(source.name.replacingOccurrences(of: "\n", with: " "))
            # Replay with `txn job-\(jobID).txn`: the same weights, seed and thread count give the same bytes.

            """
        if let completedSteps {
            text += "# Stopped after \(completedSteps) of \(steps) steps: this notebook runs the steps that completed.\n"
        }
        text += statements(completedSteps: completedSteps).joined(separator: "\n") + "\n"
        text += "save t \(quoted("job-\(jobID).png"))\n"
        if tile { text += "preview = tile t 2x2\nsave preview \(quoted("job-\(jobID)-tiled.png"))\n" }
        return text
    }

    func run(_ context: JobContext) throws -> JobOutcome {
        let log = JobLog()
        let interpreter = context.interpreter(output: log)
        // A stop is taken at the next iteration boundary, so the result is that of a shorter run
        // and the notebook with `steps=k` replays it byte for byte.
        var stopAtBoundary = false
        interpreter.monitor = RunMonitor(snapshotEvery: 1, synthesisProgress: { p in
            var perLayer: [String: Double] = [:]
            for (l, v) in zip(p.layers, p.layerLosses) { perLayer[l] = v }
            context.progress(["iteration": p.iteration, "total": p.totalIterations, "loss": p.loss,
                              "layerLosses": perLayer, "evaluations": p.evaluations, "elapsed": p.elapsed,
                              "secondsPerIteration": p.secondsPerIteration, "eta": p.remaining],
                             series: ["loss": p.loss])
            if let snapshot = p.snapshot {
                context.image(snapshot, caption: "iteration \(p.iteration)", force: p.iteration == p.totalIterations)
            }
            if context.stopRequested { stopAtBoundary = true }
        }, shouldStop: { stopAtBoundary || context.stopsNow })
        try context.run(statements(completedSteps: nil), in: interpreter, file: "job-\(context.job.id).txn", log: log)
        guard case .synthesis(let s)? = interpreter.variables["t"] else {
            throw JobFailure(message: "the notebook made no synthesis", log: log.text)
        }
        let r = s.result
        var fields: [String: Any] = ["loss": r.loss, "iterations": r.history.count, "evaluations": r.evaluations,
                                     "seconds": r.seconds, "width": r.image.width, "height": r.image.height,
                                     "log": log.text]
        if let d = r.distance { fields["distance"] = ["gramLoss": d.gramLoss, "sliced": d.sliced] }
        return JobOutcome(image: r.image, fields: fields, stoppedAfter: r.interrupted ? r.history.count : nil)
    }
}

/// A job that failed: the message names what went wrong (a notebook diagnostic, with its line).
struct JobFailure: Error {
    var message: String
    var log: String
}

/// A string literal in the notebook language (the scanner's escapes).
func quoted(_ s: String) -> String {
    var out = "\""
    for ch in s.unicodeScalars {
        switch ch {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if ch.value < 0x20 || ch.value == 0x7F { out += "\\u{\(String(ch.value, radix: 16))}" } else { out.unicodeScalars.append(ch) }
        }
    }
    return out + "\""
}
