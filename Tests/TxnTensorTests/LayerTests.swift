import XCTest
@testable import TxnTensor

/// Direct 7-loop convolution as the known answer for the im2col path.
func naiveConv(_ x: Tensor, _ conv: Conv2D) -> Tensor {
    let k = conv.kernel, p = k / 2
    var y = Tensor(zeros: [x.n, conv.outChannels, x.h, x.w])
    func src(_ i: Int, _ size: Int) -> Int? {
        switch conv.padding {
        case .zero: return (i >= 0 && i < size) ? i : nil
        case .reflect: return i < 0 ? -i : (i >= size ? 2 * (size - 1) - i : i)
        case .circular: return ((i % size) + size) % size
        }
    }
    for s in 0..<x.n { for o in 0..<conv.outChannels { for yy in 0..<x.h { for xx in 0..<x.w {
        var acc = Double(conv.bias.data[o])
        for i in 0..<conv.inChannels { for ky in 0..<k { for kx in 0..<k {
            guard let sy = src(yy + ky - p, x.h), let sx = src(xx + kx - p, x.w) else { continue }
            acc += Double(conv.weight.data[((o * conv.inChannels + i) * k + ky) * k + kx])
                * Double(x.data[((s * x.c + i) * x.h + sy) * x.w + sx])
        }}}
        y.data[((s * conv.outChannels + o) * x.h + yy) * x.w + xx] = Float(acc)
    }}}}
    return y
}

final class ConvTests: XCTestCase {
    func makeConv(_ rng: inout TestRNG, out: Int, inp: Int, k: Int, padding: PaddingMode) throws -> Conv2D {
        try Conv2D(weight: rng.tensor([out, inp, k, k]), bias: rng.tensor([out]), padding: padding)
    }

    func testForwardMatchesDirectConvolution() throws {
        var rng = TestRNG(1)
        for padding in PaddingMode.allCases {
            for k in [1, 3] {
                let conv = try makeConv(&rng, out: 4, inp: 3, k: k, padding: padding)
                let x = rng.tensor([2, 3, 5, 7])
                let y = try conv.forward(x), ref = naiveConv(x, conv)
                XCTAssertEqual(y.shape, [2, 4, 5, 7])
                for i in y.data.indices {
                    XCTAssertEqual(y.data[i], ref.data[i], accuracy: 1e-5, "\(padding) k=\(k) at \(i)")
                }
            }
        }
    }

    func testBackwardDataMatchesFiniteDifferences() throws {
        var rng = TestRNG(2)
        for padding in PaddingMode.allCases {
            for k in [1, 3] {
                let conv = try makeConv(&rng, out: 3, inp: 2, k: k, padding: padding)
                let x = rng.tensor([2, 2, 4, 5]), r = rng.tensor([2, 3, 4, 5])
                let dx = try conv.backwardData(inputShape: x.shape, gradOutput: r)
                try assertGradientMatches(dx, at: x) { try dot(conv.forward($0), r) }
            }
        }
    }

    func testBackwardWeightsMatchesFiniteDifferences() throws {
        var rng = TestRNG(3)
        for padding in PaddingMode.allCases {
            let conv = try makeConv(&rng, out: 3, inp: 2, k: 3, padding: padding)
            let x = rng.tensor([2, 2, 4, 4]), r = rng.tensor([2, 3, 4, 4])
            let (dw, db) = try conv.backwardWeights(input: x, gradOutput: r)
            try assertGradientMatches(dw, at: conv.weight) { w in
                var c = conv; c.weight = w; return try dot(c.forward(x), r)
            }
            try assertGradientMatches(db, at: conv.bias) { b in
                var c = conv; c.bias = b; return try dot(c.forward(x), r)
            }
        }
    }

