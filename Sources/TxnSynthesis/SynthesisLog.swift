import Foundation
import TxnFiles

/// `txn synth --log FILE` and `optimize … log=FILE`: one JSON object per line and per iteration, written as the run
/// goes, to measure time to quality by (issue 22). Fields:
/// - `iteration`: counted over the whole run, coarse octaves included (1, 2, …);
/// - `octave`: which octave (1 the coarsest) of `octaves`; `octave_iteration`: the iteration within it;
/// - `seconds`: since the log was opened, just before the run's first octave;
/// - `loss`: the objective at the current scale; `evaluations`: loss evaluations of this octave so far;
/// - `gram_loss`: the plain Gram loss of the current image (default layers and weights), only at the output size.
/// The same format as scripts/gatys_peer.py writes for PyTorch.
public final class SynthesisLog {
    private let file: LineLog
    private let start = DispatchTime.now().uptimeNanoseconds
    private var iteration = 0
    /// The first write that failed; the run goes on (its image matters more than its log), the front end reports it.
    public private(set) var failure: Error?

    public init(path: String) throws {
        file = try LineLog(path: path, createFolders: true)
    }

    public var path: String { file.path }

    public func record(_ p: SynthesisProgress) {
        iteration += 1
        guard failure == nil else { return }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var fields: [(String, String)] = [
            ("iteration", "\(iteration)"), ("octave", "\(p.octave)"), ("octaves", "\(p.octaves)"),
            ("octave_iteration", "\(p.iteration)"), ("seconds", Self.number((seconds * 1e4).rounded() / 1e4)),
            ("loss", Self.number(p.loss)), ("evaluations", "\(p.evaluations)"),
        ]
        if let g = p.gramLoss { fields.append(("gram_loss", Self.number(g))) }
        do {
            try file.write(line: "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } catch {
            failure = error
        }
    }

    /// A JSON number: Swift's shortest round-trip form; JSON has no NaN or infinity, so those are null.
    static func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
}
