import XCTest
@testable import TxnTensor

/// The texture network's new layers (instance norm, nearest ×2 upsampling, channel-major padding) against their
/// formulas (forward) and central differences (every backward), on odd sizes and batches of 2.
final class TexNetLayerTests: XCTestCase {
    func batch(_ rng: inout TestRNG, _ c: Int, _ n: Int, _ h: Int, _ w: Int) -> ChannelMajor {
        try! ChannelMajor(channels: c, batch: n, height: h, width: w, data: (0..<(c * n * h * w)).map { _ in rng.uniform() })
    }

    func parameter(_ rng: inout TestRNG, _ shape: [Int]) -> Parameter {
        Parameter(shape: shape, value: (0..<shape.reduce(1, *)).map { _ in rng.uniform() })
    }

    func dot(_ a: ChannelMajor, _ b: ChannelMajor) -> Double {
        precondition(a.count == b.count)
        return zip(a.data, b.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    func testInstanceNormMatchesFormulaPerPlane() throws {
        var rng = TestRNG(41)
        let norm = try InstanceNorm2D(weight: parameter(&rng, [3]), bias: parameter(&rng, [3]))
        let x = batch(&rng, 3, 2, 3, 5)
        var y = x
        let saved = try norm.forward(&y)
        let p = 15
        for plane in 0..<6 {
            let c = plane / 2
            let row = Array(x.data[(plane * p)..<((plane + 1) * p)]).map(Double.init)
            let mean = row.reduce(0, +) / Double(p)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(p)
            XCTAssertEqual(Double(saved.inverseStd[plane]), 1 / (variance + 1e-5).squareRoot(), accuracy: 1e-4)
            for j in 0..<p {
                let expected = Double(norm.weight.value[c]) * (row[j] - mean) / (variance + 1e-5).squareRoot() + Double(norm.bias.value[c])
                XCTAssertEqual(Double(y.data[plane * p + j]), expected, accuracy: 1e-5)
            }
        }
        // A sample's output does not depend on the other samples (unlike batch norm).
        var alone = try ChannelMajor(channels: 3, batch: 1, height: 3, width: 5,
                                     data: (0..<3).flatMap { c in x.data[((2 * c) * p)..<((2 * c + 1) * p)] })
        _ = try norm.forward(&alone)
        for c in 0..<3 {
            XCTAssertEqual(Array(alone.data[(c * p)..<((c + 1) * p)]), Array(y.data[((2 * c) * p)..<((2 * c + 1) * p)]))
        }
    }

    func testInstanceNormBackwardMatchesFiniteDifferences() throws {
        for activation in [nil, PointwiseActivation.leakyReLU(slope: 0.01)] {
            var rng = TestRNG(42)
            let norm = try InstanceNorm2D(weight: parameter(&rng, [3]), bias: parameter(&rng, [3]))
            let x = batch(&rng, 3, 2, 3, 4), r = batch(&rng, 3, 2, 3, 4)
            var y = x
            let saved = try norm.forward(&y, then: activation)
            var grad = r
            norm.weight.zeroGradient(); norm.bias.zeroGradient()
            norm.backward(&grad, saved: saved, after: activation, output: activation == nil ? nil : y)
            func loss(_ input: [Float]) throws -> Double {
                var v = try ChannelMajor(channels: 3, batch: 2, height: 3, width: 4, data: input)
                _ = try norm.forward(&v, then: activation)
                return dot(v, r)
            }
            try assertGradient(grad.data, x.data, eps: 1e-3, tolerance: 5e-3) { try loss($0) }
            for p in [norm.weight, norm.bias] { try assertGradient(of: p, eps: 1e-3) { try loss(x.data) } }
        }
    }

    func testInstanceNormRefusesSinglePixelPlanesAndWrongChannels() throws {
        let norm = InstanceNorm2D(channels: 2)
        var one = ChannelMajor(zeros: 2, batch: 3, height: 1, width: 1)
        XCTAssertThrowsError(try norm.forward(&one))
        var wrong = ChannelMajor(zeros: 3, batch: 1, height: 2, width: 2)
        XCTAssertThrowsError(try norm.forward(&wrong))
    }

    func testNearestUpsampleCopiesEachPixelToItsBlockAndSumsBack() throws {
        var rng = TestRNG(43)
        let x = batch(&rng, 2, 2, 3, 5)
        let y = NearestUpsample.forward(x)
        XCTAssertEqual([y.channels, y.batch, y.height, y.width], [2, 2, 6, 10])
        for plane in 0..<4 { for i in 0..<6 { for j in 0..<10 {
            XCTAssertEqual(y.data[(plane * 6 + i) * 10 + j], x.data[(plane * 3 + i / 2) * 5 + j / 2])
        }}}
        let r = batch(&rng, 2, 2, 6, 10)
        let dx = try NearestUpsample.backward(r)
        try assertGradient(dx.data, x.data, eps: 1e-2) { v in
            dot(NearestUpsample.forward(try ChannelMajor(channels: 2, batch: 2, height: 3, width: 5, data: v)), r)
        }
        XCTAssertThrowsError(try NearestUpsample.backward(ChannelMajor(zeros: 1, batch: 1, height: 3, width: 4)))
    }

    func testChannelMajorPaddingAndItsAdjoint() throws {
        var rng = TestRNG(44)
        let x = batch(&rng, 2, 2, 3, 4)
        for mode in PaddingMode.allCases {
            let pad = Pad2D(pad: 1, mode: mode)
            let y = try x.padded(pad)
            // The same as padding the NCHW planes one by one.
            let reference = try pad.forward(Tensor(shape: [1, 4, 3, 4], data: x.data))
            XCTAssertEqual(y.data, reference.data, "\(mode)")
            let r = batch(&rng, 2, 2, 5, 6)
            let dx = try r.unpaddedGradient(pad, height: 3, width: 4)
            try assertGradient(dx.data, x.data, eps: 1e-2) { v in
                dot(try ChannelMajor(channels: 2, batch: 2, height: 3, width: 4, data: v).padded(pad), r)
            }
        }
        XCTAssertThrowsError(try x.padded(Pad2D(pad: 1, mode: .reflect)).unpaddedGradient(Pad2D(pad: 1, mode: .reflect), height: 4, width: 4))
    }
}
