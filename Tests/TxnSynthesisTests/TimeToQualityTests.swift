import Foundation
import XCTest
import TxnTestSupport
import TxnImage
import TxnTensor
import TxnVGG
@testable import TxnSynthesis

/// What issue 22's measurements stand on: the per-iteration log and the `steps=auto` stopping rule.
final class TimeToQualityTests: XCTestCase {
    func temporaryPath(_ name: String) -> String {
        NSTemporaryDirectory() + "txn-ttq-\(getpid())-\(name)"
    }

    func records(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    func testLogHasOneLinePerIterationAndTheGramLossAtTheOutputSize() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        let src = try Image.load(Paths.repoRoot + "/Notebooks/data/ihc.png").image.resized(width: 64, height: 64)
        var o = SynthesisOptions()
        (o.width, o.height, o.steps, o.octaves, o.octaveSteps) = (64, 48, 3, 2, [2])
        o.reportsGramLoss = true
        let path = temporaryPath("plain.jsonl")
        defer { unlink(path) }
        let log = try SynthesisLog(path: path)
        var losses: [Double] = []
        _ = try Synthesizer(model: model, source: src, options: o).run(progress: { p in log.record(p); losses.append(p.loss) })
        XCTAssertNil(log.failure)
        let lines = try records(path)
        XCTAssertEqual(lines.map { $0["iteration"] as! Int }, [1, 2, 3, 4, 5])
        XCTAssertEqual(lines.map { $0["octave"] as! Int }, [1, 1, 2, 2, 2])
        XCTAssertEqual(lines.map { $0["octave_iteration"] as! Int }, [1, 2, 1, 2, 3])
        // Written in Swift's shortest round-trip form; Foundation's JSON reader may be off in the last bit.
        for (line, loss) in zip(lines, losses) { XCTAssertEqual(line["loss"] as! Double, loss, accuracy: 1e-14 * loss) }
        let seconds = lines.map { $0["seconds"] as! Double }
        XCTAssertEqual(seconds, seconds.sorted())
        // The coarse octave's loss is against a smaller source: no gram_loss there. At the output size the plain
        // Gram objective is the gram_loss itself.
        XCTAssertEqual(lines.map { $0["gram_loss"] == nil }, [true, true, false, false, false])
        for (line, loss) in zip(lines, losses).dropFirst(2) {
            XCTAssertEqual(line["gram_loss"] as! Double, loss, accuracy: 1e-14 * loss)
        }
    }

    func testGramLossOfAnotherObjectiveIsMeasuredOnTheCurrentImage() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        let src = try Image.load(Paths.repoRoot + "/Notebooks/data/ihc.png").image.resized(width: 48, height: 48)
        var o = SynthesisOptions()
        (o.width, o.height, o.steps) = (40, 40, 3)
        o.loss = .sw
        o.reportsGramLoss = true
        o.snapshotEvery = 1
        XCTAssertFalse(o.objectiveIsPlainGram)
        // The known answer: the plain Gram loss of each iterate, computed independently from the snapshots.
        var reported: [Double] = [], expected: [Double] = []
        let plan = try VGGPlan(model: model, height: 40, width: 40, upTo: "pool4", algorithm: .direct, backward: false)
        let loss = try TextureLoss(network: try VGGPlan(model: model, height: 48, width: 48, upTo: "pool4", algorithm: .direct, backward: false),
                                   source: try Tensor(shape: [1, 3, 48, 48], data: src.pixels), layers: VGG19.gatysLayers)
        _ = try Synthesizer(model: model, source: src, options: o).run(progress: { p in
            reported.append(p.gramLoss!)
            expected.append(try! loss.evaluate(plan, try! Tensor(shape: [1, 3, 40, 40], data: p.snapshot!.pixels), gradient: false).total)
            XCTAssertNotEqual(p.gramLoss, p.loss)
        })
        XCTAssertEqual(reported.count, 3)
        for (r, e) in zip(reported, expected) { XCTAssertEqual(r, e, accuracy: 1e-5 * e) }
        // Measuring reuses the run's network between iterations: it must not change the run.
        var unmeasured = o
        unmeasured.reportsGramLoss = false
        let measured = try Synthesizer(model: model, source: src, options: o).run()
        let plain = try Synthesizer(model: model, source: src, options: unmeasured).run()
        XCTAssertEqual(measured.history, plain.history)
        XCTAssertEqual(measured.image.pixels, plain.image.pixels)
    }

    func testPlateauRule() {
        let rule = SynthesisOptions.Plateau(window: 2, fraction: 0.1)
        XCTAssertFalse(rule.reached([100, 50]))            // not a whole window yet
        XCTAssertFalse(rule.reached([100, 95, 89]))        // 11% over the last 2
        XCTAssertTrue(rule.reached([100, 95, 91]))         // 9%
        XCTAssertTrue(rule.reached([100, 95, 120]))        // worse
        XCTAssertEqual(StepCount("auto"), .automatic)
        XCTAssertEqual(StepCount("12"), .fixed(12))
        XCTAssertNil(StepCount("12x"))
        var o = SynthesisOptions()
        StepCount.automatic.apply(to: &o)
        XCTAssertEqual(o.steps, SynthesisOptions.automaticStepsCap)
        XCTAssertEqual(o.plateau, .standard)
        o.plateau = .init(window: 0, fraction: 0.1)
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("plateau window"), "\($0)") }
        o.plateau = .init(window: 5, fraction: 1)
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("plateau fraction"), "\($0)") }
    }

    func testAutomaticStepsStopAtThePlateauAndSaySo() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        let src = try Image.load(Paths.repoRoot + "/Notebooks/data/ihc.png").image.resized(width: 32, height: 32)
        var o = SynthesisOptions()
        (o.width, o.height) = (32, 32)
        o.steps = 400
        o.plateau = .init(window: 5, fraction: 0.05)
        let result = try Synthesizer(model: model, source: src, options: o).run()
        XCTAssertTrue(result.plateaued)
        XCTAssertLessThan(result.history.count, 400)
        XCTAssertTrue(o.plateau!.reached(result.history))
        XCTAssertFalse(o.plateau!.reached(Array(result.history.dropLast())), "it stops at the first iteration that reaches it")
    }
}
