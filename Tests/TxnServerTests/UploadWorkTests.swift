import Foundation
import Hummingbird
import HummingbirdTesting
import TxnImage
import TxnTestSupport
import XCTest
@testable import TxnServer
#if canImport(Glibc)
import Glibc
#endif

/// Issue 19: decoding an upload is bounded work, off the event loops, a few at a time.
final class UploadWorkTests: XCTestCase {
    func json(_ reply: LoopbackClient.Reply) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
    }

    /// Two scan-bomb uploads at once (4000x4000, 10,000 scans: 30 s of decoding each without a limit): while both are
    /// in the server the page is answered within 1 s, and both are refused (422) at the scan limit.
    func testScanBombUploadsAreRefusedAndThePageStaysServed() async throws {
        let server = try makeServer()
        let bomb = ScanBombJPEG.make(width: 4000, height: 4000, scans: 10_000)
        try await server.application(port: 0).test(.live) { client in
            let http = LoopbackClient(port: try XCTUnwrap(client.port), timeout: 60)
            nonisolated(unsafe) var answers: [LoopbackClient.Reply] = []
            let lock = NSLock()
            let done = DispatchGroup()
            for _ in 0..<2 {
                done.enter()
                Thread.detachNewThread {
                    let reply = (try? http.request("/api/sources", method: "POST", headers: ["Content-Type: image/jpeg"], body: bomb).0)
                        ?? LoopbackClient.Reply(status: 0, head: "", body: [])
                    lock.lock(); answers.append(reply); lock.unlock()
                    done.leave()
                }
            }
            // Both uploads have their place (their bodies are in, or coming in, and then decode).
            let admitted = Date().addingTimeInterval(20)
            while server.uploads.inServer < 2 && Date() < admitted { try await Task.sleep(for: .milliseconds(2)) }
            XCTAssertEqual(server.uploads.inServer, 2, "both uploads are in the server")
            var pageSeconds: [Double] = []
            while server.uploads.inServer == 2 && pageSeconds.count < 20 {
                let (page, seconds) = try http.request("/")
                XCTAssertEqual(page.status, 200)
                pageSeconds.append(seconds)
                try await Task.sleep(for: .milliseconds(20))
            }
            XCTAssertFalse(pageSeconds.isEmpty, "the page was asked for while both uploads were in the server")
            XCTAssertLessThan(pageSeconds.max() ?? 0, 1, "the page during two scan-bomb decodes: \(pageSeconds)")
            XCTAssertEqual(done.wait(timeout: .now() + 60), .success, "the uploads are answered")
            XCTAssertEqual(answers.map(\.status), [422, 422], answers.map(\.text).joined(separator: "\n"))
            for answer in answers {
                XCTAssertTrue((self.json(answer)["error"] as? String ?? "").contains("more than \(DecodeLimits.defaultMaxScans) scans"),
                              answer.text)
            }
            XCTAssertEqual(server.uploads.inServer, 0, "every place is given back")
            XCTAssertEqual(try http.request("/").0.status, 200)
        }
    }

    /// With every place taken (here one: a client that sent the head of an upload and part of its body), the next
    /// upload is answered 503 with Retry-After, without waiting; once the place is given back, uploads work again.
    func testUploadsPastTheLimitAreAnswered503AtOnce() async throws {
        let server = try makeServer { $0.limits.decodeThreads = 1; $0.limits.decodeWaiting = 0 }
        let png = try pngBytes(width: 24, height: 24)
        try await server.application(port: 0).test(.live) { client in
            let http = LoopbackClient(port: try XCTUnwrap(client.port), timeout: 20)
            let holder = try http.connect()
            let head = "POST /api/sources HTTP/1.1\r\nHost: 127.0.0.1:\(http.port)\r\nContent-Type: image/png\r\n"
                + "Content-Length: \(png.count)\r\nConnection: close\r\n\r\n"
            try http.send(holder, Array(head.utf8) + png.prefix(10))
            let admitted = Date().addingTimeInterval(10)
            while server.uploads.inServer < 1 && Date() < admitted { try await Task.sleep(for: .milliseconds(2)) }
            XCTAssertEqual(server.uploads.inServer, 1)

            let (busy, _) = try http.request("/api/sources", method: "POST", headers: ["Content-Type: image/png"], body: png)
            XCTAssertEqual(busy.status, 503, busy.text)
            XCTAssertTrue(busy.head.lowercased().contains("retry-after: 2"), busy.head)
            XCTAssertTrue((self.json(busy)["error"] as? String ?? "").contains("busy"), busy.text)

            // The rest of the body: the held upload completes, and the place is free again.
            try http.send(holder, Array(png.dropFirst(10)))
            let held = LoopbackClient.parse(http.receive(holder))
            close(holder)
            XCTAssertEqual(held.status, 201, held.text)
            let (after, _) = try http.request("/api/sources", method: "POST", headers: ["Content-Type: image/png"], body: png)
            XCTAssertEqual(after.status, 201, after.text)
            XCTAssertEqual(server.uploads.inServer, 0)
        }
    }

    /// A decode that runs past `decodeSeconds` is stopped and answered 422 (a budget of 0 s: stopped at the first row).
    func testADecodePastItsTimeBudgetIsRefused() async throws {
        let server = try makeServer { $0.limits.decodeSeconds = 0 }
        try await Application(router: server.router()).test(.router) { client in
            try await client.execute(uri: "/api/sources", method: .post, headers: [.contentType: "image/png"],
                                     body: ByteBuffer(bytes: try pngBytes(width: 32, height: 32))) { r in
                XCTAssertEqual(r.status, .unprocessableContent, r.text)
                XCTAssertTrue((r.json["error"] as? String ?? "").contains("time budget"), r.text)
            }
            try await client.execute(uri: "/api/sources", method: .get) { r in
                XCTAssertEqual((r.json["sources"] as? [[String: Any]])?.filter { $0["kind"] as? String == "upload" }.count, 0)
            }
        }
    }

    /// A body that trickles in just inside the idle timeout is cut at `uploadSeconds` (408), and its place given back.
    func testABodyThatTricklesInIsCutAtItsDeadline() async throws {
        let server = try makeServer { $0.limits.uploadSeconds = 1 }
        let png = try pngBytes(width: 24, height: 24)
        try await server.application(port: 0).test(.live) { client in
            let http = LoopbackClient(port: try XCTUnwrap(client.port), timeout: 20)
            let fd = try http.connect()
            defer { close(fd) }
            let head = "POST /api/sources HTTP/1.1\r\nHost: 127.0.0.1:\(http.port)\r\nContent-Type: image/png\r\n"
                + "Content-Length: \(png.count)\r\nConnection: close\r\n\r\n"
            try http.send(fd, Array(head.utf8) + png.prefix(10))
            var sent = 10
            // A byte every 300 ms: never idle for long, but not done within the second.
            while sent < 20 {
                try await Task.sleep(for: .milliseconds(300))
                guard (try? http.send(fd, [png[sent]])) != nil else { break }
                sent += 1
            }
            let reply = LoopbackClient.parse(http.receive(fd))
            XCTAssertEqual(reply.status, 408, reply.text)
            XCTAssertTrue((self.json(reply)["error"] as? String ?? "").contains("longer than 1 s"), reply.text)
            let deadline = Date().addingTimeInterval(5)
            while server.uploads.inServer > 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
            XCTAssertEqual(server.uploads.inServer, 0)
        }
    }
}
