import XCTest
@testable import TxnTensor

/// The fully connected layer (PSGAN's wave-vector MLP) and the transposed convolution's input gradient on a range
/// of channels, against direct loops and central differences.
final class LinearLayerTests: XCTestCase {
    func values(_ rng: inout TestRNG, _ n: Int) -> [Float] { (0..<n).map { _ in rng.uniform() } }

    func inner(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }

    func testLinearForwardMatchesDirectLoops() throws {
        var rng = TestRNG(31)
        let (n, i, o) = (3, 5, 4)
        let layer = try Linear(weight: Parameter(shape: [o, i], value: values(&rng, o * i)), bias: Parameter(shape: [o], value: values(&rng, o)))
        let x = values(&rng, n * i)
        let y = layer.forward(x, batch: n)
        for s in 0..<n {
            for r in 0..<o {
                var acc = Double(layer.bias.value[r])
                for c in 0..<i { acc += Double(layer.weight.value[r * i + c]) * Double(x[s * i + c]) }
                XCTAssertEqual(Double(y[s * o + r]), acc, accuracy: 1e-5)
            }
        }
    }

    func testLinearBackwardMatchesFiniteDifferences() throws {
        var rng = TestRNG(32)
        let (n, i, o) = (3, 5, 4)
        let layer = try Linear(weight: Parameter(shape: [o, i], value: values(&rng, o * i)), bias: Parameter(shape: [o], value: values(&rng, o)))
        let x = values(&rng, n * i), r = values(&rng, n * o)
        assertGradient(layer.backwardData(r, batch: n), x) { v in inner(layer.forward(v, batch: n), r) }
        layer.backwardWeights(input: x, gradOutput: r, batch: n)
        for p in [layer.weight, layer.bias] { assertGradient(of: p) { inner(layer.forward(x, batch: n), r) } }
        // Gradients accumulate, as PyTorch's .grad does.
        let once = layer.bias.gradient
        layer.backwardWeights(input: x, gradOutput: r, batch: n)
        for (a, b) in zip(layer.bias.gradient, once) { XCTAssertEqual(a, 2 * b, accuracy: 1e-6) }
    }

    func testLinearRejectsBadShapes() {
        XCTAssertThrowsError(try Linear(weight: Parameter(zeros: [3, 2]), bias: Parameter(zeros: [2])))
        XCTAssertThrowsError(try Linear(weight: Parameter(zeros: [6]), bias: Parameter(zeros: [6])))
    }

    /// The input gradient of a channel range is those channels of the full input gradient, and matches central
    /// differences on those channels of the input.
    func testTransposedConvolutionInputGradientOfAChannelRange() throws {
        var rng = TestRNG(33)
        let g = PatchGeometry(kernel: 4, stride: 2, padding: 1)
        let conv = try ConvTranspose2D(weight: Parameter(shape: [5, 3, 4, 4], value: values(&rng, 5 * 3 * 16)),
                                       bias: Parameter(shape: [3], value: values(&rng, 3)), geometry: g)
        let (n, h, w) = (2, 3, 2)
        let x = try ChannelMajor(channels: 5, batch: n, height: h, width: w, data: values(&rng, 5 * n * h * w))
        let r = try ChannelMajor(channels: 3, batch: n, height: 2 * h, width: 2 * w, data: values(&rng, 3 * n * 4 * h * w))
        let columns = try conv.gradientColumns(r)
        let full = conv.backwardData(columns: columns, batch: n, inputHeight: h, inputWidth: w)
        let range = 2..<4, plane = n * h * w
        let part = conv.backwardData(columns: columns, batch: n, inputHeight: h, inputWidth: w, channels: range)
        XCTAssertEqual([part.channels, part.batch, part.height, part.width], [2, n, h, w])
        for (a, b) in zip(part.data, full.data[(range.lowerBound * plane)..<(range.upperBound * plane)]) {
            XCTAssertEqual(a, b, accuracy: 1e-5)
        }
        let slice = Array(x.data[(range.lowerBound * plane)..<(range.upperBound * plane)])
        try assertGradient(part.data, slice) { v in
            var xv = x
            xv.data.replaceSubrange((range.lowerBound * plane)..<(range.upperBound * plane), with: v)
            return inner(try conv.forward(xv).data, r.data)
        }
        XCTAssertEqual(conv.backwardData(columns: columns, batch: n, inputHeight: h, inputWidth: w, channels: 5..<5).count, 0)
    }
}
