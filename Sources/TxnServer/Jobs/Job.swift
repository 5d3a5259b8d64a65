import Foundation
import TxnImage

/// Job ids: the time in milliseconds (base 36) and 32 random bits, so an id is never made twice, in this run or in
/// a later one over the same data folder (where a GAN job's generator is kept under its id, for `from`).
enum JobID {
    static func make() -> String {
        var random = SystemRandomNumberGenerator()
        let milliseconds = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        return String(milliseconds, radix: 36) + "-" + String(format: "%08x", random.next() as UInt32)
    }

    /// Whether `id` has the form `make` gives: ids that come from clients are checked before they name a file.
    static func isWellFormed(_ id: String) -> Bool {
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        func isDigit(_ b: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) }
        func isBase36(_ b: UInt8) -> Bool { isDigit(b) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) }
        func isHex(_ b: UInt8) -> Bool { isDigit(b) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(b) }
        return parts.count == 2 && (1...13).contains(parts[0].utf8.count) && parts[0].utf8.allSatisfy(isBase36)
            && parts[1].utf8.count == 8 && parts[1].utf8.allSatisfy(isHex)
    }
}

enum JobStatus: String, Sendable {
    case queued, running, done, stopped, error
    var isFinished: Bool { self == .done || self == .stopped || self == .error }
}

/// One job: its parameters, what it has done so far, and the clients watching it.
///
/// Every client that opens the event stream first gets a `state` event with everything so far (the
/// curves, the last progress, the image version, the result), then the live events; so two tabs
/// see the same thing and a reloaded page picks up where it was. The worker thread writes, the
/// event loops read; all under one lock, never held while waiting.
final class Job: @unchecked Sendable {
    let id: String
    let kind: any JobKind
    let created = Date()

    private let lock = NSLock()
    private var status = JobStatus.queued
    private var position = 0
    private var stopRequested = false
    /// Curves, one value per iteration, by name ("loss"; a GAN adds "dLoss", "gLoss").
    private var series: [String: [Double]] = [:]
    private var lastProgress: [String: Any]?
    private var png: [UInt8]?
    private var imageVersion = 0
    private var result: [String: Any]?
    private var notebookText: String
    private var files: [String: JobFile] = [:]
    private var subscribers: [UUID: AsyncStream<String>.Continuation] = [:]

    init(id: String, kind: any JobKind) {
        self.id = id
        self.kind = kind
        notebookText = kind.notebook(jobID: id, completedSteps: nil)
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        return body()
    }

    var currentStatus: JobStatus { locked { status } }
    var isStopRequested: Bool { locked { stopRequested } }
    var notebook: String { locked { notebookText } }
    var image: (png: [UInt8], version: Int)? { locked { png.map { ($0, imageVersion) } } }
    func file(_ name: String) -> JobFile? { locked { files[name] } }

    /// What the page needs to draw the job from scratch (`GET /api/jobs/ID`); the event stream's
    /// `state` adds the curves.
    var summary: [String: Any] { locked { describeLocked(withSeries: false) } }

    private func describeLocked(withSeries: Bool) -> [String: Any] {
        var s: [String: Any] = ["id": id, "method": type(of: kind).method, "status": status.rawValue,
                                "parameters": kind.parameters, "imageVersion": imageVersion,
                                "created": created.timeIntervalSince1970]
        if status == .queued { s["position"] = position }
        if let lastProgress { s["progress"] = lastProgress }
        if let result { s["result"] = result }
        if withSeries { s["series"] = series }
        return s
    }

    // MARK: Events

    static func event(_ name: String, _ data: [String: Any]) -> String {
        "event: \(name)\ndata: \(JSON.encode(data))\n\n"
    }

    private func broadcastLocked(_ text: String) {
        for c in subscribers.values { c.yield(text) }
    }

    /// A stream of server-sent events: the state so far, then live events; it ends after the job does.
    func subscribe() -> AsyncStream<String> {
        // Slow clients lose old progress events, not memory: the newest 256 are kept per client.
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(256))
        let key = UUID()
        lock.lock()
        continuation.yield(Self.event("state", describeLocked(withSeries: true)))
        if status.isFinished {
            continuation.yield(Self.event(status.rawValue, result ?? [:]))
            continuation.finish()
        } else {
            subscribers[key] = continuation
            continuation.onTermination = { [weak self] _ in self?.unsubscribe(key) }
        }
        lock.unlock()
        return stream
    }

    private func unsubscribe(_ key: UUID) {
        locked { _ = subscribers.removeValue(forKey: key) }
    }

    /// A comment line: keeps proxies from timing the stream out and lets a closed connection be noticed.
    func keepAlive() {
        locked { broadcastLocked(": keep-alive\n\n") }
    }

    // MARK: Changes (from the queue and the worker thread)

    func setQueuePosition(_ p: Int) {
        locked {
            guard status == .queued, p != position else { return }
            position = p
            broadcastLocked(Self.event("queued", ["position": p]))
        }
    }

    /// Marks the job running, unless a stop came first (after it left the queue, before it started): false then.
    func markRunning() -> Bool {
        locked {
            guard !stopRequested else { return false }
            status = .running
            broadcastLocked(Self.event("started", ["id": id]))
            return true
        }
    }

    /// Asks the job to stop (queued, starting or running). Returns false if it had already finished.
    func requestStop() -> Bool {
        locked {
            guard !status.isFinished else { return false }
            stopRequested = true
            return true
        }
    }

    /// One iteration's numbers; `series` values are appended to the curves.
    func progress(_ fields: [String: Any], series values: [String: Double]) {
        locked {
            for (k, v) in values { series[k, default: []].append(v) }
            lastProgress = fields
            broadcastLocked(Self.event("progress", fields))
        }
    }

    func publishImage(_ bytes: [UInt8], caption: String) {
        locked {
            png = bytes
            imageVersion += 1
            broadcastLocked(Self.event("image", ["version": imageVersion, "caption": caption]))
        }
    }

    /// The end: `done`, `stopped` or `error`, with the result's numbers; closes every stream.
    func finish(_ final: JobStatus, result fields: [String: Any], notebook: String? = nil, files: [String: JobFile] = [:]) {
        let closing: [AsyncStream<String>.Continuation] = locked {
            status = final
            result = fields
            self.files = files
            if let notebook { notebookText = notebook }
            broadcastLocked(Self.event(final.rawValue, fields))
            defer { subscribers.removeAll() }
            return Array(subscribers.values)
        }
        // Outside the lock: finishing runs each stream's onTermination, which takes the lock.
        for c in closing { c.finish() }
    }
}
