import Foundation
import TxnImage
import TxnNotebook

/// The spatial GAN in a notebook: `gan`, `train` with live samples from the fixed noise and D/G curves,
/// `generate` at the page's size, `save` of the generator (offered as a download), and the texture distance.
/// With `from` (the id of a finished GAN job) it trains nothing: it loads that job's generator and generates at
/// the new size, seed and tiling, instantly.
struct GANJob: GeneratorJobKind {
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
        try JobNotebook.check(GeneratorJob.statements(plan, jobID: "check", completedSteps: nil))
    }

    var parameters: [String: Any] {
        var p: [String: Any] = ["source": source.id, "sourceName": source.name, "preset": preset.rawValue, "steps": steps,
                                "crop": crop, "batch": batch, "size": size, "seed": seed, "tile": tile, "periodic": periodic]
        if let from { p["from"] = from }
        return p
    }

    /// The job as `GeneratorJob` writes it.
    var plan: GeneratorJob.Plan {
        GeneratorJob.Plan(source: source, make: "gan src preset=\(preset.rawValue) crop=\(crop) batch=\(batch) seed=\(seed)" + (periodic ? " periodic=true" : ""),
                          load: "loadgan", network: "g", steps: steps, every: 50, size: size, seed: seed, tile: tile, from: from, trainedOn: crop)
    }

    var what: String { "a spatial GAN (\(preset.rawValue) preset)" }
}
