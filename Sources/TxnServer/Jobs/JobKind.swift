import Foundation
import TxnImage
import TxnNotebook

/// A kind of job the server can run (`"method"` in `POST /api/jobs`): Gatys synthesis (`GatysJob`), the spatial
/// GAN (`GANJob`) and the texture network (`TexNetJob`). Each kind is one file and speaks only notebook: it checks
/// its parameters, writes its statements, and lets `JobNotebook` run them. To add a kind:
///
/// 1. `method` and `pageDefaults` (what the page's form starts from), read from the notebook's own declarations
///    (`Hosting` in TxnNotebook), never restated.
/// 2. `init(parameters:…)`: read the keys with `Parameters` (it refuses unknown ones), check the work against
///    `limits.checkJobWork`, then `JobNotebook.check(statements)`: the notebook's rules are the last word.
/// 3. `statements`: the one place the job becomes notebook text, leaving its image in `JobNotebook.result`;
///    `notebook(jobID:completedSteps:)` frames them with `JobNotebook.text`.
/// 4. `run(context)`: `JobNotebook.run(statements, context:…)` runs them with the job's monitor (progress, images,
///    stop at an iteration boundary) and hands back the result as a `JobRun`; the kind turns that into a
///    `JobOutcome`.
///    A kind that trains a generator and generates from it (`GANJob`, `TexNetJob`) is a `GeneratorJobKind`: it gives
///    its `GeneratorJob.Plan` (the statements that make, train, load and save its network) and gets 3 and 4.
/// 5. List it in `JobKinds.all`; the page shows a column for each kind its script knows (`METHODS`).
protocol JobKind: Sendable {
    /// The `method` value that selects this kind.
    static var method: String { get }

    /// The parameters a request that gives none runs with, and the choices the page offers: the page's form
    /// starts from these (`GET /api/defaults`), so that a default is written once, in the kind.
    static var pageDefaults: [String: Any] { get }

    /// Checks a request's parameters (the JSON object without `method`) against the limits: every
    /// unknown key, wrong type or out-of-range value is an `APIError` naming the key.
    init(parameters: [String: JSONValue], sources: SourceStore, limits: ServerSettings.Limits) throws

    /// The parameters as the page shows them.
    var parameters: [String: Any] { get }

    /// The job as notebook statements: exactly what the server runs, followed by `save` lines.
    /// `completedSteps` is set when the job was stopped: the notebook then runs that many steps,
    /// which gives the same bytes as the stopped run (see `RunMonitor`).
    func notebook(jobID: String, completedSteps: Int?) -> String

    /// Runs the job on the worker thread; reports through `context`; returns the final result.
    func run(_ context: JobContext) throws -> JobOutcome
}

/// The frame every job's notebook shares: a header that says what ran and how to replay it, the statements the
/// server ran, and the `save` lines of the result (and of its 2x2 tiling for a tileable texture).
enum JobNotebook {
    /// Holds a job's statements to the notebook's own rules without running them (`Interpreter.check`: commands,
    /// keys, types, ranges, layer names, sizes the network can take), so that a request the notebook would refuse is
    /// refused before it is queued, in the notebook's words: `'size': 8x8 is too small for reflect padding …`.
    static func check(_ statements: [String]) throws {
        let interpreter = Interpreter(output: JobLog(), modelsDirectory: "")
        guard let problem = interpreter.check(statements, file: "job.txn") else { return }
        var message = problem.message
        if let colon = message.firstIndex(of: ":"), message[..<colon].allSatisfy({ $0.isLetter || $0 == "_" }) {
            message = "'\(message[..<colon])'" + message[colon...]
        }
        throw APIError.badRequest(message)
    }

    /// The variable that holds the job's final image.
    static let result = "t"
    /// The variable that holds the texture distance of the result to the source, where the kind measures it apart.
    static let distance = "d"

    /// - Parameters:
    ///   - what: the job in a few words, ending with its source (quoted: a name is data, never a line of its own).
    ///   - stopped: what a stopped job's notebook does instead of the full run.
    static func text(jobID: String, what: String, replayNote: String, stopped: String?, statements: [String], tile: Bool) -> String {
        var text = "# txn serve job \(jobID): \(what)\n# Replay with `txn job-\(jobID).txn`: \(replayNote)\n\n"
        if let stopped { text += "# \(stopped)\n" }
        text += statements.joined(separator: "\n") + "\n"
        text += "save \(result) \(notebookLiteral("job-\(jobID).png"))\n"
        if tile { text += "preview = tile \(result) 2x2\nsave preview \(notebookLiteral("job-\(jobID)-tiled.png"))\n" }
        return text
    }

