import XCTest
import TxnTestSupport
import TxnTensor
@testable import TxnVGG

/// Tiled evaluation against the whole image: the Gram matrices, features, and the Gram loss's and a feature
/// loss's gradients must be the same numbers, to float rounding, with every padding mode.
final class TiledNetworkTests: XCTestCase {
    func testHaloIsTheReceptiveFieldOnTheGrid() throws {
        // pool4: 54 px beyond its own 16 on each side (conv1_1…conv4_4 and four poolings), rounded up to 64.
        XCTAssertEqual(TileLayout.halo(try VGG19.stageIndex(of: "pool4")), 64)
        XCTAssertEqual(VGG19.grid(stage: try VGG19.stageIndex(of: "pool4")), 16)
        // pool2: 6 px, on its 4-pixel grid 8. conv1_1: one pixel.
        XCTAssertEqual(TileLayout.halo(try VGG19.stageIndex(of: "pool2")), 8)
        XCTAssertEqual(TileLayout.halo(try VGG19.stageIndex(of: "conv1_1")), 1)
    }

    func testLayoutCoversTheImageOnceAndKeepsTilesInside() throws {
        let pool4 = try VGG19.stageIndex(of: "pool4")
        for (n, wrap) in [(2048, false), (2048, true), (1000, false), (613, false), (200, false)] {
            let layout = try TileLayout(height: n, width: 128, deepest: pool4, maxCore: 512, wrap: wrap)
            var covered = [Int](repeating: 0, count: n)
            for span in layout.rows {
                for i in span.core { covered[i] += 1 }
                XCTAssertEqual(span.start % 16, 0, "tiles start on the grid")
                if !wrap { XCTAssertTrue(span.start >= 0 && span.start + layout.tileHeight <= n, "\(n): \(span)") }
                // A halo on each side of the core, unless the image ends there.
                XCTAssertTrue(span.core.lowerBound - span.start >= layout.halo || span.start == 0, "\(n): \(span)")
                XCTAssertTrue(span.start + layout.tileHeight - span.core.upperBound >= layout.halo
                              || span.start + layout.tileHeight == n, "\(n): \(span)")
            }
            XCTAssertEqual(covered, [Int](repeating: 1, count: n), "\(n) wrap \(wrap)")
            XCTAssertEqual(layout.columns.count, 1, "128 px fit one tile")
        }
        XCTAssertThrowsError(try TileLayout(height: 1000, width: 1000, deepest: pool4, maxCore: 256, wrap: true)) { e in
            XCTAssertTrue("\(e)".contains("multiple of 16"), "\(e)")
        }
    }

    /// Small tiles (up to pool2, 8-pixel halos) on odd sizes, so that every case occurs in a fraction of a second:
    /// cores that end off the grid at the image's edge, tiles pushed inside, wrapping.
    func testGramLossAndGradientEqualTheWholeImageEveryPadding() throws {
        var model = try VGG19.load(try Paths.weights(), upTo: "pool2")
        let layers = ["conv1_1", "pool1", "conv2_1", "pool2"]
        for padding in PaddingMode.allCases {
            model.padding = padding
            // Circular tiling needs sizes on the grid (4 at pool2).
            let (h, w) = padding == .circular ? (52, 44) : (53, 41)
            var rng = SplitMix64(seed: 7)
            let image = try Tensor(shape: [1, 3, h, w], data: (0..<(3 * h * w)).map { _ in rng.nextUnit() })
            let whole = try VGGPlan(model: model, height: h, width: w, upTo: "pool2", algorithm: .direct)
            // With the forward state beyond pool1 kept between the passes, and with every tile run again.
            for keep in [true, false] {
                let tiled = try TiledNetwork(model: model, height: h, width: w, upTo: "pool2", maxCore: 8, algorithm: .direct,
                                             keepState: keep)
                XCTAssertGreaterThan(tiled.layout.count, 9, "\(padding): \(tiled.memoryReport)")
                XCTAssertEqual(tiled.keepsState, keep)

                let expected = try whole.grams(image, layers: layers), got = try tiled.grams(image, layers: layers)
                for (e, g) in zip(expected, got) { assertClose(g.data, e.data, relative: 2e-5, "\(padding) Gram") }

                // A loss of the Gram matrices: L = Σ_l <R_l, G_l> for fixed random R_l, so dL/dG = R.
                let dG = Dictionary(uniqueKeysWithValues: zip(layers, expected.map { g in
                    try! Tensor(shape: g.shape, data: (0..<g.count).map { _ in rng.nextUnit() - 0.5 })
                }))
                _ = try whole.grams(image, layers: layers)
                let eGrad = try whole.backward(gramGradients: dG)
                let gGrad = try tiled.backward(gramGradients: dG)
                assertClose(gGrad.data, eGrad.data, relative: 2e-5, "\(padding) Gram gradient, state kept: \(keep)")
            }
        }
    }

