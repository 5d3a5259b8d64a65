import ArgumentParser
import Foundation
import TxnFiles
import TxnCheckpoint
import TxnGAN
import TxnImage
import TxnNotebook
import TxnTensor
import TxnTexNet

/// A training run as `txn gan train` and `txn texnet train` drive it, once it is set up (new or resumed): the
/// notebook's `GeneratorTraining` (iterations, sample, progress line) and its checkpoint pair.
protocol CommandLineTraining: GeneratorTraining, PairCheckpointed {
    /// Writes the checkpoint pair at `path` (the network and its resume file).
    func saveCheckpoint(_ path: String) throws
    /// What the checkpoint holds, for the last line ("generator, 1234 parameters"), if it says more than its name.
    var checkpointSummary: String? { get }
}

extension GANTraining: CommandLineTraining {
    func saveCheckpoint(_ path: String) throws { try save(generatorTo: path) }
    var checkpointSummary: String? { "generator, \(generator.parameterCount) parameters" }
}

extension TexNetTraining: CommandLineTraining {
    func saveCheckpoint(_ path: String) throws { try save(to: path) }
    var checkpointSummary: String? { nil }
}

/// The options of the loop, declared once for both train commands.
struct TrainingLoopOptions: ParsableArguments {
    /// 1000 for either method: a real run from the command line (the GAN's small preset makes recognisable samples by
    /// then; see `GANPreset.learningRate`). The notebook's `train` adds 100 at a time and the web page asks for 300:
    /// each front end's own choice. The range is each method's (`checkSteps`).
    @Option(parsing: .unconditional, help: "Training iterations (with --resume: the total to reach).")
    var steps: Int = 1000

    @Flag(help: "Continue the run saved at -o.")
    var resume = false

    @Option(parsing: .unconditional, help: "Print progress every N iterations.")
    var every: Int = 10

    @Option(parsing: .unconditional, help: "Write a checkpoint every N iterations (0: only at the end).")
    var checkpointEvery: Int = 100

    @Option(help: "Write a sample every --every iterations to this folder.")
    var samples: String?

    /// `--steps` against the range of the run's options (each method declares its own: `GANTrainingOptions.stepRange`).
    func checkSteps(_ range: ClosedRange<Int>) throws {
        guard range.contains(steps) else {
            throw ValidationError("--steps must be between \(range.lowerBound) and \(range.upperBound), got \(steps)")
        }
    }

    func validate() throws {
        guard every >= 1 else { throw ValidationError("--every must be at least 1") }
        guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must be 0 or more") }
    }

    /// Every output checked before the work (the checkpoint pair at `output`, the samples' folder), and what a run
    /// killed while writing a checkpoint left removed.
    func prepare<T: CommandLineTraining>(_ training: T.Type, output: String) throws {
        do { try T.checkOutputs(output) } catch { throw ValidationError("-o \(error)") }
        if let samples {
            do { try SafeFile.makeFolder(samples) } catch { throw ValidationError("--samples \(error)") }
        }
        for name in T.removeStaleTemporaries(of: output) { print("removed \(name), left by a run that was killed while writing a checkpoint") }
    }

    /// The run at -o continued (with --resume, and said so), or a fresh one.
    func training<T: CommandLineTraining>(output: String, resumed: () throws -> T, fresh: () throws -> T) throws -> T {
        guard resume else { return try fresh() }
        let training = try resumed()
        print("resuming \(output) at iteration \(training.iteration)")
        return training
    }

    func loop(output: String) -> TrainingLoop {
        TrainingLoop(steps: steps, every: every, checkpointEvery: checkpointEvery, samples: samples, output: output)
    }
}

/// The loop both train commands run: iterations to `steps` with a progress line every `every` (and the first and the
/// last), a sample in `samples` every `every`, a checkpoint every `checkpointEvery` iterations (0: only at the end);
/// Ctrl-C stops after the current iteration, and the run ends with a checkpoint either way.
struct TrainingLoop {
    var steps: Int
    var every: Int
    var checkpointEvery: Int
    var samples: String?
    var output: String

    /// Runs `training` to `steps` and says what it wrote, after how many iterations of this run and how long.
    func run<T: CommandLineTraining>(_ training: T) throws {
        Interrupt.install()
        defer { Interrupt.uninstall() }
        let first = training.iteration
        var sinceCheckpoint = 0
        let start = Date()
        let stopped = try training.train(until: steps, shouldStop: { Interrupt.isRequested }) { r, perIteration in
            sinceCheckpoint += 1
            if training.iteration % every == 0 || training.iteration == steps || training.iteration - first == 1 {
                print(T.progressLine(r, total: steps, secondsPerIteration: perIteration))
            }
            if let samples, training.iteration % every == 0 || training.iteration == steps {
                try training.snapshot().save(samples + "/sample_\(String(format: "%06d", training.iteration)).png", createFolders: true)
            }
            if checkpointEvery > 0 && sinceCheckpoint >= checkpointEvery {
                try training.saveCheckpoint(output)
                sinceCheckpoint = 0
            }
        }
        if stopped { print("interrupted at iteration \(training.iteration): writing a checkpoint") }
        try training.saveCheckpoint(output)
        T.removeStaleTemporaries(of: output)
        print("wrote \(output)\(training.checkpointSummary.map { " (\($0))" } ?? "") and \(T.resumePath(for: output)) "
            + String(format: "after %d iterations, %.1f s", training.iteration - first, Date().timeIntervalSince(start)))
    }
}
