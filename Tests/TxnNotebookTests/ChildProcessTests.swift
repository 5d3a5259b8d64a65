import Foundation
import XCTest

/// A killed `txn` leaves nothing running: `txn bench` runs each size in a child process (txn itself), which dies
/// with its parent (PR_SET_PDEATHSIG, see Sources/txn/ChildProcess.swift) instead of computing on alone.
final class ChildProcessTests: XCTestCase {
    /// The pids whose parent is `parent`, with their command lines.
    func children(of parent: pid_t) -> [(pid: pid_t, command: String)] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { pid_t($0) } ?? []
        return pids.compactMap { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard fields.count > 1, pid_t(fields[1]) == parent else { return nil }
            let command = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")))
                .map { String(decoding: $0.map { $0 == 0 ? 32 : $0 }, as: UTF8.self) } ?? ""
            return (pid, command)
        }
    }

    /// Running (not gone, not a zombie waiting for a parent that is no more).
    func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }

    func testBenchChildDiesWithItsKilledParent() throws {
        var child: pid_t?
        var survived = false
        let result = try TxnProcess.run(["bench", "--sizes", "64", "--repeats", "1000", "--iterations", "2"], timeout: 60) { parent in
            let deadline = Date().addingTimeInterval(30)
            while child == nil && Date() < deadline {
                child = self.children(of: parent).first { $0.command.contains("--child") }?.pid
                usleep(50_000)
            }
            kill(parent, SIGKILL)
            guard let child else { return }
            let gone = Date().addingTimeInterval(10)
            while self.isRunning(child) && Date() < gone { usleep(50_000) }
            survived = self.isRunning(child)
            if survived { kill(child, SIGKILL) }
        }
        XCTAssertNotNil(child, "txn bench started no --child process within 30 s: \(result.stderr)")
        XCTAssertEqual(result.status, 128 + SIGKILL)
        XCTAssertFalse(survived, "the bench child \(child ?? 0) ran on for 10 s after its parent was killed")
    }
}

/// On a CPU without AVX2 the build for `haswell` says so in one line instead of dying of an illegal instruction:
/// txn under qemu's user-mode emulation of an older CPU (Nehalem: SSE4.2, no AVX), and of Haswell for contrast.
final class CPUCheckTests: XCTestCase {
    func run(cpu: String) throws -> (status: Int32, output: String) {
        let qemu = "/usr/bin/qemu-x86_64"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: qemu), "qemu-user is not installed (scripts/bootstrap.sh installs it)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: qemu)
        process.arguments = ["-cpu", cpu, try TxnProcess.binary(), "--version"]
        // Output through a file, not a pipe the child could block on; qemu's own warnings about CPU features its
        // emulator lacks are left out.
        let path = NSTemporaryDirectory() + "txn-qemu-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: path, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        process.standardOutput = file
        process.standardError = file
        try process.run()
        process.waitUntilExit()
        try file.close()
        let lines = (try String(contentsOfFile: path, encoding: .utf8)).split(separator: "\n").filter { !$0.hasPrefix("qemu-x86_64:") }
        return (process.terminationStatus, lines.joined(separator: "\n"))
    }

    func testACPUWithoutAVX2GetsAOneLineMessage() throws {
        let old = try run(cpu: "Nehalem")
        XCTAssertEqual(old.status, 1, old.output)
        XCTAssertTrue(old.output.hasPrefix("txn: this CPU lacks AVX2 FMA BMI2"), old.output)
        XCTAssertEqual(old.output.split(separator: "\n").count, 1, old.output)
        let new = try run(cpu: "Haswell")
        XCTAssertEqual(new.status, 0, new.output)
        XCTAssertTrue(new.output.hasPrefix("txn "), new.output)
    }
}
