import Foundation
import XCTest
import TxnImage
import TxnTensor
import TxnTestSupport
@testable import TxnNotebook

/// Texture networks in a notebook (issue 20): `texnet`, `train`, `generate`, `save`, `loadtexnet`, `plot`, on tiny
/// runs of the small preset at 32x32 on the real VGG-19, and every bad input refused at the argument it concerns.
final class TexNetNotebookTests: XCTestCase {
    static let repoRoot = InterpreterTests.repoRoot
    var out = RecordingOutput(next: nil)
    var interp: Interpreter!
    var tmp = ""

    override func setUp() {
        tmp = NSTemporaryDirectory() + "txn-texnet-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        out = RecordingOutput(next: nil)
        interp = Interpreter(output: out, baseDirectory: tmp, outputDirectory: tmp, modelsDirectory: Self.repoRoot + "/Models")
    }

    override func tearDown() {
        MemoryBudget.limitBytes = MemoryBudget.defaultLimitBytes
        try? FileManager.default.removeItem(atPath: tmp)
    }

    /// Runs `source`, which must succeed.
    func run(_ source: String, file: StaticString = #filePath, line: UInt = #line) {
        let errors = interp.run(source: source, file: "t.txn")
        XCTAssertEqual(errors.map(\.description), [], out.text, file: file, line: line)
    }

    /// A 64x64 crop of gravel as `x`, and a texture network `t` on it at 32x32, batch 2.
    func setUpTiny(_ keys: String = "") {
        run("""
            src = load "\(Self.repoRoot)/Notebooks/data/gravel.png"
            x = preprocess src size=64
            t = texnet x size=32 batch=2 seed=1 \(keys)
            """)
    }

