import Foundation
import TxnCheckpoint
import TxnFiles
import TxnImage
import TxnTensor
import XCTest
@testable import TxnGAN

/// Numbers and files from outside (issue 19): sizes, crops, splits and resume files with extreme values never trap,
/// and a generator and its resume file from different checkpoints are never resumed together.
final class HostileInputTests: XCTestCase {
    var tmp: String!

    override func setUp() {
        tmp = NSTemporaryDirectory() + "txn-gan-hostile-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        try? MemoryBudget.setLimit(mebibytes: 64)
    }

    override func tearDown() {
        MemoryBudget.limitBytes = MemoryBudget.defaultLimitBytes
        try? FileManager.default.removeItem(atPath: tmp)
    }

    func source(_ side: Int = 64) -> Image {
        var rng = SplitMix64(seed: 7)
        return Image(width: side, height: side, pixels: (0..<(3 * side * side)).map { _ in rng.nextUnit() })
    }

    func options() -> GANTrainingOptions {
        var o = GANTrainingOptions()
        (o.preset, o.crop, o.batch, o.seed) = (.small, 32, 2, 3)
        return o
    }

    /// Extreme integers, the kind a command line or a file can hold.
    static let extremes: [Int] = [Int.max, Int.max - 1, Int.max / 2, 1 << 62, 9_223_372_036_854_775_776, 1 << 32, 4_294_967_297,
                                  100_000, 8193, 0, -1, -32, Int.min, Int.min + 1, 1, 2, 31, 32, 33, 64]

    /// Errors must be errors with a message (a trap ends the test run instead).
    func assertMessage(_ error: Error, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        let text = "\(error)"
        XCTAssertFalse(text.isEmpty, context, file: file, line: line)
        XCTAssertTrue(error is GANError || error is MemoryBudgetError, "\(type(of: error)): \(text) (\(context))", file: file, line: line)
    }

    func testGenerationAndAnimationSizesNeverTrap() throws {
        let g = try GANTraining(source: source(), options: options()).generator
        var rng = SplitMix64(seed: 19)
        let start = Date()
        for round in 0..<400 {
            let w = Self.extremes[Int(rng.next(below: Self.extremes.count))]
            let h = Self.extremes[Int(rng.next(below: Self.extremes.count))]
            let tile = rng.next(below: 2) == 1
            let batch = [1, 2, Int.max, 0, -1][rng.next(below: 5)]
            let context = "round \(round): \(w)x\(h) batch \(batch) tile \(tile)"
            do {
                let images = try GANGeneration.generate(g, width: w, height: h, batch: batch, seed: 1, tile: tile)
                XCTAssertEqual(images.first?.width, w, context)
            } catch { assertMessage(error, context) }
            let frames = [2, 3, 1000, 1001, Int.max, Int.min, 0][rng.next(below: 7)]
            do {
                _ = try GANGeneration.animate(g, width: w, height: h, frames: frames, walk: .sine, seed: 1)
            } catch { assertMessage(error, context + " frames \(frames)") }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 60)
    }

    /// A 1.1 MB generator of widths [1, 4096, 3] asks for far more than its file at any size: `animate` checks the
    /// generator's widest layer against the budget as `generate` does.
    func testAnimationChecksTheGeneratorsPeakMemory() throws {
        var rng = SplitMix64(seed: 1)
        let wide = Generator(channels: [1, 4096, 3], rng: &rng)
        XCTAssertThrowsError(try GANGeneration.animate(wide, width: 64, height: 64, frames: 2, walk: .sine, seed: 0)) {
            XCTAssertTrue("\($0)".contains("over the memory limit of 64 MiB"), "\($0)")
        }
        XCTAssertThrowsError(try GANGeneration.generate(wide, width: 64, height: 64, seed: 0, tile: false)) {
            XCTAssertTrue("\($0)".contains("over the memory limit"), "\($0)")
        }
    }

    func testCropsScalingsAndNoiseSplitsNeverTrap() throws {
        let src = source()
        var rng = SplitMix64(seed: 23)
        let scalings: [Double] = [1, 2, 16, 16.000001, 0.5, .nan, .infinity, -.infinity, 1e300, -1]
        for round in 0..<300 {
            var o = options()
            o.crop = Self.extremes[rng.next(below: Self.extremes.count)]
            o.batch = rng.next(below: 3) == 0 ? Self.extremes[rng.next(below: Self.extremes.count)] : 2
            o.scaling = scalings[rng.next(below: scalings.count)]
            o.learningRate = [Float.nan, .infinity, 1e-4, 0, -1, 3e38][rng.next(below: 6)]
            let context = "round \(round): crop \(o.crop!) batch \(o.batch!) scaling \(o.scaling) lr \(o.learningRate!)"
            do { try o.validate(source: src) } catch { assertMessage(error, context) }
            do { _ = try CropSampler(source: src, crop: o.crop!, scaling: o.scaling) } catch { assertMessage(error, context) }
        }
        for text in ["9223372036854775807,1,1", "1,9223372036854775807,9223372036854775807", "4,4,9223372036854775807,8",
                     "-9223372036854775808,1,1", "1,1,1,9223372036854775807", "4611686018427387904,4611686018427387904,1",
                     "99999999999999999999,1,1", "+4,4,4", "4,4", ""] {
            XCTAssertThrowsError(try NoiseLayout(parsing: text, defaultHidden: 64), text) { assertMessage($0, text) }
        }
        XCTAssertThrowsError(try CropSampler(source: src, crop: 9_223_372_036_854_775_776, scaling: 2)) {
            XCTAssertTrue("\($0)".contains("does not fit the 64x64 source"), "\($0)")
        }
    }

