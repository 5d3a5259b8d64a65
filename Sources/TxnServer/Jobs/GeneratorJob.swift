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

    /// What every generator job is asked besides its method's own numbers, each rule said once: the source, how long
    /// to train, the texture to generate (its side, seed and tiling), and the finished job to generate from instead.
    struct Request {
        var source: SourceEntry
        var steps: Int
        /// The side of the generated (square) texture.
        var size: Int
        var seed: Int
        var tile: Bool
        /// A finished job of the same method whose network to use instead of training (a server-made id, never a
        /// path).
        var from: String?

        /// The keys a request reads; a kind adds its own.
        static let keys = ["method", "source", "steps", "size", "seed", "tile", "from"]
        /// The generated side when none is given.
        static let defaultSize = 256
        static let largestSize = 4096

        /// - Parameters:
        ///   - steps: the method's default iteration count and its smallest (the largest is the server's limit).
        ///   - smallestSize: the smallest side the method's network generates (its scale or coarsest noise period).
        ///   - method: the method in `from`'s error: "a finished \(method) job".
        init(_ p: Parameters, source: SourceEntry, steps: (default: Int, fewest: Int), smallestSize: Int, method: String,
             limits: ServerSettings.Limits) throws {
            self.source = source
            self.steps = try p.int("steps", default: steps.default, range: steps.fewest...limits.steps)
            size = try p.int("size", default: Self.defaultSize, range: smallestSize...Self.largestSize)
            seed = try p.seed()
            tile = try p.tile()
            from = try p.string("from")
            if let from, !JobID.isWellFormed(from) {
                throw APIError.badRequest("'from' must be the id of a finished \(method) job (from GET /api/jobs), got '\(from)'")
            }
            try limits.checkJobWork("'size' \(size)x\(size)", pixels: size * size)
        }

        /// The page's starting values of these keys (`GET /api/defaults`), with the method's default steps.
        static func pageDefaults(steps: Int) -> [String: Any] {
            ["steps": steps, "size": defaultSize, "seed": Parameters.defaultSeed, "tile": false]
        }

        /// These keys as the page shows them.
        var parameters: [String: Any] {
            var p: [String: Any] = ["source": source.id, "sourceName": source.name, "steps": steps, "size": size,
                                    "seed": seed, "tile": tile]
            if let from { p["from"] = from }
            return p
        }
    }

    /// What a generator job trains and generates, as the method's notebook commands take it.
    struct Plan {
        var request: Request
        /// The statement that makes the untrained network into `network` (`gan src preset=…`, `texnet src …`),
        /// and the command that loads a finished job's (`loadgan`, `loadtexnet`).
        var make: String, load: String
        /// The variable that holds the network.
        var network: String
        var every: Int
        /// The side of the source crop the result is measured against: the size the network trained on.
        var trainedOn: Int
    }

    /// The one place a generator job becomes notebook text; the method gives its `Plan`. The model comes first: a
    /// texture network trains on its texture loss.
    static func statements(_ plan: Plan, jobID: String, completedSteps: Int?) -> [String] {
        let (network, request) = (plan.network, plan.request)
        var lines = ["set threads=\(Hosting.threads)", "m = model", "src = load \(notebookLiteral(request.source.path))"]
        if let from = request.from {
            lines.append("\(network) = \(plan.load) \(notebookLiteral(generatorFile(from)))")
        } else {
            lines += ["\(network) = \(plan.make)", "train \(network) steps=\(completedSteps ?? request.steps) every=\(plan.every)"]
        }
        lines.append("\(JobNotebook.result) = generate \(network) size=\(request.size) seed=\(request.seed) tile=\(request.tile)")
        if request.from == nil { lines.append("save \(network) \(notebookLiteral(generatorFile(jobID)))") }
        return lines + [
            // Against a crop of the source at its own scale, the size the network trained on.
            "x = preprocess src size=\(plan.trainedOn) crop=random seed=\(request.seed)",
            "\(JobNotebook.distance) = compare \(JobNotebook.result) x"]
    }

    /// The job's notebook (`what`: the method in a few words).
    static func notebook(_ plan: Plan, what: String, jobID: String, completedSteps: Int?) -> String {
        JobNotebook.text(jobID: jobID, what: "\(what) trained on \(notebookLiteral(plan.request.source.name))",
                         replayNote: "the same weights, seed and thread count give the same bytes.",
                         stopped: completedSteps.map { "Stopped after \($0) of \(plan.request.steps) iterations: this notebook trains that many." },
                         statements: statements(plan, jobID: jobID, completedSteps: completedSteps), tile: plan.request.tile)
    }

    /// Runs the plan's statements (`JobNotebook.run`) and offers the generator as a download.
    static func run(_ context: JobContext, _ plan: Plan) throws -> JobOutcome {
        let start = Date()
        let run = try JobNotebook.run(statements(plan, jobID: context.job.id, completedSteps: nil), context: context,
                                      snapshotEvery: 5, measuredIn: JobNotebook.distance)
        // A job `from` another trains nothing.
        let completed = plan.request.from == nil ? run.lastIteration : 0
        var fields = run.result.fields
        fields["iterations"] = completed
        fields["seconds"] = Date().timeIntervalSince(start)
        var files: [String: JobFile] = [:]
        let path = context.settings.dataDirectory + "/" + generatorFile(plan.request.from ?? context.job.id)
        if FileManager.default.fileExists(atPath: path) {
            files["generator"] = JobFile(contentType: "application/octet-stream", filename: generatorFile(context.job.id), path: path)
        }
        return JobOutcome(image: run.result.image, fields: fields,
                          stoppedAfter: run.stoppedAtBoundary && completed < plan.request.steps ? completed : nil, files: files)
    }
}
