import Foundation
import Hummingbird
import HummingbirdTesting
import TxnNotebook
import TxnTestSupport
import XCTest
@testable import TxnServer

/// The job lifecycle through the API, and the promise that every job is a notebook that replays to
/// the same bytes.
final class JobTests: XCTestCase {
    /// Runs a job's notebook as `txn job.txn` would (a fresh interpreter in a fresh folder) and
    /// returns the PNG it saved.
    func replay(_ notebook: String, jobID: String) throws -> [UInt8] {
        let dir = NSTemporaryDirectory() + "txn-replay-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let log = RecordingOutput(next: nil)
        let interpreter = Interpreter(output: log, baseDirectory: dir, modelsDirectory: Paths.repoRoot + "/Models")
        let errors = interpreter.run(source: notebook, file: "job-\(jobID).txn")
        XCTAssertEqual(errors.map(\.description), [], log.text)
        return Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/job-\(jobID).png")))
    }

    func waitFor(_ client: some TestClientProtocol, job id: String, timeout: Double = 120,
                 until condition: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let summary = try await client.execute(uri: "/api/jobs/\(id)", method: .get) { $0.json }
            if condition(summary) { return summary }
            try await Task.sleep(for: .milliseconds(20))
        }
        XCTFail("job \(id) did not get there in \(timeout) s")
        return [:]
    }

    func testGatysJobRunsStreamsAndReplaysToTheSameBytes() async throws {
        let server = try makeServer()
        try await Application(router: server.router()).test(.router) { client in
            let created = try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                                   body: jsonBody(["method": "gatys", "source": "gravel", "size": 40,
                                                                   "steps": 4, "seed": 7, "tile": true, "sourceSize": 32])) { $0 }
            XCTAssertEqual(created.status, .created, created.text)
            let id = try XCTUnwrap(created.json["id"] as? String)

            // The stream ends after the job: state first, a progress event per iteration, then done.
            let events = parseEvents(try await client.execute(uri: "/api/jobs/\(id)/events", method: .get) { r in
                XCTAssertEqual(r.headers[.contentType], "text/event-stream")
                return r.text
            })
            XCTAssertEqual(events.first?.name, "state")
            XCTAssertEqual(events.last?.name, "done", "\(events.last?.data ?? [:])")
            let done = try XCTUnwrap(events.last?.data)
            XCTAssertEqual(done["iterations"] as? Int, 4)
            let distance = try XCTUnwrap(done["distance"] as? [String: Any])
            XCTAssertGreaterThan(distance["gramLoss"] as? Double ?? 0, 0)
            XCTAssertGreaterThan(distance["sliced"] as? Double ?? 0, 0)
            // Iterations seen live (or, if the stream opened late, in the state's curve): 1...4, in order.
            let seen = (events.first?.data["series"] as? [String: [Double]])?["loss"]?.count ?? 0
            let live = events.filter { $0.name == "progress" }.compactMap { $0.data["iteration"] as? Int }
            XCTAssertEqual(live, Array((seen + 1)...4).filter { $0 > seen })

            let png = try await client.execute(uri: "/api/jobs/\(id)/image", method: .get) { r in
                XCTAssertEqual(r.headers[.contentType], "image/png")
                return Array(r.body.readableBytesView)
            }
            let notebook = try await client.execute(uri: "/api/jobs/\(id)/notebook", method: .get) { $0.text }
            XCTAssertTrue(notebook.contains("optimize x size=40x40 steps=4"), notebook)
            XCTAssertTrue(notebook.contains("padding=circular seed=7"), notebook)
            XCTAssertEqual(try self.replay(notebook, jobID: id), png, "the notebook replays the job to the same PNG bytes")
        }
    }

    /// Posts a job and follows its event stream to the end, which must be `done`: the job's id, its events and the
    /// `done` event's data.
    func finishedJob(_ client: some TestClientProtocol, _ body: [String: Any],
                     file: StaticString = #filePath, line: UInt = #line) async throws -> (id: String, events: [(name: String, data: [String: Any])], done: [String: Any]) {
        let created = try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                               body: jsonBody(body)) { $0 }
        XCTAssertEqual(created.status, .created, created.text, file: file, line: line)
        let id = try XCTUnwrap(created.json["id"] as? String, file: file, line: line)
        let events = parseEvents(try await client.execute(uri: "/api/jobs/\(id)/events", method: .get) { $0.text })
        XCTAssertEqual(events.last?.name, "done", "\(events.last?.data ?? [:])", file: file, line: line)
        return (id, events, try XCTUnwrap(events.last?.data, file: file, line: line))
    }

    /// The GAN column's job: live D/G progress and samples, the texture, the generator download, and a notebook
    /// that replays training and generation to the same PNG bytes.
    func testGANJobTrainsStreamsOffersTheGeneratorAndReplays() async throws {
        let server = try makeServer()
        try await Application(router: server.router()).test(.router) { client in
            let capabilities = try await client.execute(uri: "/api/capabilities", method: .get) { $0.json }
            XCTAssertTrue((capabilities["methods"] as? [String] ?? []).contains("gan"), "\(capabilities)")
            let created = try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                                   body: jsonBody(["method": "gan", "source": "gravel", "preset": "small", "crop": 32,
                                                                   "batch": 2, "steps": 3, "size": 64, "seed": 5, "tile": true])) { $0 }
            XCTAssertEqual(created.status, .created, created.text)
            let id = try XCTUnwrap(created.json["id"] as? String)
            let events = parseEvents(try await client.execute(uri: "/api/jobs/\(id)/events", method: .get) { $0.text })
            XCTAssertEqual(events.last?.name, "done", "\(events.last?.data ?? [:])")
            let done = try XCTUnwrap(events.last?.data)
            XCTAssertEqual(done["iterations"] as? Int, 3)
            XCTAssertGreaterThan((done["distance"] as? [String: Any])?["sliced"] as? Double ?? 0, 0)
            let progress = events.filter { $0.name == "progress" }.map(\.data)
            for p in progress { XCTAssertNotNil(p["dLoss"] as? Double); XCTAssertNotNil(p["gLoss"] as? Double) }
            let generator = try await client.execute(uri: "/api/jobs/\(id)/files/generator", method: .get) { r in
                Array(r.body.readableBytesView)
            }
            XCTAssertEqual(Array(generator.prefix(2)), [0x50, 0x4B], "a PyTorch zip checkpoint")
            let png = try await client.execute(uri: "/api/jobs/\(id)/image", method: .get) { Array($0.body.readableBytesView) }
            let notebook = try await client.execute(uri: "/api/jobs/\(id)/notebook", method: .get) { $0.text }
            XCTAssertTrue(notebook.contains("train g steps=3"), notebook)
            XCTAssertEqual(try self.replay(notebook, jobID: id), png, "the notebook replays the GAN job to the same PNG bytes")
            // Generate again from the trained generator at another size, without training.
            let again = try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                                 body: jsonBody(["method": "gan", "source": "gravel", "crop": 32, "from": id,
                                                                 "size": 96, "seed": 6, "tile": false])) { $0 }
            XCTAssertEqual(again.status, .created, again.text)
            let againID = try XCTUnwrap(again.json["id"] as? String)
            let againEvents = parseEvents(try await client.execute(uri: "/api/jobs/\(againID)/events", method: .get) { $0.text })
            XCTAssertEqual(againEvents.last?.name, "done", "\(againEvents.last?.data ?? [:])")
            XCTAssertEqual(againEvents.last?.data["width"] as? Int, 96)
            XCTAssertEqual(againEvents.filter { $0.name == "progress" }.count, 0, "no training")
            let againNotebook = try await client.execute(uri: "/api/jobs/\(againID)/notebook", method: .get) { $0.text }
            XCTAssertTrue(againNotebook.contains("g = loadgan \"job-\(id)-generator.pth\""), againNotebook)
            let badFrom = try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                                   body: jsonBody(["method": "gan", "source": "gravel", "from": "../x"])) { $0 }
            XCTAssertEqual(badFrom.status, .badRequest)
            let bad = try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                               body: jsonBody(["method": "gan", "source": "gravel", "crop": 40])) { $0 }
            XCTAssertEqual(bad.status, .badRequest)
            XCTAssertTrue(bad.text.contains("'crop' must be a multiple of 32"), bad.text)
        }
    }

    /// The texture network column's job: live loss and samples, the texture, the network download, a notebook that
    /// replays training and generation to the same PNG bytes, generating again `from` it, and refusals by key.
    func testTexNetJobTrainsStreamsOffersTheNetworkAndReplays() async throws {
        let server = try makeServer()
        try await Application(router: server.router()).test(.router) { client in
            func post(_ body: [String: Any]) async throws -> (status: HTTPResponse.Status, json: [String: Any], text: String) {
                try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                         body: jsonBody(body)) { ($0.status, $0.json, $0.text) }
            }
            let (id, events, done) = try await self.finishedJob(client, ["method": "texnet", "source": "gravel", "trainSize": 32, "batch": 2,
                                                                         "steps": 3, "size": 64, "seed": 5, "tile": true])
            XCTAssertEqual(done["iterations"] as? Int, 3)
            XCTAssertEqual(done["width"] as? Int, 64)
            XCTAssertGreaterThan((done["distance"] as? [String: Any])?["sliced"] as? Double ?? 0, 0)
            let progress = events.filter { $0.name == "progress" }.map(\.data)
            XCTAssertEqual(progress.compactMap { $0["iteration"] as? Int }, [1, 2, 3])
            for p in progress { XCTAssertGreaterThan(p["loss"] as? Double ?? 0, 0); XCTAssertNotNil(p["eta"] as? Double) }
            XCTAssertGreaterThan(events.filter { $0.name == "image" }.count, 0, "the fixed-noise sample of the last iteration")
            let network = try await client.execute(uri: "/api/jobs/\(id)/files/generator", method: .get) { Array($0.body.readableBytesView) }
            XCTAssertEqual(Array(network.prefix(2)), [0x50, 0x4B], "a PyTorch zip checkpoint")
            let png = try await client.execute(uri: "/api/jobs/\(id)/image", method: .get) { Array($0.body.readableBytesView) }
            let notebook = try await client.execute(uri: "/api/jobs/\(id)/notebook", method: .get) { $0.text }
            XCTAssertTrue(notebook.contains("train net steps=3"), notebook)
            XCTAssertEqual(try self.replay(notebook, jobID: id), png, "the notebook replays the texture network job to the same PNG bytes")
            let again = try await self.finishedJob(client, ["method": "texnet", "source": "gravel", "from": id, "size": 96, "seed": 6])
            XCTAssertEqual(again.done["width"] as? Int, 96)
            XCTAssertEqual(again.events.filter { $0.name == "progress" }.count, 0, "no training")
            for (body, message) in [
                (["size": 40] as [String: Any], "'size' must be a multiple of 16"),
                (["trainSize": 40], "'trainSize' must be a multiple of 16"),
                (["trainSize": 8192], "does not fit the"),
                (["steps": 0], "'steps' must be"),
                (["batch": 65], "'batch' must be 1 to 64"),
                (["loss": "l2"], "'loss' must be one of gram, sw, gram+sw"),
                (["from": "../x"], "'from' must be the id"),
                (["size": 4096], "over this server's limit"),
            ] {
                let bad = try await post(body.merging(["method": "texnet", "source": "gravel"]) { a, _ in a })
                XCTAssertEqual(bad.status, .badRequest, "\(body)")
                XCTAssertTrue(bad.text.contains(message), "\(body): \(bad.text)")
            }
        }
    }

    func testStopKeepsTheBestImageAndItsNotebookReplaysTheStoppedRun() async throws {
        let server = try makeServer()
        try await Application(router: server.router()).test(.router) { client in
            let id = try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                              body: jsonBody(["method": "gatys", "source": "wood", "size": 32, "steps": 500, "sourceSize": 32])) {
                $0.json["id"] as? String
            }
            let jobID = try XCTUnwrap(id)
            _ = try await self.waitFor(client, job: jobID) { (($0["progress"] as? [String: Any])?["iteration"] as? Int ?? 0) >= 2 }
            try await client.execute(uri: "/api/jobs/\(jobID)/stop", method: .post) { r in
                XCTAssertEqual(r.status, .accepted, r.text)
            }
            let events = parseEvents(try await client.execute(uri: "/api/jobs/\(jobID)/events", method: .get) { $0.text })
            XCTAssertEqual(events.last?.name, "stopped")
            let k = try XCTUnwrap(events.last?.data["stoppedAfter"] as? Int)
            XCTAssertGreaterThanOrEqual(k, 2)
            XCTAssertLessThan(k, 500)
            // A second stop is refused: the job is over.
            try await client.execute(uri: "/api/jobs/\(jobID)/stop", method: .post) { r in XCTAssertEqual(r.status, .conflict) }
            let png = try await client.execute(uri: "/api/jobs/\(jobID)/image", method: .get) { Array($0.body.readableBytesView) }
            let notebook = try await client.execute(uri: "/api/jobs/\(jobID)/notebook", method: .get) { $0.text }
            XCTAssertTrue(notebook.contains("steps=\(k) "), notebook)
            XCTAssertEqual(try self.replay(notebook, jobID: jobID), png)
        }
    }

    func testQueuePositionsTwoWatchersAndStoppingAQueuedJob() async throws {
        let server = try makeServer()
        try await Application(router: server.router()).test(.router) { client in
            func submit(_ steps: Int) async throws -> String {
                try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                         body: jsonBody(["method": "gatys", "source": "ihc", "size": 24, "steps": steps, "sourceSize": 24])) { r in
                    XCTAssertEqual(r.status, .created, r.text)
                    return r.json["id"] as? String ?? ""
                }
            }
            let first = try await submit(12), second = try await submit(3), third = try await submit(3)
            let queued = try await client.execute(uri: "/api/jobs/\(third)", method: .get) { $0.json }
            XCTAssertEqual(queued["status"] as? String, "queued")
            XCTAssertGreaterThanOrEqual(queued["position"] as? Int ?? 0, 1)
            // Stopping a queued job takes it out of the queue at once.
            try await client.execute(uri: "/api/jobs/\(third)/stop", method: .post) { r in XCTAssertEqual(r.status, .accepted) }
            let stopped = try await client.execute(uri: "/api/jobs/\(third)", method: .get) { $0.json }
            XCTAssertEqual(stopped["status"] as? String, "stopped")

            // Two clients watching the same job see the same curve.
            async let a = client.execute(uri: "/api/jobs/\(first)/events", method: .get) { $0.text }
            async let b = client.execute(uri: "/api/jobs/\(first)/events", method: .get) { $0.text }
            let curves = try await [a, b].map { text -> [Double] in
                let events = parseEvents(text)
                XCTAssertEqual(events.last?.name, "done")
                let before = (events.first?.data["series"] as? [String: [Double]])?["loss"] ?? []
                return before + events.filter { $0.name == "progress" }.compactMap { $0.data["loss"] as? Double }
            }
            XCTAssertEqual(curves[0].count, 12)
            XCTAssertEqual(curves[0], curves[1])
            let second_ = try await self.waitFor(client, job: second) { ($0["status"] as? String) == "done" }
            XCTAssertEqual((second_["result"] as? [String: Any])?["iterations"] as? Int, 3)
            let list = try await client.execute(uri: "/api/jobs", method: .get) { $0.json["jobs"] as? [[String: Any]] ?? [] }
            XCTAssertEqual(list.compactMap { $0["id"] as? String }, [first, second, third])
        }
    }

    /// A job that fails while running ends with an `error` event that says why; the next job runs.
    func testAFailingJobDoesNotTakeTheServerDown() async throws {
        let server = try makeServer()
        try await Application(router: server.router()).test(.router) { client in
            let id = try await client.execute(uri: "/api/sources", method: .post, body: ByteBuffer(bytes: try pngBytes(width: 24, height: 24))) {
                $0.json["id"] as? String ?? ""
            }
            // The stored file disappears after the upload was accepted: the notebook's `load` fails.
            let stored = try FileManager.default.contentsOfDirectory(atPath: server.settings.dataDirectory + "/sources")
            XCTAssertEqual(stored, ["\(id).png"])
            try FileManager.default.removeItem(atPath: server.settings.dataDirectory + "/sources/\(id).png")
            let failing = try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                                   body: jsonBody(["method": "gatys", "source": id, "size": 24, "steps": 2])) {
                $0.json["id"] as? String ?? ""
            }
            let events = parseEvents(try await client.execute(uri: "/api/jobs/\(failing)/events", method: .get) { $0.text })
            XCTAssertEqual(events.last?.name, "error")
            let message = events.last?.data["error"] as? String ?? ""
            XCTAssertTrue(message.contains("job-\(failing).txn:3:"), "the error names the notebook line: \(message)")
            XCTAssertTrue(message.contains("\(id).png"), message)
            try await client.execute(uri: "/api/jobs/\(failing)/image", method: .get) { r in XCTAssertEqual(r.status, .notFound) }

            let next = try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                                body: jsonBody(["method": "gatys", "source": "ihc", "size": 24, "steps": 2, "sourceSize": 24])) {
                $0.json["id"] as? String ?? ""
            }
            let done = parseEvents(try await client.execute(uri: "/api/jobs/\(next)/events", method: .get) { $0.text })
            XCTAssertEqual(done.last?.name, "done")
        }
    }

    /// Random bytes to every POST route: always a JSON 4xx, never a crash.
    func testRandomBodiesAreRefusedCleanly() async throws {
        let server = try makeServer()
        try await Application(router: server.router()).test(.router) { client in
            var rng = SystemRandomNumberGenerator()
            for i in 0..<150 {
                var bytes = (0..<Int.random(in: 0...600, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                // Some start like a PNG, a JPEG or JSON, to get past the first checks.
                switch i % 4 {
                case 1: bytes = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + bytes
                case 2: bytes = [0xFF, 0xD8, 0xFF, 0xE0] + bytes
                case 3: bytes = Array("{\"method\":\"gatys\",\"source\":".utf8) + bytes
                default: break
                }
                for uri in ["/api/sources", "/api/jobs", "/api/jobs/1/stop"] {
                    try await client.execute(uri: uri, method: .post, body: ByteBuffer(bytes: bytes)) { r in
                        XCTAssertTrue((400..<500).contains(Int(r.status.code)), "\(uri): \(r.status)")
                        XCTAssertNotNil(r.json["error"] as? String, uri)
                    }
                }
            }
        }
    }

    func testBadJobParametersAreJSONErrorsNamingTheKey() async throws {
        let server = try makeServer { $0.limits.jobWork = 64 * 64; $0.limits.queuedJobs = 1 }
        try await Application(router: server.router()).test(.router) { client in
            let cases: [([String: Any], String)] = [
                (["source": "gravel"], "'method' is required"),
                (["method": "dream", "source": "gravel"], "unknown method 'dream'"),
                (["method": "gatys"], "'source' is required"),
                (["method": "gatys", "source": "../../etc/passwd"], "no source with id"),
                (["method": "gatys", "source": "gravel", "size": 65], "limit of 4096 pixels"),
                (["method": "gatys", "source": "gravel", "size": 8], "'size': 8x8 is too small for reflect padding"),
                (["method": "gatys", "source": "gravel", "size": "abc"], "'size' must be a number or"),
                (["method": "gatys", "source": "gravel", "size": "16xabcx16"], "'size' must be a number or"),
                (["method": "gatys", "source": "gravel", "size": "+16x+16"], "'size' must be a number or"),
                (["method": "gatys", "source": "gravel", "size": "64x"], "'size' must be a number or"),
                (["method": "gatys", "source": "gravel", "size": 32.5], "'size' must be a whole number"),
                (["method": "gatys", "source": "gravel", "size": 32, "steps": 0], "'steps' must be 1 to"),
                (["method": "gatys", "source": "gravel", "size": 32, "steps": true], "'steps' must be a whole number"),
                (["method": "gatys", "source": "gravel", "size": 32, "tile": "yes"], "'tile' must be true or false"),
                (["method": "gatys", "source": "gravel", "size": 32, "layers": "conv9_9"], "'layers'"),
                (["method": "gatys", "source": "gravel", "size": 32, "optimizer": "sgd"], "'optimizer' must be one of lbfgs, adam"),
                (["method": "gatys", "source": "gravel", "size": 32, "stepz": 3], "unknown parameter 'stepz'"),
                (["method": "gatys", "source": "gravel", "size": 32, "seed": -1], "'seed' must be 0 to"),
            ]
            for (body, message) in cases {
                try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"], body: jsonBody(body)) { r in
                    XCTAssertEqual(r.status, .badRequest, "\(body)")
                    let error = r.json["error"] as? String ?? ""
                    XCTAssertTrue(error.contains(message), "\(body): \(error)")
                }
            }
            for raw in ["", "{", "[1,2]", "\"gatys\"", String(repeating: "[", count: 60_000)] {
                try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: raw)) { r in
                    XCTAssertTrue([.badRequest, .contentTooLarge].contains(r.status), "\(raw.prefix(20)): \(r.status)")
                    XCTAssertNotNil(r.json["error"] as? String)
                }
            }
            // The queue has a limit: one running (or about to), one waiting, then 429.
            var statuses: [Int] = []
            for _ in 0..<4 {
                statuses.append(try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                                         body: jsonBody(["method": "gatys", "source": "ihc", "size": 16, "steps": 200, "sourceSize": 16])) {
                    Int($0.status.code)
                })
            }
            XCTAssertTrue(statuses.contains(429), "\(statuses)")
            for job in try await client.execute(uri: "/api/jobs", method: .get, testCallback: { $0.json["jobs"] as? [[String: Any]] ?? [] }) {
                _ = try await client.execute(uri: "/api/jobs/\(job["id"] as? String ?? "")/stop", method: .post)
            }
            try await client.execute(uri: "/api/jobs/999/events", method: .get) { r in XCTAssertEqual(r.status, .notFound) }
            try await client.execute(uri: "/api/jobs/999/image", method: .get) { r in XCTAssertEqual(r.status, .notFound) }
        }
    }
}
