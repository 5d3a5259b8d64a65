import Foundation
import TxnImage
import TxnNotebook

/// A texture network in a notebook (Ulyanov et al. 2016): `texnet`, `train` with live samples from the fixed noise
/// and the loss curve, `generate` at the page's size, `save` of the network (offered as a download), and the
/// texture distance. With `from` (the id of a finished texture network job) it trains nothing: it loads that job's
/// network and generates at the new size, seed and tiling, at once.
struct TexNetJob: GeneratorJobKind {
    static let method = "texnet"
    static let keys = GeneratorJob.Request.keys + ["preset", "loss", "trainSize", "batch"]

    /// The source, steps, generated texture and `from`: what every generator job is asked.
    let request: GeneratorJob.Request
    let preset: Hosting.TexNetPreset
    let loss: Hosting.OptimizeOptions.Loss
    /// The side of the training images, and the images per iteration.
    let trainSize: Int, batch: Int

    /// 200 iterations: each evaluates VGG-19 once per image of the batch, so the small preset's 200 cost about
    /// what 800 Gatys iterations at the training size do.
    static let defaultSteps = 200
    static let defaults = Hosting.TexNetOptions()

    /// What the page shows before the user changes anything (`GET /api/defaults`).
    static var pageDefaults: [String: Any] {
        GeneratorJob.Request.pageDefaults(steps: defaultSteps).merging(
            ["preset": defaults.preset.rawValue, "presets": Hosting.TexNetPreset.allCases.map(\.rawValue),
             "loss": defaults.loss.rawValue, "losses": Hosting.OptimizeOptions.Loss.allCases.map(\.rawValue)]) { $1 }
    }

    init(parameters: [String: JSONValue], sources: SourceStore, limits: ServerSettings.Limits) throws {
        let p = try Parameters(parameters, allowed: Self.keys)
        let entry = try p.source(in: sources)
        guard let preset = Hosting.TexNetPreset(rawValue: try p.choice("preset", Hosting.TexNetPreset.allCases.map(\.rawValue), default: Self.defaults.preset.rawValue)),
              let loss = Hosting.OptimizeOptions.Loss(rawValue: try p.choice("loss", Hosting.OptimizeOptions.Loss.allCases.map(\.rawValue), default: Self.defaults.loss.rawValue)) else {
            throw APIError.badRequest("'preset' or 'loss' is not known")
        }
        (self.preset, self.loss) = (preset, loss)
        let a = preset.architecture(Self.defaults.normalisation), period = a.period
        request = try GeneratorJob.Request(p, source: entry, steps: (Self.defaultSteps, Hosting.TexNetOptions.stepRange.lowerBound),
                                           smallestSize: 2 * period, method: "texture network", limits: limits)
        // By default the preset's training size, or the largest the source holds.
        let fits = min(entry.width, entry.height) / period * period
        trainSize = try p.int("trainSize", default: min(preset.size, fits), range: 2 * period...Hosting.TexNetOptions.sizeRange.upperBound)
        batch = try p.int("batch", default: preset.batch, range: Hosting.TexNetOptions.batchRange)
        for (key, side) in [("trainSize", trainSize), ("size", request.size)] where side % period != 0 {
            throw APIError.badRequest("'\(key)' must be a multiple of \(period) (the \(preset.rawValue) preset's coarsest noise period), got \(side)")
        }
        guard trainSize <= min(entry.width, entry.height) else {
            throw APIError.badRequest("'trainSize' \(trainSize) does not fit the \(entry.width)x\(entry.height) source")
        }
        try limits.checkJobWork("'trainSize' x 'batch' (\(trainSize)x\(trainSize) x \(batch))", pixels: trainSize * trainSize * batch)
        // The generator's own bound on what training and generating hold, against the memory budget.
        let needs = [("trainSize", try a.trainingBytes(size: trainSize, batch: batch)),
                     ("size", try a.generationBytes(width: request.size, height: request.size))]
        for (key, bytes) in needs where bytes > Hosting.memoryLimitBytes {
            throw APIError.badRequest("'\(key)' needs \(bytes >> 20) MiB, over this server's memory limit of \(Hosting.memoryLimitBytes >> 20) MiB")
        }
        // The notebook's own rules on the statements the job will run.
        try JobNotebook.check(GeneratorJob.statements(plan, jobID: "check", completedSteps: nil))
    }

    var parameters: [String: Any] {
        request.parameters.merging(["preset": preset.rawValue, "loss": loss.rawValue, "trainSize": trainSize, "batch": batch]) { $1 }
    }

    /// The job as `GeneratorJob` writes it.
    var plan: GeneratorJob.Plan {
        GeneratorJob.Plan(request: request,
                          make: "texnet src preset=\(preset.rawValue) size=\(trainSize) batch=\(batch) loss=\(loss.rawValue) tile=\(request.tile) seed=\(request.seed)",
                          load: "loadtexnet", network: "net", every: 25, trainedOn: trainSize)
    }

    var what: String { "a texture network (\(preset.rawValue) preset)" }
}
