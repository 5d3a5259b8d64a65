import XCTest
import CKernels
@testable import TxnTensor

/// txn's F(2x2, 3x3) and F(4x4, 3x3) Winograd kernels against a direct convolution written out in Double: forward
/// (bias and ReLU) and backward-data (the gradient of the padded input), whole tensors, at both block widths txn
/// supports (the kernels are AVX2 code, so both run on any machine), on sizes with partial tiles, in calls of uneven
/// tile ranges.
final class WinogradTests: XCTestCase {
    let (cin, cout, h, w) = (32, 48, 7, 9)
    var rng = SplitMix64(seed: 7)

    func values(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in (rng.nextUnit() * 2 - 1) * scale } }

    /// [C][H][W] -> [C/b][H][W][b].
    func blocked(_ x: [Float], channels: Int, pixels: Int, block: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for c in 0..<channels { for p in 0..<pixels { out[(c / block * pixels + p) * block + c % block] = x[c * pixels + p] } }
        return out
    }

    func plain(_ x: [Float], channels: Int, pixels: Int, block: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for c in 0..<channels { for p in 0..<pixels { out[c * pixels + p] = x[(c / block * pixels + p) * block + c % block] } }
        return out
    }

    /// Runs the pass in calls of 5 tiles, then the rest, each with its own scratch.
    func run(_ pass: txn_wino_pass, _ k: Int, _ n: Int, _ tile: WinogradTile) {
        let tiles = tile.tiles(pass)
        var first = 0
        for count in [5, tiles] where first < tiles {
            let c = min(count, tiles - first)
            var scratch = [Float](repeating: .nan, count: tile.scratchFloats(tiles: c, inChannels: k, outChannels: n))
            withUnsafePointer(to: pass) { pass in
                scratch.withUnsafeMutableBufferPointer { s in XCTAssertTrue(tile.run(pass, first: first, count: c, scratch: s.baseAddress!)) }
            }
            first += c
        }
    }

    func testForwardAndBackwardDataMatchADirectConvolutionAtBothBlockWidths() {
        let weight = values(cout * cin * 9, scale: 0.2), bias = values(cout)
        let padded = values(cin * (h + 2) * (w + 2)), gradOut = values(cout * h * w)
        // The direct convolution of the padded input, and the gradient of the padded input (its full correlation).
        let (hp, wp) = (h + 2, w + 2)
        func kernel(_ o: Int, _ i: Int, _ ky: Int, _ kx: Int) -> Double { Double(weight[((o * cin + i) * 3 + ky) * 3 + kx]) }
        var expectedOut = [Float](repeating: 0, count: cout * h * w)
        for o in 0..<cout { for y in 0..<h { for x in 0..<w {
            var s = Double(bias[o])
            for i in 0..<cin { for ky in 0..<3 { for kx in 0..<3 {
                let input: Double = Double(padded[(i * hp + y + ky) * wp + x + kx])
                s += input * kernel(o, i, ky, kx)
            }}}
            expectedOut[(o * h + y) * w + x] = Float(max(s, 0))
        }}}
        var expectedGrad = [Double](repeating: 0, count: cin * hp * wp)
        for o in 0..<cout { for y in 0..<h { for x in 0..<w {
            let g = Double(gradOut[(o * h + y) * w + x])
            for i in 0..<cin { for ky in 0..<3 { for kx in 0..<3 {
                let at: Int = (i * hp + y + ky) * wp + x + kx
                expectedGrad[at] += g * kernel(o, i, ky, kx)
            }}}
        }}}

        // F(4x4, 3x3)'s transforms round more (points ±2, weights down to 1/24): here 2.9e-6 of the largest output
        // forward and 5.8e-6 backward, against F(2x2, 3x3)'s 1e-6.
        for (tile, tolerance) in [(WinogradTile.f2x2, Float(1e-5)), (.f4x4, 2e-5)] { for block in DNNLCPU.supportedBlocks {
            let (forwardU, backwardU) = weight.withUnsafeBufferPointer { w in
                (tile.packWeights(w.baseAddress!, outChannels: cout, inChannels: cin, backward: false, packedIn: cin),
                 tile.packWeights(w.baseAddress!, outChannels: cout, inChannels: cin, backward: true, packedIn: cout))
            }

            let src = blocked(padded, channels: cin, pixels: (h + 2) * (w + 2), block: block)
            var out = [Float](repeating: .nan, count: cout * h * w)
            src.withUnsafeBufferPointer { s in forwardU.withUnsafeBufferPointer { u in bias.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { d in
                    run(txn_wino_pass(src: s.baseAddress, src_h: Int32(h + 2), src_w: Int32(w + 2), in_channels: Int32(cin),
                                      origin: 0, packed: u.baseAddress, bias: b.baseAddress, relu: 1,
                                      dst: d.baseAddress, dst_h: Int32(h), dst_w: Int32(w), out_channels: Int32(cout),
                                      dst_plane: h * w * block, block: Int32(block)), cin, cout, tile)
                }
            }}}
            assertClose(plain(out, channels: cout, pixels: h * w, block: block), expectedOut, "\(tile) forward, block \(block)",
                        tolerance: tolerance)

            let dy = blocked(gradOut, channels: cout, pixels: h * w, block: block)
            var dx = [Float](repeating: .nan, count: cin * (h + 2) * (w + 2))
            dy.withUnsafeBufferPointer { s in backwardU.withUnsafeBufferPointer { u in dx.withUnsafeMutableBufferPointer { d in
                run(txn_wino_pass(src: s.baseAddress, src_h: Int32(h), src_w: Int32(w), in_channels: Int32(cout),
                                  origin: -2, packed: u.baseAddress, bias: nil, relu: 0,
                                  dst: d.baseAddress, dst_h: Int32(h + 2), dst_w: Int32(w + 2), out_channels: Int32(cin),
                                  dst_plane: (h + 2) * (w + 2) * block, block: Int32(block)), cout, cin, tile)
            }}}
            assertClose(plain(dx, channels: cin, pixels: (h + 2) * (w + 2), block: block), expectedGrad.map { Float($0) },
                        "\(tile) backward-data, block \(block)", tolerance: tolerance)
        }}
    }

    func testArgumentsTheKernelDoesNotTakeAreRefused() {
        var pass = txn_wino_pass(src: nil, src_h: 4, src_w: 4, in_channels: 12, origin: 0, packed: nil, bias: nil, relu: 0,
                                 dst: nil, dst_h: 2, dst_w: 2, out_channels: 16, dst_plane: 32, block: 8)
        var scratch = [Float](repeating: 0, count: 1)
        XCTAssertEqual(txn_wino_run(&pass, 0, 1, &scratch), -1, "12 input channels are not whole blocks")
        pass.in_channels = 16
        pass.block = 4
        XCTAssertEqual(txn_wino_run(&pass, 0, 1, &scratch), -1, "block 4")
    }

    /// Every element within `tolerance` of the largest magnitude (float32 sums of ~400 products in another order).
    func assertClose(_ got: [Float], _ want: [Float], _ what: String, tolerance: Float = 1e-5) {
        XCTAssertEqual(got.count, want.count, what)
        let scale = max(want.map { abs($0) }.max() ?? 1, 1e-6)
        var worst = (0, Float(0))
        for i in want.indices where !(abs(got[i] - want[i]) <= worst.1) { worst = (i, abs(got[i] - want[i])) }
        XCTAssertLessThanOrEqual(worst.1 / scale, tolerance, "\(what): element \(worst.0) is \(got[worst.0]), want \(want[worst.0])")
    }
}
