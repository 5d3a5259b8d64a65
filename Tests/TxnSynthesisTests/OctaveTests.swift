import Foundation
import XCTest
import TxnTestSupport
import TxnImage
import TxnTensor
import TxnVGG
@testable import TxnSynthesis

final class OctaveTests: XCTestCase {
    func testAutomaticOctavesAndScaledSizes() {
        XCTAssertEqual([64, 128, 129, 256, 257, 512, 1024, 2048, 1000].map { Octaves.automatic(width: $0, height: $0 / 2) }, [1, 1, 2, 2, 2, 2, 3, 4, 3])
        XCTAssertEqual(Octaves.automatic(width: 100, height: 600), 3)
        XCTAssertEqual((0..<3).map { Octaves.scaled(1024, octave: $0, of: 3) }, [256, 512, 1024])
        XCTAssertEqual((0..<2).map { Octaves.scaled(75, octave: $0, of: 2) }, [38, 75])
    }

    func testBilinearUpsamplingClampsOrWraps() {
        // One row 0, 4 (per channel the same): doubled to four pixels at positions −0.25, 0.25, 0.75, 1.25.
        let image = Image(width: 2, height: 1, pixels: [0, 4, 0, 4, 0, 4])
        XCTAssertEqual(Array(Octaves.bilinear(image, width: 4, height: 1, wrap: false).pixels[0..<4]), [0, 1, 3, 4])
        // On a torus position −0.25 lies between the last pixel (4) and the first (0), 1.25 between 4 and 0.
        XCTAssertEqual(Array(Octaves.bilinear(image, width: 4, height: 1, wrap: true).pixels[0..<4]), [1, 1, 3, 3])
        let flat = Image(width: 3, height: 5, pixels: [Float](repeating: 0.25, count: 45))
        XCTAssertEqual(Set(Octaves.bilinear(flat, width: 6, height: 10, wrap: true).pixels), [0.25])
    }

    func testUpsamplingAddsTheSourcesDetailBandAsNoise() throws {
        // A source whose red and green are one pattern (a checkerboard on a ramp, which wraps with a jump) at
        // amplitudes 0.1 and 0.3, so that their detail is fully correlated; blue is flat: no detail.
        let (sw, sh) = (32, 24)
        var pixels = [Float](repeating: 0, count: 3 * sw * sh)
        for c in 0..<3 { for y in 0..<sh { for x in 0..<sw {
            let amplitude: Float = [0.1, 0.3, 0][c], sign: Float = (x + y) % 2 == 0 ? 1 : -1
            pixels[(c * sh + y) * sw + x] = 0.5 + amplitude * (sign + Float(x) / 10)
        } } }
        let source = Image(width: sw, height: sh, pixels: pixels)
        let wanted = Octaves.covariance(of: Octaves.detailBand(source, wrap: true))
        XCTAssertGreaterThan(wanted[0][0], 0.005)
        let coarse = Image(width: 20, height: 10, pixels: (0..<600).map { Float($0 % 7) / 7 })
        let start = try Octaves.upsampledWithDetail(coarse, width: 40, height: 20, wrap: true, source: source, seed: 5)
        let plain = Octaves.bilinear(coarse, width: 40, height: 20, wrap: true)
        let added = Image(width: 40, height: 20, pixels: zip(start.pixels, plain.pixels).map { $0 - $1 })
        // The added detail has the source band's colour covariance, scaled by the amplitude squared: red and green
        // moving together (one noise field, scaled), nothing in blue.
        let got = Octaves.covariance(of: added), k = Octaves.detailAmplitude * Octaves.detailAmplitude
        XCTAssertEqual(Octaves.detailAmplitude, 0.5)
        for a in 0..<3 { for b in 0..<3 {
            XCTAssertEqual(got[a][b], k * wanted[a][b], accuracy: 1e-6 + 1e-3 * abs(wanted[a][b]), "covariance [\(a)][\(b)]")
        } }
        for i in 0..<800 { XCTAssertEqual(added.pixels[800 + i], 3 * added.pixels[i], accuracy: 1e-5) }
        XCTAssertEqual(Array(added.pixels[1600..<2400]), [Float](repeating: 0, count: 800))
        // It is high-passed: at half size little of it is left.
        let half = Octaves.covariance(of: try added.resized(width: 20, height: 10))
        XCTAssertLessThan(half[1][1], 0.25 * got[1][1])
        // The band wraps: on a torus a flat image with one bright pixel in its corner has detail in the opposite
        // corner too; with clamped borders it does not.
        var dot = Image(width: 8, height: 6, pixels: [Float](repeating: 0.5, count: 144))
        dot.pixels[0] = 1
        XCTAssertLessThan(Octaves.detailBand(dot, wrap: true).pixels[47], 0)
        XCTAssertEqual(Octaves.detailBand(dot, wrap: false).pixels[47], 0, accuracy: 1e-7)
        // Same seed, same bytes; another seed, other noise.
        XCTAssertEqual(try Octaves.upsampledWithDetail(coarse, width: 40, height: 20, wrap: true, source: source, seed: 5), start)
        XCTAssertNotEqual(try Octaves.upsampledWithDetail(coarse, width: 40, height: 20, wrap: true, source: source, seed: 6), start)
    }

