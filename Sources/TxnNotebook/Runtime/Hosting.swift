import Foundation
import TxnGAN
import TxnImage
import TxnSynthesis
import TxnTensor
import TxnTexNet

/// What a program that runs notebooks on someone else's behalf (`txn serve`) reads of the layers beneath the
/// notebook. It names them through here, so that it depends on TxnNotebook alone: the options, ranges and presets
/// stay declared once, in the layer that owns them, and reach the host as the notebook sees them.
public enum Hosting {
    /// `optimize`'s options: defaults, ranges, optimiser names and the size rule (`sizeProblem`).
    public typealias OptimizeOptions = SynthesisOptions
    /// `gan`'s presets (their crop, batch and scale).
    public typealias GANPreset = TxnGAN.GANPreset
    /// `train`'s options (`stepRange`, the default preset).
    public typealias GANOptions = GANTrainingOptions
    /// `texnet`'s presets (their architecture: the noise period, what training and generating hold).
    public typealias TexNetPreset = TxnTexNet.TexNetPreset
    /// `texnet`'s options (the default preset, loss and normalisation; `stepRange`, `sizeRange`, `batchRange`).
    public typealias TexNetOptions = TexNetTrainingOptions

    /// The threads a notebook computes with (`set threads=`).
    public static var threads: Int { Threads.count }

    /// The most one allocation, or one file read whole, may take (`set memory=`, `--max-memory`).
    public static var memoryLimitBytes: Int { MemoryBudget.limitBytes }

    /// The training state `save g FILE` keeps beside a GAN's generator, never to be served: `G.pth` → `G.resume.pth`.
    public static func ganResumePath(for generatorPath: String) -> String { GANTraining.resumePath(for: generatorPath) }
}

/// One iteration of a long command (`optimize`, `train`) as plain values, for a host that shows it elsewhere
/// (the web page's progress and curves).
public struct IterationReport {
    public var iteration: Int
    /// The iteration the command runs to.
    public var total: Int
    /// The iteration's numbers by the names the page shows (`loss`, `layerLosses`, `dLoss`, `eta`…).
    public var fields: [String: Any]
    /// Of those, the ones drawn as curves.
    public var series: [String: Double]
    /// The current iterate (`optimize`) or the sample from a trained network's fixed noise (`train`), when one is due.
    public var image: Image?
    public var caption: String
}

extension IterationReport {
    init(_ p: SynthesisProgress) {
        var perLayer: [String: Double] = [:]
        for (l, v) in zip(p.layers, p.layerLosses) { perLayer[l] = v }
        self.init(iteration: p.iteration, total: p.totalIterations,
                  fields: ["iteration": p.iteration, "total": p.totalIterations, "loss": p.loss, "layerLosses": perLayer,
                           "evaluations": p.evaluations, "elapsed": p.elapsed,
                           "secondsPerIteration": p.secondsPerIteration, "eta": p.remaining],
                  series: ["loss": p.loss], image: p.snapshot, caption: "iteration \(p.iteration)")
    }

    init(_ r: GANRecord, total: Int, secondsPerIteration: Double, elapsed: Double, sample: Image?) {
        self.init(training: r.iteration, total: total,
                  numbers: ["dLoss": r.discriminatorLoss, "gLoss": r.generatorLoss, "dReal": r.meanReal, "dFake": r.meanFake],
                  curves: ["dLoss", "gLoss"], secondsPerIteration: secondsPerIteration, elapsed: elapsed, sample: sample)
    }

    init(_ r: TexNetRecord, total: Int, secondsPerIteration: Double, elapsed: Double, sample: Image?) {
        self.init(training: r.iteration, total: total, numbers: ["loss": r.loss], curves: ["loss"],
                  secondsPerIteration: secondsPerIteration, elapsed: elapsed, sample: sample)
    }

    /// An iteration of `train` (a GAN's or a texture network's): the method's `numbers`, of which `curves` are
    /// drawn, its pace, and the sample from the run's fixed noise when one is due.
    private init(training iteration: Int, total: Int, numbers: [String: Double], curves: [String],
                 secondsPerIteration: Double, elapsed: Double, sample: Image?) {
        var fields: [String: Any] = ["iteration": iteration, "total": total, "secondsPerIteration": secondsPerIteration,
                                     "elapsed": elapsed, "eta": secondsPerIteration * Double(total - iteration)]
        for (name, value) in numbers { fields[name] = value }
        self.init(iteration: iteration, total: total, fields: fields, series: numbers.filter { curves.contains($0.key) },
                  image: sample, caption: "iteration \(iteration), fixed noise")
    }
}

extension RunMonitor {
    /// A monitor that reports every iteration of `optimize` and of `train` alike (`elapsed` of a training counts
    /// from here).
    public init(snapshotEvery: Int, report: @escaping (IterationReport) -> Void, shouldStop: @escaping () -> Bool) {
        let start = Date()
        self.init(snapshotEvery: snapshotEvery,
                  synthesisProgress: { report(IterationReport($0)) },
                  ganProgress: { r, total, perIteration, sample in
                      report(IterationReport(r, total: total, secondsPerIteration: perIteration,
                                             elapsed: Date().timeIntervalSince(start), sample: sample))
                  },
                  texnetProgress: { r, total, perIteration, sample in
                      report(IterationReport(r, total: total, secondsPerIteration: perIteration,
                                             elapsed: Date().timeIntervalSince(start), sample: sample))
                  },
                  shouldStop: shouldStop)
    }
}

/// What a host reads of a finished notebook: the image a variable holds (an `optimize` result or an image) and
/// the numbers that go with it.
public struct HostedResult {
    public var image: Image
    /// `width`, `height`; for a synthesis also `loss`, `iterations`, `evaluations`, `seconds`; `distance`
    /// (`gramLoss`, `sliced`) when one was measured.
    public var fields: [String: Any]
    /// The iterations an `optimize` ran, and whether it was stopped before its last.
    public var iterations: Int?
    public var interrupted = false
}

extension Interpreter {
    /// The result held by `name`, with the texture distance held by `distance` (or measured by the synthesis);
    /// nil when `name` holds neither a synthesis nor an image.
    public func hostedResult(_ name: String, distance: String? = nil) -> HostedResult? {
        var result: HostedResult
        var measured: TextureDistance?
        switch variables[name] {
        case .synthesis(let s)?:
            let r = s.result
            result = HostedResult(image: r.image, fields: ["loss": r.loss, "iterations": r.history.count,
                                                           "evaluations": r.evaluations, "seconds": r.seconds],
                                  iterations: r.history.count, interrupted: r.interrupted)
            measured = r.distance
        case .image(let image)?:
            result = HostedResult(image: image, fields: [:])
        default:
            return nil
        }
        if let distance, case .distance(let d)? = variables[distance] { measured = d }
        if let d = measured { result.fields["distance"] = ["gramLoss": d.gramLoss, "sliced": d.sliced] }
        result.fields["width"] = result.image.width
        result.fields["height"] = result.image.height
        return result
    }
}
