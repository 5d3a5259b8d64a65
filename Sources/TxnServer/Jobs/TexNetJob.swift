import Foundation
import TxnImage
import TxnNotebook

/// A texture network in a notebook (Ulyanov et al. 2016): `texnet`, `train` with live samples from the fixed noise
/// and the loss curve, `generate` at the page's size, `save` of the network (offered as a download), and the
/// texture distance. With `from` (the id of a finished texture network job) it trains nothing: it loads that job's
/// network and generates at the new size, seed and tiling, at once.
struct TexNetJob: GeneratorJobKind {
    static let method = "texnet"
    static let keys = ["method", "source", "preset", "loss", "steps", "trainSize", "batch", "size", "seed", "tile", "from"]

    let source: SourceEntry
    let preset: Hosting.TexNetPreset
    let loss: Hosting.OptimizeOptions.Loss
    let steps: Int
    /// The side of the training images, and the images per iteration.
    let trainSize: Int, batch: Int
    /// The side of the generated texture.
    let size: Int
    let seed: Int
    let tile: Bool
    /// A finished texture network job whose network to use instead of training (a server-made id, never a path).
    let from: String?

    /// 200 iterations: each evaluates VGG-19 once per image of the batch, so the small preset's 200 cost about
    /// what 800 Gatys iterations at the training size do.
    static let defaultSteps = 200
    static let defaultSize = 256
    static let defaults = Hosting.TexNetOptions()

    /// What the page shows before the user changes anything (`GET /api/defaults`).
    static var pageDefaults: [String: Any] {
        ["preset": defaults.preset.rawValue, "presets": Hosting.TexNetPreset.allCases.map(\.rawValue),
         "loss": defaults.loss.rawValue, "losses": Hosting.OptimizeOptions.Loss.allCases.map(\.rawValue),
         "steps": defaultSteps, "size": defaultSize, "seed": 0, "tile": false]
    }

    init(parameters: [String: JSONValue], sources: SourceStore, limits: ServerSettings.Limits) throws {
        let p = try Parameters(parameters, allowed: Self.keys)
        let entry = try p.source(in: sources)
        source = entry
        guard let preset = Hosting.TexNetPreset(rawValue: try p.choice("preset", Hosting.TexNetPreset.allCases.map(\.rawValue), default: Self.defaults.preset.rawValue)),
              let loss = Hosting.OptimizeOptions.Loss(rawValue: try p.choice("loss", Hosting.OptimizeOptions.Loss.allCases.map(\.rawValue), default: Self.defaults.loss.rawValue)) else {
            throw APIError.badRequest("'preset' or 'loss' is not known")
        }
        (self.preset, self.loss) = (preset, loss)
        let a = preset.architecture(Self.defaults.normalisation), period = a.period
        steps = try p.int("steps", default: Self.defaultSteps, range: Hosting.TexNetOptions.stepRange.lowerBound...limits.steps)
        // By default the preset's training size, or the largest the source holds.
        let fits = min(entry.width, entry.height) / period * period
        trainSize = try p.int("trainSize", default: min(preset.size, fits), range: 2 * period...Hosting.TexNetOptions.sizeRange.upperBound)
        batch = try p.int("batch", default: preset.batch, range: Hosting.TexNetOptions.batchRange)
        size = try p.int("size", default: Self.defaultSize, range: 2 * period...4096)
        seed = try p.int("seed", default: 0, range: 0...Int(Int32.max))
        tile = try p.bool("tile", default: false)
        from = try p.string("from")
        if let from, !JobID.isWellFormed(from) {
            throw APIError.badRequest("'from' must be the id of a finished texture network job (from GET /api/jobs), got '\(from)'")
        }
        for (key, side) in [("trainSize", trainSize), ("size", size)] where side % period != 0 {
            throw APIError.badRequest("'\(key)' must be a multiple of \(period) (the \(preset.rawValue) preset's coarsest noise period), got \(side)")
        }
        guard trainSize <= min(entry.width, entry.height) else {
            throw APIError.badRequest("'trainSize' \(trainSize) does not fit the \(entry.width)x\(entry.height) source")
        }
        guard trainSize * trainSize * batch <= limits.jobWork else {
            throw APIError.badRequest("'trainSize' x 'batch' (\(trainSize)x\(trainSize) x \(batch)) is over this server's limit of \(limits.jobWork) pixels per job")
        }
        guard size * size <= limits.jobWork else {
            throw APIError.badRequest("'size' \(size)x\(size) is over this server's limit of \(limits.jobWork) pixels per job")
        }
        // The generator's own bound on what training and generating hold, against the memory budget.
        for (key, bytes) in [("trainSize", try a.trainingBytes(size: trainSize, batch: batch)), ("size", try a.generationBytes(width: size, height: size))]
        where bytes > Hosting.memoryLimitBytes {
            throw APIError.badRequest("'\(key)' needs \(bytes >> 20) MiB, over this server's memory limit of \(Hosting.memoryLimitBytes >> 20) MiB")
        }
        // The notebook's own rules on the statements the job will run.
        try JobNotebook.check(GeneratorJob.statements(plan, jobID: "check", completedSteps: nil))
    }

    var parameters: [String: Any] {
        var p: [String: Any] = ["source": source.id, "sourceName": source.name, "preset": preset.rawValue, "loss": loss.rawValue,
                                "steps": steps, "trainSize": trainSize, "batch": batch, "size": size, "seed": seed, "tile": tile]
        if let from { p["from"] = from }
        return p
    }

    /// The job as `GeneratorJob` writes it.
    var plan: GeneratorJob.Plan {
        GeneratorJob.Plan(source: source, make: "texnet src preset=\(preset.rawValue) size=\(trainSize) batch=\(batch) loss=\(loss.rawValue) tile=\(tile) seed=\(seed)",
                          load: "loadtexnet", network: "net", steps: steps, every: 25, size: size, seed: seed, tile: tile, from: from, trainedOn: trainSize)
    }

    var what: String { "a texture network (\(preset.rawValue) preset)" }
}
