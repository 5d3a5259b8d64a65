import Foundation
import XCTest

/// Runs the built `txn` executable as a child process (posix_spawn), for what only a process shows: exit codes,
/// signals, closed descriptors. stdout and stderr go through files, never pipes the child could block on.
struct TxnProcess {
    var status: Int32 = 0
    var stdout = ""
    var stderr = ""
    var seconds = 0.0

    /// The txn executable that `swift build` put beside the test bundle.
    static func binary() throws -> String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("txn").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let fallback = InterpreterTests.repoRoot + "/.build/debug/txn"
        guard FileManager.default.isExecutableFile(atPath: fallback) else {
            XCTFail("no txn executable next to the tests: build it with `swift build`")
            throw CocoaError(.fileNoSuchFile)
        }
        return fallback
    }

    /// Runs `txn args…`. `stdin` is a file to read (default /dev/null); `closeStdout` closes descriptor 1;
    /// `duringRun` is called with the child's pid while it runs (to send signals).
    static func run(_ args: [String], stdin: String = "/dev/null", closeStdout: Bool = false,
                    environment: [String: String] = [:], timeout: Double = 30, stdoutPath: String? = nil,
                    duringRun: ((pid_t) -> Void)? = nil) throws -> TxnProcess {
        let dir = NSTemporaryDirectory() + "txn-proc-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        if closeStdout {
            posix_spawn_file_actions_addclose(&actions, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, stdoutPath ?? dir + "/out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        posix_spawn_file_actions_addopen(&actions, 2, dir + "/err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let binary = try binary()
        let argv = ([binary] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for e in envp { free(e) } }
        var pid = pid_t()
        let start = Date()
        guard posix_spawn(&pid, binary, &actions, nil, argv, envp) == 0 else { throw CocoaError(.executableLoad) }
        duringRun?(pid)
        var result = TxnProcess()
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date().timeIntervalSince(start) > timeout {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                XCTFail("txn \(args) did not finish within \(timeout) s")
                break
            }
            usleep(10_000)
        }
        result.seconds = Date().timeIntervalSince(start)
        // Exit code, or 128 + signal number as a shell reports it.
        result.status = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        result.stdout = (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? ""
        result.stderr = (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? ""
        return result
    }
}
