import Foundation
import TxnTestSupport
import XCTest

/// The page in a real browser: headless Chromium (Debian's `chromium`, installed by
/// scripts/bootstrap.sh) loads the page from a running `txn serve`, which starts a tiny Gatys job;
/// the DOM after the job must show the image updated and the loss curve drawn.
final class BrowserTests: XCTestCase {
    func chromium() throws -> String {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        where FileManager.default.isExecutableFile(atPath: path) { return path }
        XCTFail("no chromium: run scripts/bootstrap.sh (apt package `chromium`)")
        throw CocoaError(.fileNoSuchFile)
    }

    /// The `txn` built next to this test bundle.
    func txn() throws -> String {
        let candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
                          Bundle(for: Self.self).bundleURL, Bundle(for: Self.self).bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("txn").path }
        let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
        return try Paths.require(found, hint: "build it with `swift build --build-tests`")
    }

    /// Runs a process with a time limit; returns its standard output.
    func run(_ path: String, _ arguments: [String], timeout: Double) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        final class Box: @unchecked Sendable { var data = Data(); var done = false }
        let box = Box()
        let reader = Thread { box.data = out.fileHandleForReading.readDataToEndOfFile(); box.done = true }
        reader.start()
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning { p.terminate(); XCTFail("\(path) took over \(timeout) s") }
        p.waitUntilExit()
        while !box.done { Thread.sleep(forTimeInterval: 0.01) }
        return String(decoding: box.data, as: UTF8.self)
    }

    func testThePageRunsAGatysJobInHeadlessChromium() throws {
        let browser = try chromium()
        let tmp = NSTemporaryDirectory() + "txn-browser-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp + "/sources", withIntermediateDirectories: true)
        // A small source keeps the job to a second or two even in a debug build.
        FileManager.default.createFile(atPath: tmp + "/sources/tiny.png", contents: Data(try pngBytes(width: 32, height: 32)))

        let server = Process()
        server.executableURL = URL(fileURLWithPath: try txn())
        server.arguments = ["serve", "--port", "0", "--sources", tmp + "/sources", "--data", tmp + "/data"]
        server.environment = ProcessInfo.processInfo.environment.merging(["TXN_MODELS_DIR": Paths.repoRoot + "/Models"]) { $1 }
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            // Always end the server: SIGTERM (graceful), then SIGKILL if it lingers.
            if server.isRunning { server.terminate() }
            let deadline = Date().addingTimeInterval(5)
            while server.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if server.isRunning { kill(server.processIdentifier, SIGKILL) }
        }
        // The URL line, within 30 s.
        var printed = ""
        let deadline = Date().addingTimeInterval(30)
        let pattern = "http://127\\.0\\.0\\.1:[0-9]+/"
        while printed.range(of: pattern, options: .regularExpression) == nil, Date() < deadline, server.isRunning {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { Thread.sleep(forTimeInterval: 0.05) }
            printed += String(decoding: chunk, as: UTF8.self)
        }
        let url = try XCTUnwrap(printed.range(of: pattern, options: .regularExpression).map { String(printed[$0]) },
                                "txn serve printed: \(printed)")

        let dom = try run(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                    "--user-data-dir=\(tmp)/chromium", "--virtual-time-budget=30000", "--dump-dom",
                                    url + "?source=tiny&start=gatys&size=32&steps=5"], timeout: 90)
        func attribute(_ element: String, _ name: String) -> String? {
            guard let tag = dom.range(of: "<\(element)[^>]*>", options: .regularExpression).map({ String(dom[$0]) }),
                  let value = tag.range(of: " \(name)=\"[^\"]*\"", options: .regularExpression) else { return nil }
            return String(tag[value].dropFirst(name.count + 3).dropLast())
        }
        // The image element was updated from the job, the curve has the five iterations, the job finished.
        XCTAssertNotNil(attribute("img id=\"gatys-image\"", "src")?.range(of: "^/api/jobs/[0-9a-z]+-[0-9a-f]{8}/image\\?v=",
                                                                        options: .regularExpression), dom)
        XCTAssertGreaterThanOrEqual(Int(attribute("img id=\"gatys-image\"", "data-version") ?? "") ?? 0, 1)
        XCTAssertEqual(attribute("canvas id=\"gatys-curve\"", "data-points"), "5")
        XCTAssertTrue(dom.contains("done: loss"), "the status line says the job is done")
        XCTAssertTrue(dom.contains("t = optimize src size=32x32 steps=5"), "the page shows the job's notebook")
        // Every method column is shown: the server's capabilities list gatys, gan and texnet.
        XCTAssertNil(dom.range(of: "<section[^>]*id=\"col-gan\"[^>]*hidden", options: .regularExpression), "GAN column shown")
        XCTAssertNotNil(dom.range(of: "id=\"col-gan\"", options: .regularExpression))
        XCTAssertNil(dom.range(of: "<section[^>]*id=\"col-texnet\"[^>]*hidden", options: .regularExpression), "texture network column shown")
        XCTAssertNotNil(dom.range(of: "<option value=\"gram+sw\">"), "the loss menu from the server's defaults")
        XCTAssertNil(dom.range(of: "<section[^>]*id=\"col-gatys\"[^>]*hidden", options: .regularExpression))
        XCTAssertTrue(server.isRunning, "the server is still up")
    }
}
