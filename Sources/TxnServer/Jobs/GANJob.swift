import Foundation
import TxnImage
import TxnNotebook

/// The spatial GAN in a notebook: `gan`, `train` with live samples from the fixed noise and D/G curves,
/// `generate` at the page's size, `save` of the generator (offered as a download), and the texture distance.
/// With `from` (the id of a finished GAN job) it trains nothing: it loads that job's generator and generates at
/// the new size, seed and tiling, instantly.
struct GANJob: JobKind {
    static let method = "gan"
    static let keys = ["method", "source", "preset", "steps", "crop", "batch", "size", "seed", "tile", "periodic", "from"]

    let source: SourceEntry
    let preset: Hosting.GANPreset
    let steps: Int
    let crop: Int, batch: Int
    let size: Int
    let seed: Int
    let tile: Bool
    /// PSGAN's periodic noise channels (the preset's split).
    let periodic: Bool
    /// A finished GAN job whose generator to use instead of training (a server-made id, never a path).
    let from: String?

    /// 300 iterations: the small preset's samples show the texture's structure in a few minutes on two cores
    /// (`txn gan train` runs 1000, a notebook's `train` adds 100 at a time).
    static let defaultSteps = 300
    static let defaultSize = 256
    static let defaultPreset = Hosting.GANOptions().preset

    /// What the page shows before the user changes anything (`GET /api/defaults`).
    static var pageDefaults: [String: Any] {
        ["preset": defaultPreset.rawValue, "presets": Hosting.GANPreset.allCases.map(\.rawValue), "steps": defaultSteps,
         "size": defaultSize, "seed": 0, "tile": false, "periodic": false]
    }

    init(parameters: [String: JSONValue], sources: SourceStore, limits: ServerSettings.Limits) throws {
        let p = try Parameters(parameters, allowed: Self.keys)
        let entry = try p.source(in: sources)
        source = entry
        guard let preset = Hosting.GANPreset(rawValue: try p.choice("preset", Hosting.GANPreset.allCases.map(\.rawValue), default: Self.defaultPreset.rawValue)) else {
            throw APIError.badRequest("'preset' is not known")
        }
        self.preset = preset
        let scale = preset.architecture.scale
        steps = try p.int("steps", default: Self.defaultSteps, range: Hosting.GANOptions.stepRange.lowerBound...limits.steps)
        crop = try p.int("crop", default: preset.crop, range: scale...2048)
        batch = try p.int("batch", default: preset.batch, range: 2...64)
        size = try p.int("size", default: Self.defaultSize, range: scale...4096)
        seed = try p.int("seed", default: 0, range: 0...Int(Int32.max))
        tile = try p.bool("tile", default: false)
        periodic = try p.bool("periodic", default: false)
        from = try p.string("from")
        if let from, !JobID.isWellFormed(from) {
            throw APIError.badRequest("'from' must be the id of a finished GAN job (from GET /api/jobs), got '\(from)'")
        }
        guard crop % scale == 0 else { throw APIError.badRequest("'crop' must be a multiple of \(scale), got \(crop)") }
        guard crop <= min(entry.width, entry.height) else {
            throw APIError.badRequest("'crop' \(crop) does not fit the \(entry.width)x\(entry.height) source")
        }
        guard crop * crop * batch <= limits.jobWork else {
            throw APIError.badRequest("'crop' x 'batch' (\(crop)x\(crop) x \(batch)) is over this server's limit of \(limits.jobWork) pixels per job")
        }
        guard size * size <= limits.jobWork else {
            throw APIError.badRequest("'size' \(size)x\(size) is over this server's limit of \(limits.jobWork) pixels per job")
        }
        if tile && size % scale != 0 { throw APIError.badRequest("'size' must be a multiple of \(scale) for a tileable texture") }
        // The notebook's own rules on the statements the job will run.
        try JobNotebook.check(statements(jobID: "check", completedSteps: nil))
    }

    var parameters: [String: Any] {
        var p: [String: Any] = ["source": source.id, "sourceName": source.name, "preset": preset.rawValue, "steps": steps,
                                "crop": crop, "batch": batch, "size": size, "seed": seed, "tile": tile, "periodic": periodic]
        if let from { p["from"] = from }
        return p
    }

    func generatorFile(_ jobID: String) -> String { "job-\(jobID)-generator.pth" }

    /// The one place the job becomes notebook text.
    func statements(jobID: String, completedSteps: Int?) -> [String] {
        var lines = ["set threads=\(Hosting.threads)", "src = load \(notebookLiteral(source.path))"]
        if let from {
            lines.append("g = loadgan \(notebookLiteral(generatorFile(from)))")
        } else {
            lines += ["g = gan src preset=\(preset.rawValue) crop=\(crop) batch=\(batch) seed=\(seed)" + (periodic ? " periodic=true" : ""),
                      "train g steps=\(completedSteps ?? steps) every=50"]
        }
        lines.append("\(JobNotebook.result) = generate g size=\(size) seed=\(seed) tile=\(tile)")
        if from == nil { lines.append("save g \(notebookLiteral(generatorFile(jobID)))") }
        return lines + [
         "m = model",
         // Against a crop of the source at its own scale, the size the GAN trained on.
         "x = preprocess src size=\(crop) crop=random seed=\(seed)",
         "\(JobNotebook.distance) = compare \(JobNotebook.result) x"]
    }

    func notebook(jobID: String, completedSteps: Int?) -> String {
        JobNotebook.text(jobID: jobID, what: "a spatial GAN (\(preset.rawValue) preset) trained on \(notebookLiteral(source.name))",
                         replayNote: "the same seed and thread count give the same bytes.",
                         stopped: completedSteps.map { "Stopped after \($0) of \(steps) iterations: this notebook trains that many." },
                         statements: statements(jobID: jobID, completedSteps: completedSteps), tile: tile)
    }

    func run(_ context: JobContext) throws -> JobOutcome {
        let start = Date()
        let run = try JobNotebook.run(statements(jobID: context.job.id, completedSteps: nil), context: context,
                                      snapshotEvery: 5, measuredIn: JobNotebook.distance)
        // A job `from` another trains nothing.
        let completed = from == nil ? run.lastIteration : 0
        var fields = run.result.fields
        fields["iterations"] = completed
        fields["seconds"] = Date().timeIntervalSince(start)
        var files: [String: JobFile] = [:]
        let path = context.settings.dataDirectory + "/" + generatorFile(from ?? context.job.id)
        if FileManager.default.fileExists(atPath: path) {
            files["generator"] = JobFile(contentType: "application/octet-stream", filename: generatorFile(context.job.id), path: path)
        }
        return JobOutcome(image: run.result.image, fields: fields,
                          stoppedAfter: run.stoppedAtBoundary && completed < steps ? completed : nil, files: files)
    }
}
