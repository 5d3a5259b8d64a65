import XCTest
@testable import TxnTensor

/// txn's F(3x3, 2x2) Winograd kernel for 4x4 stride-2 padding-1 convolutions against direct loops in Double:
/// forward with bias, backward-data, and the weight and bias gradients, whole tensors, at both block widths (8 for
/// AVX2, 16 for AVX-512) on any machine, on sizes whose tiles do not divide the maps (odd sizes included) and
/// channel counts whose panels straddle the phases (24).
final class StridedWinogradTests: XCTestCase {
    struct Case { var batch, inChannels, outChannels, height, width: Int }

    let cases = [Case(batch: 2, inChannels: 16, outChannels: 32, height: 10, width: 14),
                 Case(batch: 3, inChannels: 32, outChannels: 16, height: 9, width: 7),
                 Case(batch: 1, inChannels: 48, outChannels: 16, height: 2, width: 6)]

    func testMatchesDirectLoopsAtBothBlockWidths() throws {
        for block in DNNLCPU.supportedBlocks {
            for c in cases { try check(c, block: block) }
        }
        // 24 channels: panels of 16 columns hold parts of two phases in the backward-data pass (block 8 only).
        try check(Case(batch: 2, inChannels: 24, outChannels: 40, height: 12, width: 8), block: 8)
    }

    /// [C][N][H][W] values → the blocked layout [N][C/B][H][W][B].
    func blocked(_ v: [Float], _ c: Int, _ n: Int, _ h: Int, _ w: Int, block b: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: v.count)
        for ch in 0..<c { for img in 0..<n { for y in 0..<h { for x in 0..<w {
            out[(((img * (c / b) + ch / b) * h + y) * w + x) * b + ch % b] = v[((ch * n + img) * h + y) * w + x]
        } } } }
        return out
    }

    func assertClose(_ a: [Float], _ b: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = max(b.reduce(0) { max($0, abs($1)) }, 1e-6)
        let worst = zip(a, b).reduce(0) { max($0, abs(Double($1.0) - $1.1)) } / scale
        XCTAssertLessThan(worst, 2e-6, "\(what): worst difference \(worst) of max \(scale)", file: file, line: line)
        XCTAssertFalse(a.contains { !$0.isFinite }, "\(what): a value was not written", file: file, line: line)
    }

    func check(_ c: Case, block: Int) throws {
        let (n, i, o, h, w) = (c.batch, c.inChannels, c.outChannels, c.height, c.width), (oh, ow) = (h / 2, w / 2)
        var rng = TestRNG(UInt64(17 + i + o + h + block))
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in rng.uniform() } }
        let x = values(i * n * h * w), weights = values(o * i * 16), bias = values(o), dy = values(o * n * oh * ow)

        // Direct loops, channel-major, in Double.
        var y = [Double](repeating: 0, count: o * n * oh * ow), dx = [Double](repeating: 0, count: x.count)
        var dw = [Double](repeating: 0, count: weights.count), db = [Double](repeating: 0, count: o)
        for img in 0..<n { for oc in 0..<o { for oy in 0..<oh { for ox in 0..<ow {
            let out = ((oc * n + img) * oh + oy) * ow + ox, g = Double(dy[out])
            var sum = Double(bias[oc])
            db[oc] += g
            for ic in 0..<i { for ky in 0..<4 { for kx in 0..<4 {
                let (iy, ix) = (2 * oy - 1 + ky, 2 * ox - 1 + kx)
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                let xi = ((ic * n + img) * h + iy) * w + ix, wi = (oc * i + ic) * 16 + ky * 4 + kx
                sum += Double(x[xi]) * Double(weights[wi])
                dx[xi] += g * Double(weights[wi])
                dw[wi] += g * Double(x[xi])
            } } }
            y[out] = sum
        } } } }

        let kernel = try XCTUnwrap(StridedWinograd(batch: n, inChannels: i, outChannels: o, height: h, width: w,
                                                   geometry: .init(kernel: 4, stride: 2, padding: 1), block: block))
        let xb = blocked(x, i, n, h, w, block: block), dyb = blocked(dy, o, n, oh, ow, block: block)
        let what = "\(i)->\(o) at \(h)x\(w), batch \(n), block \(block)"
        let yb = try weights.withUnsafeBufferPointer { wp in
            try bias.withUnsafeBufferPointer { try kernel.forward(source: xb, weights: wp.baseAddress!, bias: $0.baseAddress!) }
        }
        assertClose(yb, blocked(y.map { Float($0) }, o, n, oh, ow, block: block).map(Double.init), "forward " + what)
        let dxb = try weights.withUnsafeBufferPointer { try kernel.backwardData(gradOutput: dyb, weights: $0.baseAddress!) }
        assertClose(dxb, blocked(dx.map { Float($0) }, i, n, h, w, block: block).map(Double.init), "backward-data " + what)
        assertClose(try kernel.weightGradients(source: xb, gradOutput: dyb), dw, "weight gradient " + what)
        assertClose(StridedWinograd.channelSums(dyb, batch: n, channels: o, height: oh, width: ow, block: block), db,
                    "bias gradient " + what)
    }

    func testRefusesOtherGeometriesAndPartialBlocks() {
        XCTAssertNil(StridedWinograd(batch: 1, inChannels: 16, outChannels: 16, height: 8, width: 8,
                                     geometry: .init(kernel: 3, stride: 1, padding: 1)))
        XCTAssertNil(StridedWinograd(batch: 1, inChannels: 3, outChannels: 16, height: 8, width: 8,
                                     geometry: .init(kernel: 4, stride: 2, padding: 1), block: 8))
        XCTAssertNil(StridedWinograd(batch: 1, inChannels: 8, outChannels: 16, height: 8, width: 8,
                                     geometry: .init(kernel: 4, stride: 2, padding: 1), block: 16))
        XCTAssertNil(StridedWinograd(batch: 1, inChannels: 16, outChannels: 16, height: 1, width: 8,
                                     geometry: .init(kernel: 4, stride: 2, padding: 1)))
        // Sizes past the kernel's 32-bit indices or the memory budget stay on the other paths.
        XCTAssertNil(StridedWinograd(batch: 16, inChannels: 16, outChannels: 16, height: 1 << 15, width: 1 << 15,
                                     geometry: .init(kernel: 4, stride: 2, padding: 1)))
        XCTAssertNil(StridedWinograd(batch: 1, inChannels: 1 << 20, outChannels: 1 << 20, height: 8, width: 8,
                                     geometry: .init(kernel: 4, stride: 2, padding: 1)))
        XCTAssertNil(StridedWinograd(batch: .max, inChannels: 16, outChannels: 16, height: .max, width: 8,
                                     geometry: .init(kernel: 4, stride: 2, padding: 1)))
    }
}
