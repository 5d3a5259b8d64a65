import Foundation
import XCTest
import TxnTestSupport
import TxnImage
import TxnTensor
import TxnVGG
@testable import TxnSynthesis

/// Synthesis with the network evaluated in tiles: the same run as over the whole image, and a memory plan that
/// picks tiles when the limit asks for them and refuses, before any work, what cannot fit.
final class TiledSynthesisTests: XCTestCase {
    override func tearDown() { MemoryBudget.limitBytes = MemoryBudget.defaultLimitBytes }

    /// Layers up to pool2 (8-pixel halos), so that a 72x56 image makes many tiles of a 16-pixel core.
    func options(_ padding: PaddingMode) -> SynthesisOptions {
        var o = SynthesisOptions()
        (o.width, o.height, o.steps, o.octaves, o.seed) = (72, 56, 4, 1, 5)
        o.layers = ["conv1_1", "pool1", "pool2"]
        o.padding = padding
        o.algorithm = .direct
        // Adam, whose steps are smooth in the gradient: L-BFGS's line search can take another branch on a
        // rounding-level difference, and then the runs part (the networks' own tests compare the numbers).
        o.optimizer = .adam(learningRate: 0.02)
        return o
    }

    func testTiledRunEqualsTheWholeImageRun() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool2")
        let src = try Image.load(Paths.repoRoot + "/Notebooks/data/gravel.png").image.resized(width: 64, height: 64)
        for padding in [PaddingMode.reflect, .circular] {
            let whole = try Synthesizer(model: model, source: src, options: options(padding))
            XCTAssertNil(whole.memory.tile)
            var o = options(padding)
            o.evaluationTile = 16
            let tiled = try Synthesizer(model: model, source: src, options: o)
            XCTAssertEqual(tiled.memory.tile, 16)
            XCTAssertGreaterThan((tiled.network as! TiledNetwork).layout.count, 9)
            let a = try whole.run(), b = try tiled.run()
            XCTAssertEqual(a.history.count, b.history.count)
            for (x, y) in zip(a.history, b.history) { XCTAssertEqual(y, x, accuracy: 1e-5 * x, "\(padding): \(a.history) vs \(b.history)") }
            let diff = zip(a.image.pixels, b.image.pixels).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(diff, 1e-3, "\(padding)")
        }
    }

    func testTheMemoryLimitChoosesTilesOrRefusesBeforeWork() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        var o = SynthesisOptions()
        (o.width, o.height, o.octaves) = (2048, 2048, 1)
        o.optimizer = .adam(learningRate: 0.02)
        try MemoryBudget.setLimit(mebibytes: 16384)
        let unlimited = try SynthesisMemory.plan(model: model, options: o)
        XCTAssertNil(unlimited.tile, "16 GiB fit a whole 2048² network: \(unlimited.summary)")
        try MemoryBudget.setLimit(mebibytes: 1536)
        let limited = try SynthesisMemory.plan(model: model, options: o)
        XCTAssertEqual(limited.tile, 384, limited.summary)
        XCTAssertLessThanOrEqual(limited.totalBytes, 1536 << 20)
        // The default iterations at 2048² (3) store 3 pairs at most: 21 vectors of 48 MiB, which fit in tiles.
        o.optimizer = .lbfgs(history: 20)
        let short = try SynthesisMemory.plan(model: model, options: o)
        XCTAssertNotNil(short.tile, short.summary)
        XCTAssertLessThanOrEqual(short.totalBytes, 1536 << 20)
        // 100 iterations with 20 pairs keep 55 image-sized vectors of 48 MiB: no tiling can make that fit.
        o.steps = 100
        XCTAssertThrowsError(try SynthesisMemory.plan(model: model, options: o)) { e in
            let text = "\(e)"
            XCTAssertTrue(text.hasPrefix("memory: synthesising 2048x2048 needs at least"), text)
            XCTAssertTrue(text.contains("over the memory limit of 1536 MiB"), text)
            // What to change, in no front end's words (the notebook adds `set memory=MiB`, the command line --max-memory).
            XCTAssertTrue(text.hasSuffix("keep fewer L-BFGS pairs, use Adam, make it smaller, or raise the limit"), text)
            XCTAssertEqual((e as? MemoryLimitError)?.isOverMemoryLimit, true)
        }
        // The synthesizer refuses it before computing anything of the source.
        let src = Image(width: 64, height: 64, pixels: [Float](repeating: 0.5, count: 3 * 64 * 64))
        XCTAssertThrowsError(try Synthesizer(model: model, source: src, options: o)) { e in
            XCTAssertTrue("\(e)".hasPrefix("memory:"), "\(e)")
        }
        // An explicit tile too large for the limit is refused too.
        o.optimizer = .adam(learningRate: 0.02)
        o.evaluationTile = 4096
        XCTAssertThrowsError(try SynthesisMemory.plan(model: model, options: o))
    }
}
