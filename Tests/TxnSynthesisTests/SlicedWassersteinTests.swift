import Foundation
import XCTest
import TxnTestSupport
import TxnImage
import TxnTensor
import TxnVGG
@testable import TxnSynthesis

/// The sliced-Wasserstein loss: its pieces against known answers, its gradient against finite
/// differences (fixed directions), and a synthesis with it.
final class SlicedWassersteinTests: XCTestCase {
    func testRadixSortMatchesTheStandardSortAndItsPermutation() {
        var rng = SplitMix64(seed: 3)
        for n in [1, 2, 7, 1000, 5000, 70000] {
            // Negative, positive, zero (both signs), repeated values, infinities and a wide range of exponents.
            let values: [Float] = (0..<n).map { i in
                i % 17 == 0 ? 0 : (i % 19 == 0 ? -0.0 : (i % 13 == 0 ? -0.5 : (i == 5 ? -.infinity : (i == 6 ? .infinity
                    : rng.nextGaussian() * pow(10, Float(Int(rng.next() % 9)) - 4)))))
            }
            let sorter = RadixSorter(capacity: n + 3)
            let order = values.withUnsafeBufferPointer { sorter.sortWithIndices($0.baseAddress!, count: n) }
            let sorted = (0..<n).map { RadixSorter.value(order[$0]) }
            let indices = (0..<n).map { RadixSorter.index(order[$0]) }
            // -0.0 sorts below 0.0: compare bit patterns, against a sort that orders them so.
            let expected = values.enumerated().sorted { a, b in
                a.element != b.element ? a.element < b.element
                    : (a.element.sign != b.element.sign ? a.element.sign == .minus : a.offset < b.offset)
            }
            XCTAssertEqual(sorted.map(\.bitPattern), expected.map(\.element.bitPattern), "n = \(n)")
            // Stable: equal values keep their order, so the permutation is exactly the reference one's.
            XCTAssertEqual(indices, expected.map(\.offset), "n = \(n)")
            var copy = values
            copy.withUnsafeMutableBufferPointer { sorter.sortValues($0.baseAddress!, count: n) }
            XCTAssertEqual(copy.map(\.bitPattern), expected.map(\.element.bitPattern))
        }
        // A row whose keys all share their top digits (skipped passes) and one value.
        let sorter = RadixSorter(capacity: 4)
        let order = [Float](repeating: 2, count: 4).withUnsafeBufferPointer { sorter.sortWithIndices($0.baseAddress!, count: 4) }
        XCTAssertEqual((0..<4).map { RadixSorter.index(order[$0]) }, [0, 1, 2, 3])
        XCTAssertEqual((0..<4).map { RadixSorter.value(order[$0]) }, [2, 2, 2, 2])
    }

    func testResamplingSortedValuesInterpolatesBetweenQuantiles() {
        let s: [Float] = [0, 1, 2, 3]
        var t = [Float](repeating: .nan, count: 2)
        // Two quantile centres of four values sit between values 0 and 1, and 2 and 3.
        resampleSorted(s, count: 4, into: &t, count: 2)
        XCTAssertEqual(t, [0.5, 2.5])
        var same = [Float](repeating: .nan, count: 4)
        resampleSorted(s, count: 4, into: &same, count: 4)
        XCTAssertEqual(same, s)
        // Upsampling 2 → 4: positions −0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
        var up = [Float](repeating: .nan, count: 4)
        resampleSorted([10, 20], count: 2, into: &up, count: 4)
        XCTAssertEqual(up, [10, 12.5, 17.5, 20])
    }

    func testKnownLossValues() throws {
        // One channel, direction +1: the loss compares the sorted values.
        let source = try Tensor(shape: [1, 1, 1, 3], data: [1, 2, 3])
        let loss = try SlicedWassersteinLoss(sourceFeatures: [source], layers: ["conv1_1"], weights: [2], seed: 0)
        try loss.setDirections([[1]])
        let permuted = try Tensor(shape: [1, 1, 1, 3], data: [3, 1, 2])
        XCTAssertEqual(try loss.evaluate(features: [permuted]).perLayer, [0], "same distribution, other order")
        let zeros = Tensor(zeros: [1, 1, 1, 3])
        let e = try loss.evaluate(features: [zeros])
        XCTAssertEqual(e.perLayer[0], 2 * (1 + 4 + 9) / 3, accuracy: 1e-9)
        // dL/dx_i = 2 w (x_i − t_i) / M.
        for (g, want) in zip(e.gradients[0].data, [-4.0 / 3, -8.0 / 3, -4]) { XCTAssertEqual(Double(g), want, accuracy: 1e-6) }
        // Direction −1 reverses both orders: the same loss.
        try loss.setDirections([[-1]])
        XCTAssertEqual(try loss.evaluate(features: [zeros]).perLayer[0], 2 * 14 / 3, accuracy: 1e-9)
    }

