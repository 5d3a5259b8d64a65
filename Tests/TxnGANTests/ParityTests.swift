import Foundation
import TxnCheckpoint
import TxnTensor
import TxnTestSupport
import XCTest
@testable import TxnGAN

/// One training iteration of the seed's GAN at reduced widths, against PyTorch 2.13's numbers in
/// ../shared/reference/gan_parity (made by make_gan_parity.py there), compared as its `tolerance` says: each
/// number relative to max(|reference|, 1e-3 × the tensor's absmax), each group within 10× PyTorch's own
/// float32-vs-float64 spread and never worse than 1e-2.
final class GANParityTests: XCTestCase {
    struct Reference {
        var json: [String: Any]
        var float32: [String: Any] { json["float32"] as! [String: Any] }
        var spread: [String: Double] { json["float64_vs_float32_max_relative_difference"] as! [String: Double] }
        var biasBeforeNorm: Set<String> { Set((json["bias_before_batchnorm"] as! [String: Any])["keys"] as! [String]) }
        func tolerance(_ group: String) -> Double { min(10 * spread[group]!, 1e-2) }
    }

    static func folder() throws -> String {
        try Paths.require(Paths.shared + "/reference/gan_parity/gan_parity.json", hint: "the shared/ folder must sit beside the checkout")
        return Paths.shared + "/reference/gan_parity"
    }

    /// The stats PyTorch recorded: mean, population std, l2, sum, absmax, first 8 values (row-major).
    struct Stats {
        var shape: [Int], mean: Double, std: Double, l2: Double, sum: Double, absmax: Double, first8: [Double]
        init(_ values: [Float], shape: [Int]) {
            self.shape = shape
            let n = Double(max(values.count, 1))
            sum = values.reduce(0.0) { $0 + Double($1) }
            let m = sum / n
            mean = m
            std = values.count > 1 ? (values.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / n).squareRoot() : 0
            l2 = values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            absmax = values.reduce(0.0) { max($0, abs(Double($1))) }
            first8 = values.prefix(8).map(Double.init)
        }
    }

