import XCTest
import TxnCheckpoint
import TxnImage
import TxnTensor
import TxnTestSupport
import TxnSynthesis
import TxnVGG
@testable import TxnTexNet

/// Training runs on the real VGG at a small size: the loss falls, the same seed gives the same bytes, a resumed run
/// is the uninterrupted one, and bad requests are errors that say what is wrong.
final class TrainingTests: XCTestCase {
    static let model = try? VGG19.load(Paths.repoRoot + "/Models/vgg_normalised.pth", upTo: VGG19.gatysDeepestLayer)
    var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("texnet-train-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func model() throws -> VGG19 {
        _ = try Paths.weights()
        return try XCTUnwrap(Self.model)
    }

    /// Stripes and blobs: a texture with a clear structure, 64×48.
    static let source: Image = {
        let (w, h) = (64, 48)
        var pixels = [Float](repeating: 0, count: 3 * w * h)
        for c in 0..<3 { for y in 0..<h { for x in 0..<w {
            let stripes = sin(Float(x + 2 * y) * 0.8), blobs = cos(Float(x) * 0.3) * cos(Float(y) * 0.35)
            pixels[(c * h + y) * w + x] = 0.5 + 0.25 * stripes * Float(c + 1) / 3 + 0.2 * blobs
        }}}
        return Image(width: w, height: h, pixels: pixels)
    }()

    func options(seed: UInt64 = 1) -> TexNetTrainingOptions {
        var o = TexNetTrainingOptions()
        (o.size, o.batch, o.seed) = (32, 2, seed)
        return o
    }

    func parameters(_ t: TexNetTraining) -> [[Float]] { t.network.namedParameters.map(\.parameter.value) }

    func testSameSeedSameBytesAndTheLossFalls() throws {
        let m = try model()
        let a = try TexNetTraining(source: Self.source, model: m, options: options())
        let b = try TexNetTraining(source: Self.source, model: m, options: options())
        try a.train(until: 12, shouldStop: { false }) { _, _ in }
        try b.train(until: 12, shouldStop: { false }) { _, _ in }
        XCTAssertEqual(parameters(a), parameters(b))
        XCTAssertEqual(a.history.map(\.loss), b.history.map(\.loss))
        XCTAssertEqual(try a.snapshot().pixels, try b.snapshot().pixels)
        let first = a.history.prefix(3).map(\.loss).reduce(0, +), last = a.history.suffix(3).map(\.loss).reduce(0, +)
        XCTAssertLessThan(last, first, "losses \(a.history.map(\.loss))")
        let other = try TexNetTraining(source: Self.source, model: m, options: options(seed: 2))
        try other.train(until: 1, shouldStop: { false }) { _, _ in }
        XCTAssertNotEqual(other.history[0].loss, a.history[0].loss)
    }

    func testResumedRunIsTheUninterruptedOneAndAStopKeepsWhatItLearnt() throws {
        let m = try model()
        for loss in [SynthesisOptions.Loss.gram, .sw] {
            var o = options()
            o.loss = loss
            o.tile = loss == .sw
            let whole = try TexNetTraining(source: Self.source, model: m, options: o)
            try whole.train(until: 4, shouldStop: { false }) { _, _ in }

            let part = try TexNetTraining(source: Self.source, model: m, options: o)
            var asked = 0
            // Stops after two iterations, as Ctrl-C does (the flag is read before each iteration).
            let stopped = try part.train(until: 4, shouldStop: { asked += 1; return asked > 2 }) { _, _ in }
            XCTAssertTrue(stopped)
            XCTAssertEqual(part.iteration, 2)
            let path = folder + "/t-\(loss.rawValue).pth"
            try part.save(to: path)
            let resumed = try TexNetTraining(resuming: path, source: Self.source, model: m)
            XCTAssertEqual(resumed.iteration, 2)
            XCTAssertEqual(resumed.options, o)
            XCTAssertEqual(parameters(resumed), parameters(part))
            try resumed.train(until: 4, shouldStop: { false }) { _, _ in }
            XCTAssertEqual(parameters(resumed), parameters(whole), "\(loss)")
            XCTAssertEqual(resumed.history.suffix(2).map(\.loss), whole.history.suffix(2).map(\.loss))
            XCTAssertEqual(resumed.history.count, 4)
        }
    }

    func testResumeRefusesAMixedPairAndAGANFile() throws {
        let m = try model()
        let t = try TexNetTraining(source: Self.source, model: m, options: options())
        let path = folder + "/t.pth"
        try t.save(to: path)
        try t.train(until: 1, shouldStop: { false }) { _, _ in }
        // The generator file replaced by a later one, its resume file left: a mixed pair.
        try t.network.save(path)
        XCTAssertThrowsError(try TexNetTraining(resuming: path, source: Self.source, model: m)) { e in
            XCTAssertTrue("\(e)".contains("SHA-256"), "\(e)")
        }
        let gan = folder + "/g.pth"
        try Checkpoint.write([CheckpointEntry("generate.0.weight", shape: [2, 3, 4, 4], floats: [Float](repeating: 0, count: 96))], to: gan)
        try Checkpoint.write([CheckpointEntry("train.iteration", shape: [], integers: [0])], to: TexNetTraining.resumePath(for: gan))
        XCTAssertThrowsError(try TexNetTraining(resuming: gan, source: Self.source, model: m)) { e in
            XCTAssertTrue("\(e)".contains("GAN generator"), "\(e)")
        }
        XCTAssertThrowsError(try TexNetTraining(resuming: folder + "/none.pth", source: Self.source, model: m)) { e in
            XCTAssertTrue("\(e)".contains("no resume state"), "\(e)")
        }
    }

    func testBadRequestsSayWhatIsWrong() throws {
        let m = try model()
        var o = options()
        o.size = 64  // the source is 64×48
        XCTAssertThrowsError(try TexNetTraining(source: Self.source, model: m, options: o)) { e in
            XCTAssertTrue("\(e)".contains("larger than the source"), "\(e)")
        }
        o.size = 40
        XCTAssertThrowsError(try TexNetTraining(source: Self.source, model: m, options: o)) { e in
            XCTAssertTrue("\(e)".contains("multiple of 16"), "\(e)")
        }
        o = options()
        (o.normalisation, o.batch) = (.batch, 1)
        XCTAssertThrowsError(try TexNetTraining(source: Self.source, model: m, options: o)) { e in
            XCTAssertTrue("\(e)".contains("batch norm"), "\(e)")
        }
        o = options()
        o.batch = 1 << 40
        XCTAssertThrowsError(try TexNetTraining(source: Self.source, model: m, options: o))
        o = options()
        o.learningRate = .nan
        XCTAssertThrowsError(try TexNetTraining(source: Self.source, model: m, options: o))
    }
}