    /// The resume file's entries rewritten with extreme values, one at a time and several at once, seeded: the
    /// reader throws an error naming the file or resumes, never traps.
    func testResumeFilesWithExtremeNumbersAreErrorsNamingTheFile() throws {
        let training = try GANTraining(source: source(), options: options())
        for _ in 0..<2 { try training.step() }
        let path = tmp + "/G.pth", statePath = GANTraining.resumePath(for: path)
        try training.save(generatorTo: path)
        let state = try Checkpoint.load(statePath)
        let entries = state.keys.map { CheckpointEntry($0, state[$0]!)! }
        let floats: [Float] = [.nan, .infinity, -.infinity, 1e30, -1, 3e38, 16_777_217, 0.5, -0.0, 2]
        let integers: [Int64] = [.max, .min, 9_223_372_036_854_775_776, -32, -1, 0, 1 << 40, 32, 64, Int64(Int32.max)]
        let targets = ["train.history", "train.crop_batch_augment", "train.scaling_lr", "train.iteration", "train.rng",
                       "train.seed", "adam.generate.0.weight.exp_avg_sq", "discriminate.0.bias"]
        var rng = SplitMix64(seed: 29)
        var refused = 0
        let start = Date()
        for round in 0..<40 {
            var mutated = entries
            var changes: [String] = []
            for _ in 0..<(1 + rng.next(below: 2)) {
                let key = targets[rng.next(below: targets.count)]
                let i = mutated.firstIndex { $0.key == key }!
                let t = state[key]!
                if var v = t.integers {
                    let at = rng.next(below: v.count)
                    v[at] = integers[rng.next(below: integers.count)]
                    mutated[i] = CheckpointEntry(key, shape: t.shape, integers: v)
                    changes.append("\(key)[\(at)] = \(v[at])")
                } else {
                    var v = t.values
                    let at = rng.next(below: v.count)
                    v[at] = floats[rng.next(below: floats.count)]
                    mutated[i] = CheckpointEntry(key, shape: t.shape, floats: v)
                    changes.append("\(key)[\(at)] = \(v[at])")
                }
            }
            try Checkpoint.write(mutated, to: statePath)
            do {
                let resumed = try GANTraining(resuming: path, source: source(), preset: .small)
                XCTAssertTrue(resumed.history.allSatisfy { $0.discriminatorLoss.isFinite && $0.iteration <= resumed.iteration })
            } catch {
                refused += 1
                XCTAssertTrue("\(error)".hasPrefix(statePath + ": "), "round \(round) \(changes): \(error)")
            }
        }
        XCTAssertGreaterThan(refused, 20)
        XCTAssertLessThan(Date().timeIntervalSince(start), 120)
        // The cases of the issue, one by one.
        for (key, row, value) in [("train.history", 0, Float.nan), ("train.history", 0, .infinity), ("train.history", 0, 1e30)] {
            var mutated = entries
            let i = mutated.firstIndex { $0.key == key }!
            var v = state[key]!.values
            v[row] = value
            mutated[i] = CheckpointEntry(key, shape: state[key]!.shape, floats: v)
            try Checkpoint.write(mutated, to: statePath)
            XCTAssertThrowsError(try GANTraining(resuming: path, source: source(), preset: .small)) {
                XCTAssertTrue("\($0)".contains("\(statePath): train.history row 1 holds"), "\($0)")
            }
        }
    }

    /// A generator file and a resume file from different checkpoints (what a kill between the two renames leaves)
    /// are refused with an error naming the resume file, instead of resuming a mixture.
    func testAGeneratorAndAResumeFileFromDifferentCheckpointsAreRefused() throws {
        let training = try GANTraining(source: source(), options: options())
        let path = tmp + "/G.pth", statePath = GANTraining.resumePath(for: path)
        try training.step()
        try training.save(generatorTo: path)
        let older = try SafeFile.read(path, limit: 1 << 30)
        try training.step()
        try training.save(generatorTo: path)
        XCTAssertEqual(try GANTraining(resuming: path, source: source(), preset: .small).iteration, 2)
        try SafeFile.write(older, to: path)
        XCTAssertThrowsError(try GANTraining(resuming: path, source: source(), preset: .small)) {
            XCTAssertTrue("\($0)".hasPrefix(statePath + ": the checkpoint of iteration 2 was written with another \(path)"), "\($0)")
        }
    }

