import Foundation

/// Every environment variable txn reads, in one place: its name, what it does, and its value. The code that uses one
/// asks here; `txn --help` lists the user's from here. (The variables txn sets for the libraries it loads, such as
/// OMP_WAIT_POLICY, are `ProcessSetup`'s in the executable.)
public enum EnvironmentSettings {
    public struct Variable: Sendable {
        public let name: String
        /// What it does, as a sentence's predicate: "TXN_HISTORY is the REPL's history file".
        public let meaning: String

        /// The value, if set.
        public var value: String? { ProcessInfo.processInfo.environment[name] }
    }

    /// The folder of the weights (default: Models/ of the checkout).
    public static let modelsDirectory = Variable(name: "TXN_MODELS_DIR", meaning: "overrides where weights are looked up")
    /// The interactive session's history file (default: ~/.txn_history).
    public static let history = Variable(name: "TXN_HISTORY", meaning: "is the REPL's history file")
    /// The memory limit in MiB, as `--max-memory` (default: `MemoryBudget.defaultLimitBytes`' measure).
    public static let maxMemory = Variable(name: "TXN_MAX_MEMORY", meaning: "is the memory limit in MiB, as --max-memory")
    /// Set by txn for the benchmark children it starts: the pid they die with.
    public static let parentProcess = Variable(name: "TXN_PARENT_PID", meaning: "is set by txn in its benchmark children")
    /// Where `txn serve` keeps uploads by default (the XDG base directory; ~/.cache when unset).
    public static let cacheHome = Variable(name: "XDG_CACHE_HOME", meaning: "holds txn serve's uploads (txn/serve)")
    /// "0" keeps the GAN discriminator's 4x4 stride-2 convolutions on oneDNN's direct kernels where txn would run its
    /// own Winograd kernel (AVX2), for A/B measurements.
    public static let ganWinograd = Variable(name: "TXN_GAN_WINOGRAD", meaning: "set to 0 keeps the discriminator on oneDNN's direct kernels")
    /// oneDNN's own cap on the instruction set it dispatches to, which `txn doctor` reports.
    public static let oneDNNISACap = Variable(name: "ONEDNN_MAX_CPU_ISA", meaning: "caps what oneDNN dispatches to")

    /// The variables a user sets, for help texts.
    public static let userSettings = [modelsDirectory, history, maxMemory]
}