    /// The run every kind shares: the statements in an interpreter as `txn FILE.txn` would run them, with a monitor
    /// that publishes each iteration (`IterationReport`: numbers, curves, an image every `snapshotEvery`) and takes a
    /// stop at the next iteration boundary, so that the result is that of a shorter run and the notebook with
    /// `steps=k` replays it byte for byte. A stop before the first iteration throws `JobStoppedEarly`; a notebook
    /// error, or no image in `result`, throws `JobFailure` with the job's log.
    static func run(_ statements: [String], context: JobContext, snapshotEvery: Int, measuredIn distance: String? = nil) throws -> JobRun {
        let log = JobLog()
        let interpreter = context.interpreter(output: log)
        var stopAtBoundary = false, lastIteration = 0
        interpreter.monitor = RunMonitor(snapshotEvery: snapshotEvery, report: { report in
            lastIteration = report.iteration
            context.progress(report.fields, series: report.series)
            if let image = report.image {
                context.image(image, caption: report.caption, force: report.iteration == report.total)
            }
            if context.stopRequested { stopAtBoundary = true }
        }, shouldStop: { stopAtBoundary || context.stopsNow })
        try context.run(statements, in: interpreter, file: "job-\(context.job.id).txn", log: log)
        guard var result = interpreter.hostedResult(Self.result, distance: distance) else {
            throw JobFailure(message: "the notebook left no image in '\(Self.result)'", log: log.text)
        }
        result.fields["log"] = log.text
        return JobRun(result: result, lastIteration: lastIteration, stoppedAtBoundary: stopAtBoundary)
    }
}

/// What `JobNotebook.run` hands back to a kind.
struct JobRun {
    /// The image in `JobNotebook.result` and its numbers for the page (with the job's `log`).
    var result: HostedResult
    /// The last iteration reported (0 when none ran).
    var lastIteration: Int
    /// A stop was asked for and taken at an iteration boundary.
    var stoppedAtBoundary: Bool
}

/// A job stopped before its first iteration: it ends `stopped`, with no result.
struct JobStoppedEarly: Error {}

/// What a finished job hands back.
struct JobOutcome {
    var image: Image
    /// Numbers for the page (loss, iterations, seconds, distance…).
    var fields: [String: Any]
    /// Iterations completed, when the run was stopped early.
    var stoppedAfter: Int?
    /// Downloads besides the PNG, by a name the kind chooses (a GAN's "generator" `.pth`):
    /// served at `GET /api/jobs/ID/files/NAME`.
    var files: [String: JobFile] = [:]
}

struct JobFile: Sendable {
    var contentType: String
    /// The name the browser saves it as.
    var filename: String
    /// Where it is in the data folder: read when it is asked for (it may have been removed to keep within the
    /// storage quota, or deleted), so finished jobs hold no file in memory.
    var path: String
}

/// Every job kind the server knows.
enum JobKinds {
    static let all: [any JobKind.Type] = [GatysJob.self, GANJob.self, TexNetJob.self]

    static func kind(_ method: String) -> (any JobKind.Type)? { all.first { $0.method == method } }

    /// Each kind's `pageDefaults` by method.
    static var defaults: [String: Any] {
        Dictionary(uniqueKeysWithValues: all.map { ($0.method, $0.pageDefaults as Any) })
    }
}

/// What a running job may use: its settings, a notebook interpreter wired to the job's events, and
/// the stop flag.
final class JobContext: @unchecked Sendable {
    let job: Job
    let settings: ServerSettings
    /// The image is re-encoded for the page at most this often (PNG encoding costs time at 512x512).
    let imageInterval: Double
    private var lastImage = 0.0

    init(job: Job, settings: ServerSettings, imageInterval: Double = 0.25) {
        self.job = job
        self.settings = settings
        self.imageInterval = imageInterval
    }

    /// Set by the first `progress`: the job has completed an iteration.
    private var iterated = false

    var stopRequested: Bool { job.isStopRequested }

    /// A stop asked before the first iteration ends the job at once (there is nothing to keep); after it, the kinds
    /// stop at the next iteration boundary, so that the result is that of a shorter run.
    var stopsNow: Bool { !iterated && job.isStopRequested }

    func progress(_ fields: [String: Any], series: [String: Double] = [:]) {
        iterated = true
        job.progress(fields, series: series)
    }

    /// Runs the job's notebook statements one at a time (diagnostics keep their line in the whole notebook),
    /// so that a stop before the first iteration also ends the statements that load the model and the source.
    fileprivate func run(_ statements: [String], in interpreter: Interpreter, file: String, log: JobLog) throws {
        for (index, statement) in statements.enumerated() {
            if stopsNow { throw JobStoppedEarly() }
            let errors = interpreter.run(source: statement, file: file, firstLine: index + 1)
            if stopsNow { throw JobStoppedEarly() }
            if let first = errors.first { throw JobFailure(message: first.description, log: log.text) }
        }
    }

    /// Publishes an image (the current iterate, or a GAN's samples); throttled unless `force`.
    func image(_ image: Image, caption: String, force: Bool = false) {
        let now = Date().timeIntervalSince1970
        guard force || now - lastImage >= imageInterval else { return }
        lastImage = now
        if let bytes = try? image.encoded(as: .png) { job.publishImage(bytes, caption: caption) }
    }

