import XCTest
@testable import TxnTensor

/// The GAN's layers against direct loops (forward) and central differences (every backward), on odd sizes,
/// batches of 2–3 and the GAN's 4×4 stride-2 padding-1 geometry plus a 3×3 stride-1 one.
final class TrainableLayerTests: XCTestCase {
    let geometries = [PatchGeometry(kernel: 4, stride: 2, padding: 1), PatchGeometry(kernel: 3, stride: 1, padding: 1),
                      PatchGeometry(kernel: 3, stride: 2, padding: 0)]

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

    // MARK: strided convolution

    func naiveConv(_ x: ChannelMajor, _ conv: StridedConv2D) -> ChannelMajor {
        let g = conv.geometry, k = g.kernel
        let (ho, wo) = conv.outputSize(height: x.height, width: x.width)
        var y = ChannelMajor(zeros: conv.outChannels, batch: x.batch, height: ho, width: wo)
        for o in 0..<conv.outChannels { for n in 0..<x.batch { for oy in 0..<ho { for ox in 0..<wo {
            var acc = Double(conv.bias.value[o])
            for i in 0..<conv.inChannels { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * g.stride - g.padding + ky, ix = ox * g.stride - g.padding + kx
                guard iy >= 0, iy < x.height, ix >= 0, ix < x.width else { continue }
                acc += Double(conv.weight.value[((o * conv.inChannels + i) * k + ky) * k + kx])
                    * Double(x.data[((i * x.batch + n) * x.height + iy) * x.width + ix])
            }}}
            y.data[((o * x.batch + n) * ho + oy) * wo + ox] = Float(acc)
        }}}}
        return y
    }

    func testStridedConvolutionForwardMatchesDirectLoops() throws {
        var rng = TestRNG(11)
        for g in geometries {
            for (h, w) in [(8, 8), (7, 9), (5, 6)] {
                let conv = try StridedConv2D(weight: parameter(&rng, [4, 3, g.kernel, g.kernel]), bias: parameter(&rng, [4]), geometry: g)
                let x = batch(&rng, 3, 2, h, w)
                let y = try conv.forward(x), ref = naiveConv(x, conv)
                XCTAssertEqual([y.channels, y.batch, y.height, y.width], [ref.channels, ref.batch, ref.height, ref.width])
                for i in y.data.indices { XCTAssertEqual(y.data[i], ref.data[i], accuracy: 1e-5, "\(g) \(h)x\(w) at \(i)") }
            }
        }
    }

    func testStridedConvolutionBackwardMatchesFiniteDifferences() throws {
        var rng = TestRNG(12)
        // Odd sizes take the general fold; even ones (with 4×4, stride 2, padding 1) the interleaved-row fold,
        // down to a 2-pixel-wide image whose rows have a single output column.
        for g in geometries {
            for (h, w) in [(7, 6), (8, 6), (4, 2)] {
                let conv = try StridedConv2D(weight: parameter(&rng, [3, 2, g.kernel, g.kernel]), bias: parameter(&rng, [3]), geometry: g)
                let (ho, wo) = conv.outputSize(height: h, width: w)
                guard ho > 0, wo > 0 else { continue }
                let x = batch(&rng, 2, 2, h, w)
                let r = batch(&rng, 3, 2, ho, wo)
                let dx = try conv.backwardData(r, inputHeight: h, inputWidth: w)
                try assertGradient(dx.data, x.data) { v in
                    try dot(conv.forward(ChannelMajor(channels: 2, batch: 2, height: h, width: w, data: v)), r)
                }
                conv.weight.zeroGradient(); conv.bias.zeroGradient()
                try conv.backwardWeights(input: x, gradOutput: r)
                for p in [conv.weight, conv.bias] { try assertGradient(of: p) { try dot(conv.forward(x), r) } }
            }
        }
    }

    // MARK: transposed convolution

    /// Every input pixel scatters its k×k stamp: y[o, i·s − p + k] += x[c, i] · W[c, o, k].
    func naiveTransposed(_ x: ChannelMajor, _ conv: ConvTranspose2D) -> ChannelMajor {
        let g = conv.geometry, k = g.kernel
        let (ho, wo) = conv.outputSize(height: x.height, width: x.width)
        var acc = [Double](repeating: 0, count: conv.outChannels * x.batch * ho * wo)
        for o in 0..<conv.outChannels { for n in 0..<x.batch { for p in 0..<(ho * wo) {
            acc[(o * x.batch + n) * ho * wo + p] = Double(conv.bias.value[o])
        }}}
        for c in 0..<conv.inChannels { for n in 0..<x.batch { for iy in 0..<x.height { for ix in 0..<x.width {
            let v = Double(x.data[((c * x.batch + n) * x.height + iy) * x.width + ix])
            for o in 0..<conv.outChannels { for ky in 0..<k { for kx in 0..<k {
                let oy = iy * g.stride - g.padding + ky, ox = ix * g.stride - g.padding + kx
                guard oy >= 0, oy < ho, ox >= 0, ox < wo else { continue }
                acc[((o * x.batch + n) * ho + oy) * wo + ox] += v * Double(conv.weight.value[((c * conv.outChannels + o) * k + ky) * k + kx])
            }}}
        }}}}
        return try! ChannelMajor(channels: conv.outChannels, batch: x.batch, height: ho, width: wo, data: acc.map { Float($0) })
    }

    func testTransposedConvolutionForwardMatchesScatterLoops() throws {
        var rng = TestRNG(13)
        let g = PatchGeometry(kernel: 4, stride: 2, padding: 1)
        for (h, w) in [(2, 2), (3, 5), (4, 4)] {
            let conv = try ConvTranspose2D(weight: parameter(&rng, [3, 4, 4, 4]), bias: parameter(&rng, [4]), geometry: g)
            let x = batch(&rng, 3, 2, h, w)
            let y = try conv.forward(x), ref = naiveTransposed(x, conv)
            XCTAssertEqual([y.height, y.width], [2 * h, 2 * w])
            for i in y.data.indices { XCTAssertEqual(y.data[i], ref.data[i], accuracy: 1e-5, "\(h)x\(w) at \(i)") }
        }
    }

    func testTransposedConvolutionBackwardMatchesFiniteDifferences() throws {
        var rng = TestRNG(14)
        let g = PatchGeometry(kernel: 4, stride: 2, padding: 1)
        let conv = try ConvTranspose2D(weight: parameter(&rng, [2, 3, 4, 4]), bias: parameter(&rng, [3]), geometry: g)
        let x = batch(&rng, 2, 3, 3, 2)
        let r = batch(&rng, 3, 3, 6, 4)
        let columns = try conv.gradientColumns(r)
        let dx = conv.backwardData(columns: columns, batch: 3, inputHeight: 3, inputWidth: 2)
        try assertGradient(dx.data, x.data) { v in
            try dot(conv.forward(ChannelMajor(channels: 2, batch: 3, height: 3, width: 2, data: v)), r)
        }
        conv.backwardWeights(input: x, columns: columns, gradOutput: r)
        for p in [conv.weight, conv.bias] { try assertGradient(of: p) { try dot(conv.forward(x), r) } }
    }

    /// The transposed convolution is the adjoint of the strided one with the same weights: ⟨T x, y⟩ = ⟨x, Sᵀ... ⟩.
    func testTransposedConvolutionIsTheAdjointOfTheStridedOne() throws {
        var rng = TestRNG(15)
        let g = PatchGeometry(kernel: 4, stride: 2, padding: 1)
        let w = parameter(&rng, [3, 5, 4, 4])  // strided: [out 3, in 5]; transposed: [in 3, out 5]
        let strided = try StridedConv2D(weight: w, bias: Parameter(zeros: [3]), geometry: g)
        let transposed = try ConvTranspose2D(weight: w, bias: Parameter(zeros: [5]), geometry: g)
        let small = batch(&rng, 3, 2, 3, 4), large = batch(&rng, 5, 2, 6, 8)
        XCTAssertEqual(dot(try transposed.forward(small), large), dot(small, try strided.forward(large)), accuracy: 1e-3)
    }

    // MARK: batch norm

    func testBatchNormTrainingMatchesFormulaAndItsGradient() throws {
        var rng = TestRNG(16)
        let norm = try BatchNorm2D(weight: parameter(&rng, [3]), bias: parameter(&rng, [3]),
                                   runningMean: [0.1, -0.2, 0.3], runningVar: [1, 2, 0.5])
        let x = batch(&rng, 3, 2, 3, 4), r = batch(&rng, 3, 2, 3, 4)
        var y = x
        let saved = try norm.forwardTraining(&y)
        let m = 24
        for c in 0..<3 {
            let row = Array(x.data[(c * m)..<((c + 1) * m)]).map(Double.init)
            let mean = row.reduce(0, +) / Double(m)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(m)
            for j in 0..<m {
                let expected = Double(norm.weight.value[c]) * (row[j] - mean) / (variance + 1e-5).squareRoot() + Double(norm.bias.value[c])
                XCTAssertEqual(Double(y.data[c * m + j]), expected, accuracy: 1e-5)
            }
            XCTAssertEqual(Double(norm.runningMean[c]), 0.9 * [0.1, -0.2, 0.3][c] + 0.1 * mean, accuracy: 1e-6)
            XCTAssertEqual(Double(norm.runningVar[c]), 0.9 * [1, 2, 0.5][c] + 0.1 * variance * Double(m) / Double(m - 1), accuracy: 1e-6)
        }
        XCTAssertEqual(norm.batchesTracked, 1)

        var grad = r
        norm.weight.zeroGradient(); norm.bias.zeroGradient()
        norm.backward(&grad, saved: saved)
        func loss(_ input: [Float], _ n: BatchNorm2D) throws -> Double {
            var v = try ChannelMajor(channels: 3, batch: 2, height: 3, width: 4, data: input)
            _ = try n.forwardTraining(&v)
            return dot(v, r)
        }
        try assertGradient(grad.data, x.data, eps: 1e-3, tolerance: 5e-3) { try loss($0, norm) }
        for p in [norm.weight, norm.bias] { try assertGradient(of: p, eps: 1e-3) { try loss(x.data, norm) } }
    }

    func testBatchNormEvaluationUsesRunningStatistics() throws {
        let norm = try BatchNorm2D(weight: Parameter(shape: [2], value: [2, 0.5]), bias: Parameter(shape: [2], value: [1, -1]),
                                   runningMean: [0.5, -1], runningVar: [4, 0.25])
        var x = try ChannelMajor(channels: 2, batch: 1, height: 1, width: 2, data: [0.5, 2.5, -1, 0])
        try norm.forwardEvaluation(&x)
        let s0 = (4 + 1e-5 as Double).squareRoot(), s1 = (0.25 + 1e-5 as Double).squareRoot()
        let expected = [1.0, 2 * 2 / s0 + 1, -1.0, 0.5 * 1 / s1 - 1]
        for (a, b) in zip(x.data, expected) { XCTAssertEqual(Double(a), b, accuracy: 1e-5) }
    }

    // MARK: activations and loss

    func testActivationGradientsMatchFiniteDifferences() throws {
        var rng = TestRNG(17)
        let x = batch(&rng, 2, 2, 3, 3), r = batch(&rng, 2, 2, 3, 3)
        let cases: [(String, (inout ChannelMajor) -> Void, (inout ChannelMajor, ChannelMajor) -> Void)] = [
            ("relu", { Activation.relu(&$0) }, { Activation.reluBackward(&$0, output: $1) }),
            ("leaky", { Activation.leakyReLU(&$0, slope: 0.2) }, { Activation.leakyReLUBackward(&$0, output: $1, slope: 0.2) }),
            ("tanh", { Activation.tanh(&$0) }, { Activation.tanhBackward(&$0, output: $1) }),
        ]
        for (name, forward, backward) in cases {
            var y = x
            forward(&y)
            var g = r
            backward(&g, y)
            try assertGradient(g.data, x.data, eps: 1e-3) { v in
                var t = try ChannelMajor(channels: 2, batch: 2, height: 3, width: 3, data: v)
                forward(&t)
                return dot(t, r)
            }
            if name == "leaky" { XCTAssertEqual(y.data.filter { $0 < 0 }.count, x.data.filter { $0 < 0 }.count) }
        }
    }

    func testSigmoidBCEMatchesTheDefinitionAndItsGradient() {
        let z: [Float] = [-30, -2, -0.1, 0, 0.5, 3, 40]
        for label: Float in [0, 1] {
            // −log σ(z) for label 1 and −log(1 − σ(z)) = −log σ(−z) for label 0, with σ(x) = 1/(1 + e⁻ˣ) in Double.
            let expected = z.reduce(0.0) { acc, v in
                let signed = label == 1 ? Double(v) : -Double(v)
                return acc - log(1 / (1 + exp(-signed)))
            } / Double(z.count)
            XCTAssertEqual(SigmoidBCE.loss(logits: z, label: label), expected, accuracy: 1e-9 * max(1, expected))
            let g = SigmoidBCE.gradient(logits: z, label: label)
            for i in z.indices {
                var zp = z, zm = z
                zp[i] += 1e-2; zm[i] -= 1e-2
                let numeric = (SigmoidBCE.loss(logits: zp, label: label) - SigmoidBCE.loss(logits: zm, label: label)) / Double(zp[i] - zm[i])
                XCTAssertEqual(Double(g[i]), numeric, accuracy: 1e-4)
            }
        }
        XCTAssertTrue(SigmoidBCE.loss(logits: [200, -200], label: 0).isFinite)
    }

    /// Two steps by hand with PyTorch's formulas (weight decay added to the gradient, bias corrections).
    func testAdamStepsFollowPyTorch() {
        let s = AdamSettings(learningRate: 0.1, beta1: 0.5, beta2: 0.9, epsilon: 1e-8, weightDecay: 0.01)
        var p: [Float] = [1, -2], moments = AdamMoments(count: 2)
        var m = [0.0, 0.0], v = [0.0, 0.0], q = [1.0, -2.0]
        let grads: [[Float]] = [[0.5, -0.25], [-1, 2]]
        for (t, g) in grads.enumerated() {
            moments.step(&p, gradient: g, t: t + 1, s)
            for i in 0..<2 {
                let gi = Double(g[i]) + 0.01 * q[i]
                m[i] = 0.5 * m[i] + 0.5 * gi
                v[i] = 0.9 * v[i] + 0.1 * gi * gi
                let c1 = 1 - pow(0.5, Double(t + 1)), c2 = 1 - pow(0.9, Double(t + 1))
                q[i] -= 0.1 / c1 * m[i] / (v[i].squareRoot() / c2.squareRoot() + 1e-8)
                XCTAssertEqual(Double(p[i]), q[i], accuracy: 1e-6)
            }
        }
    }
}
