import TxnGAN
import TxnImage
import TxnSynthesis
import TxnTexNet

/// Lets a front end follow and stop the long commands of a running notebook (the web interface
/// runs every job as a notebook through an `Interpreter` with a monitor attached).
///
/// Nothing here changes a result: snapshots are copies of the current iterate, and a stop request
/// is honoured before the next loss evaluation, so a monitor that asks to stop right after
/// iteration k gets exactly the result of the same statement with `steps=k`.
public struct RunMonitor {
    /// Hand the progress callback an image of the current iterate every N iterations (0: never).
    public var snapshotEvery: Int
    /// Called after every iteration of `optimize`, on the thread running the notebook.
    public var synthesisProgress: (SynthesisProgress) -> Void
    /// Called after every iteration of `train` with its numbers, the iteration it trains to, the seconds per
    /// iteration so far and, every `snapshotEvery` iterations, the sample from the run's fixed noise.
    public var ganProgress: (_ record: GANRecord, _ total: Int, _ secondsPerIteration: Double, _ sample: Image?) -> Void
    /// The same for a texture network's `train`.
    public var texnetProgress: (_ record: TexNetRecord, _ total: Int, _ secondsPerIteration: Double, _ sample: Image?) -> Void
    /// Asked before every loss evaluation (every training iteration); true stops the command, which keeps its
    /// best result (what the GAN learnt so far).
    public var shouldStop: () -> Bool

    public init(snapshotEvery: Int = 0, synthesisProgress: @escaping (SynthesisProgress) -> Void = { _ in },
                ganProgress: @escaping (GANRecord, Int, Double, Image?) -> Void = { _, _, _, _ in },
                texnetProgress: @escaping (TexNetRecord, Int, Double, Image?) -> Void = { _, _, _, _ in },
                shouldStop: @escaping () -> Bool = { false }) {
        self.snapshotEvery = snapshotEvery
        self.synthesisProgress = synthesisProgress
        self.ganProgress = ganProgress
        self.texnetProgress = texnetProgress
        self.shouldStop = shouldStop
    }
}
