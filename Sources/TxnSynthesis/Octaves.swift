import Foundation
import TxnImage

/// Coarse-to-fine synthesis (Snelgrove 2017; texturize): the large structures are settled at a low
/// resolution, where an iteration is cheap and the network's receptive field covers more of the image,
/// then each octave doubles the size and refines the detail.
///
/// At octave i of n (0 the coarsest) both the output and the source are scaled by 2^−(n−1−i), so the
/// texture keeps its scale in pixels of the final image: a source shrunk alike shows the network the
/// same structures per receptive field at every octave.
public enum Octaves {
    public static let maximum = 6
    /// The coarsest octave `automatic` aims for: the long side at most this.
    public static let automaticCoarsest = 256

    /// One octave up to 256 px on the long side, and one more for each doubling beyond (3 for 1024²).
    public static func automatic(width: Int, height: Int) -> Int {
        var n = 1, side = max(width, height)
        while side > automaticCoarsest && n < maximum { side = (side + 1) / 2; n += 1 }
        return n
    }

    /// A length at octave `i` of `n`: the full length halved n−1−i times, rounded, at least 1.
    public static func scaled(_ full: Int, octave i: Int, of n: Int) -> Int {
        max(1, Int((Double(full) / Double(1 << (n - 1 - i))).rounded()))
    }

    /// Bilinear resampling to `width` x `height` (pixel centres aligned). With `wrap` the image is read as
    /// a torus, so a tileable image stays tileable; otherwise the edges are clamped.
    public static func bilinear(_ image: Image, width: Int, height: Int, wrap: Bool) -> Image {
        let (sw, sh) = (image.width, image.height)
        if sw == width && sh == height { return image }
        // Per output column and row: the two source indices and the weight of the second.
        func taps(_ n: Int, _ sn: Int) -> [(Int, Int, Float)] {
            let ratio = Double(sn) / Double(n)
            return (0..<n).map { i in
                let x = (Double(i) + 0.5) * ratio - 0.5
                let x0 = Int(x.rounded(.down)), f = Float(x - Double(x0))
                if wrap {
                    return (((x0 % sn) + sn) % sn, (((x0 + 1) % sn) + sn) % sn, f)
                }
                let a = min(max(x0, 0), sn - 1), b = min(max(x0 + 1, 0), sn - 1)
                return (a, b, x < 0 ? 0 : f)
            }
        }
        let xs = taps(width, sw), ys = taps(height, sh)
        var out = [Float](repeating: 0, count: 3 * width * height)
        image.pixels.withUnsafeBufferPointer { src in
            for c in 0..<3 {
                let plane = c * sw * sh, outPlane = c * width * height
                for (y, (y0, y1, fy)) in ys.enumerated() {
                    let r0 = plane + y0 * sw, r1 = plane + y1 * sw
                    for (x, (x0, x1, fx)) in xs.enumerated() {
                        let top = src[r0 + x0] + fx * (src[r0 + x1] - src[r0 + x0])
                        let bottom = src[r1 + x0] + fx * (src[r1 + x1] - src[r1 + x0])
                        out[outPlane + y * width + x] = top + fy * (bottom - top)
                    }
                }
            }
        }
        return Image(width: width, height: height, pixels: out)
    }
}