    func testShapeErrorsAreClear() throws {
        var rng = TestRNG(4)
        let conv = try makeConv(&rng, out: 3, inp: 2, k: 3, padding: .reflect)
        XCTAssertThrowsError(try conv.forward(rng.tensor([1, 5, 4, 4]))) { e in
            XCTAssertTrue("\(e)".contains("expects 2 input channels, got 5"), "\(e)")
        }
        XCTAssertThrowsError(try conv.forward(rng.tensor([1, 2, 1, 4]))) { e in
            XCTAssertTrue("\(e)".contains("reflect padding"), "\(e)")
        }
        XCTAssertThrowsError(try Conv2D(weight: rng.tensor([3, 2, 2, 2]), bias: rng.tensor([3]), padding: .zero))
        XCTAssertThrowsError(try Conv2D(weight: rng.tensor([3, 2, 3, 3]), bias: rng.tensor([2]), padding: .zero))
        XCTAssertThrowsError(try Tensor(shape: [2, 2], data: [1, 2, 3]))
    }
}

final class PoolTests: XCTestCase {
    func testAveragePoolCeilModeKnownAnswer() throws {
        // 3x3 input: windows {0,1,3,4}, {2,5}, {6,7}, {8}; clipped windows divide by their own size.
        let x = try Tensor(shape: [1, 1, 3, 3], data: [0, 1, 2, 3, 4, 5, 6, 7, 8])
        let y = try Pool2D(.avg).forward(x)
        XCTAssertEqual(y.shape, [1, 1, 2, 2])
        XCTAssertEqual(y.data, [2, 3.5, 6.5, 8])
        let m = try Pool2D(.max).forward(x)
        XCTAssertEqual(m.data, [4, 5, 7, 8])
    }

    func testBackwardMatchesFiniteDifferences() throws {
        var rng = TestRNG(5)
        for kind in Pool2D.Kind.allCases {
            for (h, w) in [(4, 6), (5, 7), (1, 3)] {
                let pool = Pool2D(kind)
                // Distinct values so max pooling has no ties for a finite step to cross.
                var x = rng.tensor([2, 3, h, w])
                for i in x.data.indices { x.data[i] += Float(i) * 0.05 * (i % 2 == 0 ? 1 : -1) }
                let y = try pool.forward(x)
                XCTAssertEqual(y.shape, [2, 3, (h + 1) / 2, (w + 1) / 2])
                let r = rng.tensor(y.shape)
                let dx = try pool.backward(input: x, gradOutput: r)
                try assertGradientMatches(dx, at: x, eps: 1e-3) { try dot(pool.forward($0), r) }
            }
        }
    }
}

final class ReLUGramPadTests: XCTestCase {
    func testReLUBackward() throws {
        var rng = TestRNG(6)
        var x = rng.tensor([1, 2, 3, 4])
        for i in x.data.indices where abs(x.data[i]) < 0.1 { x.data[i] = 0.5 }
        let r = rng.tensor(x.shape)
        let dx = ReLU.backward(output: ReLU.forward(x), gradOutput: r)
        assertGradientMatches(dx, at: x, eps: 1e-2) { dot(ReLU.forward($0), r) }
        XCTAssertEqual(ReLU.forward(try Tensor(shape: [4], data: [-1, 0, 2, -0.5])).data, [0, 0, 2, 0])
    }

    func testGramKnownAnswerAndBackward() throws {
        // F = [[1, 2], [3, 4]] (C=2, M=2): F Fᵀ / 2 = [[2.5, 5.5], [5.5, 12.5]].
        let f = try Tensor(shape: [1, 2, 1, 2], data: [1, 2, 3, 4])
        XCTAssertEqual(try Gram.forward(f).data, [2.5, 5.5, 5.5, 12.5])

        var rng = TestRNG(7)
        let x = rng.tensor([2, 4, 3, 5]), r = rng.tensor([2, 4, 4])  // r not symmetric on purpose
        let dx = try Gram.backward(features: x, gradGram: r)
        try assertGradientMatches(dx, at: x) { try dot(Gram.forward($0), r) }
    }

