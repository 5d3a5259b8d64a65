import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Process set-up that must happen before the numeric libraries start: both settings are read by
/// libraries as they load, before main, so txn sets them and starts itself again (once).
enum ProcessSetup {
    static let settings: [(name: String, value: String)] = [
        // Idle OpenMP threads (oneDNN's) that spin would steal the cores from txn's own parallel
        // loops and OpenBLAS.
        ("OMP_WAIT_POLICY", "PASSIVE"),
        // Large buffers (images, L-BFGS history, features) come and go between phases of a run;
        // with a fixed threshold glibc maps each one separately and returns it when freed, instead
        // of raising the threshold and keeping freed memory in the heap (+60 MiB peak at 512x512).
        ("MALLOC_MMAP_THRESHOLD_", "1048576"),
    ]

    static func prepare() {
        let missing = settings.filter { getenv($0.name) == nil }
        guard !missing.isEmpty else { return }
        for (name, value) in missing { setenv(name, value, 1) }
        // The user's own values are kept; execv returns only on failure, and then txn simply
        // carries on with the libraries' defaults.
        execv("/proc/self/exe", CommandLine.unsafeArgv)
    }
}

ProcessSetup.prepare()
Txn.main()