    func testFeaturesAndTheirGradientEqualTheWholeImage() throws {
        var model = try VGG19.load(try Paths.weights(), upTo: "pool2")
        model.padding = .reflect
        let layers = ["conv1_2", "pool2"]
        let (h, w) = (45, 38)
        var rng = SplitMix64(seed: 3)
        let image = try Tensor(shape: [1, 3, h, w], data: (0..<(3 * h * w)).map { _ in rng.nextUnit() })
        let whole = try VGGPlan(model: model, height: h, width: w, upTo: "pool2", algorithm: .direct)
        let tiled = try TiledNetwork(model: model, height: h, width: w, upTo: "pool2", maxCore: 12, algorithm: .direct)
        let expected = try whole.forward(image, layers: layers), got = try tiled.forward(image, layers: layers)
        for (e, g) in zip(expected, got) {
            XCTAssertEqual(e.shape, g.shape)
            assertClose(g.data, e.data, relative: 1e-5, "features")
        }
        let dF = Dictionary(uniqueKeysWithValues: zip(layers, expected.map { f in
            try! Tensor(shape: f.shape, data: (0..<f.count).map { _ in rng.nextUnit() - 0.5 })
        }))
        _ = try whole.forward(image, layers: layers)
        assertClose(try tiled.backward(dF).data, try whole.backward(dF).data, relative: 1e-5, "feature gradient")
    }

    /// The real geometry: pool4, 64-pixel halos, 2x2 tiles and more, Winograd where the tiles' maps are large
    /// enough (the whole image and the tiles then pick the same algorithm per layer only where sizes agree, so the
    /// tolerance allows Winograd's rounding).
    func testPool4TilesEqualTheWholeImage() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        let layers = VGG19.gatysLayers
        let (h, w) = (224, 208)
        var rng = SplitMix64(seed: 11)
        let image = try Tensor(shape: [1, 3, h, w], data: (0..<(3 * h * w)).map { _ in rng.nextUnit() })
        let whole = try VGGPlan(model: model, height: h, width: w, upTo: "pool4", algorithm: .direct)
        let tiled = try TiledNetwork(model: model, height: h, width: w, upTo: "pool4", maxCore: 64, algorithm: .direct)
        XCTAssertEqual(tiled.layout.count, 16)
        let expected = try whole.grams(image, layers: layers), got = try tiled.grams(image, layers: layers)
        for (e, g) in zip(expected, got) { assertClose(g.data, e.data, relative: 2e-5, "pool4 Gram") }
        let dG = Dictionary(uniqueKeysWithValues: zip(layers, expected.map { g in
            try! Tensor(shape: g.shape, data: (0..<g.count).map { _ in rng.nextUnit() - 0.5 })
        }))
        _ = try whole.grams(image, layers: layers)
        assertClose(try tiled.backward(gramGradients: dG).data, try whole.backward(gramGradients: dG).data,
                    relative: 5e-5, "pool4 Gram gradient")
    }

    /// max |a − b| ≤ relative · max |b|: float rounding, from summing the tiles in another order.
    func assertClose(_ a: [Float], _ b: [Float], relative: Float, _ what: String, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, line: line)
        let scale = b.reduce(0) { max($0, abs($1)) }
        let worst = zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
        XCTAssertLessThanOrEqual(worst, relative * scale, "\(what): max difference \(worst) of max \(scale)", line: line)
        XCTAssertGreaterThan(scale, 0, what, line: line)
    }
}