    func texnet(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> TexNetValue {
        guard case .texnet(let t)? = interp.variables[name] else {
            XCTFail("\(name) is \(interp.variables[name]?.typeName ?? "unset"), not a texture network", file: file, line: line)
            throw CocoaError(.featureUnsupported)
        }
        return t
    }

    func image(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Image {
        guard case .image(let i)? = interp.variables[name] else {
            XCTFail("\(name) is \(interp.variables[name]?.typeName ?? "unset"), not an image", file: file, line: line)
            throw CocoaError(.featureUnsupported)
        }
        return i
    }

    /// Training lowers the texture loss, prints the GAN's kind of progress line, and keeps the fixed-noise samples
    /// it was asked for; `plot t` draws the curve and the fields read the run.
    func testTrainingLowersTheLossAndKeepsSamples() throws {
        setUpTiny()
        run("train t steps=12 every=4 snapshot=6\ncurve = plot t")
        let t = try texnet("t")
        let history = try XCTUnwrap(t.training?.history.map(\.loss))
        XCTAssertEqual(history.count, 12)
        XCTAssertEqual(t.training?.iteration, 12)
        let first = history.prefix(3).reduce(0, +) / 3, last = history.suffix(3).reduce(0, +) / 3
        XCTAssertLessThan(last, 0.5 * first, "loss \(history)")
        XCTAssertEqual(t.samples.map(\.iteration), [6, 12])
        XCTAssertEqual([t.samples[0].image.width, t.samples[0].image.height], [32, 32])
        XCTAssertNotEqual(t.samples[0].image.pixels, t.samples[1].image.pixels, "the network changed between the samples")
        for line in ["iter 1/12  loss ", "iter 4/12  loss ", "iter 12/12  loss ", " s/it  ", " left", "12 iterations in "] {
            XCTAssertTrue(out.text.contains(line), "missing '\(line)' in\n\(out.text)")
        }
        XCTAssertGreaterThan(try image("curve").width, 100)
        run("l = compare t.sample x")
        guard case .number(let loss)? = try interp.variables["t"]?.field("loss") else { return XCTFail("t.loss") }
        XCTAssertEqual(loss, history.last!)
    }

    /// The same seed gives the same bytes, another seed another texture; a saved network loads back to the same
    /// images, and with its source it resumes exactly where the run was.
    func testGenerateIsDeterministicAndSaveLoadResumesExactly() throws {
        setUpTiny()
        run("""
            train t steps=3 every=10
            u = generate t size=48x32 seed=5
            v = generate t size=48x32 seed=5
            w = generate t size=48x32 seed=6
            save t "T.pth"
            h = loadtexnet "T.pth"
            r = generate h size=48x32 seed=5
            k = loadtexnet "T.pth" x
            train k steps=2
            train t steps=2
            a = generate t size=32 seed=9
            b = generate k size=32 seed=9
            """)
        let u = try image("u")
        XCTAssertEqual([u.width, u.height], [48, 32])
        XCTAssertEqual(u.pixels, try image("v").pixels)
        XCTAssertNotEqual(u.pixels, try image("w").pixels)
        XCTAssertEqual(u.pixels, try image("r").pixels, "the saved network makes the same image from the same seed")
        XCTAssertNil(try texnet("h").training)
        XCTAssertEqual(try texnet("k").training?.iteration, 5)
        // The resume file keeps the history's losses as float32 (the iterations after the resume are exact).
        let resumed = try XCTUnwrap(texnet("k").training?.history.map(\.loss)), own = try XCTUnwrap(texnet("t").training?.history.map(\.loss))
        XCTAssertEqual(resumed.count, own.count)
        for (a, b) in zip(resumed, own) { XCTAssertEqual(a, b, accuracy: 1e-6 * b) }
        XCTAssertEqual(resumed.suffix(2), own.suffix(2))
        XCTAssertEqual(try image("a").pixels, try image("b").pixels, "a resumed run computes what the uninterrupted one did")
    }

    /// A front end's stop request (the web page's Stop, as Ctrl-C in a terminal) ends `train` after the current
    /// iteration and keeps what was learnt: the network is exactly that of a run of that many iterations, and the
    /// monitor saw every iteration with the samples it asked for.
    func testAStopKeepsWhatWasLearntExactly() throws {
        setUpTiny()
        var seen: [Int] = [], sampled: [Int] = []
        interp.monitor = RunMonitor(snapshotEvery: 2, texnetProgress: { r, total, _, sample in
            XCTAssertEqual(total, 6)
            seen.append(r.iteration)
            if sample != nil { sampled.append(r.iteration) }
        }, shouldStop: { seen.count >= 3 })
        run("train t steps=6 every=10\na = generate t size=32 seed=4")
        interp.monitor = nil
        XCTAssertEqual(seen, [1, 2, 3])
        XCTAssertEqual(sampled, [2])
        XCTAssertEqual(try texnet("t").training?.iteration, 3)
        run("u = texnet x size=32 batch=2 seed=1\ntrain u steps=3 every=10\nb = generate u size=32 seed=4")
        XCTAssertEqual(try image("a").pixels, try image("b").pixels)
    }

    /// With tile=true every convolution pads circularly, so the generated texture wraps around as smoothly as it
    /// runs inside: the seam measure of the GAN's and Gatys' tiling tests is about 1.
    func testTiledOutputIsSeamless() throws {
        setUpTiny("tile=true")
        run("train t steps=4 every=10\ntt = generate t size=96x64 tile=true seed=3\npreview = tile tt 2x2")
        let tiled = try image("tt")
        let ratio = SeamMeasure.ratio(tiled.pixels, width: tiled.width, height: tiled.height)
        XCTAssertLessThan(abs(ratio - 1), 0.15, "seam ratio \(ratio)")
        XCTAssertEqual(try image("preview").width, 192)
    }

    /// Every bad input is refused with a message that says what was wrong, at the argument it concerns (the caret
    /// under the last occurrence of `at` in the line).
    func testBadInputIsRefusedAtItsPosition() throws {
        setUpTiny()
        run("train t steps=1\ng = gan x crop=32 batch=2\nsave g \"G.pth\"\nsave t \"T.pth\"")
        MemoryBudget.limitBytes = 64 << 20
        let cases: [(line: String, at: String, message: String)] = [
            ("n = texnet x size=40", "40", "40x40 cannot be made by 5 noise scales: each side must be a multiple of 16"),
            ("n = texnet x size=16", "16", "at least 32"),
            ("n = texnet x size=128", "128", "the training size 128 is larger than the source (64x64)"),
            ("n = texnet x", "x", "size (the preset's): the training size 128 is larger than the source"),
            ("n = texnet x size=32 norm=batch batch=1", "1", "batch norm needs at least 2 images a batch"),
            ("n = texnet x size=32 lr=2", "2", "lr: the learning rate must be between 0 and 1"),
            ("n = texnet x size=32 batch=100", "100", "batch"),
            ("n = texnet x size=64 batch=64", "64 batch", "size: "),
            ("n = loadtexnet \"G.pth\"", "\"G.pth\"", "this is a GAN generator (keys generate.0.weight, …), not a texture network"),
            ("n = loadgan \"T.pth\"", "\"T.pth\"", "T.pth"),
            ("n = generate t size=50", "50", "50x50 cannot be made by 5 noise scales"),
            ("n = generate t size=64x40", "64x40", "64x40 cannot be made"),
            ("n = generate t size=4096", "4096", "over the memory limit of 64 MiB"),
            ("n = generate x size=32", "x", "network: expected a GAN or a texture network"),
            ("train t steps=0", "0", "steps"),
            ("n = animate t \"a.gif\"", "t \"a.gif\"", "expected a GAN"),
        ]
        for c in cases {
            guard let d = interp.run(source: c.line, file: "bad.txn").first else {
                XCTFail("no error for \(c.line)")
                continue
            }
            let column = try XCTUnwrap(c.line.range(of: c.at, options: .backwards).map { c.line.distance(from: c.line.startIndex, to: $0.lowerBound) + 1 })
            XCTAssertEqual(d.location.line, 1, d.description)
            XCTAssertEqual(d.location.column, column, "\(c.line): \(d.description)")
            XCTAssertTrue(d.message.contains(c.message), "\(c.line): \(d.description)\nshould contain: \(c.message)")
        }
        XCTAssertNil(interp.variables["n"], "no refused statement assigned anything")
    }

    /// `explain texnet` gives the formulas of the generator, the loss and its gradient, and the sizes of a call;
    /// `explain train t` and `explain generate t` those of the network at hand, refusing what the commands refuse.
    func testExplainGivesTheLossGradientAndSizes() throws {
        setUpTiny()
        run("explain texnet x size=32 batch=2\nexplain train t steps=5\nexplain generate t size=64x32\nexplain generate t size=40")
        for line in ["L(θ) = (1/B) Σ_b L_tex(G_θ(z_b))", "∂L/∂θ = (1/B) Σ_b (∂G_θ(z_b)/∂θ)ᵀ ∂L_tex/∂x",
                     "z_k per image: 3 × 2 × 2, 3 × 4 × 4, 3 × 8 × 8, 3 × 16 × 16, 3 × 32 × 32",
                     "channels after each join: 16 → 24 → 32 → 40, then x 3 × 32 × 32", "batch B = 2",
                     "iterations 1 to 5", "z 3 × 2 × 4, 3 × 4 × 8, 3 × 8 × 16, 3 × 16 × 32, 3 × 32 × 64 → x 3 × 32 × 64",
                     "generate refuses 40 × 40"] {
            XCTAssertTrue(out.text.contains(line), "missing '\(line)' in\n\(out.text)")
        }
        let d = try XCTUnwrap(interp.run(source: "explain texnet x size=128", file: "e.txn").first)
        XCTAssertEqual(d.location.column, 23, d.description)
        XCTAssertTrue(d.message.contains("larger than the source"), d.description)
    }
}
