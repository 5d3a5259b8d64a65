import Foundation
import XCTest
@testable import TxnNotebook
import TxnTensor

/// The GAN's surfaces against hostile input (issue 19): numbers from the command line and notebooks, FIFOs where
/// a generator is read, outputs of the wrong kind, and a training process killed while it writes checkpoints.
final class GANHostileTests: XCTestCase {
    static let gravel = InterpreterTests.repoRoot + "/Notebooks/data/gravel.png"
    var tmp = ""

    override func setUp() {
        tmp = NSTemporaryDirectory() + "txn-gan-hostile-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        MemoryBudget.limitBytes = MemoryBudget.defaultLimitBytes
        try? FileManager.default.removeItem(atPath: tmp)
    }

    /// A generator of the small preset after one iteration at crop 32 (and its resume file), made by the binary.
    func trainTiny(_ path: String, steps: Int = 1) throws {
        let r = try TxnProcess.run(["gan", "train", Self.gravel, "-o", path, "--crop", "32", "--batch", "2",
                                    "--steps", "\(steps)", "--checkpoint-every", "0"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    /// A failed run must exit with an error (not a signal) whose message names what was wrong.
    func assertRefused(_ args: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try TxnProcess.run(args, timeout: 30)
        XCTAssertTrue(r.status > 0 && r.status < 128, "\(args): status \(r.status)\n\(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(expected), "\(args): \(r.stderr)", file: file, line: line)
    }

    // MARK: numbers

    static let extremes = ["9223372036854775807", "9223372036854775776", "4611686018427387904", "4294967297", "100000",
                           "0", "-1", "-32", "-9223372036854775808", "1", "31", "32", "33", "64", "1e3", "nan"]

    /// `txn gan train|generate|animate` with random extreme numbers: every run ends with an exit code, never a
    /// signal, and a refusal names an option or a file.
    func testCommandLineNumbersNeverTrap() throws {
        let g = tmp + "/G.pth"
        try trainTiny(g)
        var rng = SplitMix64(seed: 2026)
        func pick(_ items: [String]) -> String { items[rng.next(below: items.count)] }
        let start = Date()
        var (succeeded, refused) = (0, 0)
        for round in 0..<60 {
            let n = pick(Self.extremes), m = pick(Self.extremes)
            var args: [String]
            switch round % 4 {
            case 0: args = ["gan", "generate", g, "-o", tmp + "/o.png", "--size", n + (rng.next(below: 2) == 0 ? "" : "x" + m)]
                    if rng.next(below: 2) == 0 { args.append("--tile") }
            case 1: args = ["gan", "animate", g, "-o", tmp + "/o.gif", "--size", n + "x" + m, "--frames", pick(["2", "3"] + Self.extremes),
                            "--delay", pick(["1", "5", "65536"] + Self.extremes)]
            case 2: args = ["gan", "train", Self.gravel, "-o", tmp + "/t.pth", "--steps", "1", "--crop", n, "--batch", pick(["2"] + Self.extremes),
                            "--scaling", pick(["1", "2", "16", "17", "inf", "nan", "1e308"])]
            default: args = ["gan", "train", Self.gravel, "-o", tmp + "/p.pth", "--steps", "1", "--crop", "32", "--batch", "2", "--periodic",
                             "--noise-split", [n, m, pick(Self.extremes)].joined(separator: ",")]
            }
            args += ["--max-memory", "256"]
            let r = try TxnProcess.run(args, timeout: 60)
            XCTAssertLessThan(r.status, 128, "round \(round) \(args): killed by signal \(r.status - 128)\n\(r.stderr.suffix(800))")
            if r.status != 0 {
                XCTAssertTrue(r.stderr.contains("Error: ") && !r.stderr.contains("NSCocoaErrorDomain"), "round \(round) \(args): \(r.stderr)")
                refused += 1
            } else {
                succeeded += 1
            }
        }
        print("command-line fuzz: \(succeeded) runs succeeded, \(refused) refused")
        XCTAssertGreaterThan(refused, 30)
        XCTAssertLessThan(Date().timeIntervalSince(start), 400)
    }

    /// The five traps of the issue, and the leniencies that should be refusals, each once.
    func testTheIssuesNumbersAreRefusedByName() throws {
        let g = tmp + "/G.pth"
        try trainTiny(g)
        let out = tmp + "/o.png"
        try assertRefused(["gan", "generate", g, "-o", out, "--size", "9223372036854775807"], "--size")
        try assertRefused(["gan", "generate", g, "-o", out, "--size", "9223372036854775776", "--tile"], "(tileable) needs more memory than can be counted")
        try assertRefused(["gan", "train", Self.gravel, "-o", tmp + "/t.pth", "--crop", "9223372036854775776"], "does not fit")
        try assertRefused(["gan", "train", Self.gravel, "-o", tmp + "/t.pth", "--crop", "9223372036854775776", "--scaling", "2"], "does not fit")
        try assertRefused(["gan", "train", Self.gravel, "-o", tmp + "/t.pth", "--periodic", "--noise-split", "9223372036854775807,1,1"],
                          "--noise-split")
        for size in ["16xabcx16", "+16x+16", "64x", "x64", "16x16x16", "0x16", " 16"] {
            try assertRefused(["gan", "generate", g, "-o", out, "--size", size], "--size: '\(size)' is not a size")
        }
        try assertRefused(["gan", "animate", g, "-o", tmp + "/a.gif", "--delay", "-5"], "--delay")
        try assertRefused(["gan", "train", Self.gravel, "-o", tmp + "/t.pth", "--crop", "-32"], "the crop must be")
        try assertRefused(["gan", "train", Self.gravel, "-o", tmp + "/t.pth", "--steps", "1", "--samples", "/dev/null"],
                          "--samples /dev/null: is a character device, not a folder")
        try assertRefused(["gan", "animate", g, "-o", tmp + "/a.png"], "an animation is written to a .gif file, not a .png file")
        try assertRefused(["gan", "train", Self.gravel, "-o", tmp + "/t.png", "--steps", "1"], "a generator checkpoint is written to a .pth file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/a.png"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/t.png"))
        // G.resume.pth a symlink: refused before training, not after it.
        let link = tmp + "/L.pth"
        try FileManager.default.createSymbolicLink(atPath: tmp + "/L.resume.pth", withDestinationPath: tmp + "/elsewhere")
        let r = try TxnProcess.run(["gan", "train", Self.gravel, "-o", link, "--crop", "32", "--batch", "2", "--steps", "1"], timeout: 60)
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("L.resume.pth: is a symbolic link"), r.stderr)
        XCTAssertFalse(r.stdout.contains("iter 1/"), "trained before checking its outputs: \(r.stdout)")
    }

    /// The notebook's GAN statements with random extreme numbers, seeded and bounded in time: nothing traps, every
    /// failure is a diagnostic with a position.
    func testNotebookGANStatementsWithExtremeNumbersFailWithPositions() throws {
        try MemoryBudget.setLimit(mebibytes: 64)
        let g = tmp + "/G.pth"
        try trainTiny(g)
        var rng = SplitMix64(seed: 77)
        func pick(_ items: [String]) -> String { items[rng.next(below: items.count)] }
        let numbers = ["9223372036854775807", "9223372036854775776", "1e300", "-1e300", "-32", "0", "1", "2", "32", "64", "0.5",
                       "4294967297", "-9223372036854775808", "99999999999999999999", "1e-300"]
        let out = RecordingOutput(next: nil)
        let interp = Interpreter(output: out, baseDirectory: tmp, outputDirectory: tmp, modelsDirectory: tmp)
        XCTAssertEqual(interp.run(source: "src = load \"\(Self.gravel)\"\ng = loadgan \"G.pth\" src", file: "setup.txn").count, 0, out.text)
        let start = Date()
        var (succeeded, failed) = (0, 0)
        for round in 0..<150 {
            let n = pick(numbers), m = pick(numbers), k = pick(numbers)
            let statement: String
            switch round % 6 {
            case 0: statement = "h = gan src crop=\(n) batch=\(m) scaling=\(k) lr=\(pick(numbers))"
            case 1: statement = "h = gan src crop=32 batch=2 periodic=true split=\"\(n),\(m),\(k)\""
            case 2: statement = "t = generate g size=\(n)x\(m) tile=\(pick(["true", "false"])) seed=\(k)"
            case 3: statement = "a = animate g \"a\(round).gif\" size=\(pick(["32", "64", n]))x\(m) frames=\(k) delay=\(pick(numbers))"
            case 4: statement = "save g \"\(pick(["s.pth", "s.png", "s", "/dev/null", "sub/s.pth"]))\""
            default: statement = "l = loadgan \"\(pick(["G.pth", "none.pth", "/dev/zero", "setup.txn"]))\" src"
            }
            let lines = SourceLines(normalizedSource(statement)).lines.count
            let diagnostics = interp.run(source: statement, file: "fuzz.txn", keepGoing: true)
            if diagnostics.isEmpty { succeeded += 1 } else { failed += 1 }
            for d in diagnostics {
                XCTAssertTrue(d.location.line >= 1 && d.location.line <= lines, "\(statement)\n\(d)")
                XCTAssertGreaterThanOrEqual(d.location.column, 1, statement)
                XCTAssertTrue(d.description.hasPrefix("fuzz.txn:\(d.location.line):\(d.location.column): error: "), d.description)
            }
        }
        print("notebook GAN fuzz: \(succeeded) statements ran, \(failed) failed with a diagnostic")
        XCTAssertGreaterThan(succeeded, 5)
        XCTAssertGreaterThan(failed, 75)
        XCTAssertLessThan(Date().timeIntervalSince(start), 120)
    }

    func testNotebookRefusesOutputsOfTheWrongKindWherePointed() throws {
        let g = tmp + "/G.pth"
        try trainTiny(g)
        let out = RecordingOutput(next: nil)
        let interp = Interpreter(output: out, baseDirectory: tmp, outputDirectory: tmp, modelsDirectory: tmp)
        XCTAssertEqual(interp.run(source: "src = load \"\(Self.gravel)\"\ng = loadgan \"G.pth\" src", file: "setup.txn").count, 0, out.text)
        var d = interp.run(source: "save g \"x.png\"", file: "t.txn")
        XCTAssertEqual(d.first?.location.column, 8, "\(d)")
        XCTAssertTrue(d.first?.message.contains("a generator checkpoint is written to a .pth file, not a .png file") == true, "\(d)")
        d = interp.run(source: "a = animate g \"x.png\" size=32 frames=2", file: "t.txn")
        XCTAssertEqual(d.first?.location.column, 15, "\(d)")
        XCTAssertTrue(d.first?.message.contains("an animation is written to a .gif file") == true, "\(d)")
        for name in ["x.png", "x.resume.pth", "x.png.resume.pth"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/" + name), name)
        }
    }

    // MARK: FIFOs

    /// A FIFO wherever a GAN path is read (the generator of `generate`, `animate`, `loadgan`; the generator or its
    /// resume file of `--resume`): a prompt error naming the FIFO, never a process blocked in open().
    func testFIFOsWhereAGeneratorIsReadAreRefusedAtOnce() throws {
        let fifo = tmp + "/F.pth"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let real = tmp + "/G.pth"
        try trainTiny(real)
        let cases: [[String]] = [
            ["gan", "generate", fifo, "-o", tmp + "/o.png"],
            ["gan", "animate", fifo, "-o", tmp + "/o.gif", "--size", "32", "--frames", "2"],
            ["run", "-c", "g = loadgan \"\(fifo)\""],
            ["run", "-c", "src = load \"\(Self.gravel)\"; g = loadgan \"\(fifo)\" src"],
        ]
        for args in cases {
            let r = try TxnProcess.run(args, timeout: 20)
            XCTAssertTrue(r.status > 0 && r.status < 128, "\(args): \(r.status) \(r.stderr)")
            XCTAssertTrue((r.stderr + r.stdout).contains("F.pth: is a FIFO, not a regular file"), "\(args): \(r.stderr) \(r.stdout)")
            XCTAssertLessThan(r.seconds, 15, "\(args)")
        }
        // The resume file a FIFO: `--resume` and `loadgan` with a source refuse it, by name.
        XCTAssertEqual(mkfifo(tmp + "/H.resume.pth", 0o600), 0)
        try FileManager.default.copyItem(atPath: real, toPath: tmp + "/H.pth")
        for args in [["gan", "train", Self.gravel, "-o", tmp + "/H.pth", "--resume", "--steps", "2"],
                     ["run", "-c", "src = load \"\(Self.gravel)\"; g = loadgan \"\(tmp)/H.pth\" src"]] {
            let r = try TxnProcess.run(args, timeout: 20)
            XCTAssertTrue(r.status > 0 && r.status < 128, "\(args): \(r.status) \(r.stderr)")
            XCTAssertTrue((r.stderr + r.stdout).contains("H.resume.pth: is a FIFO"), "\(args): \(r.stderr) \(r.stdout)")
        }
    }

    // MARK: checkpoints under SIGKILL

    func temporaries(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".tmp-") }
    }

    /// `txn gan train` checkpointing every iteration, killed with SIGKILL at random moments, then resumed to the
    /// same total: the resumed run either ends with exactly the generator of an uninterrupted run (training is
    /// deterministic and resumes exactly) or refuses a mixed pair by naming the resume file; no temporary file of
    /// the killed run survives the resumed one.
    func testKilledWhileCheckpointingThenResumedIsConsistent() throws {
        let steps = 6
        let common = ["--crop", "32", "--batch", "2", "--steps", "\(steps)", "--checkpoint-every", "1", "--every", "1", "--seed", "11"]
        let reference = tmp + "/ref/G.pth"
        let ref = try TxnProcess.run(["gan", "train", Self.gravel, "-o", reference] + common, timeout: 300)
        XCTAssertEqual(ref.status, 0, ref.stderr)
        let expected = try XCTUnwrap(FileManager.default.contents(atPath: reference))
        // Random moments, different every run (the seed is in every message, to replay one).
        let seed = UInt64(Date().timeIntervalSince1970)
        var rng = SplitMix64(seed: seed)
        var (exact, refused, leftTemporaries) = (0, 0, 0)
        for trial in 0..<8 {
            let dir = tmp + "/trial\(trial)", path = dir + "/G.pth"
            let delay = 0.3 + Double(rng.next(below: 1000)) / 1000 * ref.seconds * 0.9
            let killed = try TxnProcess.run(["gan", "train", Self.gravel, "-o", path] + common, timeout: 300) { pid in
                usleep(useconds_t(delay * 1e6))
                kill(pid, SIGKILL)
            }
            if !temporaries(dir).isEmpty { leftTemporaries += 1 }
            let resumed = try TxnProcess.run(["gan", "train", Self.gravel, "-o", path, "--resume"] + common, timeout: 300)
            let context = "seed \(seed) trial \(trial), killed after \(delay) s (status \(killed.status)): \(resumed.stderr)\n\(killed.stdout.suffix(300))"
            XCTAssertTrue(resumed.status >= 0 && resumed.status < 128, context)
            if resumed.status == 0 {
                XCTAssertEqual(FileManager.default.contents(atPath: path), expected, "resumed a mixed pair: " + context)
                exact += 1
            } else if resumed.stderr.contains("G.resume.pth: the checkpoint of iteration") {
                XCTAssertTrue(resumed.stderr.contains("from different checkpoints"), context)
                refused += 1
            } else {
                // Killed before the first checkpoint: there is nothing to resume.
                XCTAssertTrue(resumed.stderr.contains("no such file") || resumed.stderr.contains("no resume state"), context)
            }
            XCTAssertEqual(temporaries(dir), [], "temporaries survived the resumed run: " + context)
        }
        print("kill-and-resume: \(exact) resumed exactly, \(refused) mixed pairs refused, \(leftTemporaries) kills left temporaries")
        XCTAssertGreaterThan(exact + refused, 0)
    }
}
