import TxnImage
import TxnTensor

/// What a long run reports after each iteration: one type for every front end (terminal, notebook
/// report, web interface).
public struct SynthesisProgress: Sendable {
    public var iteration: Int
    public var totalIterations: Int
    /// Loss after this iteration, and its parts per layer (weighted), in the order of the layers.
    public var loss: Double
    public var layerLosses: [Double]
    public var layers: [String]
    /// Loss evaluations (forward + backward passes) so far.
    public var evaluations: Int
    public var elapsed: Double
    public var secondsPerIteration: Double
    public var remaining: Double
    /// The current iterate, every `snapshotEvery` iterations.
    public var snapshot: Image?
    /// Coarse to fine: which octave (from 1, the coarsest) of how many; `iteration` counts within it.
    public var octave = 1
    public var octaves = 1
    /// Of `elapsed`, the seconds spent inside loss evaluations (the rest is the optimiser's own work).
    public var evaluationSeconds = 0.0
    /// The plain Gram loss of the current image at the output size (`SynthesisOptions.reportsGramLoss`); nil at
    /// coarser octaves and when not asked for.
    public var gramLoss: Double? = nil

    /// One line for a terminal: `iter 10/100  loss 3.91e+08  [conv1_1 …]  12 evals  0.30 s/it  27 s left`.
    public var line: String {
        let parts = zip(layers, layerLosses).map { "\($0) \(formatScientific($1))" }.joined(separator: " ")
        return (octaves > 1 ? "octave \(octave)/\(octaves) " : "") + "iter \(iteration)/\(totalIterations)  loss \(formatScientific(loss))  [\(parts)]  \(evaluations) evals  "
            + ProgressTiming.text(secondsPerIteration: secondsPerIteration, remaining: remaining)
    }
}

/// The outcome of a run.
public struct SynthesisResult: Sendable {
    /// The image with the lowest loss seen (after histogram matching, if asked for).
    public var image: Image
    /// Its loss (before histogram matching).
    public var loss: Double
    /// Loss after each iteration.
    public var history: [Double]
    public var evaluations: Int
    public var seconds: Double
    /// Stopped by Ctrl-C or a stop request before the last iteration.
    public var interrupted: Bool
    /// Stopped at the output size by `SynthesisOptions.plateau` (the iteration it stopped at is `history.count`).
    public var plateaued = false
    /// The texture distance of `image` to the source, when measured.
    public var distance: TextureDistance?
}

func formatScientific(_ v: Double) -> String {
    guard v.isFinite, v != 0 else { return "\(v)" }
    let e = Int((log10(abs(v))).rounded(.down))
    let m = v / pow(10, Double(e))
    return formatFixed(m, 2) + "e" + (e < 0 ? "-" : "+") + (abs(e) < 10 ? "0" : "") + "\(abs(e))"
}

func formatFixed(_ v: Double, _ digits: Int) -> String {
    let scale = pow(10, Double(digits))
    let r = (v * scale).rounded() / scale
    var s = "\(r)"
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    } else if digits > 0 {
        s += "." + String(repeating: "0", count: digits)
    }
    return s
}


#if canImport(Glibc)
import Glibc
#endif