    /// dL/dF against central differences, with a source of another pixel count (resampled) and more
    /// directions than there are channels. The loss has kinks where two projections swap places; the
    /// elements whose step would cross one are left out (their one-sided slopes differ by design).
    func testGradientWithRespectToFeaturesMatchesFiniteDifferences() throws {
        var rng = SplitMix64(seed: 11)
        let (c, m, ms, k) = (3, 12, 17, 4)
        let eps: Float = 1e-2
        let source = try Tensor(shape: [1, c, 1, ms], data: (0..<(c * ms)).map { _ in rng.nextGaussian() + 1 })
        var f = try Tensor(shape: [1, c, 3, m / 3], data: (0..<(c * m)).map { _ in rng.nextGaussian() })
        let loss = try SlicedWassersteinLoss(sourceFeatures: [source], layers: ["pool2"], weights: [3], projections: k, seed: 5)
        let v = loss.directions[0]
        XCTAssertEqual(v.count, k * c)
        let analytic = try loss.evaluate(features: [f]).gradients[0]
        // Projections in Double, to find the elements next to a swap.
        let p = (0..<k).map { d in (0..<m).map { i in (0..<c).reduce(0.0) { $0 + Double(v[d * c + $1]) * Double(f.data[$1 * m + i]) } } }
        var worst = 0.0, checked = 0
        let scale = Double(analytic.data.map { abs($0) }.max()!)
        for ch in 0..<c {
            for i in 0..<m {
                let nearSwap = (0..<k).contains { d in
                    (0..<m).contains { j in j != i && abs(p[d][j] - p[d][i]) < 2.5 * Double(eps) }
                }
                if nearSwap { continue }
                let at = ch * m + i, saved = f.data[at]
                f.data[at] = saved + eps
                let up = try loss.evaluate(features: [f], gradient: false).perLayer[0]
                f.data[at] = saved - eps
                let down = try loss.evaluate(features: [f], gradient: false).perLayer[0]
                f.data[at] = saved
                worst = max(worst, abs((up - down) / Double(2 * eps) - Double(analytic.data[at])))
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 8, "too few elements away from a swap")
        XCTAssertGreaterThan(scale, 0.01)
        XCTAssertLessThan(worst, 1e-3 * scale, "largest error \(worst) of gradients up to \(scale), \(checked) elements")
    }

    /// The SW loss through VGG-19 to the pixels, on the plain-tensor network.
    func testGradientWithRespectToPixelsMatchesFiniteDifferences() throws {
        var m = try VGG19.load(try Paths.weights(), upTo: "conv2_1")
        m.padding = .zero
        let network = ReferenceNetwork(model: m)
        let layers = ["conv1_1", "pool1", "conv2_1"]
        // Few pixels and directions: fewer kinks (swaps of two projections) for a step to cross.
        let src = Tensor(shape: [1, 3, 14, 14]) { i in Float((i * 37) % 256) / 255 }
        var x = Tensor(shape: [1, 3, 12, 12]) { i in Float((i * 91 + 7) % 256) / 255 }
        let loss = try SlicedWassersteinLoss(sourceFeatures: try network.forward(src, layers: layers), layers: layers,
                                             weights: [1, 1, 1], projections: 3, seed: 2)
        func evaluate(_ image: Tensor, gradient: Bool) throws -> (Double, Tensor?) {
            let e = try loss.evaluate(features: try network.forward(image, layers: layers), gradient: gradient)
            let total = e.perLayer.reduce(0, +)
            return (total, gradient ? try network.backward(Dictionary(uniqueKeysWithValues: zip(layers, e.gradients))) : nil)
        }
        let analytic = try evaluate(x, gradient: true).1!
        try assertGradientAwayFromSwaps(analytic, at: &x, stride: 3, loss: { try evaluate($0, gradient: false).0 })
    }

    /// Gram + SW through the synthesizer's own evaluation (oneDNN plan, blocked layout), directions fixed:
    /// the sum of the two losses and its gradient.
    func testCombinedLossOnThePlannedNetworkMatchesFiniteDifferences() throws {
        var o = SynthesisOptions()
        (o.width, o.height, o.steps) = (12, 12, 1)
        o.layers = ["conv1_1", "pool1", "conv2_1"]
        o.layerWeights = [1, 1, 1]
        o.padding = .zero
        o.loss = .gramSW
        o.slicedProjections = 2
        o.measureDistance = false
        o.algorithm = .direct
        let model = try VGG19.load(try Paths.weights(), upTo: "conv2_1")
        let src = Image(width: 14, height: 14, pixels: (0..<(3 * 14 * 14)).map { Float(($0 * 37) % 256) / 255 })
        let synth = try Synthesizer(model: model, source: src, options: o)
        var x = Tensor(shape: [1, 3, 12, 12]) { i in Float((i * 91 + 7) % 256) / 255 }
        let e = try synth.evaluate(x)
        let gramOnly = try synth.loss.evaluate(synth.network, x, gradient: false).total
        let slicedOnly = try synth.sliced!.evaluate(features: try synth.network.forward(x, layers: o.layers), gradient: false)
            .perLayer.reduce(0, +)
        XCTAssertEqual(e.total, gramOnly + slicedOnly, accuracy: e.total * 1e-5)
        XCTAssertGreaterThan(gramOnly, 0); XCTAssertGreaterThan(slicedOnly, 0)
        try assertGradientAwayFromSwaps(e.gradient!, at: &x, stride: 3, loss: { try synth.evaluate($0).total })
    }

    /// The evaluation keeps its buffers (features, their gradients, the sort's scratch) from one call to the
    /// next: an evaluation after another must give exactly what a fresh synthesizer gives, for both losses
    /// that use them.
    func testAnEvaluationAfterAnotherEqualsAFreshOne() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "conv2_1")
        let src = Image(width: 20, height: 20, pixels: (0..<(3 * 20 * 20)).map { Float(($0 * 37) % 256) / 255 })
        let first = Tensor(shape: [1, 3, 16, 16]) { i in Float((i * 91 + 7) % 256) / 255 }
        let second = Tensor(shape: [1, 3, 16, 16]) { i in Float((i * 53 + 11) % 256) / 255 }
        for loss in [SynthesisOptions.Loss.sw, .gramSW] {
            var o = SynthesisOptions()
            (o.width, o.height, o.steps, o.loss, o.measureDistance) = (16, 16, 1, loss, false)
            o.layers = ["conv1_1", "pool1", "conv2_1"]
            o.layerWeights = [1, 1, 1]
            let used = try Synthesizer(model: model, source: src, options: o)
            let before = try used.evaluate(first)
            let again = try used.evaluate(second)
            let fresh = try Synthesizer(model: model, source: src, options: o).evaluate(second)
            XCTAssertEqual(again.perLayer, fresh.perLayer, "\(loss)")
            XCTAssertEqual(again.gradient!.data, fresh.gradient!.data, "\(loss)")
            XCTAssertNotEqual(before.gradient!.data, again.gradient!.data, "\(loss): two points, two gradients")
        }
    }

    func testSameSeedSameResultAndTheLossFalls() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        let src = try Image.load(Paths.repoRoot + "/Notebooks/data/gravel.png").image.resized(width: 48, height: 48)
        func run(_ seed: UInt64, _ optimizer: SynthesisOptions.Optimizer) throws -> SynthesisResult {
            var o = SynthesisOptions()
            (o.width, o.height, o.steps, o.seed, o.loss, o.optimizer) = (48, 48, 12, seed, .sw, optimizer)
            return try Synthesizer(model: model, source: src, options: o).run()
        }
        for optimizer in [SynthesisOptions.Optimizer.adam(learningRate: 0.02), .lbfgs(history: 20)] {
            let a = try run(4, optimizer), b = try run(4, optimizer), c = try run(5, optimizer)
            XCTAssertEqual(a.image.pixels, b.image.pixels, "\(optimizer)")
            XCTAssertEqual(a.history, b.history)
            XCTAssertNotEqual(a.image.pixels, c.image.pixels)
            XCTAssertLessThan(a.history.last!, a.history.first! / 3, "\(optimizer): \(a.history)")
            XCTAssertNotNil(a.distance)
        }
    }
}

