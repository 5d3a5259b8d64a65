import Foundation
import XCTest
import TxnImage
@testable import TxnNotebook

/// The pieces of teaching mode that need no terminal: prose as text, the live preview's redrawing, and `txn -i` /
/// `txn --step` / `show=true` with stdin and stdout not terminals.
final class TeachingTests: XCTestCase {
    func testProseIsPlainTextWithEmphasis() {
        let prose = "## 1. The network\n\nVGG-19, *trained* to\nrecognise **objects**; see `gram`.\n\n- one\n- two"
        XCTAssertEqual(TerminalProse.render(prose, styled: false),
                       "1. The network\n\nVGG-19, trained to recognise objects; see gram.\n\n  • one\n  • two\n")
        let styled = TerminalProse.render(prose, styled: true)
        XCTAssertTrue(styled.contains("\u{1B}[1;4m1. The network\u{1B}[22;24m"), styled)
        XCTAssertTrue(styled.contains("\u{1B}[3mtrained\u{1B}[23m"), styled)
        XCTAssertTrue(styled.contains("\u{1B}[1mobjects\u{1B}[22m"), styled)
        XCTAssertTrue(styled.contains("\u{1B}[36mgram\u{1B}[39m"), styled)
        // Unmatched markers stay text; 2 * 3 is not emphasis.
        XCTAssertEqual(TerminalProse.render("2 * 3 and a *lone star", styled: false), "2 * 3 and a *lone star\n")
    }

    func testProseIsWrappedAndCannotDriveTheTerminal() {
        let long = Array(repeating: "word", count: 40).joined(separator: " ")
        let lines = TerminalProse.render(long, styled: true, width: 30).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 5)
        XCTAssertTrue(lines.allSatisfy { $0.count <= 30 })
        // A terminal escape in a comment is shown, not obeyed.
        let hostile = TerminalProse.render("clear \u{1B}[2J screen\u{7}", styled: true)
        XCTAssertFalse(hostile.contains("\u{1B}[2J"))
        XCTAssertFalse(hostile.contains("\u{7}"))
        // Many unmatched markers: linear, not quadratic (50,000 of them in well under a second).
        let start = Date()
        _ = TerminalProse.render(String(repeating: "*a `b **c ", count: 50_000), styled: true)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    func testThePreviewIsRedrawnInPlaceAndOnlyOnATerminal() {
        var written: [String] = []
        var printed: [String] = []
        let preview = LivePreview(columns: 8, lines: 4, write: { written.append($0) })
        let image = Image(width: 16, height: 16, fill: (0.2, 0.4, 0.6))
        preview.update(line: "iter 1", image: nil, print: { printed.append($0) })
        XCTAssertEqual(written, [], "no picture before the first snapshot")
        preview.update(line: "iter 10", image: image, print: { printed.append($0) })
        // 16x16 at most 8 columns and 4 lines: 8x8 pixels, 4 lines of half-blocks.
        XCTAssertEqual(preview.drawnLines, 4)
        XCTAssertEqual(written.count, 1)
        preview.update(line: "iter 20", image: nil, print: { printed.append($0) })
        XCTAssertEqual(written[1], "\u{1B}[4A\u{1B}[J", "cursor up over the old picture, cleared")
        XCTAssertEqual(written[2], written[0], "the last picture again when the iteration has none")
        preview.finish()
        XCTAssertEqual(written.last, "\u{1B}[4A\u{1B}[J")
        XCTAssertEqual(preview.drawnLines, 0)
        XCTAssertEqual(printed, ["iter 1", "iter 10", "iter 20"], "progress lines go through the interpreter (and into reports)")
        // Output that is recorded only, or not a terminal, gets no preview at all.
        let interp = Interpreter(output: RecordingOutput(next: nil), modelsDirectory: "/nonexistent")
        XCTAssertNil(LivePreview.make(for: interp))
        interp.output = RecordingOutput(next: TerminalOutput(inlineImages: false))
        XCTAssertNil(LivePreview.make(for: interp))
    }

    // MARK: The txn executable without a terminal

    var tmp = ""
    override func setUp() {
        tmp = NSTemporaryDirectory() + "txn-teach-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: tmp) }

    static let notebook = """
        # ## A tiny notebook
        #
        # Two **noise** images, one *tiled*.

        param size = 32
        a = noise size=size seed=1

        # The second image.
        b = noise size=16 seed=2

        # A 2x2 tiling of the first.
        c = tile a 2x2
        save c "c.png"

        """

    /// A rendered notebook's text without its tags (code is highlighted token by token).
    static func reportText(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
            .replacingOccurrences(of: "&quot;", with: "\"")
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = tmp + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testDashIRunsTheNotebookThenStatementsFromStdinWithItsVariables() throws {
        let nb = try write("nb.txn", Self.notebook)
        let stdin = try write("stdin", "show a.width\nd = tile c 2x1\nshow d.width\nvars\n")
        let r = try TxnProcess.run(["-i", nb, "--report", tmp + "/r.html"], stdin: stdin)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("a.width: number 32"), r.stdout)
        XCTAssertTrue(r.stdout.contains("d.width: number 128"), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp + "/c.png"), "the notebook ran whole first")
        let report = try TeachingTests.reportText(tmp + "/r.html")
        XCTAssertTrue(report.contains("tile c 2x1"), "the report holds the session's statements too")
        // Without a notebook or -c, -i has nothing to run first.
        let bare = try TxnProcess.run(["-i"])
        XCTAssertNotEqual(bare.status, 0)
        XCTAssertTrue(bare.stderr.contains("-i needs a notebook file"), bare.stderr)
    }

    func testStepWithoutATerminalReadsOneLinePerCell() throws {
        let nb = try write("nb.txn", Self.notebook)
        // param: Enter; a: Enter; b: edited; c: skip; then the end of input leaves `save` unrun.
        let stdin = try write("stdin", "\n\nb = noise size=24 seed=2\nskip\n")
        let r = try TxnProcess.run(["--step", nb, "--report", tmp + "/r.html"], stdin: stdin,
                                   environment: ["TXN_HISTORY": tmp + "/history"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("A tiny notebook\n\nTwo noise images, one tiled."), "prose as plain text: \(r.stdout)")
        XCTAssertTrue(r.stdout.contains("b = image 24x24"), r.stdout)
        XCTAssertTrue(r.stdout.contains("(skipped)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("1 of 5 cells left unrun"), r.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/c.png"), "save never ran")
        let report = try TeachingTests.reportText(tmp + "/r.html")
        XCTAssertTrue(report.contains("size=24"), "the edited cell, as run")
        XCTAssertFalse(report.contains("size=16"), "not the original")
        XCTAssertFalse(report.contains("tile a 2x2"), "not the skipped cell")
        XCTAssertFalse(report.contains("save c"), "not the cell left unrun")
        // --step needs a notebook.
        let bare = try TxnProcess.run(["--step", "-c", "vars"])
        XCTAssertNotEqual(bare.status, 0)
    }

    func testWatchingWhenStdoutIsNotATerminalPrintsOnlyTheProgressLines() throws {
        let r = try TxnProcess.run(["-c", "x = noise size=32 seed=1; t = optimize x size=32 steps=6 every=2 show=true distance=false"],
                                   environment: ["TXN_MODELS_DIR": InterpreterTests.repoRoot + "/Models"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        for i in [2, 4, 6] { XCTAssertTrue(r.stdout.contains("iter \(i)/6"), r.stdout) }
        XCTAssertFalse(r.stdout.contains("\u{1B}"), "no pictures or cursor movements in a file")
        XCTAssertFalse(r.stdout.contains("▀"))
    }
}
