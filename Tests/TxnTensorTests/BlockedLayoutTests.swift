import CDNNL
import XCTest
@testable import TxnTensor

/// txn's own loops over the blocked layout [C/b][M][b], at both block widths on any machine (b = 8 is AVX2's,
/// 16 AVX-512's), against index formulas on plain NCHW: the copies, the Gram backward's scatter, and padding.
final class BlockWidthTests: XCTestCase {
    /// Channels 48 (whole blocks of 8 and 16), an odd pixel count that is not a multiple of the copy's 16-pixel tiles.
    let (channels, height, width) = (48, 5, 7)
    var pixels: Int { height * width }

    func nchw() -> [Float] { (0..<(channels * pixels)).map { Float($0 % 1009) * 0.25 - 7 } }

    /// The blocked index of channel c, pixel p.
    func blockedIndex(_ c: Int, _ p: Int, block b: Int) -> Int { ((c / b) * pixels + p) * b + c % b }

    func blocked(_ x: [Float], block b: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: x.count)
        for c in 0..<channels { for p in 0..<pixels { out[blockedIndex(c, p, block: b)] = x[c * pixels + p] } }
        return out
    }

    func testTheBlockFollowsTheISAOneDNNDispatchesTo() {
        XCTAssertTrue(DNNLCPU.supportedBlocks.contains(DNNLCPU.block))
        let avx512 = DNNLCPU.isa.rawValue & dnnl_cpu_isa_avx512_core.rawValue == dnnl_cpu_isa_avx512_core.rawValue
        XCTAssertEqual(DNNLCPU.block, avx512 ? 16 : 8, "ISA \(DNNLCPU.isaName)")
    }

    func testNCHWConversionsAtBothWidths() {
        let x = nchw()
        for b in DNNLCPU.supportedBlocks {
            var out = [Float](repeating: .nan, count: x.count)
            x.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer {
                Blocked.fromNCHW(s.baseAddress!, $0.baseAddress!, channels: channels, pixels: pixels, block: b)
            }}
            XCTAssertEqual(out, blocked(x, block: b), "fromNCHW, block \(b)")
            var back = [Float](repeating: .nan, count: x.count)
            out.withUnsafeBufferPointer { s in back.withUnsafeMutableBufferPointer {
                Blocked.toNCHW(s.baseAddress!, $0.baseAddress!, channels: channels, pixels: pixels, block: b)
            }}
            XCTAssertEqual(back, x, "toNCHW, block \(b)")
        }
    }

    func testPixelMajorCopyOfAWindowAtBothWidths() {
        let x = nchw()
        let window = PixelWindow(rows: 1..<4, columns: 2..<7, width: width)
        for b in DNNLCPU.supportedBlocks {
            let src = blocked(x, block: b)
            for w in [nil, window] {
                let count = w?.count ?? pixels
                var out = [Float](repeating: .nan, count: count * channels)
                src.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer {
                    Blocked.toPixelMajor(s.baseAddress!, $0.baseAddress!, channels: channels, pixels: pixels, window: w, block: b)
                }}
                var expected = [Float](repeating: 0, count: count * channels)
                for q in 0..<count {
                    let p = w?.pixel(q) ?? q
                    for c in 0..<channels { expected[q * channels + c] = x[c * pixels + p] }
                }
                XCTAssertEqual(out, expected, "toPixelMajor, block \(b), window \(String(describing: w))")
            }
        }
    }

    /// dF += X (dG + dGᵀ) / n, scattered into the blocked map, against the same sum done naively.
    func testGramBackwardAddsIntoTheBlockedMapAtBothWidths() {
        let c = 16, window = PixelWindow(rows: 1..<5, columns: 0..<3, width: width)
        let count = window.count, n = 100
        let x = (0..<(count * c)).map { Float(($0 * 37) % 23) / 11 - 1 }
        let dg = (0..<(c * c)).map { Float(($0 * 13) % 17) / 8 - 1 }
        let before = (0..<(c * pixels)).map { Float($0 % 5) }
        for b in [8, 16] {
            var df = [Float](repeating: 0, count: c * pixels)
            // `before` laid out blocked for c channels.
            for ch in 0..<c { for p in 0..<pixels { df[((ch / b) * pixels + p) * b + ch % b] = before[ch * pixels + p] } }
            var scratch = [Float](repeating: 0, count: Blocked.gramBackwardScratchCount)
            x.withUnsafeBufferPointer { xs in dg.withUnsafeBufferPointer { g in df.withUnsafeMutableBufferPointer { d in
                scratch.withUnsafeMutableBufferPointer { sc in
                    Blocked.gramBackward(pixelMajor: xs.baseAddress!, channels: c, pixels: pixels, window: window, dividedBy: n,
                                         gradGram: g.baseAddress!, addInto: d.baseAddress!, scratch: sc.baseAddress!, block: b)
                }
            }}}
            for ch in 0..<c {
                for p in 0..<pixels {
                    var expected = Double(before[ch * pixels + p])
                    if let q = (0..<count).first(where: { window.pixel($0) == p }) {
                        for k in 0..<c {
                            expected += Double(x[q * c + k]) * Double(dg[k * c + ch] + dg[ch * c + k]) / Double(n)
                        }
                    }
                    let got = Double(df[((ch / b) * pixels + p) * b + ch % b])
                    XCTAssertEqual(got, expected, accuracy: 1e-4 * max(1, abs(expected)), "block \(b), channel \(ch), pixel \(p)")
                }
            }
        }
    }

    /// Padding on blocked data (each pixel a vector of b floats) equals padding each channel plane of NCHW.
    func testPaddingOfBlockedPlanesAtBothWidths() {
        let x = nchw()
        for mode in PaddingMode.allCases {
            let pad = Pad2D(pad: 1, mode: mode)
            let (hp, wp) = (height + 2, width + 2)
            var plain = [Float](repeating: .nan, count: channels * hp * wp)
            x.withUnsafeBufferPointer { s in plain.withUnsafeMutableBufferPointer {
                pad.forward(s.baseAddress!, $0.baseAddress!, planes: channels, h: height, w: width)
            }}
            for b in DNNLCPU.supportedBlocks {
                let src = blocked(x, block: b)
                var out = [Float](repeating: .nan, count: channels * hp * wp)
                src.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer {
                    pad.forward(s.baseAddress!, $0.baseAddress!, planes: channels / b, h: height, w: width, vector: b)
                }}
                for ch in 0..<channels {
                    for p in 0..<(hp * wp) {
                        XCTAssertEqual(out[((ch / b) * hp * wp + p) * b + ch % b], plain[ch * hp * wp + p], "\(mode), block \(b)")
                    }
                }
                // The adjoint: <pad(x), y> = <x, padᵀ(y)> for the blocked and the plain layout alike.
                let y = (0..<(channels * hp * wp)).map { Float(($0 * 7) % 13) - 6 }
                var back = [Float](repeating: .nan, count: x.count)
                y.withUnsafeBufferPointer { s in back.withUnsafeMutableBufferPointer {
                    pad.backward(s.baseAddress!, $0.baseAddress!, planes: channels / b, h: height, w: width, vector: b)
                }}
                let lhs = zip(out, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let rhs = zip(src, back).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                XCTAssertEqual(lhs, rhs, accuracy: 1e-6 * abs(lhs), "\(mode) adjoint, block \(b)")
            }
        }
    }
}

