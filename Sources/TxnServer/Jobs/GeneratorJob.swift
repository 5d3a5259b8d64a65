import Foundation
import TxnNotebook

/// A job kind whose work is a generator's (`GeneratorJob`): it gives its plan and its name; the statements, the
/// notebook and the run are shared.
protocol GeneratorJobKind: JobKind {
    var plan: GeneratorJob.Plan { get }
    /// The method in a few words, for the notebook's header: "a spatial GAN (small preset)".
    var what: String { get }
}

extension GeneratorJobKind {
    func notebook(jobID: String, completedSteps: Int?) -> String {
        GeneratorJob.notebook(plan, what: what, jobID: jobID, completedSteps: completedSteps)
    }

    func run(_ context: JobContext) throws -> JobOutcome {
        try GeneratorJob.run(context, plan)
    }
}

/// What the jobs of the methods with a generator share (the spatial GAN's, the texture network's): the notebook
/// trains a generator (or loads a finished job's, `from`), generates `JobNotebook.result`, saves the generator as
/// `job-ID-generator.pth` and measures `JobNotebook.distance`. It runs through `JobNotebook.run`, which reports every
/// iteration (the method's numbers and the sample from the fixed noise) and takes a stop at the next iteration
/// boundary, so the result is that of a shorter run.
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

    /// The one place a generator job becomes notebook text; the method gives its `Plan`. The model comes first: a
    /// texture network trains on its texture loss.
    static func statements(_ plan: Plan, jobID: String, completedSteps: Int?) -> [String] {
        let network = plan.network
        var lines = ["set threads=\(Hosting.threads)", "m = model", "src = load \(notebookLiteral(plan.source.path))"]
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

    /// Runs the plan's statements (`JobNotebook.run`) and offers the generator as a download.
    static func run(_ context: JobContext, _ plan: Plan) throws -> JobOutcome {
        let start = Date()
        let run = try JobNotebook.run(statements(plan, jobID: context.job.id, completedSteps: nil), context: context,
                                      snapshotEvery: 5, measuredIn: JobNotebook.distance)
        // A job `from` another trains nothing.
        let completed = plan.from == nil ? run.lastIteration : 0
        var fields = run.result.fields
        fields["iterations"] = completed
        fields["seconds"] = Date().timeIntervalSince(start)
        var files: [String: JobFile] = [:]
        let path = context.settings.dataDirectory + "/" + generatorFile(plan.from ?? context.job.id)
        if FileManager.default.fileExists(atPath: path) {
            files["generator"] = JobFile(contentType: "application/octet-stream", filename: generatorFile(context.job.id), path: path)
        }
        return JobOutcome(image: run.result.image, fields: fields,
                          stoppedAfter: run.stoppedAtBoundary && completed < plan.steps ? completed : nil, files: files)
    }
}
