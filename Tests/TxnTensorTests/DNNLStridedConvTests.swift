import XCTest
@testable import TxnTensor

/// The GAN layers on oneDNN's convolution primitives against the GEMM path (which TrainableLayerTests checks
/// against direct loops and finite differences): forward, backward-data (through an activation) and the weight
/// and bias gradients, on a batch of 3 with channel counts the primitives take (multiples of 16).
final class DNNLStridedConvTests: XCTestCase {
    let geometry = PatchGeometry(kernel: 4, stride: 2, padding: 1)

    func values(_ rng: inout TestRNG, _ count: Int) -> [Float] { (0..<count).map { _ in rng.uniform() } }

    func batch(_ rng: inout TestRNG, _ c: Int, _ n: Int, _ h: Int, _ w: Int) -> ChannelMajor {
        try! ChannelMajor(channels: c, batch: n, height: h, width: w, data: values(&rng, c * n * h * w))
    }

    func assertClose(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = max(b.reduce(Float(0)) { max($0, abs($1)) }, 1e-6)
        let worst = zip(a, b).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) } / scale
        XCTAssertLessThan(worst, 1e-5, "\(what): worst difference \(worst) of max \(scale)", file: file, line: line)
    }

    func requirePrimitives(_ k: DNNLStridedConv?) throws {
        XCTAssertNotNil(k, "oneDNN should have JIT primitives for this layer on this machine")
    }

    func testStridedConvolutionOnPrimitivesMatchesTheGEMMPath() throws {
        try checkStridedConvolution(16, 32)
    }

    func checkStridedConvolution(_ i: Int, _ o: Int) throws {
        var rng = TestRNG(31)
        let (n, h, w) = (3, 10, 14)
        func conv() -> StridedConv2D {
            var r = TestRNG(7)
            return try! StridedConv2D(weight: Parameter(shape: [o, i, 4, 4], value: values(&r, o * i * 16)),
                                      bias: Parameter(shape: [o], value: values(&r, o)), geometry: geometry)
        }
        let (a, b) = (conv(), conv())
        try requirePrimitives(a.primitives(batch: n, height: h, width: w))
        let x = batch(&rng, i, n, h, w)
        let leaky = PointwiseActivation.leakyReLU(slope: 0.2)
        let (ya, keptA) = try a.forwardKeepingInput(x, then: leaky, primitives: true)
        let (yb, keptB) = try b.forwardKeepingInput(x, then: leaky, primitives: false)
        XCTAssertNotNil(keptA.blocked)
        XCTAssertNotNil(keptB.columns)
        assertClose(ya.data, yb.data, "forward")
        let dy = batch(&rng, o, n, h / 2, w / 2)
        var output = x
        Activation.apply(leaky, &output)
        // Twice, so that the gradients accumulate as over a real and a fake batch.
        for _ in 0..<2 {
            let da = try a.backward(dy, input: x, kept: keptA, weights: true, data: true, through: leaky, output: output, primitives: true)!
            let db = try b.backward(dy, input: x, kept: keptB, weights: true, data: true, through: leaky, output: output, primitives: false)!
            assertClose(da.data, db.data, "input gradient")
        }
        assertClose(a.weight.gradient, b.weight.gradient, "weight gradient")
        assertClose(a.bias.gradient, b.bias.gradient, "bias gradient")
        // Without the kept input, it is converted again.
        let dc = try a.backward(dy, input: x, kept: nil, weights: false, data: true, primitives: true)!
        let dd = try b.backward(dy, input: x, kept: nil, weights: false, data: true, primitives: false)!
        assertClose(dc.data, dd.data, "input gradient without activation")
    }

    func testTransposedConvolutionBackwardOnPrimitivesMatchesTheGEMMPath() throws {
        try checkTransposedConvolution(32, 16)
    }

    func checkTransposedConvolution(_ i: Int, _ o: Int) throws {
        var rng = TestRNG(41)
        let (n, h, w) = (3, 5, 7)
        func conv() -> ConvTranspose2D {
            var r = TestRNG(9)
            return try! ConvTranspose2D(weight: Parameter(shape: [i, o, 4, 4], value: values(&r, o * i * 16)),
                                        bias: Parameter(shape: [o], value: values(&r, o)), geometry: geometry)
        }
        let (a, b) = (conv(), conv())
        try requirePrimitives(a.primitives(batch: n, height: h, width: w))
        let x = batch(&rng, i, n, h, w)
        assertClose(try a.forward(x, primitives: true).data, try b.forward(x, primitives: false).data, "forward")
        let dy = batch(&rng, o, n, 2 * h, 2 * w)
        for _ in 0..<2 {
            let da = try a.backward(dy, input: x, data: true, primitives: true)!
            let db = try b.backward(dy, input: x, data: true, primitives: false)!
            assertClose(da.data, db.data, "input gradient")
        }
        assertClose(a.weight.gradient, b.weight.gradient, "weight gradient")
        assertClose(a.bias.gradient, b.bias.gradient, "bias gradient")
        XCTAssertNil(try a.backward(dy, input: x, data: false))
    }

    func testLayersWithoutWholeBlocksStayOnTheGEMMPath() {
        let shape = { (kind: DNNLStridedConv.Kind, i: Int, o: Int) in
            DNNLStridedConv.Shape(kind: kind, inChannels: i, outChannels: o, batch: 2, height: 8, width: 8,
                                  geometry: .init(kernel: 4, stride: 2, padding: 1))
        }
        // The discriminator's first and last layers, the generator's last, and one from 12 noise channels (not a
        // whole block of 8 or of 16).
        XCTAssertNil(DNNLStridedConv.kernels(shape(.convolution, 3, 16)))
        XCTAssertNil(DNNLStridedConv.kernels(shape(.convolution, 32, 1)))
        XCTAssertNil(DNNLStridedConv.kernels(shape(.deconvolution, 16, 3)))
        XCTAssertNil(DNNLStridedConv.kernels(shape(.deconvolution, 12, 16)))
    }

    func testPrimitivesRejectMismatchedGradients() throws {
        var rng = TestRNG(5)
        let conv = try StridedConv2D(weight: Parameter(shape: [16, 16, 4, 4], value: values(&rng, 16 * 16 * 16)),
                                     bias: Parameter(zeros: [16]), geometry: geometry)
        let x = batch(&rng, 16, 2, 8, 8)
        XCTAssertThrowsError(try conv.backward(batch(&rng, 16, 2, 3, 4), input: x, kept: nil, weights: true, data: true))
        let t = try ConvTranspose2D(weight: Parameter(shape: [16, 16, 4, 4], value: values(&rng, 16 * 16 * 16)),
                                    bias: Parameter(zeros: [16]), geometry: geometry)
        XCTAssertThrowsError(try t.backward(batch(&rng, 16, 2, 8, 9), input: x, data: true))
    }
}
