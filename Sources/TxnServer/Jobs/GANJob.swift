import Foundation
import TxnImage
import TxnNotebook

/// The spatial GAN in a notebook: `gan`, `train` with live samples from the fixed noise and D/G curves,
/// `generate` at the page's size, `save` of the generator (offered as a download), and the texture distance.
/// With `from` (the id of a finished GAN job) it trains nothing: it loads that job's generator and generates at
/// the new size, seed and tiling, instantly.
struct GANJob: GeneratorJobKind {
    static let method = "gan"
    static let keys = GeneratorJob.Request.keys + ["preset", "crop", "batch", "periodic"]

    /// The source, steps, generated texture and `from`: what every generator job is asked.
    let request: GeneratorJob.Request
    let preset: Hosting.GANPreset
    let crop: Int, batch: Int
    /// PSGAN's periodic noise channels (the preset's split).
    let periodic: Bool

    /// 300 iterations: the small preset's samples show the texture's structure in a few minutes on two cores
    /// (`txn gan train` runs 1000, a notebook's `train` adds 100 at a time).
    static let defaultSteps = 300
    static let defaultPreset = Hosting.GANOptions().preset

    /// What the page shows before the user changes anything (`GET /api/defaults`).
    static var pageDefaults: [String: Any] {
        GeneratorJob.Request.pageDefaults(steps: defaultSteps).merging(
            ["preset": defaultPreset.rawValue, "presets": Hosting.GANPreset.allCases.map(\.rawValue), "periodic": false]) { $1 }
    }

    init(parameters: [String: JSONValue], sources: SourceStore, limits: ServerSettings.Limits) throws {
        let p = try Parameters(parameters, allowed: Self.keys)
        let entry = try p.source(in: sources)
        guard let preset = Hosting.GANPreset(rawValue: try p.choice("preset", Hosting.GANPreset.allCases.map(\.rawValue), default: Self.defaultPreset.rawValue)) else {
            throw APIError.badRequest("'preset' is not known")
        }
        self.preset = preset
        let scale = preset.architecture.scale
        request = try GeneratorJob.Request(p, source: entry, steps: (Self.defaultSteps, Hosting.GANOptions.stepRange.lowerBound),
                                           smallestSize: scale, method: "GAN", limits: limits)
        crop = try p.int("crop", default: preset.crop, range: scale...2048)
        batch = try p.int("batch", default: preset.batch, range: 2...64)
        periodic = try p.bool("periodic", default: false)
        guard crop % scale == 0 else { throw APIError.badRequest("'crop' must be a multiple of \(scale), got \(crop)") }
        guard crop <= min(entry.width, entry.height) else {
            throw APIError.badRequest("'crop' \(crop) does not fit the \(entry.width)x\(entry.height) source")
        }
        try limits.checkJobWork("'crop' x 'batch' (\(crop)x\(crop) x \(batch))", pixels: crop * crop * batch)
        if request.tile && request.size % scale != 0 {
            throw APIError.badRequest("'size' must be a multiple of \(scale) for a tileable texture")
        }
        // The notebook's own rules on the statements the job will run.
        try JobNotebook.check(GeneratorJob.statements(plan, jobID: "check", completedSteps: nil))
    }

    var parameters: [String: Any] {
        request.parameters.merging(["preset": preset.rawValue, "crop": crop, "batch": batch, "periodic": periodic]) { $1 }
    }

    /// The job as `GeneratorJob` writes it.
    var plan: GeneratorJob.Plan {
        GeneratorJob.Plan(request: request,
                          make: "gan src preset=\(preset.rawValue) crop=\(crop) batch=\(batch) seed=\(request.seed)" + (periodic ? " periodic=true" : ""),
                          load: "loadgan", network: "g", every: 50, trainedOn: crop)
    }

    var what: String { "a spatial GAN (\(preset.rawValue) preset)" }
}
