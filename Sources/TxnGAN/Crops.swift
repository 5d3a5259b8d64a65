import TxnImage
import TxnTensor

/// Random square crops of one texture, scaled to [−1, 1], as the seed's data loader makes them: a crop of
/// `crop × scaling` pixels at a uniform random position, resized to `crop` (scaling > 1 zooms out), optionally
/// flipped and rotated by a multiple of 90° (the texture's statistics do not depend on orientation).
public struct CropSampler: Sendable {
    public let source: Image
    public let crop: Int
    public let scaling: Double
    public let augment: Bool

    public init(source: Image, crop: Int, scaling: Double = 1, augment: Bool = false) throws {
        window = try Self.window(crop: crop, scaling: scaling, source: source)
        (self.source, self.crop, self.scaling, self.augment) = (source, crop, scaling, augment)
    }

    /// Pixels a side of the window cut from the source: crop × scaling, rounded down. The one check of a crop and
    /// a scaling factor from outside: computed in floating point and compared with the source before it becomes an
    /// `Int`, so that no crop (9223372036854775776 with scaling 2) can trap.
    static func window(crop: Int, scaling: Double, source: Image) throws -> Int {
        guard crop >= 1 else { throw GANError("the crop must be at least 1 pixel, got \(crop)") }
        guard scaling.isFinite, scaling >= 1, scaling <= 16 else {
            throw GANError("the scaling factor must be between 1 and 16, got \(scaling)")
        }
        let window = (Double(crop) * scaling).rounded(.down)
        guard window <= Double(min(source.width, source.height)) else {
            let shown = window < 1e18 ? "a \(Int(window))x\(Int(window)) crop" : "a crop of \(crop) pixels"
            throw GANError("\(shown) does not fit the \(source.width)x\(source.height) source"
                           + (scaling > 1 ? " (crop \(crop) x scaling \(scaling))" : "") + "; use a smaller crop")
        }
        return Int(window)
    }

    let window: Int

    /// `batch` crops as a channel-major batch [3][batch][crop][crop] in [−1, 1].
    public func batch(_ batch: Int, rng: inout SplitMix64) throws -> ChannelMajor {
        var out = ChannelMajor(zeros: 3, batch: batch, height: crop, width: crop)
        let plane = crop * crop
        for n in 0..<batch {
            let x0 = rng.next(below: source.width - window + 1), y0 = rng.next(below: source.height - window + 1)
            var image = try source.cropped(x: x0, y: y0, width: window, height: window)
            if window != crop { image = try image.resized(width: crop, height: crop) }
            let orientation = augment ? rng.next(below: 8) : 0
            for c in 0..<3 {
                let dst = (c * batch + n) * plane
                for y in 0..<crop {
                    for x in 0..<crop {
                        let (sx, sy) = Self.orient(x, y, crop, orientation)
                        out.data[dst + y * crop + x] = image.pixels[(c * crop + sy) * crop + sx] * 2 - 1
                    }
                }
            }
        }
        return out
    }

    /// One of the 8 symmetries of the square: bit 0 mirrors, bits 1–2 rotate by 90° steps.
    static func orient(_ x: Int, _ y: Int, _ n: Int, _ o: Int) -> (Int, Int) {
        var (u, v) = (o & 1 == 1) ? (n - 1 - x, y) : (x, y)
        for _ in 0..<(o >> 1) { (u, v) = (v, n - 1 - u) }
        return (u, v)
    }
}
