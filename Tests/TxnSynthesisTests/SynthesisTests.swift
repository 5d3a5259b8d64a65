import Foundation
import XCTest
import TxnTestSupport
import TxnImage
import TxnTensor
import TxnVGG
@testable import TxnSynthesis

final class SynthesisTests: XCTestCase {
    static var cachedModel: VGG19?
    func model() throws -> VGG19 {
        if let m = Self.cachedModel { return m }
        let m = try VGG19.load(try Paths.weights(), upTo: "pool4")
        Self.cachedModel = m
        return m
    }

    func source(_ name: String, size: Int) throws -> Image {
        let path = try Paths.require(Paths.repoRoot + "/Notebooks/data/\(name)", hint: "shipped with the notebooks")
        return try Image.load(path).image.resized(width: size, height: size)
    }

    func quick(_ configure: (inout SynthesisOptions) -> Void = { _ in }) -> SynthesisOptions {
        var o = SynthesisOptions()
        o.width = 48
        o.height = 48
        o.steps = 5
        o.measureDistance = false
        configure(&o)
        return o
    }

    /// The whole loss, through VGG-19 and the Gram matrices, against central differences.
    func testLossGradientMatchesFiniteDifferences() throws {
        var m = try model()
        m.padding = .zero
        let network = ReferenceNetwork(model: m)
        let src = Tensor(shape: [1, 3, 16, 16]) { i in Float((i * 37) % 256) / 255 }
        var x = Tensor(shape: [1, 3, 16, 16]) { i in Float((i * 91 + 7) % 256) / 255 }
        let loss = try TextureLoss(network: network, source: src, layers: ["conv1_1", "pool1", "conv2_1"], weight: 1)
        let analytic = try loss.evaluate(network, x).gradient!
        try assertLossGradient(analytic, at: &x, stride: 7) { try loss.evaluate(network, $0, gradient: false).total }
    }

    func testLBFGSReachesTheExpectedOrderOfLoss() throws {
        let s = Synthesizer.self
        let synth = try s.init(model: try model(), source: try source("gravel.png", size: 64), options: quick {
            $0.width = 64; $0.height = 64; $0.steps = 30
        })
        let result = try synth.run()
        XCTAssertEqual(result.history.count, 30)
        // Monotone: L-BFGS with a Wolfe line search never accepts an increase.
        for (a, b) in zip(result.history, result.history.dropFirst()) { XCTAssertLessThanOrEqual(b, a * (1 + 1e-6)) }
        XCTAssertLessThan(result.history.last!, result.history.first! / 20, "\(result.history)")
        XCTAssertEqual(result.loss, result.history.min()!, accuracy: result.loss * 1e-6)
    }

