import Dispatch

/// The loop of every training run (the GAN, the texture network): steps until the run's iteration reaches a target,
/// asking before each whether to stop, and reporting each step's record with the seconds per iteration so far.
public enum IterationLoop {
    /// Runs `step` while `iteration()` is below `target`; `shouldStop` is asked before each step. Returns whether it
    /// stopped early.
    @discardableResult
    public static func run<Record>(until target: Int, iteration: () -> Int, shouldStop: () -> Bool,
                                   step: () throws -> Record,
                                   report: (_ record: Record, _ secondsPerIteration: Double) throws -> Void) throws -> Bool {
        let first = iteration(), start = DispatchTime.now().uptimeNanoseconds
        while iteration() < target {
            if shouldStop() { return true }
            let r = try step()
            try report(r, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iteration() - first))
        }
        return false
    }
}