    func testPaddingKnownAnswerAndBackward() throws {
        let x = try Tensor(shape: [1, 1, 2, 3], data: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try Pad2D(pad: 1, mode: .reflect).forward(x).data,
                       [5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2])
        XCTAssertEqual(try Pad2D(pad: 1, mode: .circular).forward(x).data,
                       [6, 4, 5, 6, 4, 3, 1, 2, 3, 1, 6, 4, 5, 6, 4, 3, 1, 2, 3, 1])
        XCTAssertEqual(try Pad2D(pad: 1, mode: .zero).forward(x).data,
                       [0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0])
        var rng = TestRNG(8)
        for mode in PaddingMode.allCases {
            let pad = Pad2D(pad: 1, mode: mode)
            let x = rng.tensor([1, 2, 3, 4]), r = rng.tensor([1, 2, 5, 6])
            let dx = pad.backward(inputShape: x.shape, gradOutput: r)
            try assertGradientMatches(dx, at: x) { try dot(pad.forward($0), r) }
        }
    }

    func testThreadCountChangesNothingButSpeed() throws {
        var rng = TestRNG(9)
        let conv = try Conv2D(weight: rng.tensor([8, 4, 3, 3]), bias: rng.tensor([8]), padding: .reflect)
        let x = rng.tensor([1, 4, 16, 16])
        let saved = Threads.count
        defer { Threads.count = saved }
        Threads.count = 1
        let one = try conv.forward(x)
        Threads.count = 2
        let two = try conv.forward(x)
        XCTAssertEqual(one.shape, two.shape)
        for i in one.data.indices { XCTAssertEqual(one.data[i], two.data[i], accuracy: 1e-5) }
    }
}

final class BlockedLayoutTests: XCTestCase {
    /// At both block widths (8: AVX2, 16: AVX-512), whatever this CPU's.
    func testGramAndItsBackwardMatchTheNCHWVersions() throws {
        for b in DNNLCPU.supportedBlocks { try checkGram(block: b) }
    }

    func checkGram(block b: Int) throws {
        var rng = TestRNG(10)
        let (c, h, w) = (48, 5, 7), m = h * w
        let f = rng.tensor([1, c, h, w]), dg = rng.tensor([1, c, c])
        var blocked = [Float](repeating: 0, count: c * m)
        f.data.withUnsafeBufferPointer { Blocked.fromNCHW($0.baseAddress!, &blocked, channels: c, pixels: m, block: b) }
        var back = [Float](repeating: 0, count: c * m)
        Blocked.toNCHW(blocked, &back, channels: c, pixels: m, block: b)
        XCTAssertEqual(back, f.data)

        var x = [Float](repeating: 0, count: c * m)
        Blocked.toPixelMajor(blocked, &x, channels: c, pixels: m, block: b)
        for p in 0..<m { for ch in 0..<c { XCTAssertEqual(x[p * c + ch], f.data[ch * m + p]) } }
        var g = [Float](repeating: 0, count: c * c)
        Blocked.gram(pixelMajor: x, channels: c, pixels: m, into: &g)
        let reference = try Gram.forward(f)
        for i in g.indices { XCTAssertEqual(g[i], reference.data[i], accuracy: 1e-5) }

        var df = [Float](repeating: 0, count: c * m)
        var scratch = [Float](repeating: 0, count: Blocked.gramBackwardScratchCount)
        dg.data.withUnsafeBufferPointer {
            Blocked.gramBackward(pixelMajor: x, channels: c, pixels: m, gradGram: $0.baseAddress!, addInto: &df, scratch: &scratch, block: b)
        }
        var dfNCHW = [Float](repeating: 0, count: c * m)
        Blocked.toNCHW(df, &dfNCHW, channels: c, pixels: m, block: b)
        let expected = try Gram.backward(features: f, gradGram: dg)
        for i in dfNCHW.indices { XCTAssertEqual(dfNCHW[i], expected.data[i], accuracy: 1e-5, "block \(b)") }
    }
}
