import Foundation
import TxnTensor

/// The generator's input: a grid of noise cells, each `scale` pixels of output wide.
public enum GANNoise {
    /// Uniform in [−1, 1), as the seed's `np.random.uniform(-1, 1, …)`.
    public static func uniform(channels: Int, batch: Int, height: Int, width: Int, rng: inout SplitMix64) -> ChannelMajor {
        var z = ChannelMajor(zeros: channels, batch: batch, height: height, width: width)
        for i in 0..<z.count { z.data[i] = rng.nextUnit() * 2 - 1 }
        return z
    }

    /// The seed's tileable noise: the grid repeated 2×2, so the generated image repeats with the grid's period; a
    /// centre crop of one period (away from the borders' zero padding) then tiles.
    public static func repeated2x2(_ z: ChannelMajor) -> ChannelMajor {
        var out = ChannelMajor(zeros: z.channels, batch: z.batch, height: 2 * z.height, width: 2 * z.width)
        let (h, w) = (z.height, z.width)
        for plane in 0..<(z.channels * z.batch) {
            for y in 0..<(2 * h) {
                for x in 0..<(2 * w) {
                    out.data[(plane * 2 * h + y) * 2 * w + x] = z.data[(plane * h + y % h) * w + x % w]
                }
            }
        }
        return out
    }

    /// The seed's animation path: frame f of n is sin(z₀ + 2π(f+1)/n), a loop through noise space.
    public static func sineWalk(_ z: ChannelMajor, frame: Int, frames: Int) -> ChannelMajor {
        var out = z
        let phase = 2 * Float.pi * Float(frame + 1) / Float(frames)
        for i in 0..<out.count { out.data[i] = sin(z.data[i] + phase) }
        return out
    }

    /// Linear interpolation between two noise grids (key-frame animation).
    public static func interpolate(_ a: ChannelMajor, _ b: ChannelMajor, _ t: Float) -> ChannelMajor {
        precondition(a.count == b.count)
        var out = a
        for i in 0..<out.count { out.data[i] = a.data[i] + (b.data[i] - a.data[i]) * t }
        return out
    }
}


/// A generator's noise grid: the seed's uniform noise, or PSGAN's periodic noise with the draw that made it (whose
/// sines depend on the MLP's weights at the time).
public struct GANNoiseDraw: Sendable {
    public private(set) var noise: ChannelMajor
    public private(set) var periodic: PeriodicNoise.Draw?

    /// Noise for `g`, drawn from `rng`; with `tileable`, one period of a grid that repeats (the caller repeats it).
    public init(_ g: Generator, batch: Int, height: Int, width: Int, rng: inout SplitMix64, tileable: Bool = false) {
        if let p = g.periodic {
            let d = p.draw(batch: batch, height: height, width: width, rng: &rng, tileable: tileable)
            (noise, periodic) = (d.noise, d)
        } else {
            noise = GANNoise.uniform(channels: g.noiseChannels, batch: batch, height: height, width: width, rng: &rng)
        }
    }

    /// The noise with its sines recomputed by `g`'s MLP as it is now (for snapshots taken while training).
    public func current(_ g: Generator) -> ChannelMajor {
        guard var d = periodic, let p = g.periodic else { return noise }
        p.refresh(&d)
        return d.noise
    }
}
