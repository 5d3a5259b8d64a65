import Foundation
import XCTest

/// The real REPL (the `txn` executable) on a pseudo-terminal, driven through tmux as a person would:
/// typing, Tab completion, history, a mistake, Ctrl-C at the prompt and during an optimisation, Ctrl-D.
final class REPLTerminalTests: XCTestCase {
    func testAPersonAtTheTerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            return XCTFail("tmux is needed for this test (scripts/bootstrap.sh installs it)")
        }
        let txn = try TxnProcess.binary()
        let tmp = NSTemporaryDirectory() + "txn-repl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let history = tmp + "/history"
        let command = "env TXN_HISTORY=\(history) TXN_MODELS_DIR=\(InterpreterTests.repoRoot)/Models \(txn) --threads 2"
        let t = try TmuxSession(command, directory: InterpreterTests.repoRoot + "/Notebooks")
        try t.waitFor("[1] ")

        try t.send("x = noise size=48 seed=3", "Enter")
        try t.waitFor("x = image 48x48")

        // Tab completes a command (unique prefix) and a variable's field.
        try t.send("sh", "Tab")
        try t.waitFor("[2] show ")
        try t.send("x.wi", "Tab", "Enter")
        try t.waitFor("x.width: number 48")

        // A typo is an error with a caret; the session and its variables survive.
        try t.send("optimse x", "Enter")
        try t.waitFor("unknown command 'optimse' (did you mean 'optimize'?)")
        try t.send("vars", "Enter")
        try t.waitFor("image 48x48", count: 2)

        // Up recalls history; Ctrl-C at the prompt abandons the line.
        try t.send("Up")
        try t.waitFor("] vars", count: 2)
        try t.send("C-c")
        try t.waitFor("^C")

        // Ctrl-C during an optimisation stops it and keeps the best image; the session goes on.
        try t.send("t = optimize x size=48 steps=100000 every=1 distance=false", "Enter")
        try t.waitFor("iter 2/100000")
        try t.send("C-c")
        try t.waitFor("keeping the best image so far")
        try t.send("show t.iterations", "Enter")
        try t.waitFor("t.iterations: number")

        // Ctrl-D ends the session; the history file kept what was typed.
        try t.send("C-d")
        XCTAssertTrue(try t.waitForExit(timeout: 10), "Ctrl-D ends txn")
        let saved = try String(contentsOfFile: history, encoding: .utf8)
        XCTAssertTrue(saved.contains("x = noise size=48 seed=3"), saved)
        XCTAssertTrue(saved.contains("optimse x"), saved)
    }
}
