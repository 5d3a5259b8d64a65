import Foundation
import TxnVGG

/// Facts about this process and machine that a benchmark must report or guard against.
enum Machine {
    /// Median wall time in seconds of `repeats` runs.
    static func median(_ repeats: Int, _ body: (Int) throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for i in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try body(i)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        return times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
    }

    /// Peak resident set size of this process (VmHWM), in MiB.
    static func peakRSSMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
        return 0
    }

    /// Multiply-adds ×2 of VGG-19's 3x3 convolutions 1...convs at a square input size.
    static func vggFlops(size: Int, upTo convs: Int) -> Double {
        var total = 0.0, side = size
        for entry in VGG19.stages {
            switch entry.stage {
            case .pool: side = (side + 1) / 2
            case .conv(let i) where i < convs:
                let (cin, cout) = VGG19.convChannels[i]
                total += 2 * 9 * Double(cin * cout) * Double(side * side)
            default: break
            }
        }
        return total
    }

    /// Other processes using a noticeable share of a CPU, read from /proc over a short interval.
    static func busyProcesses(threshold: Double = 0.2, interval: Double = 0.3) -> [String] {
        func snapshot() -> [Int: (String, Double)] {
            var out: [Int: (String, Double)] = [:]
            guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return out }
            let me = Int(ProcessInfo.processInfo.processIdentifier)
            for p in pids {
                guard let pid = Int(p), pid != me,
                      let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                      let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
                let name = String(stat[stat.index(after: open)..<close])
                let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
                guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { continue }
                out[pid] = (name, u + s)
            }
            return out
        }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let a = snapshot()
        Thread.sleep(forTimeInterval: interval)
        let b = snapshot()
        var busy: [String] = []
        for (pid, (name, t1)) in b {
            guard let (_, t0) = a[pid] else { continue }
            let share = (t1 - t0) / ticks / interval
            if share >= threshold {
                busy.append(String(format: "process %d (%@) is using %.0f%% of a CPU: timings will be noisy", pid, name, share * 100))
            }
        }
        return busy
    }
}
