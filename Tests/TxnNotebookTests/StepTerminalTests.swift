import Foundation
import XCTest

/// `txn --step` on a real terminal (tmux): each cell's prose, its statement pre-filled on the libedit line; Enter
/// runs a cell, an edited line runs instead and goes to the history, `skip` skips, Ctrl-D leaves the rest unrun and
/// the session goes on; the report holds what actually ran. Then a watched optimisation leaves no preview behind.
final class StepTerminalTests: XCTestCase {
    func testStepThroughANotebookAtTheTerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            return XCTFail("tmux is needed for this test (scripts/bootstrap.sh installs it)")
        }
        let dir = NSTemporaryDirectory() + "txn-step-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TeachingTests.notebook.write(toFile: dir + "/nb.txn", atomically: true, encoding: .utf8)
        let txn = try TxnProcess.binary()
        // The shell's `; echo` shows txn's exit code on the screen after it ends; `sleep` keeps the pane to read it.
        let command = "env TXN_HISTORY=\(dir)/history TXN_MODELS_DIR=\(InterpreterTests.repoRoot)/Models \(txn) --threads 2 "
            + "--step nb.txn --report \(dir)/r.html; echo \"exit $?\"; sleep 60"
        let t = try TmuxSession(command, directory: dir)

        // The prose of the first cell, as text (the emphasis is in escape codes that capture-pane leaves out).
        try t.waitFor("Two noise images, one tiled.")
        try t.waitFor("[1/5] param size = 32")
        try t.send("Enter")                                   // accept
        try t.waitFor("[2/5] a = noise size=size seed=1")
        try t.send("Enter")
        try t.waitFor("a = image 32x32")
        try t.waitFor("The second image.")
        try t.waitFor("[3/5] b = noise size=16 seed=2")
        try t.send("BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace")  // " seed=2" and "16"
        try t.send("24 seed=2", "Enter")                      // edit: b = noise size=24 seed=2
        try t.waitFor("b = image 24x24")
        try t.waitFor("[4/5] c = tile a 2x2")
        try t.send("C-u", "skip", "Enter")                    // skip
        try t.waitFor("(skipped)")
        try t.waitFor("[5/5] save c \"c.png\"")
        try t.send("C-d")                                     // leave the rest, stay in the session
        try t.waitFor("1 of 5 cells left unrun")
        try t.waitFor("[1] ")
        try t.send("vars", "Enter")
        try t.waitFor("b            image 24x24")
        let screen = try t.screen()
        XCTAssertTrue(screen.contains("a            image 32x32"), screen)
        XCTAssertFalse(screen.contains("c            "), "the skipped cell made no variable: \(screen)")

        // Watching an optimisation: progress lines, and the preview redrawn in place then removed, so the only
        // pictures left are the result's (16 lines for 32x32) — none of the previews.
        let picturesBefore = try t.screen().split(separator: "\n").filter { $0.contains("▀") }.count
        try t.send("t = optimize a size=32 steps=12 every=3 show=true distance=false", "Enter")
        try t.waitFor("iter 12/12", timeout: 120)
        try t.waitFor("result, loss", timeout: 30)
        let after = try t.screen()
        for i in [3, 6, 9] { XCTAssertTrue(after.contains("iter \(i)/12"), after) }
        XCTAssertEqual(after.split(separator: "\n").filter { $0.contains("▀") }.count - picturesBefore, 16, after)

        try t.send("C-d")
        try t.waitFor("exit 0")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/c.png"), "save was left unrun")
        let history = try String(contentsOfFile: dir + "/history", encoding: .utf8)
        XCTAssertTrue(history.contains("b = noise size=24 seed=2"), "the edit is in the history: \(history)")
        XCTAssertFalse(history.contains("a = noise size=size seed=1"), "a cell run as it was is not: \(history)")
        let report = try TeachingTests.reportText(dir + "/r.html")
        XCTAssertTrue(report.contains("size=24"), "the edited cell, as run")
        XCTAssertFalse(report.contains("size=16"), "not the original")
        XCTAssertFalse(report.contains("tile a 2x2"), "not the skipped cell")
        XCTAssertFalse(report.contains("save c"), "not the cell left unrun")
        XCTAssertTrue(report.contains("optimize"), "the session's statements after Ctrl-D")
        XCTAssertTrue(report.contains("A tiny notebook"), "the prose shown")
        // Pictures in the report: the two noise images and the synthesis's result; none of the previews.
        let html = try String(contentsOfFile: dir + "/r.html", encoding: .utf8)
        XCTAssertEqual(html.components(separatedBy: "<img").count - 1, 3, "no preview in the report")
    }
}
