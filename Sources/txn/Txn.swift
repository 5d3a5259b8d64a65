import ArgumentParser
import TxnNotebook
import TxnTensor

/// The `txn` command line: texture synthesis as a notebook of commands.
struct Txn: ParsableCommand {
    static let version = txnVersion

    static let configuration = CommandConfiguration(
        commandName: "txn",
        abstract: "Texture synthesis with VGG-19 Gram matrices (Gatys et al. 2015), on the CPU, as a notebook.",
        discussion: """
            txn FILE.txn runs a notebook; txn alone starts an interactive session; txn -c 'statements' runs one-liners.

            The default weights are Models/vgg_normalised.pth (fetch them with `bash Models/fetch.sh`). \
            Environment: \(EnvironmentSettings.userSettings.map { "\($0.name) \($0.meaning)" }.joined(separator: "; ")). \
            txn starts itself with OMP_WAIT_POLICY=ACTIVE, GOMP_SPINCOUNT=20000 (OpenMP \
            threads spin briefly, then sleep) and MALLOC_MMAP_THRESHOLD_=1048576 unless you set them. \
            `txn doctor` prints the machine, what oneDNN dispatches to and what computes each layer.
            """,
        version: "txn \(version)",
        subcommands: [NotebookCommand.self, Synth.self, GANCommand.self, TexNetCommand.self, Bench.self, Features.self, Serve.self, Doctor.self],
        defaultSubcommand: NotebookCommand.self
    )
}

/// `--threads`, for every command that computes, the server included.
struct ThreadsOption: ParsableArguments {
    @Option(name: .long, help: "Threads for convolutions and BLAS (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, !Threads.allowedRange.contains(threads) {
            throw ValidationError("--threads must be \(Threads.allowedRange.lowerBound)…\(Threads.allowedRange.upperBound), got \(threads)")
        }
    }

    func apply() {
        if let threads { Threads.count = threads }
    }
}

/// The source texture argument of the commands that learn from one.
struct SourceTextureArgument: ParsableArguments {
    @Argument(help: "Source texture (PNG or JPEG).")
    var source: String
}

/// Options every numeric subcommand shares.
struct NumericOptions: ParsableArguments {
    @OptionGroup var threading: ThreadsOption

    @Option(name: .long, help: "VGG-19 checkpoint (.pth), default Models/vgg_normalised.pth.")
    var weights: String?

    @Option(name: .long, help: ArgumentHelp("Memory limit for any one allocation a size can cause (default: 3/4 of physical memory, at most what is available).", valueName: "MiB"))
    var maxMemory: Int?

    func validate() throws {
        if let maxMemory {
            guard maxMemory >= 1, !maxMemory.multipliedReportingOverflow(by: MemoryBudget.mebibyte).overflow else {
                throw ValidationError("--max-memory must be a positive number of MiB, got \(maxMemory)")
            }
        }
    }

    func apply() {
        threading.apply()
        if let maxMemory { try? MemoryBudget.setLimit(mebibytes: maxMemory) }
    }

    var weightsPath: String { weights ?? ModelFiles.defaultWeights }
}
