import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import TxnServer
#if canImport(Glibc)
import Glibc
#endif

/// Issue 19's server half, each case made here: through HTTP only (loopback, bounded in count and time).
final class HostileClientTests: XCTestCase {
    /// Sends `request` and resets the connection at once (SO_LINGER 0: an RST, not a FIN), as the issue's client did.
    func sendAndReset(_ http: LoopbackClient, _ request: String) throws {
        let fd = try http.connect()
        try http.send(fd, Array(request.utf8))
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }

    func json(_ reply: LoopbackClient.Reply) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
    }

    /// Submits a small Gatys job over `http` and returns its id.
    func submit(_ http: LoopbackClient, steps: Int, size: Int = 16) throws -> String {
        let body = Array(#"{"method":"gatys","source":"ihc","size":\#(size),"sourceSize":16,"steps":\#(steps)}"#.utf8)
        let (created, _) = try http.request("/api/jobs", method: "POST", headers: ["Content-Type: application/json"], body: body)
        XCTAssertEqual(created.status, 201, created.text)
        return try XCTUnwrap(json(created)["id"] as? String)
    }

    /// Polls the job until it has finished; returns its summary.
    func waitUntilFinished(_ http: LoopbackClient, _ id: String, timeout: Double) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let summary = json(try http.request("/api/jobs/\(id)").0)
            if ["done", "stopped", "error"].contains(summary["status"] as? String ?? "") { return summary }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTFail("job \(id) did not finish in \(timeout) s")
        return [:]
    }

    // MARK: Event-stream slots

    /// Event requests reset right after sending, and HEAD requests for the stream, all give their slot back:
    /// afterwards a stream still opens (before, each reset kept its slot for the life of the server).
    func testResetAndHeadEventRequestsGiveTheirSlotBack() async throws {
        let server = try makeServer { $0.limits.eventStreams = 4 }
        try await server.application(port: 0).test(.live) { client in
            let http = LoopbackClient(port: try XCTUnwrap(client.port))
            let id = try self.submit(http, steps: 1)
            let finished = try await self.waitUntilFinished(http, id, timeout: 120)
            XCTAssertEqual(finished["status"] as? String, "done", "\(finished)")
            for _ in 0..<60 {
                try self.sendAndReset(http, "GET /api/jobs/\(id)/events HTTP/1.1\r\nHost: 127.0.0.1:\(http.port)\r\n\r\n")
            }
            for _ in 0..<8 {
                let (head, _) = try http.request("/api/jobs/\(id)/events", method: "HEAD")
                XCTAssertTrue([200, 503].contains(head.status), "HEAD of the stream: \(head.status) \(head.text)")
            }
            // The server may still be finishing the reset connections: a stream must open within a few seconds.
            var reply = LoopbackClient.Reply(status: 0, head: "", body: [])
            let deadline = Date().addingTimeInterval(5)
            repeat {
                reply = try http.request("/api/jobs/\(id)/events").0
                if reply.status == 200 { break }
                try await Task.sleep(for: .milliseconds(100))
            } while Date() < deadline
            XCTAssertEqual(reply.status, 200, "a stream opens after the resets: \(reply.text)")
            let events = parseEvents(reply.text).map(\.name)
            XCTAssertEqual(events.first, "state")
            XCTAssertEqual(events.last, "done")
            XCTAssertEqual(server.streams.count, 0, "every slot is back once the streams have ended")
        }
    }

    // MARK: Jobs

    /// Stop works at any moment: right after the job is submitted (queued or starting), while another job runs
    /// (queued), and before the first iteration; a stopped job ends at once, not after its steps.
    func testStopWorksAtAnyMoment() async throws {
        let server = try makeServer()
        try await server.application(port: 0).test(.live) { client in
            let http = LoopbackClient(port: try XCTUnwrap(client.port))
            // 5000 steps at 16x16 is minutes of work: a stop that is ignored shows as a timeout here.
            let first = try self.submit(http, steps: 5000), second = try self.submit(http, steps: 5000)
            let (stopSecond, _) = try http.request("/api/jobs/\(second)/stop", method: "POST")
            XCTAssertEqual(stopSecond.status, 202, stopSecond.text)
            let (stopFirst, _) = try http.request("/api/jobs/\(first)/stop", method: "POST")
            XCTAssertEqual(stopFirst.status, 202, stopFirst.text)
            for id in [first, second] {
                let summary = try await self.waitUntilFinished(http, id, timeout: 60)
                XCTAssertEqual(summary["status"] as? String, "stopped", "\(summary)")
                // Stopped before its first iteration: it ends there, with nothing run (before, it ran an iteration first).
                let result = summary["result"] as? [String: Any] ?? [:]
                XCTAssertEqual(result["iterations"] as? Int, 0, "\(result)")
                XCTAssertNil(result["stoppedAfter"], "\(result)")
            }
            // Once the model is loaded: a job stopped as soon as it is seen running.
            let third = try self.submit(http, steps: 5000)
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let status = self.json(try http.request("/api/jobs/\(third)").0)["status"] as? String
                if status != "queued" { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            XCTAssertEqual(try http.request("/api/jobs/\(third)/stop", method: "POST").0.status, 202)
            let summary = try await self.waitUntilFinished(http, third, timeout: 60)
            XCTAssertEqual(summary["status"] as? String, "stopped", "\(summary)")
            let result = summary["result"] as? [String: Any] ?? [:]
            XCTAssertLessThan(result["stoppedAfter"] as? Int ?? result["iterations"] as? Int ?? .max, 100, "\(result)")
        }
    }

    /// A server started again over the same data folder makes new ids: a job never takes the id (and so the
    /// generator file, which `from` finds) of a job of an earlier run.
    func testJobIdsAreNotReusedAcrossRestarts() async throws {
        let first = try makeServer()
        let again = try TxnServer(settings: first.settings)
        var ids: [String] = []
        for server in [first, again, first] {
            ids += try await Application(router: server.router()).test(.router) { client in
                var made: [String] = []
                for _ in 0..<2 {
                    let id = try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                                      body: jsonBody(["method": "gatys", "source": "ihc", "size": 16, "steps": 1,
                                                                      "sourceSize": 16])) { r in
                        XCTAssertEqual(r.status, .created, r.text)
                        return r.json["id"] as? String ?? ""
                    }
                    made.append(id)
                    _ = try await client.execute(uri: "/api/jobs/\(id)/stop", method: .post)
                }
                return made
            }
        }
        XCTAssertEqual(Set(ids).count, ids.count, "ids are unique across servers over one data folder: \(ids)")
        // `from` takes only an id of the form the server makes.
        try await Application(router: again.router()).test(.router) { client in
            for from in ["1", "../x", "\(ids[0])/../../etc", "\(ids[0]).pth", ""] {
                try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                         body: jsonBody(["method": "gan", "source": "gravel", "from": from])) { r in
                    XCTAssertEqual(r.status, .badRequest, "from '\(from)': \(r.text)")
                    XCTAssertTrue(r.text.contains("'from'"), r.text)
                }
            }
        }
    }

    /// A job's error names files relative to the data folder, never the server's absolute paths.
    func testJobErrorsShowNoServerPaths() async throws {
        let server = try makeServer()
        try await Application(router: server.router()).test(.router) { client in
            let id = try await client.execute(uri: "/api/sources", method: .post, body: ByteBuffer(bytes: try pngBytes(width: 24, height: 24))) {
                $0.json["id"] as? String ?? ""
            }
            try FileManager.default.removeItem(atPath: server.settings.dataDirectory + "/sources/\(id).png")
            let failing = try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                                   body: jsonBody(["method": "gatys", "source": id, "size": 24, "steps": 2])) {
                $0.json["id"] as? String ?? ""
            }
            let events = parseEvents(try await client.execute(uri: "/api/jobs/\(failing)/events", method: .get) { $0.text })
            XCTAssertEqual(events.last?.name, "error")
            let text = "\(events.last?.data ?? [:])"
            XCTAssertTrue(text.contains("sources/\(id).png"), text)
            for folder in [server.settings.dataDirectory, server.settings.shippedDirectory, server.settings.modelsDirectory] {
                XCTAssertFalse(text.contains(folder), "the error shows \(folder): \(text)")
            }
            XCTAssertFalse(text.contains(NSTemporaryDirectory()), text)
        }
    }

    // MARK: Refusals

    /// Hosts that only look like localhost, two Host headers, and an Origin that is localhost on another port.
    func testMalformedAndDuplicateHostsAndForeignOriginsAreRefused() async throws {
        let server = try makeServer()
        try await server.application(port: 0).test(.live) { client in
            let http = LoopbackClient(port: try XCTUnwrap(client.port))
            let port = http.port
            for host in ["[::1]evil.com", "[::1]evil.com:\(port)", "localhost:evil", "127.0.0.1:\(port):1", "localhost:99999",
                         "localhost:", "local host", "localhost@evil.example", "[::1"] {
                let (reply, _) = try http.request("/api/sources", host: host)
                XCTAssertEqual(reply.status, 403, "Host: \(host): \(reply.text)")
                XCTAssertNotNil(self.json(reply)["error"] as? String, host)
            }
            let (twice, _) = try http.request("/api/sources", headers: ["Host: evil.example"])
            XCTAssertEqual(twice.status, 403, "two Host headers: \(twice.text)")
            XCTAssertTrue(twice.text.contains("Host headers"), twice.text)
            for origin in ["http://127.0.0.1:1", "http://127.0.0.1", "http://localhost:\(port)", "https://127.0.0.1:\(port)",
                           "http://127.0.0.1:\(port)/path", "http://127.0.0.1:\(port)x"] {
                let (reply, _) = try http.request("/api/sources", headers: ["Origin: \(origin)"])
                XCTAssertEqual(reply.status, 403, "Origin: \(origin) to 127.0.0.1:\(port): \(reply.text)")
            }
            let (own, _) = try http.request("/api/sources", headers: ["Origin: http://127.0.0.1:\(port)"])
            XCTAssertEqual(own.status, 200, "the server's own origin: \(own.text)")
            let (ownByName, _) = try http.request("/api/sources", host: "localhost:\(port)", headers: ["Origin: http://LOCALHOST:\(port)"])
            XCTAssertEqual(ownByName.status, 200, ownByName.text)
        }
    }

    /// In token mode an Origin without a Host is refused (the Origin rule needs the Host to compare with).
    func testTokenModeRefusesAnOriginWithoutAHost() async throws {
        let server = try makeServer { $0.host = "0.0.0.0"; $0.token = "s3cret-token" }
        try await Application(router: server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            .test(.live) { client in
                let http = LoopbackClient(port: try XCTUnwrap(client.port))
                func raw(_ headers: [String]) throws -> LoopbackClient.Reply {
                    let fd = try http.connect()
                    defer { close(fd) }
                    let head = "GET /api/sources HTTP/1.1\r\n" + headers.map { $0 + "\r\n" }.joined() + "Connection: close\r\n\r\n"
                    try http.send(fd, Array(head.utf8))
                    return LoopbackClient.parse(http.receive(fd))
                }
                let withoutHost = try raw(["Origin: http://evil.example", "Authorization: Bearer s3cret-token"])
                XCTAssertEqual(withoutHost.status, 403, withoutHost.text)
                let withOwnOrigin = try raw(["Host: 127.0.0.1:\(http.port)", "Origin: http://127.0.0.1:\(http.port)",
                                             "Authorization: Bearer s3cret-token"])
                XCTAssertEqual(withOwnOrigin.status, 200, withOwnOrigin.text)
                let withOtherPort = try raw(["Host: 127.0.0.1:\(http.port)", "Origin: http://127.0.0.1:1",
                                             "Authorization: Bearer s3cret-token"])
                XCTAssertEqual(withOtherPort.status, 403, withOtherPort.text)
            }
    }

    /// The job API takes JSON only when it says so: `text/plain` (which a browser sends cross-site without asking)
    /// and no Content-Type are refused with 415 before the body is read.
    func testJobsTakeOnlyBodiesLabelledJSON() async throws {
        let server = try makeServer()
        try await Application(router: server.router()).test(.router) { client in
            let body = jsonBody(["method": "gatys", "source": "ihc", "size": 16, "steps": 0])
            for type in ["text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data",
                         "application/jsonx", ""] {
                let headers: HTTPFields = type.isEmpty ? [:] : [.contentType: type]
                try await client.execute(uri: "/api/jobs", method: .post, headers: headers, body: body) { r in
                    XCTAssertEqual(r.status, .unsupportedMediaType, "Content-Type '\(type)': \(r.text)")
                    XCTAssertTrue((r.json["error"] as? String ?? "").contains("application/json"), r.text)
                }
            }
            for type in ["application/json", "Application/JSON; charset=utf-8"] {
                try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: type], body: body) { r in
                    XCTAssertEqual(r.status, .badRequest, "Content-Type '\(type)' gets to the parameters: \(r.text)")
                    XCTAssertTrue(r.text.contains("'steps' must be 1 to"), r.text)
                }
            }
        }
    }

    /// HEAD answers as GET does, without a body; an over-long URI gets an answer that says what.
    func testHeadAndAnOverlongURI() async throws {
        let server = try makeServer()
        try await server.application(port: 0).test(.live) { client in
            let http = LoopbackClient(port: try XCTUnwrap(client.port))
            for path in ["/", "/app.js", "/api/sources", "/api/sources/gravel/image"] {
                let (get, _) = try http.request(path)
                let (head, _) = try http.request(path, method: "HEAD")
                XCTAssertEqual(head.status, 200, "HEAD \(path): \(head.text)")
                XCTAssertEqual(head.body, [], "HEAD \(path) has no body")
                XCTAssertTrue(head.head.lowercased().contains("content-length: \(get.body.count)"), "HEAD \(path): \(head.head)")
            }
            let (missing, _) = try http.request("/nothing-here", method: "HEAD")
            XCTAssertEqual(missing.status, 404)

            let (long, _) = try http.request("/" + String(repeating: "a", count: 100_000))
            XCTAssertTrue([400, 414, 431].contains(long.status), "\(long.status): \(long.text)")
            let message = self.json(long)["error"] as? String ?? ""
            XCTAssertTrue(message.contains("too long"), "the answer says what: '\(long.text)'")
            // The server is still there.
            XCTAssertEqual(try http.request("/").0.status, 200)
        }
    }

    // MARK: Connections

    /// Connections that send half a request head are closed after the idle timeout, and the page is served
    /// meanwhile and after (before, each was held as long as the client liked).
    func testHalfHeadConnectionsAreClosedAndThePageStillServed() async throws {
        let server = try makeServer { $0.limits.idleSeconds = 1; $0.limits.connections = 40 }
        try await server.application(port: 0).test(.live) { client in
            let http = LoopbackClient(port: try XCTUnwrap(client.port), timeout: 8)
            var slow: [Int32] = []
            defer { for fd in slow { close(fd) } }
            for _ in 0..<30 {
                let fd = try http.connect()
                try http.send(fd, Array("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8))
                slow.append(fd)
            }
            let (during, seconds) = try http.request("/")
            XCTAssertEqual(during.status, 200)
            XCTAssertLessThan(seconds, 1, "the page is served while the half-head connections are open")
            // Each slow connection is closed by the server: recv sees the end (0, or a reset), not the client's timeout.
            let start = Date()
            for fd in slow {
                var byte: UInt8 = 0
                let n = recv(fd, &byte, 1, 0)
                let closedByServer = n == 0 || (n < 0 && errno == ECONNRESET)
                guard closedByServer else {
                    XCTFail("a connection that never finished its head is still open after \(Date().timeIntervalSince(start)) s")
                    break
                }
            }
            XCTAssertLessThan(Date().timeIntervalSince(start), 5, "closed after about the idle timeout (1 s)")
            XCTAssertEqual(try http.request("/").0.status, 200)
        }
    }

    /// More half-head connections than the limit: each new connection closes the oldest that has not sent a head,
    /// so the page is served at once (before, the newcomers waited in the listen backlog until the idle timeout
    /// had cleared the ones ahead of them), and a connection that has sent its head is never closed for it.
    func testMoreHalfHeadConnectionsThanTheLimitDoNotKeepThePageWaiting() async throws {
        let server = try makeServer { $0.limits.connections = 20 }
        try await server.application(port: 0).test(.live) { client in
            let http = LoopbackClient(port: try XCTUnwrap(client.port), timeout: 8)
            // An event stream of a job that waits: a connection that sent its head long ago.
            let job = try self.submit(http, steps: 5000)
            let stream = try http.connect()
            defer { close(stream) }
            try http.send(stream, Array("GET /api/jobs/\(job)/events HTTP/1.1\r\nHost: 127.0.0.1:\(http.port)\r\n\r\n".utf8))
            let first = http.receive(stream) { String(decoding: $0, as: UTF8.self).contains("event: state") }
            XCTAssertTrue(String(decoding: first, as: UTF8.self).contains("event: state"))
            var slow: [Int32] = []
            defer { for fd in slow { close(fd) } }
            for _ in 0..<60 {
                let fd = try http.connect()
                try http.send(fd, Array("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8))
                slow.append(fd)
            }
            let (during, seconds) = try http.request("/")
            XCTAssertEqual(during.status, 200)
            XCTAssertLessThan(seconds, 1, "the page is served while 60 half-head connections are open (limit 20)")
            // 40 of them were closed to make room (the server answers them with nothing), well before the idle
            // timeout (10 s) would have closed them. Which 40 depends on the order the two event loops accepted
            // them in, so every one is watched, without blocking, until 40 have closed.
            let start = Date()
            var open = Set(slow)
            while slow.count - open.count < 40 && Date().timeIntervalSince(start) < 5 {
                for fd in open {
                    var byte: UInt8 = 0
                    let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
                    if n == 0 || (n < 0 && errno == ECONNRESET) { open.remove(fd) }
                }
                usleep(10_000)
            }
            XCTAssertGreaterThanOrEqual(slow.count - open.count, 40, "half-head connections closed for newer ones")
            XCTAssertLessThan(Date().timeIntervalSince(start), 5, "closed to make room, not at the idle timeout")
            XCTAssertLessThanOrEqual(server.headless.count, 20)
            // The stream is still open: stopping its job ends it with its last event.
            XCTAssertEqual(try http.request("/api/jobs/\(job)/stop", method: "POST").0.status, 202)
            let rest = String(decoding: http.receive(stream) { String(decoding: $0, as: UTF8.self).contains("event: stopped") }, as: UTF8.self)
            XCTAssertTrue(rest.contains("event: stopped"), rest)
        }
    }

    // MARK: Files

    /// A FIFO named like a texture in the shipped folder is skipped, without blocking the start.
    func testAShippedFIFOIsSkippedWithoutBlocking() throws {
        let dir = NSTemporaryDirectory() + "txn-shipped-fifo-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/real.png", contents: Data(try pngBytes(width: 16, height: 16)))
        let fifo = dir + "/pipe.png"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        nonisolated(unsafe) var made: TxnServer?
        nonisolated(unsafe) var failure: Error?
        let started = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do { made = try makeServer(shipped: dir) } catch { failure = error }
            started.signal()
        }
        if started.wait(timeout: .now() + 20) == .timedOut {
            // Let the blocked open() go (a writer appears and leaves), so the test process is not left hanging.
            let writer = open(fifo, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            _ = started.wait(timeout: .now() + 5)
            XCTFail("the server blocked on the FIFO in its shipped folder")
            return
        }
        XCTAssertNil(failure)
        XCTAssertEqual(made?.sources.all.map(\.id), ["real"])
    }
}