/// The GEMM path that replaces any layer for which oneDNN has only its reference loops, against oneDNN's JIT
/// layer on the same data (forward with bias and ReLU, and backward-data), and against `Pool2D` for pooling.
final class GEMMFallbackTests: XCTestCase {
    func conv(_ i: Int, _ o: Int) throws -> Conv2D {
        var rng = TestRNG(11)
        return try Conv2D(weight: Tensor(shape: [o, i, 3, 3]) { _ in rng.uniform() - 0.5 },
                          bias: Tensor(shape: [o]) { _ in rng.uniform() - 0.5 }, padding: .zero)
    }

    func fill(_ b: DNNLBuffer, seed: UInt64) {
        var rng = TestRNG(seed)
        for k in 0..<b.count { b.pointer[k] = rng.uniform() - 0.5 }
    }

    func assertSame(_ a: DNNLBuffer, _ b: DNNLBuffer, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        var worst: Float = 0, scale: Float = 1e-6
        for k in 0..<min(a.count, b.count) {
            worst = max(worst, abs(a.pointer[k] - b.pointer[k]))
            scale = max(scale, abs(b.pointer[k]))
        }
        XCTAssertLessThan(worst / scale, 1e-5, "\(what): worst difference \(worst) of max \(scale)", file: file, line: line)
    }

