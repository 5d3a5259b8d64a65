import CStartup
import Foundation
import TxnNotebook
import TxnTensor
#if canImport(Glibc)
import Glibc
#endif

/// Process set-up that must happen before the numeric libraries start: both settings are read by
/// libraries as they load, before main, so txn sets them and starts itself again (once).
enum ProcessSetup {
    static let settings: [(name: String, value: String)] = [
        // oneDNN's OpenMP threads wait between primitives. Spinning without end steals the cores
        // from txn's own loops and OpenBLAS (0.28-0.37 s per evaluation at 256x256); sleeping at once
        // makes every wake-up a system call (0.06-0.10 s at 128x128, bimodal). A short spin is best:
        // 0.056 s at 128, 0.155-0.18 s at 256 (txn bench, 2 threads, medians of 15).
        ("OMP_WAIT_POLICY", "ACTIVE"),
        ("GOMP_SPINCOUNT", "20000"),
        // Large buffers (images, L-BFGS history, features) come and go between phases of a run;
        // with a fixed threshold glibc maps each one separately and returns it when freed, instead
        // of raising the threshold and keeping freed memory in the heap (+60 MiB peak at 512x512).
        ("MALLOC_MMAP_THRESHOLD_", "1048576"),
        // OpenBLAS's idle workers spin on sched_yield for 2^28 cycles after each product before they sleep; the
        // GAN alternates products with txn's own parallel loops, which they then fight for both cores (16% of a
        // seed training iteration in sched_yield). 2^4 cycles: they sleep at once and the next product wakes them.
        // txn bench gan (seed, 2 threads, median of 5): 2.04 → 1.80 s per iteration, generation 0.44 → 0.40 s.
        ("OPENBLAS_THREAD_TIMEOUT", "4"),
    ]

    /// OpenBLAS 0.3.21 (Debian 12) picks its kernels from the CPU model number; on CPUs it does not know (virtual
    /// machines reporting a generic "Intel Xeon Processor", newer models) it falls back to the SSE3 "Prescott"
    /// kernels, 2x slower for the GAN's matrix products (7.1 s against 3.4 s per seed training iteration). The CPU
    /// flags say what is safe: AVX-512 → SkylakeX kernels, AVX2 + FMA → Haswell.
    static var openBLASCore: String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512dq", "avx512bw", "avx512vl"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    static func prepare() {
        var settings = settings
        if let core = openBLASCore { settings.append(("OPENBLAS_CORETYPE", core)) }
        let missing = settings.filter { getenv($0.name) == nil }
        guard !missing.isEmpty else { return }
        for (name, value) in missing { setenv(name, value, 1) }
        // The user's own values are kept; execv returns only on failure, and then txn simply
        // carries on with the libraries' defaults.
        execv("/proc/self/exe", CommandLine.unsafeArgv)
    }
}

// CStartup has already checked the CPU, in a constructor before main; naming it here keeps it linked.
_ = txn_required_cpu_features()
ChildProcess.dieWithParent()
ProcessSetup.prepare()
// Progress lines must reach a log file or a pipe as they are printed, not when a 4 KiB buffer fills.
setvbuf(stdout, nil, _IOLBF, 0)
StandardOutput.prepareProcess()
// As `Txn.main()`, but an error over the memory limit says how the command line raises it (the layer that found it
// says what and by how much, in no front end's terms).
do {
    var command = try Txn.parseAsRoot()
    try command.run()
} catch let error as MemoryLimitError where error.isOverMemoryLimit {
    Txn.exit(withError: CommandLineMessage(text: "\(error) \(CommandLineMessage.raiseMemoryLimit)"))
} catch {
    Txn.exit(withError: error)
}

/// An error already phrased for the command line.
struct CommandLineMessage: Error, CustomStringConvertible {
    /// How the command line raises the memory limit, after an error over it.
    static let raiseMemoryLimit = "(raise it with --max-memory MiB)"
    var text: String
    var description: String { text }
}
