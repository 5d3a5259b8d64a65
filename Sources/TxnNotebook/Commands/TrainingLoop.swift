import Foundation
import TxnCheckpoint
import TxnGAN
import TxnFiles
import TxnImage
import TxnTensor
import TxnTexNet

/// A generator a session trains (a GAN's, a texture network's): its training run, or only the network when it was
/// loaded without its training state. A reference: `train g` moves the network of every variable naming g.
public final class GeneratorRun<Training: AnyObject, Network: AnyObject>: @unchecked Sendable {
    public let training: Training?
    public let network: Network
    public let label: String
    /// Snapshots from the fixed noise taken while training: (iteration, image).
    public var samples: [(iteration: Int, image: Image)] = []

    init(training: Training?, network: Network, label: String) {
        (self.training, self.network, self.label) = (training, network, label)
    }
}

/// A generator's training run as every front end drives it (the notebook's `train`, `txn gan train`, `txn texnet
/// train`): iterations up to a target with a record each, a sample from its fixed noise, and the terminal's line.
public protocol GeneratorTraining: AnyObject {
    associatedtype Record
    var iteration: Int { get }
    /// Trains until iteration `target` or until `shouldStop`; returns whether it stopped early.
    @discardableResult
    func train(until target: Int, shouldStop: () -> Bool, report: (Record, Double) throws -> Void) throws -> Bool
    /// The sample image of the current networks, from the run's fixed noise.
    func snapshot() throws -> Image
    /// The progress line of an iteration.
    static func progressLine(_ r: Record, total: Int, secondsPerIteration: Double) -> String
}

extension GANTraining: GeneratorTraining {
    public static func progressLine(_ r: GANRecord, total: Int, secondsPerIteration: Double) -> String {
        GANProgressLine.line(r, total: total, secondsPerIteration: secondsPerIteration)
    }
}

extension TexNetTraining: GeneratorTraining {
    public static func progressLine(_ r: TexNetRecord, total: Int, secondsPerIteration: Double) -> String {
        TexNetProgressLine.line(r, total: total, secondsPerIteration: secondsPerIteration)
    }
}

/// What `save` needs of a method's training run: its two files (their paths and checks: `PairCheckpointed`).
public protocol NotebookRun: AnyObject, PairCheckpointed {
    /// Writes the network (`path`) and the training state beside it.
    func saveRun(to path: String) throws
}

/// A network alone, as `save` writes it: a PyTorch state dict.
public protocol NotebookNetwork: AnyObject {
    func save(_ path: String) throws
}

extension CommandContext {
    /// `save g "G.pth"` of a GAN or a texture network: both files checked before either is written (a .pth name,
    /// paths that may be replaced), then the network as a PyTorch state dict and its training state beside it.
    func save<Run: NotebookRun, Net: NotebookNetwork>(_ g: GeneratorRun<Run, Net>, kind: String, _ args: Arguments) throws {
        let path = try outputPath(try args.string("path"))
        do {
            try Run.checkOutputs(path, resumeFile: g.training != nil)
            if !parentPath(path).isEmpty { try SafeFile.makeFolder(parentPath(path)) }
        } catch {
            throw CommandError(notebookWording(error), at: args.ref("path"))
        }
        if let t = g.training {
            try t.saveRun(to: path)
            Run.removeStaleTemporaries(of: path)
            print("wrote \(displayPath(path)) (\(kind)) and \(displayPath(Run.resumePath(for: path))) (training state)")
        } else {
            try g.network.save(path)
            print("wrote \(displayPath(path)) (\(kind))")
        }
    }
}

/// The bookkeeping every method's notebook `train` shares (the GAN's and the texture network's), written once:
/// a progress line on the first iteration, every `every` iterations and the last; a sample from the run's fixed
/// noise every `snapshot` iterations (once at the end when 0), kept in the value and shown; the monitor's samples
/// and stop requests; and Ctrl-C, which stops after the current iteration and keeps what was learnt.
struct NotebookTrainingLoop {
    /// `train`'s keys, declared once for every method: iterations to add, progress and sample intervals.
    static let keys: [ParamSpec] = [
        // 100 at a time: a notebook trains in pieces it can look at in between (txn gan train runs 1000 in one go).
        // The GAN's and the texture network's step ranges are one range (TxnGAN and TxnTexNet each declare it for
        // their command lines; a texture network's `train` checks its own).
        ParamSpec("steps", .integer, default: .number(100), range: GANTrainingOptions.stepRange, "iterations to add"),
        ParamSpec("every", .integer, whenAbsent: "10", range: 1...1_000_000, "print progress every N iterations"),
        ParamSpec("snapshot", .integer, default: .number(0), range: 0...1_000_000, "keep and show a sample from fixed noise every N iterations (0: at the end only)"),
    ]

    let session: CommandContext
    let steps: Int, every: Int, snapshot: Int
    /// The iteration the run was at, and the one it trains to.
    let first: Int, target: Int
    /// The method's sample from its fixed noise, and where the value keeps it (`g.samples`).
    let sample: () throws -> Image
    let keep: (_ iteration: Int, _ image: Image) -> Void
    let start = Date()

    init(_ args: Arguments, _ session: CommandContext, from first: Int, sample: @escaping () throws -> Image,
         keep: @escaping (Int, Image) -> Void) throws {
        (self.session, self.first, self.sample, self.keep) = (session, first, sample, keep)
        steps = try args.int("steps")
        every = try args.int("every", default: session.progressEvery)
        snapshot = try args.int("snapshot")
        target = first + steps
    }

    /// Asked before each iteration: Ctrl-C, or the monitor's stop request.
    var shouldStop: () -> Bool {
        let monitor = session.monitor
        return { Interrupt.isRequested || monitor?.shouldStop() == true }
    }

    /// After iteration `i`: the progress line when it is due, the kept sample when it is due. Returns the sample
    /// the monitor is due, if any.
    func afterIteration(_ i: Int, line: () -> String) throws -> Image? {
        if i - first == 1 || i % every == 0 || i == target { session.print(line()) }
        var shown: Image?
        if snapshot > 0, i % snapshot == 0 || i == target {
            let image = try sample()
            keep(i, image)
            session.output.show(image, caption: "iteration \(i)")
            shown = image
        }
        guard let monitor = session.monitor, monitor.snapshotEvery > 0,
              i % monitor.snapshotEvery == 0 || i == target else { return nil }
        return try shown ?? sample()
    }

    /// Runs `body` (the method's training until `target`), then says whether it was interrupted (`kept` says
    /// what stays), keeps the final sample when none was kept on the way, and prints the time taken.
    func run(kept: String, iteration: () -> Int, _ body: () throws -> Void) throws {
        Interrupt.reset()
        try body()
        let interrupted = Interrupt.isRequested
        Interrupt.reset()
        let reached = iteration()
        if interrupted { session.print("interrupted at iteration \(reached): \(kept)") }
        if snapshot == 0 {
            let image = try sample()
            keep(reached, image)
            session.output.show(image, caption: "iteration \(reached)")
        }
        session.print(String(format: "%d iterations in %.1f s", reached - first, Date().timeIntervalSince(start)))
    }
}
