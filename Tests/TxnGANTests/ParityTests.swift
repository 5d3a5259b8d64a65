import Foundation
import TxnCheckpoint
import TxnTensor
import TxnTestSupport
import XCTest
@testable import TxnGAN

/// One training iteration of the seed's GAN at reduced widths, against PyTorch 2.13's numbers in
/// ../shared/reference/gan_parity, element by element as llm.c's test_gpt2.c does: every tensor that
/// make_gan_parity.py records is in expected.pth in full (made by make_gan_expected.py there, on an AVX2 CPU).
/// Each element is compared relative to max(|reference|, 1e-3 × the tensor's absmax); each group must stay within
/// 10× PyTorch's own float32-vs-float64 spread, never worse than 1e-2, as gan_parity.json says; the spread is taken
/// element by element too (gan_parity.json's is of summaries, which hide the worst element), by
/// scripts/gan_elementwise_spread.py into Fixtures/gan_elementwise_spread.json.
final class GANParityTests: XCTestCase {
    struct Reference {
        var json: [String: Any]
        /// expected.pth's tensors by key.
        var expected: [String: StoredTensor]
        /// PyTorch's element-wise float32-vs-float64 spread per group.
        var spread: [String: Double]
        var biasBeforeNorm: Set<String> { Set((json["bias_before_batchnorm"] as! [String: Any])["keys"] as! [String]) }
        func tolerance(_ group: String) -> Double { min(10 * spread[group]!, 1e-2) }
        /// The keys of `group` in expected.pth, without the group's prefix.
        func keys(_ group: String) -> [String] {
            expected.keys.filter { $0.hasPrefix(group + ".") }.map { String($0.dropFirst(group.count + 1)) }.sorted()
        }
        func tensor(_ key: String) -> StoredTensor { expected[key]! }
    }

    static func folder() throws -> String {
        try Paths.require(Paths.shared + "/reference/gan_parity/expected.pth", hint: "the shared/ folder must sit beside the checkout")
        return Paths.shared + "/reference/gan_parity"
    }

    /// Worst element-wise relative difference of `ours` to `reference` (whole tensors, same shape and order),
    /// with the element's index.
    static func worst(_ ours: [Float], _ reference: StoredTensor) -> (difference: Double, index: Int) {
        precondition(ours.count == reference.values.count)
        let absmax = reference.values.reduce(0.0) { max($0, abs(Double($1))) }
        let floor = max(1e-3 * absmax, 1e-30)
        var worst = (difference: 0.0, index: 0)
        for (i, (a, b)) in zip(ours, reference.values).enumerated() {
            let d = abs(Double(a) - Double(b)) / max(abs(Double(b)), floor)
            if d > worst.difference || d.isNaN { worst = (d.isNaN ? .infinity : d, i) }
        }
        return worst
    }

    /// Compares every tensor of `group` (keys as in expected.pth after the group's prefix) with ours.
    func check(_ group: String, _ ref: Reference, _ ours: [String: (shape: [Int], values: [Float])],
               skipping skipped: Set<String> = [], file: StaticString = #filePath, line: UInt = #line) {
        var worstAll = (0.0, "")
        let keys = ref.keys(group).filter { !skipped.contains($0) }
        XCTAssertFalse(keys.isEmpty, group, file: file, line: line)
        for key in keys {
            let expected = ref.tensor("\(group).\(key)")
            guard let mine = ours[key] else { XCTFail("\(group): no value for \(key)", file: file, line: line); continue }
            XCTAssertEqual(mine.shape, expected.shape, "\(group).\(key)", file: file, line: line)
            guard mine.values.count == expected.values.count else { continue }
            let (w, index) = Self.worst(mine.values, expected)
            if w > worstAll.0 { worstAll = (w, "\(key)[\(index)]") }
        }
        XCTAssertLessThanOrEqual(worstAll.0, ref.tolerance(group), "\(group): worst at \(worstAll.1)", file: file, line: line)
        print("parity \(group): worst relative difference \(String(format: "%.2e", worstAll.0)) at \(worstAll.1) (tolerance \(String(format: "%.1e", ref.tolerance(group))))")
    }