    func testSameSeedSameBytesOtherSeedOtherBytes() throws {
        let src = try source("wood.png", size: 48)
        func run(_ seed: UInt64) throws -> [UInt8] {
            try Synthesizer(model: try model(), source: src, options: quick { $0.seed = seed }).run().image.encoded(as: .png)
        }
        let a = try run(7), b = try run(7), c = try run(8)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testInterruptKeepsTheBestImageSoFar() throws {
        let synth = try Synthesizer(model: try model(), source: try source("wood.png", size: 48), options: quick { $0.steps = 50 })
        Interrupt.install()
        defer { Interrupt.uninstall(); Interrupt.reset() }
        let result = try synth.run(progress: { p in
            if p.iteration == 3 { raise(SIGINT) }  // a real signal, through the installed handler
        })
        XCTAssertTrue(result.interrupted)
        XCTAssertEqual(result.history.count, 3)
        XCTAssertLessThanOrEqual(result.loss, result.history.last!)
        XCTAssertEqual(result.image.width, 48)

        Interrupt.reset()
        var calls = 0
        let stopped = try synth.run(shouldStop: { calls += 1; return calls >= 4 })
        XCTAssertTrue(stopped.interrupted)
        XCTAssertEqual(stopped.evaluations, 3, "the stop is honoured before the fourth evaluation runs")
    }

    /// A stop asked for right after iteration k keeps exactly what a run of k steps makes (the web
    /// interface's notebooks of stopped jobs rely on it).
    func testStopAtAnIterationBoundaryEqualsFewerSteps() throws {
        let src = try source("ihc.png", size: 48)
        var stopAfter3 = false
        let long = try Synthesizer(model: try model(), source: src, options: quick { $0.steps = 8 })
            .run(progress: { p in if p.iteration == 3 { stopAfter3 = true } }, shouldStop: { stopAfter3 })
        let short = try Synthesizer(model: try model(), source: src, options: quick { $0.steps = 3 }).run()
        XCTAssertTrue(long.interrupted)
        XCTAssertEqual(long.history, short.history)
        XCTAssertEqual(long.loss, short.loss)
        XCTAssertEqual(long.image.pixels, short.image.pixels)
    }

    func testOutputSizeIsIndependentOfTheSource() throws {
        let src = try source("ihc.png", size: 64)
        let result = try Synthesizer(model: try model(), source: src, options: quick {
            $0.width = 30; $0.height = 20; $0.padding = .zero; $0.steps = 2
        }).run()
        XCTAssertEqual(result.image.width, 30)
        XCTAssertEqual(result.image.height, 20)
    }

    func testBoundsHoldAndAdamRuns() throws {
        let src = try source("ihc.png", size: 48)
        let synth = try Synthesizer(model: try model(), source: src, options: quick {
            $0.optimizer = .adam(learningRate: 0.05); $0.steps = 10; $0.bounds = .source
        })
        let result = try synth.run()
        XCTAssertEqual(result.history.count, 10)
        XCTAssertLessThan(result.history.last!, result.history.first!)
        let n = 48 * 48
        for c in 0..<3 {
            let channel = src.pixels[(c * n)..<((c + 1) * n)]
            let (lo, hi) = (channel.min()!, channel.max()!)
            for v in result.image.pixels[(c * n)..<((c + 1) * n)] { XCTAssertTrue(v >= lo && v <= hi) }
        }
    }

    func testBadOptionsGiveClearErrors() throws {
        let src = try source("wood.png", size: 48)
        let cases: [(SynthesisOptions, String)] = [
            (quick { $0.steps = 0 }, "steps: must be 1 to 1000000, got 0"),
            (quick { $0.steps = 1_000_001 }, "steps: must be 1 to 1000000, got 1000001"),
            (quick { $0.layers = ["pool9"] }, "unknown VGG-19 layer 'pool9'"),
            (quick { $0.layerWeights = [1, 2] }, "weights: 2 weights for 5 layers"),
            (quick { $0.optimizer = .adam(learningRate: -1) }, "lr: Adam's learning rate"),
            (quick { $0.width = 8; $0.height = 8 }, "too small for reflect padding"),
            (quick { $0.layers = [] }, "layers: at least one layer"),
        ]
        XCTAssertThrowsError(try Synthesizer(model: try model(), source: try source("wood.png", size: 8), options: quick())) { e in
            XCTAssertTrue("\(e)".contains("source: the source image 8x8 is too small for reflect padding"), "\(e)")
        }
        for (options, message) in cases {
            XCTAssertThrowsError(try Synthesizer(model: try model(), source: src, options: options)) { e in
                XCTAssertTrue("\(e)".contains(message), "\(e) should contain \(message)")
            }
        }
    }

    /// With circular padding the network sees a torus, so the result wraps around without a seam.
    func testCircularPaddingTilesWithoutASeam() throws {
        // ihc has smooth regions, so a seam shows (measured: reflect 2.9x, circular 1.06x the inside step).
        let src = try source("ihc.png", size: 64)
        func seamRatio(_ padding: PaddingMode) throws -> Double {
            let result = try Synthesizer(model: try model(), source: src, options: quick {
                $0.width = 64; $0.height = 64; $0.steps = 40; $0.padding = padding
            }).run()
            let bytes = result.image.pixels.map { (min(max($0, 0), 1) * 255).rounded() }
            let (w, h) = (64, 64)
            var inside = 0.0, wrap = 0.0
            for c in 0..<3 {
                for y in 0..<h {
                    for x in 0..<w {
                        let v = bytes[(c * h + y) * w + x]
                        let right = bytes[(c * h + y) * w + (x + 1) % w], down = bytes[(c * h + (y + 1) % h) * w + x]
                        if x == w - 1 { wrap += Double(abs(v - right)) } else { inside += Double(abs(v - right)) }
                        if y == h - 1 { wrap += Double(abs(v - down)) } else { inside += Double(abs(v - down)) }
                    }
                }
            }
            return (wrap / Double(3 * 2 * w)) / (inside / Double(3 * 2 * w * (h - 1)))
        }
        let circular = try seamRatio(.circular)
        XCTAssertLessThan(abs(circular - 1), 0.25, "circular: wrap/inside step ratio \(circular)")
        let reflect = try seamRatio(.reflect)
        XCTAssertGreaterThan(reflect, 1.5, "reflect padding should leave a seam (ratio \(reflect))")
    }

    func testHistogramMatchingCopiesTheSourceDistribution() throws {
        let src = try source("ihc.png", size: 32)
        let image = Image(width: 16, height: 16, pixels: (0..<(3 * 256)).map { Float(($0 * 7919) % 256) / 255 })
        let matched = image.histogramMatched(to: src)
        for c in 0..<3 {
            let a = matched.pixels[(c * 256)..<((c + 1) * 256)].sorted()
            let s = src.pixels[(c * 1024)..<((c + 1) * 1024)].sorted()
            for q in stride(from: 0, to: 256, by: 16) { XCTAssertEqual(a[q], s[q * 4 + 2], accuracy: 1e-6) }
        }
        // Ranks are kept: the brightest pixel stays the brightest.
        let argmax = image.pixels[0..<256].indices.max { image.pixels[$0] < image.pixels[$1] }!
        XCTAssertEqual(matched.pixels[argmax], matched.pixels[0..<256].max()!)
    }

    func testTextureDistanceIsZeroForItselfAndOrdersTextures() throws {
        let m = try model()
        let gravel = try source("gravel.png", size: 64), gravel2 = try Image.load(Paths.repoRoot + "/Notebooks/data/gravel.png")
            .image.cropped(x: 256, y: 256, width: 64, height: 64)
        let ihc = try source("ihc.png", size: 64)
        let same = try TextureDistance.measure(gravel, gravel, model: m)
        XCTAssertEqual(same.gramLoss, 0)
        XCTAssertEqual(same.sliced, 0)
        let near = try TextureDistance.measure(gravel, gravel2, model: m)
        let far = try TextureDistance.measure(gravel, ihc, model: m)
        XCTAssertLessThan(near.sliced, far.sliced)
        XCTAssertLessThan(near.gramLoss, far.gramLoss)
        XCTAssertEqual(far.slicedPerLayer.count, 5)
        let again = try TextureDistance.measure(gravel, ihc, model: m)
        XCTAssertEqual(far.sliced, again.sliced, "fixed projection seed")
    }
}

/// loss(x + eps·eᵢ) and loss(x − eps·eᵢ) at every `stride`-th element i of x, which is put back after each.
func centralDifferences(at x: inout Tensor, stride step: Int, eps: Float,
                        _ loss: (Tensor) throws -> Double) throws -> [(index: Int, up: Double, down: Double)] {
    try stride(from: 0, to: x.count, by: step).map { i in
        let saved = x.data[i]
        defer { x.data[i] = saved }
        x.data[i] = saved + eps
        let up = try loss(x)
        x.data[i] = saved - eps
        return (i, up, try loss(x))
    }
}

/// Central differences of `loss` at every `stride`-th pixel (110 of 768 at stride 7) against `analytic`:
/// the two vectors must point the same way (cosine > 0.999), every pixel with a clear gradient (over 5% of
/// the largest) must have the right sign and be within 10%, and the rest within 2% of the largest.
/// (Checking 8 pixels to 2% of the largest let small gradients pass with either sign.)
func assertLossGradient(_ analytic: Tensor, at x: inout Tensor, stride step: Int, eps: Float = 1e-3,
                        file: StaticString = #filePath, line: UInt = #line,
                        _ loss: (Tensor) throws -> Double) throws {
    let scale = Double(analytic.data.map { abs($0) }.max()!)
    XCTAssertGreaterThan(scale, 0, file: file, line: line)
    var dot = 0.0, nn = 0.0, aa = 0.0, clear = 0
    for (i, up, down) in try centralDifferences(at: &x, stride: step, eps: eps, loss) {
        let numeric = (up - down) / Double(2 * eps), a = Double(analytic.data[i])
        dot += numeric * a; nn += numeric * numeric; aa += a * a
        if abs(numeric) > 0.05 * scale {
            clear += 1
            XCTAssertEqual(numeric.sign, a.sign, "pixel \(i): numeric \(numeric), analytic \(a)", file: file, line: line)
            XCTAssertEqual(a, numeric, accuracy: 0.1 * abs(numeric), "pixel \(i)", file: file, line: line)
        } else {
            XCTAssertEqual(a, numeric, accuracy: 0.02 * scale, "pixel \(i)", file: file, line: line)
        }
    }
    XCTAssertGreaterThan(clear, 3, "too few pixels with a clear gradient to judge", file: file, line: line)
    XCTAssertGreaterThan(dot / (nn.squareRoot() * aa.squareRoot()), 0.999, file: file, line: line)
}

/// The three Gram normalisations: known answers, and the loss and its gradient for each.
final class GramNormalisationTests: XCTestCase {
    func testKnownGramMatrices() throws {
        // F: C = 2 channels, M = 2 positions: rows (1, 2) and (3, 4). F Fᵀ = [[5, 11], [11, 25]].
        let f = try Tensor(shape: [1, 2, 1, 2], data: [1, 2, 3, 4])
        XCTAssertEqual(try GramNormalisation.pixels.gram(f).data, [2.5, 5.5, 5.5, 12.5])
        XCTAssertEqual(try GramNormalisation.pixelsAndChannels.gram(f).data, [1.25, 2.75, 2.75, 6.25])
        XCTAssertEqual(try GramNormalisation.none.gram(f).data, [5, 11, 11, 25])
        // M at pool2 of a 16x20 image: 16x20 -> 8x10 -> 4x5.
        XCTAssertEqual(GramNormalisation.none.factor(channels: 128, height: 16, width: 20, layer: "pool2"), 20)
        XCTAssertEqual(GramNormalisation.pixelsAndChannels.factor(channels: 128, height: 16, width: 20, layer: "pool2"), 1 / 128)
    }

