import Foundation

/// The timing end of every progress line, one wording for all of them (the synthesis's, the GAN's, the texture
/// network's, in every front end): `0.41 s/it  6m42s left`.
public enum ProgressTiming {
    /// Seconds per iteration and the time left at that pace for `iterationsLeft` more iterations.
    public static func text(secondsPerIteration: Double, iterationsLeft: Int) -> String {
        text(secondsPerIteration: secondsPerIteration, remaining: secondsPerIteration * Double(iterationsLeft))
    }

    /// Seconds per iteration and `remaining` seconds.
    public static func text(secondsPerIteration: Double, remaining: Double) -> String {
        String(format: "%.2f s/it  ", secondsPerIteration) + duration(remaining) + " left"
    }

    /// `42s`, `6m42s`, `1h5m`; `?` when not known (no iteration timed yet).
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : (s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s")
    }
}
