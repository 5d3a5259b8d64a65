import Foundation
import XCTest

/// A program on a pseudo-terminal, driven through tmux as a person would: keys in, the screen out.
final class TmuxSession {
    let name: String
    let folder: String

    /// Starts `command` in a detached tmux session of `columns` x `rows` in `directory`.
    init(_ command: String, directory: String, columns: Int = 160, rows: Int = 50) throws {
        name = "txn-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        folder = NSTemporaryDirectory() + name
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try tmux(["new-session", "-d", "-s", name, "-x", "\(columns)", "-y", "\(rows)", "-c", directory, command])
    }

    deinit {
        _ = try? tmux(["kill-session", "-t", name])
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Runs tmux with posix_spawn and waitpid, its output through a file (a pipe would be held open by the tmux
    /// server that `new-session` starts).
    @discardableResult
    func tmux(_ args: [String]) throws -> String {
        let outPath = folder + "/tmux-out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = (["tmux"] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid = pid_t()
        guard posix_spawnp(&pid, "tmux", &actions, nil, argv, environ) == 0 else { throw CocoaError(.executableLoad) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }

    /// The screen and up to 500 lines of scroll-back, wrapped lines joined.
    func screen() throws -> String { try tmux(["capture-pane", "-p", "-J", "-S", "-500", "-t", name]) }

    func send(_ keys: String...) throws { try tmux(["send-keys", "-t", name] + keys) }

    /// Waits until the screen shows `text` at least `count` times.
    func waitFor(_ text: String, count: Int = 1, timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try screen().components(separatedBy: text).count - 1 >= count { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("timed out waiting for \(text.debugDescription) ×\(count); screen:\n\(try screen())", file: file, line: line)
        throw CocoaError(.executableLoad)
    }

    /// Waits until the program has ended (the session is gone).
    func waitForExit(timeout: Double = 20) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !(try tmux(["list-sessions", "-F", "#S"]).contains(name)) { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }
}
