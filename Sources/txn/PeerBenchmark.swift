import ArgumentParser
import Foundation

/// The PyTorch side of `txn bench --peer` and `txn bench gan --peer`: a script in scripts/, run with python3 in a
/// process of its own (so its peak RSS is its own), whose last line of output is one JSON object.
enum PeerBenchmark {
    /// scripts/NAME next to the sources, or the path the user gave.
    static func script(_ name: String, override: String?) throws -> String {
        let path = override ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/\(name)").path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw ValidationError("--peer-script: \(path) is not a file")
        }
        return path
    }

    /// Runs `python3 script arguments…` and parses its last output line.
    static func run(_ script: String, _ arguments: [String]) throws -> [String: Any] {
        let probe = try python(["-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"])
        guard probe.status == 0 else {
            throw ValidationError("python3 with torch is not importable, so PyTorch was not measured (pip install torch)")
        }
        let r = try python([script] + arguments)
        guard r.status == 0, let last = r.out.split(separator: "\n").last,
              let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
            throw ValidationError("\(script) failed (exit \(r.status)); its messages are above")
        }
        return object
    }

    private static func python(_ args: [String]) throws -> (status: Int32, out: String) {
        // PyTorch runs with its own defaults: the settings txn gives itself at start-up (OpenMP spinning,
        // malloc thresholds, OpenBLAS) are not passed on (with them a GAN step took 2.9 s instead of 1.8 s).
        var environment = ProcessInfo.processInfo.environment
        for (name, _) in ProcessSetup.settings { environment.removeValue(forKey: name) }
        environment.removeValue(forKey: "OPENBLAS_CORETYPE")
        return try ChildProcess.run("/usr/bin/env", ["python3"] + args, environment: environment)
    }
}

/// A benchmark with a PyTorch side: the script in scripts/ that measures the same work.
protocol PeerBenchmarked {
    static var peerScriptName: String { get }
}

/// `--peer` and `--peer-script`, declared once for every benchmark with a PyTorch side (`Benchmark`'s script).
struct PeerBenchmarkOptions<Benchmark: PeerBenchmarked>: ParsableArguments {
    @Flag(help: "Also time PyTorch (scripts/\(Benchmark.peerScriptName)) on the same sizes and print the ratios txn/PyTorch.")
    var peer = false

    @Option(help: "The PyTorch benchmark script for --peer (default: scripts/\(Benchmark.peerScriptName) next to the sources).")
    var peerScript: String?

    /// The script --peer runs: --peer-script, or the benchmark's own next to the sources.
    func script() throws -> String { try PeerBenchmark.script(Benchmark.peerScriptName, override: peerScript) }
}
