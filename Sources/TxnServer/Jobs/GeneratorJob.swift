import Foundation
import TxnImage
import TxnNotebook
import TxnTensor

/// One training iteration as the page shows it: the method's numbers and curves, and the sample from the run's
/// fixed noise when one is due.
struct TrainingUpdate {
    var iteration: Int
    var total: Int
    var secondsPerIteration: Double
    /// The method's numbers by the names the page shows (`loss`; `dLoss`, `gLoss`…).
    var fields: [String: Any]
    /// Of those, the ones drawn as curves.
    var series: [String: Double]
    var sample: Image?
}

/// A job kind whose work is a generator's (`GeneratorJob`): it gives its plan, its name and its monitor; the notebook
/// and the run are shared.
protocol GeneratorJobKind: JobKind {
    var plan: GeneratorJob.Plan { get }
    /// The method in a few words, for the notebook's header: "a spatial GAN (small preset)".
    var what: String { get }
    /// The method's `RunMonitor`, calling `report` after each iteration and asking `shouldStop`.
    func monitor(report: @escaping (TrainingUpdate) -> Void, shouldStop: @escaping () -> Bool) -> RunMonitor
}

extension GeneratorJobKind {
    func notebook(jobID: String, completedSteps: Int?) -> String {
        GeneratorJob.notebook(plan, what: what, jobID: jobID, completedSteps: completedSteps)
    }

    func run(_ context: JobContext) throws -> JobOutcome {
        try GeneratorJob.run(context, plan, monitor: monitor)
    }
}

/// What the jobs of the methods with a generator share (the spatial GAN's, the texture network's): the notebook
/// trains a generator (or loads a finished job's, `from`), generates `JobNotebook.result`, saves the generator as
/// `job-ID-generator.pth` and measures `JobNotebook.distance`. Every iteration is reported with its time, and a stop
/// is taken at the next iteration boundary, so the result is that of a shorter run (`RunMonitor`).
enum GeneratorJob {
    /// The generator a job trained, in the data folder (the data store counts and removes it with its job).
    static func generatorFile(_ jobID: String) -> String { "job-\(jobID)-generator.pth" }

    /// What a generator job trains and generates, as the method's notebook commands take it.
    struct Plan {
        var source: SourceEntry
        /// The statement that makes the untrained network into `network` (`gan src preset=…`, `texnet src …`),
        /// and the command that loads a finished job's (`loadgan`, `loadtexnet`).
        var make: String, load: String
        /// The variable that holds the network.
        var network: String
        var steps: Int, every: Int
        var size: Int, seed: Int, tile: Bool
        /// A finished job whose network to load instead of training.
        var from: String?
        /// The side of the source crop the result is measured against: the size the network trained on.
        var trainedOn: Int
    }

    /// The one place a generator job becomes notebook text; the method gives its `Plan`.
    static func statements(_ plan: Plan, jobID: String, completedSteps: Int?) -> [String] {
        let network = plan.network
        var lines = ["set threads=\(Threads.count)", "m = model", "src = load \(notebookLiteral(plan.source.path))"]
        if let from = plan.from {
            lines.append("\(network) = \(plan.load) \(notebookLiteral(generatorFile(from)))")
        } else {
            lines += ["\(network) = \(plan.make)", "train \(network) steps=\(completedSteps ?? plan.steps) every=\(plan.every)"]
        }
        lines.append("\(JobNotebook.result) = generate \(network) size=\(plan.size) seed=\(plan.seed) tile=\(plan.tile)")
        if plan.from == nil { lines.append("save \(network) \(notebookLiteral(generatorFile(jobID)))") }
        return lines + [
            // Against a crop of the source at its own scale, the size the network trained on.
            "x = preprocess src size=\(plan.trainedOn) crop=random seed=\(plan.seed)",
            "\(JobNotebook.distance) = compare \(JobNotebook.result) x"]
    }

    /// The job's notebook (`what`: the method in a few words).
    static func notebook(_ plan: Plan, what: String, jobID: String, completedSteps: Int?) -> String {
        JobNotebook.text(jobID: jobID, what: "\(what) trained on \(notebookLiteral(plan.source.name))",
                         replayNote: "the same weights, seed and thread count give the same bytes.",
                         stopped: completedSteps.map { "Stopped after \($0) of \(plan.steps) iterations: this notebook trains that many." },
                         statements: statements(plan, jobID: jobID, completedSteps: completedSteps), tile: plan.tile)
    }

    /// - monitor: the method's `RunMonitor`, calling `report` after each iteration and asking `shouldStop`.
    static func run(_ context: JobContext, _ plan: Plan,
                    monitor: (_ report: @escaping (TrainingUpdate) -> Void, _ shouldStop: @escaping () -> Bool) -> RunMonitor)
        throws -> JobOutcome {
        let log = JobLog()
        let interpreter = context.interpreter(output: log)
        var stopAtBoundary = false, completed = 0
        let start = Date()
        interpreter.monitor = monitor({ u in
            completed = u.iteration
            var fields = u.fields
            fields["iteration"] = u.iteration
            fields["total"] = u.total
            fields["secondsPerIteration"] = u.secondsPerIteration
            fields["elapsed"] = Date().timeIntervalSince(start)
            fields["eta"] = u.secondsPerIteration * Double(u.total - u.iteration)
            context.progress(fields, series: u.series)
            if let sample = u.sample { context.image(sample, caption: "iteration \(u.iteration), fixed noise", force: u.iteration == u.total) }
            if context.stopRequested { stopAtBoundary = true }
        }, { stopAtBoundary || context.stopsNow })
        try context.run(statements(plan, jobID: context.job.id, completedSteps: nil), in: interpreter, file: "job-\(context.job.id).txn", log: log)
        guard case .image(let image)? = interpreter.variables[JobNotebook.result] else {
            throw JobFailure(message: "the notebook generated no texture", log: log.text)
        }
        // A job `from` another trains nothing.
        if plan.from != nil { completed = 0 }
        var fields: [String: Any] = ["iterations": completed, "seconds": Date().timeIntervalSince(start),
                                     "width": image.width, "height": image.height, "log": log.text]
        if case .distance(let d)? = interpreter.variables[JobNotebook.distance] { fields["distance"] = ["gramLoss": d.gramLoss, "sliced": d.sliced] }
        var files: [String: JobFile] = [:]
        let path = context.settings.dataDirectory + "/" + generatorFile(plan.from ?? context.job.id)
        if FileManager.default.fileExists(atPath: path) {
            files["generator"] = JobFile(contentType: "application/octet-stream", filename: generatorFile(context.job.id), path: path)
        }
        return JobOutcome(image: image, fields: fields, stoppedAfter: stopAtBoundary && completed < plan.steps ? completed : nil, files: files)
    }
}
