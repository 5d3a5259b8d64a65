import Foundation
import Hummingbird
import HummingbirdCore
import TxnFiles
import TxnImage
import TxnNotebook

/// `txn serve`: the page and its HTTP API.
///
/// Routes (all answers JSON unless said otherwise; errors are `{"error": message}` with a 4xx/5xx status):
/// `GET /` (the page), `GET /app.js`, `GET /app.css`, `GET /api/capabilities`, `GET /api/defaults` (each job kind's
/// defaults, which the page's form starts from), `GET|POST /api/sources`,
/// `GET /api/sources/ID/image`, `GET|POST /api/jobs`, `GET /api/jobs/ID`, `GET /api/jobs/ID/events`
/// (server-sent events), `GET /api/jobs/ID/image` (PNG), `POST /api/jobs/ID/stop`,
/// `GET /api/jobs/ID/notebook` (`.txn` text), `GET /api/jobs/ID/files/NAME` (a kind's downloads),
/// `DELETE /api/sources/ID` (an upload), `DELETE /api/jobs/ID` (a finished job and its files).
public final class TxnServer: Sendable {
    public let settings: ServerSettings
    let data: DataStore
    let sources: SourceStore
    let queue: JobQueue
    let streams = PlaceCounter()
    let uploads: UploadPool
    let headless: HeadlessConnections
    public let token: String?

    public init(settings: ServerSettings) throws {
        var s = settings
        s.dataDirectory = URL(fileURLWithPath: settings.dataDirectory).standardized.path
        s.shippedDirectory = URL(fileURLWithPath: settings.shippedDirectory).standardized.path
        s.modelsDirectory = URL(fileURLWithPath: settings.modelsDirectory).standardized.path
        if !s.isLoopback && s.token == nil {
            var rng = SystemRandomNumberGenerator()
            s.token = (0..<3).map { _ in String(format: "%016llx", rng.next() as UInt64) }.joined()
        }
        self.settings = s
        token = s.isLoopback ? nil : s.token
        try FileManager.default.createDirectory(atPath: s.dataDirectory, withIntermediateDirectories: true)
        data = DataStore(directory: s.dataDirectory, maxFiles: s.limits.storedFiles, maxBytes: s.limits.storedBytes)
        sources = try SourceStore(settings: s, data: data)
        queue = JobQueue(settings: s, data: data)
        data.isInUse = { [weak queue] entry in queue?.uses(entry) ?? true }
        data.onEvict = { [weak sources] entry in if entry.kind == .upload { sources?.forget(entry.key) } }
        uploads = UploadPool(threads: s.limits.decodeThreads, waiting: s.limits.decodeWaiting)
        headless = HeadlessConnections(limit: s.headlessLimit)
    }

    /// What `--data` holds (count and bytes of each kind) and its quota: printed at the start.
    public var dataSummary: String { data.summary }

    /// The address to open in a browser (with the token when one is needed).
    public func url(port: Int) -> String {
        let host = settings.host.contains(":") ? "[\(settings.host)]" : settings.host
        return "http://\(host):\(port)/" + (token.map { "?token=\($0)" } ?? "")
    }

    public func router() -> Router<BasicRequestContext> {
        // HEAD answers as GET does, without the body.
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: AccessGuardMiddleware(policy: AccessPolicy(loopback: settings.isLoopback, token: token)))

