import XCTest
@testable import TxnTensor

/// The passes on blocked maps (`BlockedMap`) against the same arithmetic written out in Double on plain [C][H][W]
/// arrays: 3x3 convolutions in every padding mode, in place across many band borders (odd heights, so the last
/// band is a single row) and into another map; 1x1 convolutions in place and not; upsampling; moments and the
/// affine pass. Whole maps are compared, padding channels included (they must stay zero).
final class MapConvolutionTests: XCTestCase {
    var rng = SplitMix64(seed: 3)

    func values(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in (rng.nextUnit() * 2 - 1) * scale } }

    func map(_ x: [Float], channels: Int, height: Int, width: Int) throws -> BlockedMap {
        try BlockedMap(ChannelMajor(channels: channels, batch: 1, height: height, width: width, data: x), sample: 0)
    }

    /// The map's channels as [C][H][W], and whether its padding channels are all zero.
    func planes(_ m: BlockedMap) -> (values: [Float], paddingIsZero: Bool) {
        let pixels = m.height * m.width, channels = m.channels
        let (b, base) = (BlockedMap.block, m.storage)
        let out = (0..<(m.paddedChannels * pixels)).map { i in base[(i / pixels / b) * m.plane + (i % pixels) * b + (i / pixels) % b] }
        return (Array(out[..<(channels * pixels)]), out[(channels * pixels)...].allSatisfy { $0 == 0 })
    }

    func source(_ y: Int, _ size: Int, _ mode: PaddingMode) -> Int? {
        if y >= 0 && y < size { return y }
        switch mode {
        case .zero: return nil
        case .reflect: return y < 0 ? -y : 2 * (size - 1) - y
        case .circular: return (y + size) % size
        }
    }

    func convolution3x3(_ x: [Float], _ weight: [Float], _ bias: [Float], cin: Int, cout: Int, h: Int, w: Int, mode: PaddingMode) -> [Float] {
        var out = [Float](repeating: 0, count: cout * h * w)
        for o in 0..<cout { for y in 0..<h { for xx in 0..<w {
            var s = Double(bias[o])
            for i in 0..<cin { for ky in 0..<3 { for kx in 0..<3 {
                guard let sy = source(y + ky - 1, h, mode), let sx = source(xx + kx - 1, w, mode) else { continue }
                s += Double(x[(i * h + sy) * w + sx]) * Double(weight[((o * cin + i) * 3 + ky) * 3 + kx])
            }}}
            out[(o * h + y) * w + xx] = Float(s)
        }}}
        return out
    }

    func assertClose(_ got: [Float], _ want: [Float], _ what: String, tolerance: Float = 1e-5) {
        XCTAssertEqual(got.count, want.count, what)
        let scale = max(want.map { abs($0) }.max() ?? 1, 1e-6)
        let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst / scale, tolerance, "\(what): worst difference \(worst) of \(scale)")
    }

    /// The mean and variance a convolution kept as it wrote its output, against those of the reference output.
    func assertMoments(_ kept: (mean: [Double], variance: [Double])?, _ expected: [Float], channels: Int, _ what: String) {
        guard let kept else { return XCTFail("\(what): no moments kept") }
        let pixels = expected.count / channels
        XCTAssertEqual(kept.mean.count, channels, what)
        for c in 0..<channels {
            let plane = expected[(c * pixels)..<((c + 1) * pixels)].map(Double.init)
            let mean = plane.reduce(0, +) / Double(pixels)
            let variance = plane.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(pixels)
            XCTAssertEqual(kept.mean[c], mean, accuracy: 1e-5 * max(1, abs(mean)), "\(what): mean of channel \(c)")
            XCTAssertEqual(kept.variance[c], variance, accuracy: 1e-4 * max(1, variance), "\(what): variance of channel \(c)")
        }
    }

    func testThreeByThreeInPlaceAcrossBandsAndIntoAnotherMapInEveryPaddingMode() throws {
        let (h, w) = (11, 9)
        for mode in PaddingMode.allCases {
            for (cin, cout) in [(12, 12), (3, 8), (8, 20), (40, 40)] {
                let x = values(cin * h * w), weight = values(cout * cin * 9, scale: 0.3), bias = values(cout)
                // Read through a normalisation's affine map and LeakyReLU, the border padded after it.
                let scale = values(cin), shift = values(cin)
                let affine = ChannelAffine(scale: scale, shift: shift, slope: 0.1)
                let normalised = x.indices.map { i -> Float in
                    let v = x[i] * scale[i / (h * w)] + shift[i / (h * w)]
                    return v < 0 ? 0.1 * v : v
                }
                for (rows, read) in [(2, nil), (4, nil), (6, nil), (nil, nil), (2, affine), (nil, affine)] as [(Int?, ChannelAffine?)] {
                    let expected = convolution3x3(read == nil ? x : normalised, weight, bias, cin: cin, cout: cout, h: h, w: w, mode: mode)
                    let conv = try MapConvolution3x3(weight: weight, bias: bias, inChannels: cin, outChannels: cout, rowsPerBand: rows)
                    let m = try map(x, channels: cin, height: h, width: w)
                    let inPlace = BlockedMap.blocks(cin) == BlockedMap.blocks(cout)
                    let out = inPlace ? m : try BlockedMap(channels: cout, height: h, width: w)
                    let kept = try conv.run(m.whole, into: inPlace ? m.whole(asChannels: cout) : out.whole, padding: mode,
                                            sourceAffine: read, moments: true)
                    out.relabel(channels: cout)
                    let (got, zeroPadding) = planes(out)
                    assertMoments(kept, expected, channels: cout, "\(cin)->\(cout) \(mode)")
                    assertClose(got, expected, "\(cin)->\(cout) \(mode), bands of \(rows.map(String.init) ?? "any") rows"
                                + (inPlace ? ", in place" : "") + (read == nil ? "" : ", through an affine map"))
                    XCTAssertTrue(zeroPadding, "\(cin)->\(cout) \(mode): padding channels")
                }
            }
        }
        XCTAssertThrowsError(try MapConvolution3x3(weight: values(9), bias: [0], inChannels: 1, outChannels: 1, rowsPerBand: 3))
        XCTAssertThrowsError(try MapConvolution3x3(weight: values(8), bias: [0], inChannels: 1, outChannels: 1))
    }

    func testPointwiseInPlaceAndIntoAnotherMap() throws {
        let (h, w) = (5, 7)
        for (cin, cout, throughAffine) in [(16, 16, false), (12, 3, false), (40, 40, false), (12, 20, true), (40, 40, true)] {
            var x = values(cin * h * w)
            let weight = values(cout * cin), bias = values(cout)
            let scale = values(cin), shift = values(cin)
            let read = throughAffine ? ChannelAffine(scale: scale, shift: shift, slope: 0.2) : nil
            let raw = x
            if throughAffine {
                x = x.indices.map { i in let v = x[i] * scale[i / (h * w)] + shift[i / (h * w)]; return v < 0 ? 0.2 * v : v }
            }
            var expected = [Float](repeating: 0, count: cout * h * w)
            for o in 0..<cout { for p in 0..<(h * w) {
                var s = Double(bias[o])
                for i in 0..<cin { s += Double(weight[o * cin + i]) * Double(x[i * h * w + p]) }
                expected[o * h * w + p] = Float(s)
            }}
            let conv = try MapConvolution1x1(weight: weight, bias: bias, inChannels: cin, outChannels: cout)
            let m = try map(raw, channels: cin, height: h, width: w)
            let inPlace = BlockedMap.blocks(cin) == BlockedMap.blocks(cout)
            let out = inPlace ? m : try BlockedMap(channels: cout, height: h, width: w)
            let kept = try conv.run(m.whole, into: inPlace ? m.whole(asChannels: cout) : out.whole, sourceAffine: read, moments: true)
            out.relabel(channels: cout)
            let (got, zeroPadding) = planes(out)
            assertMoments(kept, expected, channels: cout, "\(cin)->\(cout)")
            assertClose(got, expected, "\(cin)->\(cout)")
            XCTAssertTrue(zeroPadding, "\(cin)->\(cout): padding channels")
        }
    }

    func testUpsamplingMomentsAndTheAffinePass() throws {
        let (c, h, w) = (11, 3, 5)
        let x = values(c * h * w, scale: 2)
        let m = try map(x, channels: c, height: h, width: w)
        let big = try BlockedMap(channels: c, height: 2 * h, width: 2 * w)
        try MapPasses.upsample2(m.whole, into: big.whole)
        var expected = [Float](repeating: 0, count: c * 4 * h * w)
        for ch in 0..<c { for y in 0..<(2 * h) { for xx in 0..<(2 * w) {
            expected[(ch * 2 * h + y) * 2 * w + xx] = x[(ch * h + y / 2) * w + xx / 2]
        }}}
        XCTAssertEqual(planes(big).values, expected)

        let (mean, variance) = MapPasses.moments(m.whole)
        for ch in 0..<c {
            let plane = x[(ch * h * w)..<((ch + 1) * h * w)].map(Double.init)
            let mu = plane.reduce(0, +) / Double(plane.count)
            let v = plane.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(plane.count)
            XCTAssertEqual(mean[ch], mu, accuracy: 1e-6)
            XCTAssertEqual(variance[ch], v, accuracy: 1e-5)
        }

        let scale = values(c), shift = values(c), slope: Float = 0.01
        MapPasses.apply(ChannelAffine(scale: scale, shift: shift, slope: slope), to: m.whole)
        let want = (0..<(c * h * w)).map { i -> Float in
            let v = x[i] * scale[i / (h * w)] + shift[i / (h * w)]
            return v > 0 ? v : slope * v
        }
        let (got, zeroPadding) = planes(m)
        assertClose(got, want, "affine with LeakyReLU", tolerance: 1e-6)
        XCTAssertTrue(zeroPadding)
    }
}