    /// Worst relative difference of `ours` to the reference stats dict, as make_gan_parity.py's `maxrel`.
    func worst(_ ours: Stats, _ ref: [String: Any], deltas: Bool) -> (Double, String) {
        XCTAssertEqual(ours.shape, ref["shape"] as! [Int])
        let floor = 1e-3 * abs(ref["absmax"] as! Double)
        func rel(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), floor, 1e-30) }
        var worst = (0.0, "")
        let pairs: [(String, Double)] = deltas
            ? [("l2", ours.l2), ("absmax", ours.absmax)]
            : [("mean", ours.mean), ("l2", ours.l2), ("sum", ours.sum), ("absmax", ours.absmax), ("std", ours.std)]
        func note(_ e: Double, _ what: String) { if e > worst.0 { worst = (e, what) } }
        for (k, v) in pairs { note(rel(v, ref[k] as! Double), k) }
        let first8 = ref["first8"] as! [Double]
        XCTAssertEqual(ours.first8.count, first8.count)
        for (a, b) in zip(ours.first8, first8) { note(rel(a, b), "first8") }
        return worst
    }

    func check(_ group: String, _ ref: Reference, _ ours: [String: Stats], file: StaticString = #filePath, line: UInt = #line) {
        let expected = ref.float32[group] as! [String: Any]
        let deltas = group.hasSuffix("after_minus_before")
        var worstAll = (0.0, "")
        for (key, value) in expected {
            if ref.biasBeforeNorm.contains(key) { continue }
            guard let mine = ours[key] else { XCTFail("\(group): no value for \(key)", file: file, line: line); continue }
            let (w, what) = worst(mine, value as! [String: Any], deltas: deltas)
            if w > worstAll.0 { worstAll = (w, "\(key).\(what)") }
            if ProcessInfo.processInfo.environment["TXN_PARITY_VERBOSE"] != nil { print("  \(group) \(key): \(w) at \(what)") }
        }
        XCTAssertLessThanOrEqual(worstAll.0, ref.tolerance(group), "\(group): worst at \(worstAll.1)", file: file, line: line)
        print("parity \(group): worst relative difference \(String(format: "%.2e", worstAll.0)) at \(worstAll.1) (tolerance \(String(format: "%.1e", ref.tolerance(group))))")
    }

    func testOneTrainingIterationMatchesPyTorch() throws {
        let folder = try Self.folder()
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/gan_parity.json"))
        let ref = Reference(json: try JSONSerialization.jsonObject(with: data) as! [String: Any])
        let gPath = folder + "/generator_init.pth", dPath = folder + "/discriminator_init.pth"
        let generator = try Generator(stateDict: Checkpoint.load(gPath), path: gPath)
        let discriminator = try Discriminator(stateDict: Checkpoint.load(dPath), path: dPath)
        XCTAssertEqual(generator.channels, ref.json["generator_channels"] as! [Int])
        XCTAssertEqual(discriminator.channels, ref.json["discriminator_channels"] as! [Int])
        let inputs = try Checkpoint.load(folder + "/inputs.pth")
        func batch(_ key: String) throws -> ChannelMajor {
            let t = inputs[key]!
            return try ChannelMajor(nchw: Tensor(shape: t.shape, data: t.values))
        }
        let real = try batch("real"), noise = try batch("noise"), noiseEval = try batch("noise_eval")

        let gBefore = generator.stateEntries, dBefore = discriminator.stateEntries
        var dGrads: [String: Stats] = [:], gGrads: [String: Stats] = [:]
        let trainer = GANTrainer(generator: generator, discriminator: discriminator)
        let result = try trainer.step(real: real, noise: noise, beforeDiscriminatorStep: {
            for (name, p) in discriminator.namedParameters { dGrads[name] = Stats(p.gradient, shape: p.shape) }
        }, beforeGeneratorStep: {
            for (name, p) in generator.namedParameters { gGrads[name] = Stats(p.gradient, shape: p.shape) }
        })

        check("D_grad", ref, dGrads)
        check("G_grad", ref, gGrads)
        // Biases just before a batch norm: their exact gradient is zero; float32 leaves noise far below the weights'.
        for key in ref.biasBeforeNorm {
            let weightKey = key.replacingOccurrences(of: ".bias", with: ".weight")
            let grads = key.hasPrefix("generate") ? gGrads : dGrads
            XCTAssertLessThan(grads[key]!.l2, 1e-5 * grads[weightKey]!.l2, key)
        }
        let n = real.batch
        let single: [(String, Stats)] = [
            ("fake", Stats(result.fakes.nchw().data, shape: [n, 3, 64, 64])),
            ("D_real_out", Stats(result.realScores, shape: [n, result.realScores.count / n])),
            ("D_fake_out", Stats(result.fakeScores, shape: [n, result.fakeScores.count / n])),
            ("D_gen_out", Stats(result.generatedScores, shape: [n, result.generatedScores.count / n])),
        ]
        for (group, stats) in single {
            let (w, what) = worst(stats, ref.float32[group] as! [String: Any], deltas: false)
            XCTAssertLessThanOrEqual(w, ref.tolerance(group), "\(group) at \(what)")
            print("parity \(group): worst relative difference \(String(format: "%.2e", w)) at \(what)")
        }
        let loss = ref.float32["loss"] as! [String: Double]
        for (name, ours) in [("D_real", result.discriminatorReal), ("D_fake", result.discriminatorFake), ("G", result.generator)] {
            XCTAssertLessThanOrEqual(abs(ours - loss[name]!) / abs(loss[name]!), ref.tolerance("loss"), name)
        }

        func deltas(_ before: [CheckpointEntry], _ after: [CheckpointEntry]) -> [String: Stats] {
            var out: [String: Stats] = [:]
            for (b, a) in zip(before, after) {
                guard case .float32(let old) = b.values, case .float32(let new) = a.values else { continue }
                out[a.key] = Stats(zip(new, old).map { $0 - $1 }, shape: a.shape)
            }
            return out
        }
        // D's third forward (the G step's) runs after D's Adam step, which moved each bias before a batch norm by
        // ±lr on the sign of rounding noise; that forward's batch mean carries the bias, so the running mean moves
        // by momentum·Δbias of noise too. Remove that term from both sides (the reference has the first 8 bias
        // deltas, the ones the running means' first 8 sit on top of) before comparing.
        var dDeltas = deltas(dBefore, discriminator.stateEntries)
        var dReference = ref.float32["D_after_minus_before"] as! [String: Any]
        for biasKey in ref.biasBeforeNorm where biasKey.hasPrefix("discriminate.") {
            let index = Int(biasKey.split(separator: ".")[1])!
            let meanKey = "discriminate.\(index + 1).running_mean"
            let ourBias = dDeltas[biasKey]!.first8, refBias = (dReference[biasKey] as! [String: Any])["first8"] as! [Double]
            dDeltas[meanKey]!.first8 = zip(dDeltas[meanKey]!.first8, ourBias).map { $0 - 0.1 * $1 }
            var meanRef = dReference[meanKey] as! [String: Any]
            meanRef["first8"] = zip(meanRef["first8"] as! [Double], refBias).map { $0 - 0.1 * $1 }
            dReference[meanKey] = meanRef
        }
        var corrected = ref
        var f32 = corrected.json["float32"] as! [String: Any]
        f32["D_after_minus_before"] = dReference
        corrected.json["float32"] = f32
        check("D_after_minus_before", corrected, dDeltas)
        check("G_after_minus_before", ref, deltas(gBefore, generator.stateEntries))
        let tracked = ref.float32["D_num_batches_tracked"] as! [String: Int]
        var trackedCount = 0
        for entry in discriminator.stateEntries {
            guard case .int64(let counts) = entry.values else { continue }
            XCTAssertEqual(counts, [Int64(tracked[entry.key]!)], entry.key)
            trackedCount += 1
        }
        XCTAssertEqual(trackedCount, tracked.count)

        let image = try generator.generate(noiseEval)
        XCTAssertEqual([image.batch, image.channels, image.height, image.width], [1, 3, 96, 160])
        let evalRef = ref.float32["eval_generation"] as! [String: Any]
        let (w, what) = worst(Stats(image.nchw().data, shape: [1, 3, 96, 160]), evalRef, deltas: false)
        XCTAssertLessThanOrEqual(w, ref.tolerance("eval_generation"), "eval generation at \(what)")
    }
}

