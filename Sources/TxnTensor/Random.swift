import Foundation

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, seedable, and its output is fixed by the algorithm, so a seed means
/// the same crop everywhere.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The generator `draws` draws further on, at once: each draw only adds a constant to the state, so a stream can
    /// be filled in parallel pieces that give exactly the bytes of one sequential pass.
    public func skipped(_ draws: Int) -> SplitMix64 {
        var copy = self
        copy.state &+= 0x9E37_79B9_7F4A_7C15 &* UInt64(draws)
        return copy
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in 0..<bound by multiply-high (bias below 2^-32 for any realistic image size), not the standard
    /// library's `random(in:)`, whose algorithm is not guaranteed stable across releases.
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0)
        return Int(UInt64(bound).multipliedFullWidth(by: next()).high)
    }

    /// Uniform in [0, 1) with 24 random bits: exactly representable as Float.
    public mutating func nextUnit() -> Float {
        Float(next() >> 40) * (1 / Float(1 << 24))
    }

    /// Standard normal by Box–Muller (one of the pair; simple and fixed by the algorithm).
    public mutating func nextGaussian() -> Float {
        let u1 = max(Double(next() >> 11) * 0x1p-53, 0x1p-60), u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