    func testOneTrainingIterationMatchesPyTorch() throws {
        let folder = try Self.folder()
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/gan_parity.json"))
        let expected = try Checkpoint.load(folder + "/expected.pth")
        XCTAssertEqual(expected.keys.count, 87)
        let spreadFile = Paths.repoRoot + "/Tests/TxnGANTests/Fixtures/gan_elementwise_spread.json"
        let spread = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: spreadFile))) as! [String: Any]
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        // The loss is three numbers: its summary spread is its element-wise one.
        var groups = spread["spread"] as! [String: Double]
        groups["loss"] = (json["float64_vs_float32_max_relative_difference"] as! [String: Double])["loss"]
        let ref = Reference(json: json, expected: Dictionary(uniqueKeysWithValues: expected.keys.map { ($0, expected[$0]!) }),
                            spread: groups)
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

        typealias Tensors = [String: (shape: [Int], values: [Float])]
        let gBefore = generator.stateEntries, dBefore = discriminator.stateEntries
        var dGrads: Tensors = [:], gGrads: Tensors = [:]
        let trainer = GANTrainer(generator: generator, discriminator: discriminator)
        let result = try trainer.step(real: real, noise: noise, beforeDiscriminatorStep: {
            for (name, p) in discriminator.namedParameters { dGrads[name] = (p.shape, p.gradient) }
        }, beforeGeneratorStep: {
            for (name, p) in generator.namedParameters { gGrads[name] = (p.shape, p.gradient) }
        })

        // Biases just before a batch norm: their exact gradient is zero; float32 leaves noise far below the
        // weights'. gan_parity.json: check their size only, and do not compare their Adam deltas.
        check("D_grad", ref, dGrads, skipping: ref.biasBeforeNorm)
        check("G_grad", ref, gGrads, skipping: ref.biasBeforeNorm)
        func l2(_ v: [Float]) -> Double { v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
        for key in ref.biasBeforeNorm {
            let weightKey = key.replacingOccurrences(of: ".bias", with: ".weight")
            let grads = key.hasPrefix("generate") ? gGrads : dGrads
            XCTAssertLessThan(l2(grads[key]!.values), 1e-5 * l2(grads[weightKey]!.values), key)
        }
        let n = real.batch
        let single: [(String, [Float], [Int])] = [
            ("fake", result.fakes.nchw().data, [n, 3, 64, 64]),
            ("D_real_out", result.realScores, [n, result.realScores.count / n]),
            ("D_fake_out", result.fakeScores, [n, result.fakeScores.count / n]),
            ("D_gen_out", result.generatedScores, [n, result.generatedScores.count / n]),
        ]
        for (group, values, shape) in single {
            let expected = ref.tensor(group)
            XCTAssertEqual(shape, expected.shape, group)
            let (w, index) = Self.worst(values, expected)
            XCTAssertLessThanOrEqual(w, ref.tolerance(group), "\(group) at [\(index)]")
            print("parity \(group): worst relative difference \(String(format: "%.2e", w)) at [\(index)]")
        }
        let loss = (ref.json["float32"] as! [String: Any])["loss"] as! [String: Double]
        for (name, ours) in [("D_real", result.discriminatorReal), ("D_fake", result.discriminatorFake), ("G", result.generator)] {
            XCTAssertLessThanOrEqual(abs(ours - loss[name]!) / abs(loss[name]!), ref.tolerance("loss"), name)
        }

        func deltas(_ before: [CheckpointEntry], _ after: [CheckpointEntry]) -> Tensors {
            var out: Tensors = [:]
            for (b, a) in zip(before, after) {
                guard case .float32(let old) = b.values, case .float32(let new) = a.values else { continue }
                out[a.key] = (a.shape, zip(new, old).map { $0 - $1 })
            }
            return out
        }
        // D's third forward (the G step's) runs after D's Adam step, which moved each bias before a batch norm by
        // ±lr on the sign of rounding noise; that forward's batch mean carries the bias, so the running mean moves
        // by momentum·Δbias of noise too. Remove that term, element by element, from both sides before comparing.
        var dDeltas = deltas(dBefore, discriminator.stateEntries)
        var corrected = ref.expected
        for biasKey in ref.biasBeforeNorm where biasKey.hasPrefix("discriminate.") {
            let index = Int(biasKey.split(separator: ".")[1])!
            let meanKey = "discriminate.\(index + 1).running_mean"
            let ourBias = dDeltas[biasKey]!.values
            let refBias = ref.tensor("D_after_minus_before.\(biasKey)").values
            dDeltas[meanKey]!.values = zip(dDeltas[meanKey]!.values, ourBias).map { $0 - 0.1 * $1 }
            corrected["D_after_minus_before.\(meanKey)"]!.values =
                zip(corrected["D_after_minus_before.\(meanKey)"]!.values, refBias).map { $0 - 0.1 * $1 }
        }
        var correctedRef = ref
        correctedRef.expected = corrected
        check("D_after_minus_before", correctedRef, dDeltas, skipping: ref.biasBeforeNorm)
        check("G_after_minus_before", ref, deltas(gBefore, generator.stateEntries), skipping: ref.biasBeforeNorm)
        let tracked = (ref.json["float32"] as! [String: Any])["D_num_batches_tracked"] as! [String: Int]
        var trackedCount = 0
        for entry in discriminator.stateEntries {
            guard case .int64(let counts) = entry.values else { continue }
            XCTAssertEqual(counts, [Int64(tracked[entry.key]!)], entry.key)
            trackedCount += 1
        }
        XCTAssertEqual(trackedCount, tracked.count)

        // In eval mode a batch norm uses its running statistics, so the Adam step of each bias before it, ±lr on
        // the sign of rounding noise (see above), shifts the output: PyTorch's own float32 and float64 runs differ by
        // 1e-2 there for that reason alone. Give those biases PyTorch's step, so the comparison sees the rest.
        let gBeforeValues = Dictionary(uniqueKeysWithValues: gBefore.compactMap { e -> (String, [Float])? in
            guard case .float32(let v) = e.values else { return nil }
            return (e.key, v)
        })
        for (name, p) in generator.namedParameters where ref.biasBeforeNorm.contains(name) {
            p.value = zip(gBeforeValues[name]!, ref.tensor("G_after_minus_before.\(name)").values).map { $0 + $1 }
        }
        let image = try generator.generate(noiseEval)
        let evalRef = ref.tensor("eval_generation")
        XCTAssertEqual([image.batch, image.channels, image.height, image.width], evalRef.shape)
        let (w, index) = Self.worst(image.nchw().data, evalRef)
        // PyTorch's eval_generation spread is that bias noise; without it the generator is the one of `fake`.
        XCTAssertLessThanOrEqual(w, ref.tolerance("fake"), "eval generation at [\(index)]")
        print("parity eval_generation: worst relative difference \(String(format: "%.2e", w)) at [\(index)]")
    }

    /// The comparison itself must see what the old summaries could not: two channels swapped past the eighth value.
    func testSwappedChannelsAreSeen() throws {
        let ref = try Checkpoint.load(try Self.folder() + "/expected.pth")
        let fake = ref["fake"]!
        var swapped = fake.values
        let plane = 64 * 64
        for i in 0..<plane { swapped.swapAt(plane + i, 2 * plane + i) }  // image 0: channels 1 and 2
        XCTAssertEqual(Self.worst(fake.values, fake).difference, 0)
        XCTAssertGreaterThan(Self.worst(swapped, fake).difference, 1e-2)
    }
}