    func testLossScalesAsTheNormalisationSaysAndGradientsMatch() throws {
        var m = try VGG19.load(try Paths.weights(), upTo: "conv2_1")
        m.padding = .zero
        let network = ReferenceNetwork(model: m)
        let src = Tensor(shape: [1, 3, 16, 16]) { i in Float((i * 37) % 256) / 255 }
        var x = Tensor(shape: [1, 3, 16, 16]) { i in Float((i * 91 + 7) % 256) / 255 }
        func loss(_ norm: GramNormalisation) throws -> TextureLoss {
            try TextureLoss(network: network, source: src, layers: ["conv1_1"], weights: [1], normalisation: norm)
        }
        let pixels = try loss(.pixels).evaluate(network, x).total
        // G_none = M G_pixels and G_pc = G_pixels / C, so E scales by M² and 1/C² (conv1_1: M = 256, C = 64).
        XCTAssertEqual(try loss(.none).evaluate(network, x).total, pixels * 256 * 256, accuracy: pixels * 256 * 256 * 1e-4)
        XCTAssertEqual(try loss(.pixelsAndChannels).evaluate(network, x).total, pixels / 4096, accuracy: pixels / 4096 * 1e-4)
        for norm in [GramNormalisation.pixelsAndChannels, .none] {
            let l = try loss(norm)
            let analytic = try l.evaluate(network, x).gradient!
            try assertLossGradient(analytic, at: &x, stride: 11) { try l.evaluate(network, $0, gradient: false).total }
        }
    }
}

final class OverflowingLossTests: XCTestCase {
    func testALossThatOverflowsStopsWithAnErrorNamingTheWeights() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "conv1_1")
        var o = SynthesisOptions()
        (o.width, o.height, o.steps) = (16, 16, 3)
        o.layers = ["conv1_1"]
        o.layerWeights = [1e308]  // finite, valid, and the loss overflows to inf
        o.measureDistance = false
        let source = Image(width: 16, height: 16, pixels: (0..<768).map { Float(($0 * 37) % 256) / 255 })
        XCTAssertThrowsError(try Synthesizer(model: model, source: source, options: o).run()) { error in
            guard let e = error as? SynthesisError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.field, .weights)
            XCTAssertTrue(e.message.hasPrefix("the loss became inf at evaluation 1"), e.message)
        }
    }
}
