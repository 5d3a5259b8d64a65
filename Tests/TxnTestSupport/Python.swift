import Foundation
import XCTest

/// Runs python3 for the tests that check txn against real PyTorch. Those tests skip, saying why, when
/// `python3 -c "import torch"` fails; CI installs torch.
public enum Python {
    /// Runs python3 with output in files (no pipe can fill up and block), returns (status, stdout, stderr).
    public static func run(_ arguments: [String]) throws -> (Int32, String, String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("txn-py-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out"), err = folder.appendingPathComponent("err")
        guard FileManager.default.createFile(atPath: out.path, contents: nil),
              FileManager.default.createFile(atPath: err.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + arguments
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }

    /// nil if torch imports, else the reason (once per run).
    public static let torchMissing: String? = {
        guard let (status, _, err) = try? run(["-c", "import torch"]) else { return "python3 could not be started" }
        let why = err.split(separator: "\n").last.map(String.init) ?? "exit status \(status)"
        return status == 0 ? nil : "python3 cannot import torch (\(why)); pip install torch to run this test"
    }()

    public static func requireTorch() throws {
        if let reason = torchMissing { throw XCTSkip(reason) }
    }
}