/// Central differences at every `stride`-th pixel against `analytic`, leaving out the pixels where the
/// loss has a kink inside the step (two projections swap their matches there, and the one-sided slopes
/// differ by design): those whose forward and backward differences disagree by over 1% of the largest
/// gradient. The decision does not look at the analytic gradient. The rest must agree to 2% of the
/// largest gradient plus 5% of their own, and point the same way (cosine > 0.999).
func assertGradientAwayFromSwaps(_ analytic: Tensor, at x: inout Tensor, stride step: Int, eps: Float = 1e-3,
                                 loss: (Tensor) throws -> Double,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
    let scale = Double(analytic.data.map { abs($0) }.max()!)
    XCTAssertGreaterThan(scale, 0, file: file, line: line)
    let centre = try loss(x)
    var dot = 0.0, nn = 0.0, aa = 0.0, checked = 0, skipped = 0
    for (i, up, down) in try centralDifferences(at: &x, stride: step, eps: eps, loss) {
        if abs((up - centre) - (centre - down)) / Double(eps) > 0.01 * scale { skipped += 1; continue }
        let numeric = (up - down) / Double(2 * eps), a = Double(analytic.data[i])
        dot += numeric * a; nn += numeric * numeric; aa += a * a
        checked += 1
        XCTAssertEqual(a, numeric, accuracy: 0.02 * scale + 0.05 * abs(numeric), "pixel \(i)", file: file, line: line)
    }
    XCTAssertGreaterThan(checked, 20, "too few pixels away from a kink (\(skipped) left out)", file: file, line: line)
    XCTAssertGreaterThan(dot / (nn.squareRoot() * aa.squareRoot()), 0.999, "\(checked) pixels", file: file, line: line)
}