        router.get("/") { _, _ in Self.text(Page.html, type: "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in Self.text(Page.script, type: "text/javascript; charset=utf-8") }
        router.get("/app.css") { _, _ in Self.text(Page.style, type: "text/css; charset=utf-8") }

        router.get("/api/capabilities") { [settings] _, _ in
            JSON.response(["methods": JobKinds.all.map { $0.method }, "threads": Hosting.threads,
                           "limits": ["uploadBytes": settings.limits.uploadBytes, "uploadPixels": settings.limits.uploadPixels,
                                      "jobWork": settings.limits.jobWork, "steps": settings.limits.steps,
                                      "queuedJobs": settings.limits.queuedJobs, "sourcePixels": settings.limits.sourcePixels,
                                      "decodeSeconds": settings.limits.decodeSeconds, "jpegScans": DecodeLimits.defaultMaxScans,
                                      "storedFiles": settings.limits.storedFiles, "storedBytes": settings.limits.storedBytes]])
        }

        router.get("/api/defaults") { _, _ in JSON.response(JobKinds.defaults) }

        router.get("/api/sources") { [sources] _, _ in
            JSON.response(["sources": sources.all.map(\.json)])
        }
        router.post("/api/sources") { [sources, uploads, settings] request, _ in
            // The place is taken before the body is read: a busy server answers at once, holding nothing.
            guard let place = uploads.admit() else {
                throw APIError(.serviceUnavailable, "the server is busy with \(uploads.capacity) uploads; try again shortly",
                               retryAfter: 2)
            }
            defer {
                place.giveBack()
                Memory.returnFreed()
            }
            let entry = try await Self.receiveUpload(request, sources: sources, pool: uploads, limits: settings.limits)
            return JSON.response(entry.json, status: .created)
        }
        router.delete("/api/sources/:id") { [sources, data] _, context in
            guard let id = context.parameters.get("id"), let entry = sources.get(id) else { throw APIError.notFound("such source") }
            guard !entry.shipped else { throw APIError(.forbidden, "'\(entry.name)' is shipped with txn; only uploads can be deleted") }
            try data.remove(kind: .upload, key: id)
            sources.forget(id)
            return JSON.response(["deleted": id])
        }
        router.get("/api/sources/:id/image") { [sources] _, context in
            guard let id = context.parameters.get("id"), let entry = sources.get(id) else { throw APIError.notFound("such source") }
            let bytes = try sources.bytes(of: entry)
            return Self.bytes(bytes, type: entry.format == .png ? "image/png" : "image/jpeg")
        }

        router.get("/api/jobs") { [queue] _, _ in
            JSON.response(["jobs": queue.all.map(\.summary)])
        }
        router.post("/api/jobs") { [queue, sources, settings] request, _ in
            try Self.requireJSON(request)
            let object = try JSON.object(try await collectBody(request, limit: 64 * 1024))
            guard case .string(let method)? = object["method"] else {
                throw APIError.badRequest("'method' is required: one of \(JobKinds.all.map { $0.method }.joined(separator: ", "))")
            }
            guard let kind = JobKinds.kind(method) else {
                throw APIError.badRequest("'method': unknown method '\(method)'; this server runs "
                                          + JobKinds.all.map { $0.method }.joined(separator: ", "))
            }
            let job = try queue.submit(try kind.init(parameters: object, sources: sources, limits: settings.limits))
            return JSON.response(job.summary, status: .created)
        }
        router.get("/api/jobs/:id") { [queue] _, context in
            JSON.response(try Self.job(queue, context).summary)
        }
        router.get("/api/jobs/:id/events") { [queue, streams, settings] request, context in
            let job = try Self.job(queue, context)
            guard let slot = streams.acquire(limit: settings.limits.eventStreams) else {
                throw APIError(.serviceUnavailable, "too many event streams open (limit \(settings.limits.eventStreams))")
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-store"
            // The slot is released when the body ends (the job finished, the client went away, the task was
            // cancelled, a write failed) and, if the body is never written (the connection was gone before the
            // head could be sent, or a HEAD request), when the response is dropped: `HeldPlace`'s deinit.
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                defer { slot.giveBack() }
                let events = job.subscribe()
                // A client that closes or resets its connection ends the stream at once, not at the next event.
                try await request.body.consumeWithCancellationOnInboundClose { _ in
                    for await event in events {
                        try await writer.write(ByteBuffer(string: event))
                    }
                }
                try await writer.finish(nil)
            })
        }
        router.get("/api/jobs/:id/image") { [queue] _, context in
            let job = try Self.job(queue, context)
            guard let image = job.image else { throw APIError(.notFound, "job \(job.id) has no image yet") }
            return Self.bytes(image.png, type: "image/png")
        }
        router.post("/api/jobs/:id/stop") { [queue] _, context in
            let job = try Self.job(queue, context)
            let stopping = queue.stop(job)
            return JSON.response(["id": job.id, "stopping": stopping, "status": job.currentStatus.rawValue],
                                 status: stopping ? .accepted : .conflict)
        }
        router.delete("/api/jobs/:id") { [queue, data] _, context in
            let job = try Self.job(queue, context)
            guard job.currentStatus.isFinished else {
                throw APIError(.conflict, "job \(job.id) is \(job.currentStatus.rawValue); stop it before deleting it")
            }
            try data.remove(kind: .generator, key: job.id)
            _ = queue.forget(job)
            return JSON.response(["deleted": job.id])
        }
        router.get("/api/jobs/:id/files/:name") { [queue] _, context in
            let job = try Self.job(queue, context)
            guard let name = context.parameters.get("name"), let file = job.file(name) else {
                throw APIError(.notFound, "job \(job.id) has no such file")
            }
            guard let bytes = try? SafeFile.read(file.path, limit: Hosting.memoryLimitBytes, followSymlinks: false) else {
                throw APIError(.notFound, "job \(job.id)'s \(name) is no longer stored (deleted, or removed to keep within the storage quota)")
            }
            var response = Self.bytes(bytes, type: file.contentType)
            response.headers[.contentDisposition] = "attachment; filename=\"\(file.filename)\""
            return response
        }
        router.get("/api/jobs/:id/notebook") { [queue] _, context in
            let job = try Self.job(queue, context)
            var response = Self.text(job.notebook, type: "text/plain; charset=utf-8")
            response.headers[.contentDisposition] = "attachment; filename=\"job-\(job.id).txn\""
            return response
        }
        return router
    }

