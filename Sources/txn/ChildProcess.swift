import Foundation

/// Runs a benchmark's other process (txn itself per size, or python3 for the PyTorch side) and captures its
/// standard output, at most 1 MiB of it; its stderr passes through, since a traceback explains a failure.
enum ChildProcess {
    static func run(_ executable: String, _ arguments: [String],
                    environment: [String: String]? = nil) throws -> (status: Int32, out: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data.prefix(1 << 20), as: UTF8.self))
    }
}
