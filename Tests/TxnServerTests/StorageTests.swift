import Foundation
import Hummingbird
import HummingbirdTesting
import TxnImage
import TxnTestSupport
import XCTest
@testable import TxnServer

/// Issue 19: `--data` does not grow without bound. A quota with the oldest removed first (never a file a queued or
/// running job uses), DELETE for uploads and jobs, resume files removed when a job ends, and a statement at the start.
final class StorageTests: XCTestCase {
    func upload(_ client: some TestClientProtocol, seed: Int) async throws -> String {
        // Each image differs, so each is a file of its own.
        var pixels = [Float](repeating: 0, count: 3 * 24 * 24)
        pixels[0] = Float(seed % 256) / 255
        pixels[1] = Float(seed / 256) / 255
        let png = try Image(width: 24, height: 24, pixels: pixels).encoded(as: .png)
        return try await client.execute(uri: "/api/sources", method: .post, headers: [.contentType: "image/png"],
                                        body: ByteBuffer(bytes: png)) { r in
            XCTAssertEqual(r.status, .created, "upload \(seed): \(r.text)")
            return r.json["id"] as? String ?? ""
        }
    }

    func uploadIDs(_ client: some TestClientProtocol) async throws -> [String] {
        try await client.execute(uri: "/api/sources", method: .get) { r in
            (r.json["sources"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "upload" }.compactMap { $0["id"] as? String }
        }
    }

    func storedUploads(_ server: TxnServer) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: server.settings.dataDirectory + "/sources")) ?? []).sorted()
    }

    /// 300 tiny uploads (before: 256 disabled uploads for good, even after a restart): each one past the quota
    /// removes the oldest, the folder holds the quota, and uploads still work after a restart.
    func testThreeHundredTinyUploadsLeaveUploadsWorking() async throws {
        let server = try makeServer()
        let quota = server.settings.limits.storedFiles
        XCTAssertEqual(quota, ServerSettings.Limits().storedFiles)
        let ids = try await Application(router: server.router()).test(.router) { client in
            var ids: [String] = []
            for seed in 0..<300 { ids.append(try await self.upload(client, seed: seed)) }
            let listed = try await self.uploadIDs(client)
            XCTAssertEqual(listed, Array(ids.suffix(quota)), "the newest \(quota), oldest first")
            try await client.execute(uri: "/api/sources/\(ids[0])/image", method: .get) { XCTAssertEqual($0.status, .notFound) }
            return ids
        }
        XCTAssertEqual(storedUploads(server).count, quota)
        XCTAssertEqual(server.data.usage[.upload]?.count, quota)

        let again = try TxnServer(settings: server.settings)
        XCTAssertTrue(again.dataSummary.contains("\(quota) uploads"), again.dataSummary)
        XCTAssertTrue(again.dataSummary.contains("quota \(quota) files"), again.dataSummary)
        try await Application(router: again.router()).test(.router) { client in
            let newest = try await self.upload(client, seed: 1000)
            let listed = try await self.uploadIDs(client)
            XCTAssertEqual(listed.count, quota)
            XCTAssertEqual(listed.last, newest)
            XCTAssertFalse(listed.contains(ids[300 - quota]), "the oldest of the earlier run made room")
        }
        XCTAssertEqual(storedUploads(again).count, quota)
    }

    /// A PNG of noise, which does not compress: bigger than any 24x24 one.
    func noisePNG(width: Int, height: Int) throws -> [UInt8] {
        var state: UInt32 = 12345
        let pixels = (0..<(3 * width * height)).map { _ -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 24) / 255
        }
        return try Image(width: width, height: height, pixels: pixels).encoded(as: .png)
    }

    /// The byte quota too: uploads of known size, a quota of three of them.
    func testTheByteQuotaRemovesTheOldest() async throws {
        let size = try pngBytes(width: 24, height: 24).count
        let server = try makeServer { $0.limits.storedBytes = 3 * size }
        try await Application(router: server.router()).test(.router) { client in
            var ids: [String] = []
            for _ in 0..<5 {
                ids.append(try await client.execute(uri: "/api/sources", method: .post, body: ByteBuffer(bytes: try pngBytes(width: 24, height: 24))) {
                    XCTAssertEqual($0.status, .created, $0.text)
                    return $0.json["id"] as? String ?? ""
                })
            }
            let listed = try await self.uploadIDs(client)
            XCTAssertEqual(listed, Array(ids.suffix(3)))
            // One file alone over the quota is refused, and nothing is removed for it.
            let big = try self.noisePNG(width: 64, height: 64)
            XCTAssertGreaterThan(big.count, 3 * size)
            try await client.execute(uri: "/api/sources", method: .post, body: ByteBuffer(bytes: big)) {
                XCTAssertEqual($0.status, .insufficientStorage, $0.text)
            }
            let after = try await self.uploadIDs(client)
            XCTAssertEqual(after, listed)
        }
    }

    /// DELETE of an upload removes its file; a shipped source cannot be deleted; ids that are paths find nothing and
    /// remove nothing.
    func testDeleteRemovesUploadsAndRefusesTraversal() async throws {
        let server = try makeServer()
        let data = server.settings.dataDirectory
        let outside = data + "/sentinel.png"
        FileManager.default.createFile(atPath: outside, contents: Data(try pngBytes(width: 8, height: 8)))
        try await Application(router: server.router()).test(.router) { client in
            let id = try await self.upload(client, seed: 1)
            XCTAssertEqual(self.storedUploads(server).count, 1)
            for attempt in ["..%2Fsentinel", "..%2F..%2Fsentinel.png", "%2E%2E", "sentinel", "..", "gravel%2F..%2F..%2Fsentinel",
                            "\(id)%2F..%2F..%2Fsentinel", "\(id).png"] {
                try await client.execute(uri: "/api/sources/\(attempt)", method: .delete) { r in
                    XCTAssertTrue([.notFound, .badRequest].contains(r.status), "DELETE \(attempt): \(r.status) \(r.text)")
                }
            }
            try await client.execute(uri: "/api/sources/gravel", method: .delete) { r in
                XCTAssertEqual(r.status, .forbidden, r.text)
            }
            try await client.execute(uri: "/api/sources/\(id)", method: .delete) { r in
                XCTAssertEqual(r.status, .ok, r.text)
                XCTAssertEqual(r.json["deleted"] as? String, id)
            }
            try await client.execute(uri: "/api/sources/\(id)/image", method: .get) { XCTAssertEqual($0.status, .notFound) }
            try await client.execute(uri: "/api/sources/\(id)", method: .delete) { XCTAssertEqual($0.status, .notFound) }
            let listed = try await self.uploadIDs(client)
            XCTAssertEqual(listed, [])
        }
        XCTAssertEqual(storedUploads(server), [])
        XCTAssertTrue(FileManager.default.fileExists(atPath: outside), "nothing outside the uploads was removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: Paths.shippedGravel), "the shipped texture is still there")
    }

    /// A source a queued or running job uses is neither deleted (409) nor removed to make room (the next oldest goes);
    /// a job is deleted only once it has finished.
    func testFilesInUseAreKeptAndJobsDeletedOnlyWhenFinished() async throws {
        let server = try makeServer { $0.limits.storedFiles = 2 }
        try await Application(router: server.router()).test(.router) { client in
            let used = try await self.upload(client, seed: 1)
            let job = try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                               body: jsonBody(["method": "gatys", "source": used, "size": 16, "steps": 5000])) { r in
                XCTAssertEqual(r.status, .created, r.text)
                return r.json["id"] as? String ?? ""
            }
            try await client.execute(uri: "/api/sources/\(used)", method: .delete) { r in
                XCTAssertEqual(r.status, .conflict, r.text)
            }
            try await client.execute(uri: "/api/jobs/\(job)", method: .delete) { r in
                XCTAssertEqual(r.status, .conflict, r.text)
            }
            let second = try await self.upload(client, seed: 2)
            let third = try await self.upload(client, seed: 3)
            let listed = try await self.uploadIDs(client)
            XCTAssertEqual(listed, [used, third], "the second upload made room; the one in use stayed (\(second))")

            try await client.execute(uri: "/api/jobs/\(job)/stop", method: .post) { XCTAssertEqual($0.status, .accepted) }
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                let status = try await client.execute(uri: "/api/jobs/\(job)", method: .get) { $0.json["status"] as? String }
                if status == "stopped" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            try await client.execute(uri: "/api/jobs/\(job)", method: .delete) { r in
                XCTAssertEqual(r.status, .ok, r.text)
            }
            try await client.execute(uri: "/api/jobs/\(job)", method: .get) { XCTAssertEqual($0.status, .notFound) }
            try await client.execute(uri: "/api/sources/\(used)", method: .delete) { r in
                XCTAssertEqual(r.status, .ok, r.text)
            }
        }
    }

    /// A finished GAN job leaves its generator (counted in the quota, downloadable) and no resume file; resume files
    /// an earlier run left are removed at the start, which says so.
    func testAFinishedGANJobLeavesNoResumeFile() async throws {
        let server = try makeServer()
        let data = server.settings.dataDirectory
        try await Application(router: server.router()).test(.router) { client in
            let id = try await client.execute(uri: "/api/jobs", method: .post, headers: [.contentType: "application/json"],
                                              body: jsonBody(["method": "gan", "source": "gravel", "preset": "small", "crop": 32,
                                                              "batch": 2, "steps": 2, "size": 32])) { r in
                XCTAssertEqual(r.status, .created, r.text)
                return r.json["id"] as? String ?? ""
            }
            let events = parseEvents(try await client.execute(uri: "/api/jobs/\(id)/events", method: .get) { $0.text })
            XCTAssertEqual(events.last?.name, "done", "\(events.last?.data ?? [:])")
            let names = try FileManager.default.contentsOfDirectory(atPath: data).filter { $0.hasSuffix(".pth") }
            XCTAssertEqual(names, ["job-\(id)-generator.pth"], "the generator, and no resume file")
            XCTAssertEqual(server.data.usage[.generator]?.count, 1)
            try await client.execute(uri: "/api/jobs/\(id)/files/generator", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(Array(r.body.readableBytesView.prefix(2)), [0x50, 0x4B])
            }
            // Deleting the job removes its generator; its download then says so.
            try await client.execute(uri: "/api/jobs/\(id)", method: .delete) { XCTAssertEqual($0.status, .ok, $0.text) }
            XCTAssertFalse(FileManager.default.fileExists(atPath: data + "/job-\(id)-generator.pth"))
        }
        // A resume file left by a killed server, and one beside a generator: both removed at the start.
        let stale = ["job-\(JobID.make())-generator.resume.pth", "job-\(JobID.make())-generator.resume.pth"]
        for name in stale { FileManager.default.createFile(atPath: data + "/" + name, contents: Data(repeating: 1, count: 1000)) }
        let again = try TxnServer(settings: server.settings)
        for name in stale { XCTAssertFalse(FileManager.default.fileExists(atPath: data + "/" + name), name) }
        XCTAssertTrue(again.dataSummary.contains("removed 2 resume files"), again.dataSummary)
        XCTAssertTrue(again.dataSummary.contains("0 generators"), again.dataSummary)
    }
}

extension Paths {
    static var shippedGravel: String { repoRoot + "/Notebooks/data/gravel.png" }
}