    func testColourFactorReproducesTheCovariance() {
        // A full-rank covariance: L·Lᵀ gives it back; a rank-one one (a grey source): one column, no NaN.
        let full = [[4.0, 2, 0.4], [2, 5, 1], [0.4, 1, 3]]
        let l = Octaves.colourFactor(full)
        for a in 0..<3 { for b in 0..<3 {
            XCTAssertEqual((0..<3).reduce(0.0) { $0 + l[a][$1] * l[b][$1] }, full[a][b], accuracy: 1e-12)
        } }
        XCTAssertEqual(Octaves.colourFactor([[4, 4, 4], [4, 4, 4], [4, 4, 4]]), [[2, 0, 0], [2, 0, 0], [2, 0, 0]])
        XCTAssertEqual(Octaves.colourFactor([[0, 0, 0], [0, 0, 0], [0, 0, 0]]), [[0, 0, 0], [0, 0, 0], [0, 0, 0]])
    }

    func testOctavesRunCoarseToFineWithTheirOwnSteps() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        let src = try Image.load(Paths.repoRoot + "/Notebooks/data/ihc.png").image.resized(width: 64, height: 64)
        var o = SynthesisOptions()
        (o.width, o.height, o.steps, o.octaves, o.octaveSteps) = (64, 48, 4, 2, [3])
        o.padding = .circular
        var seen: [(Int, Int, Int)] = []
        let result = try Synthesizer(model: model, source: src, options: o).run(progress: { p in
            seen.append((p.octave, p.iteration, p.snapshot?.width ?? 0))
            XCTAssertEqual(p.octaves, 2)
        })
        XCTAssertEqual(seen.map(\.0), [1, 1, 1, 2, 2, 2, 2])
        XCTAssertEqual(seen.map(\.1), [1, 2, 3, 1, 2, 3, 4])
        XCTAssertEqual(result.history.count, 7)
        XCTAssertEqual([result.image.width, result.image.height], [64, 48])
        XCTAssertNotNil(result.distance)
        // The finest octave starts from the upsampled coarse result, not from noise: a lower loss (measured
        // 6.4e8 against 8.4e8: the upsampling blurs the finest detail, which the octave then restores).
        var flat = o
        flat.octaves = 1
        let fromNoise = try Synthesizer(model: model, source: src, options: flat).run()
        XCTAssertLessThan(result.history[3], fromNoise.history[0] * 0.9, "octave start \(result.history[3]) vs noise \(fromNoise.history[0])")
    }

    func testStepsPerOctaveOneForAllOrOneEach() throws {
        var o = SynthesisOptions()
        o.steps = 8
        XCTAssertEqual((0..<4).map { o.steps(octave: $0, of: 4) }, [8, 8, 8, 8])
        o.octaveSteps = [50]
        XCTAssertEqual((0..<4).map { o.steps(octave: $0, of: 4) }, [50, 50, 50, 8])
        o.octaveSteps = [100, 40, 20]
        XCTAssertEqual((0..<4).map { o.steps(octave: $0, of: 4) }, [100, 40, 20, 8])
        o.octaves = 3
        XCTAssertThrowsError(try o.validate()) { e in XCTAssertTrue("\(e)".hasPrefix("octave_steps: 3 counts for 3 octaves"), "\(e)") }
        // With automatic octaves the count is checked once the octaves are known (two for 256²).
        o.octaves = nil
        (o.width, o.height) = (256, 256)
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        let src = Image(width: 64, height: 64, pixels: [Float](repeating: 0.5, count: 3 * 64 * 64))
        XCTAssertThrowsError(try Synthesizer(model: model, source: src, options: o)) { e in
            XCTAssertTrue("\(e)".hasPrefix("octave_steps: 3 counts for 2 octaves"), "\(e)")
        }
        o.octaveSteps = [0]
        XCTAssertThrowsError(try o.validate()) { e in XCTAssertTrue("\(e)".contains("each count must be 1 to 1000000, got 0"), "\(e)") }
        // A run does them in order: 2 iterations at 16², 1 at 32², 3 at 64².
        (o.width, o.height, o.octaves, o.octaveSteps, o.steps) = (64, 64, 3, [2, 1], 3)
        var seen: [Int] = []
        let textured = try Image.load(Paths.repoRoot + "/Notebooks/data/ihc.png").image.resized(width: 64, height: 64)
        _ = try Synthesizer(model: model, source: textured, options: o).run(progress: { seen.append($0.octave) })
        XCTAssertEqual(seen, [1, 1, 2, 3, 3, 3])
    }

    /// No counts given: a fixed share of time per octave (`Octaves.defaultSteps`), the whole run's octaves by size.
    func testDefaultStepsFallWithThePixels() {
        func schedule(_ side: Int) -> [Int] {
            var o = SynthesisOptions()
            (o.width, o.height) = (side, side)
            return (0..<o.octaveCount).map { o.steps(octave: $0, of: o.octaveCount) }
        }
        XCTAssertEqual(schedule(64), [100])
        XCTAssertEqual(schedule(256), [100, 100])
        XCTAssertEqual(schedule(512), [100, 40])
        XCTAssertEqual(schedule(1024), [100, 30, 10])
        XCTAssertEqual(schedule(2048), [100, 30, 8, 3])
        XCTAssertEqual(Octaves.defaultStepsSummary, "100 up to 256², 40 at 512², 10 at 1024²")
        XCTAssertEqual(Octaves.defaultOctaveStepsSummary, "100 at the coarsest, 30 at 512², 8 at 1024²")
        // One octave asked for at a large size: the last octave's rule, not 100 iterations of 2048².
        var o = SynthesisOptions()
        (o.width, o.height, o.octaves) = (2048, 2048, 1)
        XCTAssertEqual(o.finalSteps, Octaves.fewestDefaultSteps)
        // Given counts win: octave_steps, else steps for every octave.
        (o.octaves, o.steps, o.octaveSteps) = (3, 7, [9])
        XCTAssertEqual((0..<3).map { o.steps(octave: $0, of: 3) }, [9, 9, 7])
        o.octaveSteps = nil
        XCTAssertEqual((0..<3).map { o.steps(octave: $0, of: 3) }, [7, 7, 7])
    }

    /// L-BFGS stores a pair per iteration at most, so a short run plans fewer image-sized vectors than m pairs need.
    func testMemoryPlanCountsThePairsARunCanStore() {
        XCTAssertEqual(SynthesisMemory.vectors(.lbfgs(history: 20), steps: 3), 2 * 3 + 15)
        XCTAssertEqual(SynthesisMemory.vectors(.lbfgs(history: 20), steps: 100), 2 * 20 + 15)
        XCTAssertEqual(SynthesisMemory.vectors(.adam(learningRate: 0.1), steps: 3), 8)
    }

    func testTooManyOctavesNameTheOption() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        let src = Image(width: 64, height: 64, pixels: (0..<(3 * 64 * 64)).map { Float(($0 * 37) % 256) / 255 })
        var o = SynthesisOptions()
        (o.width, o.height, o.octaves) = (256, 256, 4)
        XCTAssertThrowsError(try Synthesizer(model: model, source: src, options: o)) { e in
            XCTAssertTrue("\(e)".hasPrefix("octaves: 4 octaves"), "\(e)")
            XCTAssertTrue("\(e)".contains("source 8x8"), "\(e)")
        }
        o.octaves = 9
        XCTAssertThrowsError(try Synthesizer(model: model, source: src, options: o)) { e in
            XCTAssertEqual("\(e)", "octaves: must be 1 to 6, got 9")
        }
    }
}
