import Foundation
import XCTest
import TxnImage
@testable import TxnNotebook

final class InterpreterTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    var out = RecordingOutput(next: nil)
    var interp: Interpreter!
    var tmp: String!

    override func setUp() {
        out = RecordingOutput(next: nil)
        tmp = NSTemporaryDirectory() + "txn-tests-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        interp = Interpreter(output: out, baseDirectory: Self.repoRoot + "/Notebooks", outputDirectory: tmp,
                             modelsDirectory: Self.repoRoot + "/Models")
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: tmp) }

    /// Runs source; returns the first error, if any.
    @discardableResult
    func run(_ source: String) -> Diagnostic? {
        interp.run(source: source, file: "t.txn").first
    }

    func assertError(_ source: String, _ message: String, line: Int = 1, column: Int? = nil,
                     file: StaticString = #filePath, at: UInt = #line) {
        guard let d = run(source) else { return XCTFail("no error for \(source)", file: file, line: at) }
        XCTAssertTrue(d.description.contains(message), "\(d.description)\n should contain: \(message)", file: file, line: at)
        XCTAssertEqual(d.location.line, line, file: file, line: at)
        if let column { XCTAssertEqual(d.location.column, column, "\(d)", file: file, line: at) }
    }

    func testUnknownCommandsAndKeysSuggestTheNearest() {
        assertError("optimse x", "unknown command 'optimse' (did you mean 'optimize'?)", column: 1)
        assertError("x = noise sise=8", "noise has no key 'sise' (did you mean 'size'?)", column: 11)
        assertError("x = noise sise=8", "valid keys: size=256 like=- kind=meannoise sigma=0.01 seed=")
        assertError("help optimse", "no command 'optimse' (did you mean 'optimize'?)", column: 6)
    }

    func testWrongTypesSayWhatWasExpected() {
        assertError("save 3 \"a.png\"", "image: expected an image, got number 3", column: 6)
        assertError("x = noise size=big", "size: expected a size such as 256 or 320x200, but there is no variable 'big'", column: 16)
        assertError("x = noise size=8 kind=gaussian", "kind: 'gaussian' is not one of meannoise, uniform", column: 23)
        assertError("x = noise size=8\nshow x.depth", "image has no field 'depth'; fields: width, height, size", line: 2, column: 8)
        assertError("show y.width", "no variable 'y'", column: 6)
        assertError("x = noise size=4\nsave xx \"a.png\"", "image: expected an image, but there is no variable 'xx' (did you mean 'x'?)", line: 2, column: 6)
        assertError("set threads=0", "threads: 0 is out of range 1…1024", column: 13)
        assertError("load", "needs its path", column: 1)
        assertError("tile 1 2 3", "one too many", column: 10)
        assertError("noise = noise", "'noise' is a command name")
    }

    func testAFailingStatementChangesNothing() throws {
        XCTAssertNil(run("x = noise size=8x6 seed=3"))
        guard case .image(let before)? = interp.variables["x"] else { return XCTFail() }
        XCTAssertNotNil(run("x = load \"no/such/file.png\""))
        XCTAssertNotNil(run("x = noise size=8 kind=wrong"))
        XCTAssertNotNil(run("set seed=5 threads=0"))
        XCTAssertEqual(interp.seed, 0, "set changes nothing when one of its values is bad")
        guard case .image(let after)? = interp.variables["x"] else { return XCTFail() }
        XCTAssertEqual(before, after)
    }

    func testParametersTakeOverridesFromTheCommandLine() throws {
        XCTAssertNil(run("param size = 256\nparam name = \"a\""))
        guard case .number(256)? = interp.variables["size"] else { return XCTFail() }
        interp.overrides["size"] = try interp.evaluateLiteral("64", file: "--set")
        XCTAssertNil(run("param size = 256\nx = noise size=size"))
        guard case .image(let x)? = interp.variables["x"] else { return XCTFail() }
        XCTAssertEqual(x.width, 64)
        XCTAssertThrowsError(try interp.evaluateLiteral("64 65", file: "--set size"))
    }

    func testKeepGoingRunsEveryStatementAndCountsErrors() {
        let errors = interp.run(source: "a = noise size=4\nbad\nb = noise size=5", file: "t.txn", keepGoing: true)
        XCTAssertEqual(errors.count, 1)
        XCTAssertNotNil(interp.variables["b"])
        let stopped = Interpreter(output: out, modelsDirectory: "")
        XCTAssertEqual(stopped.run(source: "a = noise size=4\nbad\nb = noise size=5", file: "t.txn").count, 1)
        XCTAssertNil(stopped.variables["b"], "the first error stops the run")
    }

    func testSessionCommands() {
        XCTAssertNil(run("set seed=7 every=5"))
        XCTAssertEqual(interp.seed, 7)
        XCTAssertNil(run("help"))
        XCTAssertTrue(out.text.contains("optimize"))
        XCTAssertNil(run("help optimize"))
        XCTAssertTrue(out.text.contains("usage: optimize <source> [model] size=256 steps=(by size)"))
        XCTAssertTrue(out.text.contains("example:"))
        XCTAssertNil(run("x = noise size=4; vars"))
        XCTAssertTrue(out.text.contains("image 4x4"))
        XCTAssertNil(run("time y = noise size=4"))
        XCTAssertTrue(out.text.contains("time: "))
        XCTAssertNil(run("quit\nz = noise size=4"))
        XCTAssertNil(interp.variables["z"], "nothing runs after quit")
    }

    func testEveryCommandHasHelpWithUsageAndExample() {
        for c in interp.commands {
            XCTAssertFalse(c.summary.isEmpty, c.name)
            XCTAssertTrue(c.help.contains("usage: \(c.name)"), c.name)
            XCTAssertTrue(c.example.hasPrefix(c.name) || c.example.contains("= \(c.name)"), "\(c.name): \(c.example)")
        }
    }

    func testCompletion() {
        XCTAssertNil(run("src = noise size=4; sq = noise size=4"))
        XCTAssertEqual(interp.complete(line: "opt", cursor: 3).candidates, ["optimize"])
        XCTAssertEqual(interp.complete(line: "t = optimize s", cursor: 14).candidates.sorted(), ["sq", "src", "seed=", "show=", "sigma=", "size=", "snapshot=", "steps=", "sw_weight="].sorted())
        XCTAssertEqual(interp.complete(line: "optimize src layers=conv1_1,po", cursor: 31).candidates, ["pool1", "pool2", "pool3", "pool4", "pool5"])
        XCTAssertEqual(interp.complete(line: "model padding=ci", cursor: 16).candidates, ["circular"])
        XCTAssertEqual(interp.complete(line: "show src.wi", cursor: 11).candidates, ["width"])
        let files = interp.complete(line: "load \"data/gr", cursor: 13)
        XCTAssertEqual(files.candidates, ["data/gravel.png\""])
        XCTAssertEqual(files.start, 6)
    }

    /// The whole method on a small image with the real weights: every step of the notebook.
    func testTheMethodEndToEnd() throws {
        let errors = interp.run(source: """
            m = model
            src = load "data/wood.png"
            x = preprocess src size=32
            f = extract x
            g = gram f
            plot g.conv1_1 "gram.png"
            t = optimize x size=40x32 steps=3 every=1
            save t "out/t.png"
            d = compare t x
            p = tile t 2x1
            h = histmatch t x
            show t
            plot t "loss.png"
            """, file: "t.txn")
        XCTAssertEqual(errors, [], errors.map(\.description).joined(separator: "\n"))
        let saved = try Image.load(tmp + "/out/t.png").image
        XCTAssertEqual([saved.width, saved.height], [40, 32])
        guard case .image(let tiled)? = interp.variables["p"] else { return XCTFail() }
        XCTAssertEqual([tiled.width, tiled.height], [80, 32])
        guard case .synthesis(let t)? = interp.variables["t"] else { return XCTFail() }
        XCTAssertEqual(t.result.history.count, 3)
        XCTAssertTrue(out.text.contains("iter 1/3"), out.text)
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp + "/gram.png"))
        XCTAssertTrue(out.text.contains("conv1_1"))
        XCTAssertEqual(interp.run(source: "y = optimize x steps=0", file: "t.txn").first?.message.contains("steps: 0 is out of range 1…1000000"), true)
        XCTAssertEqual(interp.run(source: "y = optimize x layers=pool9", file: "t.txn").first?.message.contains("unknown VGG-19 layer 'pool9'"), true)
    }
}