    /// A keep-alive comment on every open event stream, so closed connections are noticed.
    func keepAlive() {
        for job in queue.all where !job.currentStatus.isFinished { job.keepAlive() }
    }

    public func application(port: Int? = nil, onRunning: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
        let headless = self.headless
        return Application(
            router: router(),
            // The idle timeout is also the header timeout: a connection that sends half a head is closed after it, or
            // sooner when newer connections need its place (`HeadlessConnections`).
            server: .http1(configuration: HTTP1Channel.Configuration(additionalChannelHandlers: [RefusedRequestAnswer(), HeadWatch(headless)],
                                                                     idleTimeout: .seconds(Int64(settings.limits.idleSeconds)))),
            configuration: .init(address: .hostname(settings.host, port: port ?? settings.port), serverName: "txn",
                                 availableConnectionsDelegate: MaximumAvailableConnections(settings.connectionLimit)),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? 0) })
    }

    /// Serves until the process is interrupted.
    public func run(onRunning: @escaping @Sendable (Int) -> Void) async throws {
        let app = application(onRunning: onRunning)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(15))
                    keepAlive()
                }
            }
            group.addTask { try await app.runService() }
            try await group.next()
            group.cancelAll()
        }
    }

    /// The job API reads JSON only when it is labelled as JSON: a cross-site form or a `text/plain` fetch (which a
    /// browser sends without asking first) is refused before its body is read.
    static func requireJSON(_ request: Request) throws {
        let type = request.headers[.contentType] ?? ""
        let media = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard media == "application/json" else {
            throw APIError(.unsupportedMediaType, "\(request.method.rawValue) \(request.uri.path) takes a JSON body with "
                           + "Content-Type: application/json" + (type.isEmpty ? " (the request has no Content-Type)" : ", not '\(type)'"))
        }
    }

    /// An upload's body (within the byte cap and `uploadSeconds`), then its parsing, decoding and storing on a pool
    /// thread. The body lives only in here, so it is freed before the handler returns its memory.
    static func receiveUpload(_ request: Request, sources: SourceStore, pool: UploadPool,
                              limits: ServerSettings.Limits) async throws -> SourceEntry {
        let body = try await collectBody(request, limit: limits.uploadBytes, seconds: limits.uploadSeconds)
        let contentType = request.headers[.contentType] ?? ""
        return try await pool.run { try sources.upload(body, contentType: contentType) }
    }

    static func job(_ queue: JobQueue, _ context: BasicRequestContext) throws -> Job {
        guard let id = context.parameters.get("id"), let job = queue.job(id) else { throw APIError.notFound("such job") }
        return job
    }

    static func text(_ s: String, type: String) -> Response { bytes(Array(s.utf8), type: type) }

    static func bytes(_ b: [UInt8], type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        headers[.xContentTypeOptions] = "nosniff"
        // The page loads nothing from elsewhere and runs no inline script.
        headers[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: b)))
    }
}