    /// An interpreter as `txn FILE.txn` would run the job's notebook: the same weights folder, and
    /// relative paths under the data folder. Text output is kept (bounded) for the job's log.
    func interpreter(output: OutputSink) -> Interpreter {
        Interpreter(output: output, baseDirectory: settings.dataDirectory, outputDirectory: settings.dataDirectory,
                    modelsDirectory: settings.modelsDirectory)
    }
}

/// Keeps the last `limit` characters a job's notebook printed; shows no images.
final class JobLog: OutputSink {
    private(set) var text = ""
    let limit: Int
    init(limit: Int = 16_384) { self.limit = limit }
    func write(_ text: String) {
        self.text += text
        if self.text.count > limit { self.text = String(self.text.suffix(limit)) }
    }
    func show(_ image: Image, caption: String) {}
}

// MARK: Parameter checking

/// Reads a job's JSON parameters, refusing unknown keys and wrong types with the key's name.
struct Parameters {
    let values: [String: JSONValue]

    init(_ values: [String: JSONValue], allowed: [String]) throws {
        for key in values.keys.sorted() where !allowed.contains(key) {
            throw APIError.badRequest("unknown parameter '\(key)'; parameters: \(allowed.joined(separator: ", "))")
        }
        self.values = values
    }

    private func given(_ key: String) -> JSONValue? {
        if let v = values[key], v != .null { return v }
        return nil
    }

    /// Every job's seed of its noise: what a request that gives none runs with, and the range the notebook's seed takes.
    static let defaultSeed = 0
    static let seedRange = 0...Int(Int32.max)

    func seed() throws -> Int { try int("seed", default: Self.defaultSeed, range: Self.seedRange) }

    /// Every job's tiling switch, off unless asked for.
    func tile() throws -> Bool { try bool("tile", default: false) }

    /// The required `source`: an id the server made (from GET /api/sources), never a path.
    func source(in sources: SourceStore) throws -> SourceEntry {
        guard let id = try string("source") else { throw APIError.badRequest("'source' is required: an id from GET /api/sources") }
        guard let entry = sources.get(id) else { throw APIError.badRequest("'source': no source with id '\(id)'") }
        return entry
    }

    func int(_ key: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let raw = given(key) else { return value }
        guard case .number(let d) = raw, d == d.rounded(), abs(d) < 1e15 else {
            throw APIError.badRequest("'\(key)' must be a whole number")
        }
        let v = Int(d)
        guard range.contains(v) else { throw APIError.badRequest("'\(key)' must be \(range.lowerBound) to \(range.upperBound), got \(v)") }
        return v
    }

    func number(_ key: String, default value: Double, range: ClosedRange<Double>) throws -> Double {
        guard let raw = given(key) else { return value }
        guard case .number(let d) = raw, d.isFinite else { throw APIError.badRequest("'\(key)' must be a number") }
        guard range.contains(d) else { throw APIError.badRequest("'\(key)' must be \(range.lowerBound) to \(range.upperBound), got \(d)") }
        return d
    }

    func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let raw = given(key) else { return value }
        guard case .bool(let b) = raw else { throw APIError.badRequest("'\(key)' must be true or false") }
        return b
    }

    func string(_ key: String) throws -> String? {
        guard let raw = given(key) else { return nil }
        guard case .string(let s) = raw else { throw APIError.badRequest("'\(key)' must be a string") }
        return s
    }

    func choice(_ key: String, _ options: [String], default value: String) throws -> String {
        guard let s = try string(key) else { return value }
        guard options.contains(s) else { throw APIError.badRequest("'\(key)' must be one of \(options.joined(separator: ", ")), got '\(s)'") }
        return s
    }

    /// A list of words, given as a JSON array or a comma-separated string.
    func words(_ key: String, default value: [String]) throws -> [String] {
        guard let raw = given(key) else { return value }
        var items: [String] = []
        switch raw {
        case .string(let s): items = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        case .array(let list):
            for item in list {
                guard case .string(let s) = item else { throw APIError.badRequest("'\(key)' must be a list of names") }
                items.append(s)
            }
        default: throw APIError.badRequest("'\(key)' must be a list of names")
        }
        guard !items.isEmpty, items.count <= 32 else { throw APIError.badRequest("'\(key)' must name 1 to 32 items") }
        return items
    }
}

extension ServerSettings.Limits {
    /// The per-job work limit, in one wording for every parameter it bounds: `what` names the parameters and their
    /// numbers ("'size' 640x640").
    func checkJobWork(_ what: String, pixels: Int) throws {
        guard pixels <= jobWork else {
            throw APIError.badRequest("\(what) is over this server's limit of \(jobWork) pixels per job")
        }
    }
}

/// A parsed JSON value that keeps booleans, numbers and strings apart.
enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !list.isAtEnd { items.append(try list.decode(JSONValue.self)) }
            self = .array(items)
            return
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var items: [String: JSONValue] = [:]
            for key in object.allKeys { items[key.stringValue] = try object.decode(JSONValue.self, forKey: key) }
            self = .object(items)
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else { self = .string(try c.decode(String.self)) }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