    /// Files written together are renamed only when all are written: a failure while writing the second leaves
    /// both old files and no temporary file.
    func testFilesWrittenTogetherChangeTogether() throws {
        let (a, b) = (tmp + "/a.pth", tmp + "/b.pth")
        try SafeFile.write([1], to: a)
        try SafeFile.write([1], to: b)
        struct Stop: Error {}
        func bytes(_ v: [UInt8]) -> (FileSink) throws -> Void { { sink in try v.withUnsafeBytes { try sink.write($0) } } }
        XCTAssertThrowsError(try SafeFile.write(together: [(a, bytes([2])), (b, { _ in throw Stop() })])) { XCTAssertTrue($0 is Stop) }
        XCTAssertEqual(try SafeFile.read(a, limit: 10), [1])
        XCTAssertEqual(try SafeFile.read(b, limit: 10), [1])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp).sorted(), ["a.pth", "b.pth"])
        try SafeFile.write(together: [(a, bytes([2])), (b, bytes([3]))])
        XCTAssertEqual(try SafeFile.read(a, limit: 10), [2])
        XCTAssertEqual(try SafeFile.read(b, limit: 10), [3])
        // A checkpoint pair: the second file records the first's SHA-256, as the reader computes it from the file.
        var recorded = ""
        try Checkpoint.writePair([CheckpointEntry("x", shape: [2], floats: [1, 2])], to: a,
                                 then: { hash in recorded = hash; return [CheckpointEntry("y", shape: [], integers: [1])] }, to: b)
        XCTAssertEqual(recorded, try Checkpoint.sha256(ofFileAt: a))
        XCTAssertEqual(try Checkpoint.load(b).keys, ["y"])
    }

    func testStaleTemporariesOfAKilledWriterAreRemovedAndLiveOnesKept() throws {
        let path = tmp + "/G.pth"
        // A process that has exited: its pid is free (until reused, when its files are kept, to be safe).
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = child.processIdentifier
        let stale = [".G.pth.tmp-\(dead)-abc", ".G.resume.pth.tmp-\(dead)-xyz"]
        let kept = [".G.pth.tmp-\(getppid())-abc", ".H.pth.tmp-\(dead)-abc", ".G.pth.tmp-\(getpid())-q"]
        for name in stale + kept { try SafeFile.write([1, 2, 3], to: tmp + "/" + name) }
        XCTAssertEqual(Set(GANTraining.removeStaleTemporaries(of: path)), Set(stale))
        let left = try FileManager.default.contentsOfDirectory(atPath: tmp)
        XCTAssertEqual(Set(left), Set(kept))
    }

    /// Weights that are finite but huge make infinities and NaNs: an error, not a black image.
    func testHugeWeightsAreAnErrorNotABlackImage() throws {
        let g = try GANTraining(source: source(), options: options()).generator
        for (_, p) in g.namedParameters { p.value = [Float](repeating: 3e38, count: p.value.count) }
        let path = tmp + "/huge.pth"
        try g.save(path)
        let loaded = try Generator.load(path)
        for attempt in [{ _ = try GANGeneration.generate(loaded, width: 32, height: 32, seed: 0, tile: false) },
                        { _ = try GANGeneration.animate(loaded, width: 32, height: 32, frames: 2, walk: .sine, seed: 0) }] {
            XCTAssertThrowsError(try attempt()) {
                XCTAssertEqual(($0 as? GANError)?.concernsWeights, true, "\($0)")
                XCTAssertTrue("\($0)".contains("not finite"), "\($0)")
            }
        }
    }

    func testOutputPathsAreCheckedBeforeTheWork() throws {
        let path = tmp + "/G.pth"
        try FileManager.default.createSymbolicLink(atPath: GANTraining.resumePath(for: path), withDestinationPath: "/etc/passwd")
        XCTAssertThrowsError(try GANTraining.checkOutputs(path)) {
            XCTAssertTrue("\($0)".contains("G.resume.pth: is a symbolic link"), "\($0)")
        }
        XCTAssertThrowsError(try GANTraining.checkOutputs(tmp + "/x.png")) {
            XCTAssertTrue("\($0)".contains("x.png: a generator checkpoint is written to a .pth file, not a .png file"), "\($0)")
        }
        XCTAssertThrowsError(try GIF.encode([source(8)], delay: -5)) { XCTAssertTrue("\($0)".contains("got -5"), "\($0)") }
        XCTAssertThrowsError(try GIF.encode([source(8)], delay: 65536))
    }
}
