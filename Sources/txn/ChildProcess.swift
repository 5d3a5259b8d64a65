import CStartup
import Foundation
import TxnTensor

/// Runs a benchmark's other process (txn itself per size, or python3 for the PyTorch side) and captures its
/// standard output, at most 1 MiB of it; its stderr passes through, since a traceback explains a failure.
///
/// A child dies with its parent: it is told the parent's pid (`parentVariable`), asks the kernel for SIGKILL when
/// its parent dies (`dieWithParent`, and `scripts/die_with_parent.py` on the Python side), and exits at once if
/// the parent is already gone. A killed `txn bench` leaves nothing running.
enum ChildProcess {
    static let parentVariable = EnvironmentSettings.parentProcess.name

    static func run(_ executable: String, _ arguments: [String],
                    environment: [String: String]? = nil) throws -> (status: Int32, out: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = environment ?? ProcessInfo.processInfo.environment
        environment[parentVariable] = "\(getpid())"
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data.prefix(1 << 20), as: UTF8.self))
    }
}

extension ChildProcess {
    /// In a child started by `run`: SIGKILL when the parent dies, and exit now if it already has. The setting
    /// survives the re-exec of `ProcessSetup` (execve keeps it for binaries that are not set-user-ID).
    static func dieWithParent() {
        guard let value = getenv(parentVariable), let parent = pid_t(String(cString: value)) else { return }
        if txn_die_with_parent(parent) != 0 { exit(1) }
    }
}