    func testConvolutionFallbackMatchesOneDNN() throws {
        for (i, o, source) in [(3, 16, DNNLFormat.nchw), (16, 24, .blocked)] where source == .nchw || i % DNNLCPU.block == 0 {
            let c = try conv(i, o)
            let (h, w) = (6, 9)
            let jit = try DNNLConv(c, height: h, width: w, source: source, gradientSource: .blocked, relu: true,
                                   algorithm: .direct, backward: true)
            let gemm = try GEMMConvolution(c, height: h, width: w, source: source, gradientSource: .blocked)
            let x = try DNNLBuffer(dims: [1, i, h + 2, w + 2], source)
            fill(x, seed: 3)
            let (y1, y2) = (try DNNLBuffer(dims: [1, o, h, w], .blocked), try DNNLBuffer(dims: [1, o, h, w], .blocked))
            try jit.forward(source: x, destination: y1)
            try gemm.forward(source: x, destination: y2)
            assertSame(y2, y1, "forward \(i)->\(o)")
            let dy = try DNNLBuffer(dims: [1, o, h, w], .blocked)
            fill(dy, seed: 5)
            let (d1, d2) = (try DNNLBuffer(dims: [1, i, h + 2, w + 2], .blocked), try DNNLBuffer(dims: [1, i, h + 2, w + 2], .blocked))
            try jit.backwardData(gradOutput: dy, gradSource: d1)
            try gemm.backwardData(gradOutput: dy, gradSource: d2)
            // Only the real channels: a partial block's padding lanes are whatever each writer leaves there.
            let plain1 = try reordered(d1, to: memoryDesc([1, i, h + 2, w + 2], .nchw))
            let plain2 = try reordered(d2, to: memoryDesc([1, i, h + 2, w + 2], .nchw))
            assertSame(plain2, plain1, "backward-data \(i)->\(o)")
        }
    }

    func testPoolingFallbackMatchesOneDNN() throws {
        let c = 2 * DNNLCPU.block
        for kind in Pool2D.Kind.allCases {
            for (h, w) in [(6, 8), (7, 5)] {
                let jit = try DNNLPool(kind, channels: c, height: h, width: w, backward: true)
                let loops = try GEMMPooling(kind, channels: c, height: h, width: w)
                let x = try DNNLBuffer(dims: [1, c, h, w], .blocked)
                fill(x, seed: 9)
                let (oh, ow) = (Pool2D.outputSize(h), Pool2D.outputSize(w))
                let (y1, y2) = (try DNNLBuffer(dims: [1, c, oh, ow], .blocked), try DNNLBuffer(dims: [1, c, oh, ow], .blocked))
                try jit.forward(source: x, destination: y1)
                try loops.forward(source: x, destination: y2)
                assertSame(y2, y1, "\(kind) pool forward \(h)x\(w)")
                let dy = try DNNLBuffer(dims: [1, c, oh, ow], .blocked)
                fill(dy, seed: 13)
                let (d1, d2) = (try DNNLBuffer(dims: [1, c, h, w], .blocked), try DNNLBuffer(dims: [1, c, h, w], .blocked))
                try jit.backward(gradOutput: dy, gradSource: d1)
                try loops.backward(gradOutput: dy, gradSource: d2)
                assertSame(d2, d1, "\(kind) pool backward \(h)x\(w)")
            }
        }
    }

    /// oneDNN's reference loops are refused where they are all it has: nChw16c on a CPU below AVX-512, nChw8c
    /// in a process capped below AVX2 (its backward-data). Here: a layout of the other width than this CPU's.
    func testReferenceKernelsAreRefused() throws {
        let other = DNNLCPU.block == 16 ? dnnl_nChw8c : dnnl_nChw16c
        var src = dnnl_memory_desc_t(), dst = dnnl_memory_desc_t()
        var sd: [dnnl_dim_t] = [1, 32, 10, 10], dd: [dnnl_dim_t] = [1, 32, 8, 8]
        XCTAssertEqual(dnnl_memory_desc_init_by_tag(&src, 4, &sd, dnnl_f32, other), dnnl_success)
        XCTAssertEqual(dnnl_memory_desc_init_by_tag(&dst, 4, &dd, dnnl_f32, other), dnnl_success)
        var w = try memoryDesc([32, 32, 3, 3], .any), b = try memoryDesc([32], .any)
        var strides: [dnnl_dim_t] = [1, 1], zero: [dnnl_dim_t] = [0, 0]
        var desc = dnnl_convolution_desc_t()
        XCTAssertEqual(dnnl_convolution_forward_desc_init(&desc, dnnl_forward_training, dnnl_convolution_direct,
                                                          &src, &w, &b, &dst, &strides, &zero, &zero), dnnl_success)
        do {
            let p = try withUnsafePointer(to: &desc) { try DNNLPrimitive.create($0, name: "other-width convolution") }
            // oneDNN has a JIT kernel for this width here after all (an AVX-512 machine also runs nChw8c): fine.
            XCTAssertFalse(p.implementation.hasPrefix("ref"), p.implementation)
        } catch let error as DNNLError {
            XCTAssertTrue(error.referenceOnly, "\(error)")
        }
    }
}
