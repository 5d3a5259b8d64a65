import Foundation
import TxnImage
import TxnTensor

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
    /// Up to this long side `automatic` makes one octave; beyond it at least two. Gravel at 256² (AMD EPYC Zen 3,
    /// 2 threads, 50 s each) ended at a Gram loss of 7.2e4 from 100 iterations at 128² and then 256², against 9.8e4
    /// at 256² alone: the coarse iterations cost a quarter and settle the large structures.
    public static let automaticSingle = 128

    /// One octave up to 128 px on the long side, two up to 256, one more for each doubling beyond (3 for 1024²).
    public static func automatic(width: Int, height: Int) -> Int {
        var n = 1, side = max(width, height)
        while side > automaticCoarsest && n < maximum { side = (side + 1) / 2; n += 1 }
        return n == 1 && side > automaticSingle ? 2 : n
    }

    /// Iterations at octave `i` (0 the coarsest) of `n` for an output of `width` x `height`, when none are given:
    /// the coarsest 100, the others fewer as their pixels grow, since an iteration costs about its pixels (AMD EPYC
    /// Zen 3, AVX2, 2 threads, one evaluation: 0.17 s at 128², 0.47 s at 256², 1.9 s at 512², 6.7 s at 1024²). The
    /// last octave gets 100 up to 256², 40 at 512², 10 at 1024² (3 at 2048², which `fewestDefaultSteps` bounds);
    /// one before it 30 at 512², 8 at 1024². Each octave starts with fresh detail (`upsampledWithDetail`, a loss
    /// near 1e8) that takes about ten iterations to settle: gravel at 1024² with 100, 40, 10, 6 iterations on four
    /// octaves took 148 s, and its 1:1 crops scored twice the distance of 100, 30, 10 on three (Gram 1.25e7 against
    /// 5.8e6, SW 0.133 against 0.071).
    public static func defaultSteps(octave i: Int, of n: Int, width: Int, height: Int) -> Int {
        if i == 0 && n > 1 { return 100 }
        let units = Double(scaled(width, octave: i, of: n)) * Double(scaled(height, octave: i, of: n)) / 65_536
        let share = i == n - 1 ? 160.0 : 120.0
        return min(100, max(fewestDefaultSteps, Int((share / units).rounded())))
    }

    /// `defaultSteps` at the full size, in words for help texts (read from it, so they cannot drift).
    public static var defaultStepsSummary: String {
        "\(stepsAt(256, below: 0)) up to 256², \(stepsAt(512, below: 0)) at 512², \(stepsAt(1024, below: 0)) at 1024²"
    }

    /// `defaultSteps` of the octaves before the last, in words for help texts (read from it, so they cannot drift).
    public static var defaultOctaveStepsSummary: String {
        "\(stepsAt(256, below: 1)) at the coarsest, \(stepsAt(1024, below: 1)) at 512², \(stepsAt(2048, below: 1)) at 1024²"
    }

    /// `defaultSteps` of the octave `below` octaves under the last of a square output of `side` px.
    private static func stepsAt(_ side: Int, below: Int) -> Int {
        let n = automatic(width: side, height: side)
        return defaultSteps(octave: n - 1 - below, of: n, width: side, height: side)
    }

    /// The fewest iterations `defaultSteps` gives an octave: a fresh octave's first iteration is a gradient step
    /// (L-BFGS has no curvature pairs yet), and three are a minimum for the pairs to act. It also bounds L-BFGS's
    /// memory at the largest sizes (`SynthesisMemory.vectors`): 2048² in 1.5 GiB holds 3 pairs.
    public static let fewestDefaultSteps = 3

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

    /// The added detail's standard deviation as a fraction of the source band's. Gravel at 1024² (100, 30, 10
    /// iterations; 1:1 crops, medians of five): the whole band (1.0) left fine hatching on the stones' edges and
    /// crops at Gram 6.1e6 / SW 0.0785; half of it gave 5.8e6 / 0.0712 and cleaner edges (bilinear alone: 1.27e7 /
    /// 0.0765 and a 2-pixel column pattern).
    public static let detailAmplitude = 0.5

    /// The start of the next octave: the coarse result upsampled (bilinear), plus the band of detail that
    /// upsampling cannot make, drawn as noise with the source's colours and `detailAmplitude` of its amount.
    ///
    /// A bilinear upsample has none of the finest octave's frequencies, so the shallow layers' Gram matrices
    /// (conv1_1, pool1, pool2), which measure exactly that band, start far from the source's: gravel at
    /// 256² → 512² began its octave at a loss of 2.7e8, against 6.8e4 at the end of the coarse one and 4.8e8 from
    /// plain noise, and L-BFGS spent its first 20 or so fine iterations, the expensive ones, restoring energy.
    /// Here the band is white noise high-passed the same way as the source's band (`detailBand`), three fields
    /// mixed so that their 3x3 colour covariance is the source band's (a grey source gets grey detail: independent
    /// noise per channel would be colour noise, which conv1_1 sees at once). The noise carries no structure; the optimisation makes it into the texture's detail.
    public static func upsampledWithDetail(_ coarse: Image, width: Int, height: Int, wrap: Bool,
                                           source: Image, seed: UInt64) throws -> Image {
        var image = bilinear(coarse, width: width, height: height, wrap: wrap)
        let mixing = colourFactor(covariance(of: detailBand(source, wrap: wrap)))
        var rng = SplitMix64(seed: seed)
        let noise = Image(width: width, height: height, pixels: (0..<(3 * width * height)).map { _ in rng.nextGaussian() })
        var band = detailBand(noise, wrap: wrap)
        let plane = width * height
        let drawn = covariance(of: band)
        for c in 0..<3 {
            // Unit variance per field (times the amplitude), so that the mixed fields' covariance is the factor's product.
            let deviation = drawn[c][c].squareRoot()
            let scale = deviation > 0 ? Float(detailAmplitude / deviation) : 0
            for i in (c * plane)..<((c + 1) * plane) { band.pixels[i] *= scale }
        }
        band.pixels.withUnsafeBufferPointer { n in
            for c in 0..<3 {
                let (a, b, d) = (Float(mixing[c][0]), Float(mixing[c][1]), Float(mixing[c][2]))
                for i in 0..<plane { image.pixels[c * plane + i] += a * n[i] + b * n[plane + i] + d * n[2 * plane + i] }
            }
        }
        return image
    }

    /// The 3x3 covariance of an image's channels (means removed).
    static func covariance(of image: Image) -> [[Double]] {
        let plane = image.width * image.height
        guard plane > 0 else { return Array(repeating: [0, 0, 0], count: 3) }
        let p = image.pixels
        let means = (0..<3).map { c in (0..<plane).reduce(0.0) { $0 + Double(p[c * plane + $1]) } / Double(plane) }
        return (0..<3).map { a in (0..<3).map { b in
            var sum = 0.0
            for i in 0..<plane { sum += (Double(p[a * plane + i]) - means[a]) * (Double(p[b * plane + i]) - means[b]) }
            return sum / Double(plane)
        } }
    }

    /// A lower-triangular L with L·Lᵀ = the covariance, taken apart where it is singular (a grey source's three
    /// channels are one): a pivot that would be zero or negative after the earlier columns becomes 0.
    static func colourFactor(_ c: [[Double]]) -> [[Double]] {
        var l = Array(repeating: [0.0, 0.0, 0.0], count: 3)
        let tiny = 1e-9 * max(c[0][0], c[1][1], c[2][2], 0)
        for j in 0..<3 {
            let pivot = c[j][j] - (0..<j).reduce(0.0) { $0 + l[j][$1] * l[j][$1] }
            guard pivot > tiny else { continue }
            l[j][j] = pivot.squareRoot()
            for i in (j + 1)..<3 {
                l[i][j] = (c[i][j] - (0..<j).reduce(0.0) { $0 + l[i][$1] * l[j][$1] }) / l[j][j]
            }
        }
        return l
    }

    /// What an image holds beyond a blur of about one pixel: itself minus its binomial [1 4 6 4 1]/16 blur (the
    /// finest octave of its detail). The borders wrap with `wrap` (a tileable image stays tileable, its detail
    /// too) and are clamped otherwise; any size works, odd ones included.
    static func detailBand(_ image: Image, wrap: Bool) -> Image {
        let (w, h) = (image.width, image.height)
        let taps: [(offset: Int, weight: Float)] = [(-2, 1 / 16), (-1, 4 / 16), (0, 6 / 16), (1, 4 / 16), (2, 1 / 16)]
        func index(_ i: Int, _ n: Int) -> Int { wrap ? ((i % n) + n) % n : min(max(i, 0), n - 1) }
        var rows = [Float](repeating: 0, count: image.pixels.count)
        var band = image
        image.pixels.withUnsafeBufferPointer { p in
            for plane in 0..<3 {
                let base = plane * w * h
                for y in 0..<h { for x in 0..<w {
                    rows[base + y * w + x] = taps.reduce(0) { $0 + $1.weight * p[base + y * w + index(x + $1.offset, w)] }
                } }
                for y in 0..<h { for x in 0..<w {
                    let blurred = taps.reduce(0) { $0 + $1.weight * rows[base + index(y + $1.offset, h) * w + x] }
                    band.pixels[base + y * w + x] = p[base + y * w + x] - blurred
                } }
            }
        }
        return band
    }
}
