import Foundation
import TxnGAN
import TxnImage
import TxnTensor
import TxnTexNet

/// A training run as `txn gan train` and `txn texnet train` drive it, once it is set up (new or resumed).
protocol CommandLineTraining: AnyObject {
    associatedtype Record
    var iteration: Int { get }
    @discardableResult
    func train(until target: Int, shouldStop: () -> Bool, report: (Record, Double) throws -> Void) throws -> Bool
    /// The sample image of the current networks (`--samples`).
    func snapshot() throws -> Image
    /// Writes the checkpoint pair at `path` (the network and its resume file).
    func saveCheckpoint(_ path: String) throws
    static func removeStaleTemporaries(of path: String) -> [String]
    /// The terminal's progress line for an iteration.
    static func progressLine(_ r: Record, total: Int, secondsPerIteration: Double) -> String
}

extension GANTraining: CommandLineTraining {
    func saveCheckpoint(_ path: String) throws { try save(generatorTo: path) }
    static func progressLine(_ r: GANRecord, total: Int, secondsPerIteration: Double) -> String {
        GANProgressLine.line(r, total: total, secondsPerIteration: secondsPerIteration,
                             remaining: secondsPerIteration * Double(total - r.iteration))
    }
}

extension TexNetTraining: CommandLineTraining {
    func saveCheckpoint(_ path: String) throws { try save(to: path) }
    static func progressLine(_ r: TexNetRecord, total: Int, secondsPerIteration: Double) -> String {
        TexNetProgressLine.line(r, total: total, secondsPerIteration: secondsPerIteration)
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

    /// Runs `training` to `steps`; returns the iterations this run made and its seconds.
    func run<T: CommandLineTraining>(_ training: T) throws -> (iterations: Int, seconds: Double) {
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
        return (training.iteration - first, Date().timeIntervalSince(start))
    }
}
