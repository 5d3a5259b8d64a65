import Foundation
import XCTest

/// The real REPL (the `txn` executable) on a pseudo-terminal, driven through tmux as a person would:
/// typing, Tab completion, history, a mistake, Ctrl-C at the prompt and during an optimisation, Ctrl-D.
final class REPLTerminalTests: XCTestCase {
    let session = "txn-repl-test-\(getpid())"
    var tmp = ""

    /// The txn executable that `swift build` put beside the test bundle.
    func txnBinary() throws -> String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("txn").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let fallback = InterpreterTests.repoRoot + "/.build/debug/txn"
        guard FileManager.default.isExecutableFile(atPath: fallback) else {
            XCTFail("no txn executable next to the tests: build it with `swift build` (test.sh does)")
            throw CocoaError(.fileNoSuchFile)
        }
        return fallback
    }

    /// Runs tmux with posix_spawn and waitpid (Foundation's Process has hung here waiting for a
    /// child that had exited). Output goes through a file, because a pipe would be inherited, and
    /// held open, by the tmux server that `new-session` starts.
    @discardableResult
    func tmux(_ args: [String]) throws -> String {
        let outPath = tmp + "/tmux-out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = (["tmux"] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid = pid_t()
        guard posix_spawnp(&pid, "tmux", &actions, nil, argv, environ) == 0 else {
            XCTFail("cannot start tmux")
            throw CocoaError(.executableLoad)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }

    func screen() throws -> String { try tmux(["capture-pane", "-p", "-J", "-S", "-200", "-t", session]) }

    /// Waits until the screen contains `text` (after `occurrence` earlier ones).
    func waitFor(_ text: String, count: Int = 1, timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try screen().components(separatedBy: text).count - 1 >= count { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("timed out waiting for \(text.debugDescription) ×\(count); screen:\n\(try screen())", file: file, line: line)
        throw CocoaError(.executableLoad)
    }

    func send(_ keys: String...) throws { try tmux(["send-keys", "-t", session] + keys) }

    override func setUp() {
        tmp = NSTemporaryDirectory() + "txn-repl-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        _ = try? tmux(["kill-session", "-t", session])
        try? FileManager.default.removeItem(atPath: tmp)
    }

    func testAPersonAtTheTerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            return XCTFail("tmux is needed for this test (scripts/bootstrap.sh installs it)")
        }
        let txn = try txnBinary()
        let history = tmp + "/history"
        let command = "env TXN_HISTORY=\(history) TXN_MODELS_DIR=\(InterpreterTests.repoRoot)/Models \(txn) --threads 2"
        try tmux(["new-session", "-d", "-s", session, "-x", "160", "-y", "50", "-c", InterpreterTests.repoRoot + "/Notebooks", command])
        try waitFor("[1] ")

        try send("x = noise size=48 seed=3", "Enter")
        try waitFor("x = image 48x48")

        // Tab completes a command (unique prefix) and a variable's field.
        try send("sh", "Tab")
        try waitFor("[2] show ")
        try send("x.wi", "Tab", "Enter")
        try waitFor("x.width: number 48")

        // A typo is an error with a caret; the session and its variables survive.
        try send("optimse x", "Enter")
        try waitFor("unknown command 'optimse' (did you mean 'optimize'?)")
        try send("vars", "Enter")
        try waitFor("image 48x48", count: 2)

        // Up recalls history; Ctrl-C at the prompt abandons the line.
        try send("Up")
        try waitFor("] vars", count: 2)
        try send("C-c")
        try waitFor("^C")

        // Ctrl-C during an optimisation stops it and keeps the best image; the session goes on.
        try send("t = optimize x size=48 steps=100000 every=1 distance=false", "Enter")
        try waitFor("iter 2/100000")
        try send("C-c")
        try waitFor("keeping the best image so far")
        try send("show t.iterations", "Enter")
        try waitFor("t.iterations: number")

        // Ctrl-D ends the session; the history file kept what was typed.
        try send("C-d")
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, try tmux(["list-sessions", "-F", "#S"]).contains(session) {
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertFalse(try tmux(["list-sessions", "-F", "#S"]).contains(session), "Ctrl-D ends txn")
        let saved = try String(contentsOfFile: history, encoding: .utf8)
        XCTAssertTrue(saved.contains("x = noise size=48 seed=3"), saved)
        XCTAssertTrue(saved.contains("optimse x"), saved)
    }
}
