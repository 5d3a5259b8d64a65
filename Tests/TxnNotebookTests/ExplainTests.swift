import Foundation
import XCTest
import TxnImage
import TxnTensor
@testable import TxnNotebook

/// `explain COMMAND args…` and `help COMMAND --math` against fixed shapes: the numbers are worked out by hand here
/// (VGG-19's channel counts, ceil-mode pooling, 3·H·W unknowns, L-BFGS's 2·m·n floats, the GAN's halvings).
final class ExplainTests: XCTestCase {
    var out = RecordingOutput(next: nil)
    var interp: Interpreter!

    override func setUp() {
        out = RecordingOutput(next: nil)
        interp = Interpreter(output: out, baseDirectory: InterpreterTests.repoRoot + "/Notebooks",
                             outputDirectory: NSTemporaryDirectory(), modelsDirectory: InterpreterTests.repoRoot + "/Models")
        // A 256x256 image and its features at two layers, with the shapes VGG-19 gives them.
        interp.variables["x"] = .image(Image(width: 256, height: 256, fill: (0.5, 0.4, 0.3)))
        interp.variables["odd"] = .image(Image(width: 100, height: 60, fill: (0.5, 0.4, 0.3)))
        interp.variables["f"] = .features(FeatureSet(layers: ["conv1_1", "pool2"],
                                                     tensors: [Tensor(zeros: [1, 64, 256, 256]), Tensor(zeros: [1, 128, 64, 64])]))
    }

    /// The text `source` printed, with runs of spaces collapsed (tables are aligned with padding).
    func explain(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let before = out.text.count
        let errors = interp.run(source: source, file: "t.txn")
        XCTAssertTrue(errors.isEmpty, "\(errors)", file: file, line: line)
        return String(out.text.dropFirst(before)).replacingOccurrences(of: " +", with: " ", options: .regularExpression)
    }

    func assertContains(_ text: String, _ parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        for p in parts { XCTAssertTrue(text.contains(p), "missing \(p.debugDescription) in:\n\(text)", file: file, line: line) }
    }

    func testGramOfOneLayerFillsInItsShapes() {
        let text = explain("explain gram f.pool2")
        assertContains(text, ["G = F Fᵀ / M", "eq. 1", "with f.pool2: F 128 × 4096 (128 maps of 64 × 64), M = 4096, N = 128, G 128 × 128"])
    }

    func testGramOfAFeatureSetAndOfAnImage() {
        assertContains(explain("explain gram f"), ["with f.conv1_1: F 64 × 65536", "with f.pool2: F 128 × 4096"])
        assertContains(explain("explain gram f layers=pool2"), ["with f.pool2: F 128 × 4096"])
        XCTAssertFalse(explain("explain gram f layers=pool2").contains("f.conv1_1"))
        // From an image: the shapes VGG-19 would give, without running it (pool3 of 256: 256 maps of 32 x 32).
        assertContains(explain("explain gram x layers=pool3 norm=none"), ["pool3 of x (256 × 256): F 256 × 1024", "M = 1024", "G 256 × 256 (no division)"])
    }

    func testOptimizeGivesTheLossItsGradientAndLBFGSWithSizes() {
        let text = explain("explain optimize x size=512x256 layers=conv1_1,pool1,pool2")
        assertContains(text, [
            "eq. 2", "eq. 3", "eq. 4", "E_l = 1/(4 N_l²) Σ_ij (Ĝ_l − G_l)²_ij", "L(x̂) = Σ_l w_l E_l",
            "∂E_l/∂F̂_l = (Ĝ_l − G_l) F̂_l / (N_l² M_l)", "two-loop recursion", "c₁ = 0.0001, c₂ = 0.9",
            "n = 3 · 256 · 512 = 393216 unknowns",
            // layer, N_l, M_l of the 256x256 source, M_l of the 512x256 result, Gram size, weight
            "conv1_1 64 65536 131072 64 × 64 1e9", "pool1 64 16384 32768 64 × 64 1e9", "pool2 128 4096 8192 128 × 128 1e9",
            "L-BFGS, m = 20: the pairs (s_i, y_i) hold 2 · m · n = 15728640 numbers (60.0 MiB)",
        ])
        assertContains(explain("explain optimize x size=64 optimizer=adam lr=0.05 layers=conv1_1,pool1 weights=1,2"),
                       ["n = 3 · 64 · 64 = 12288", "Adam, lr = 0.05: m and v hold 2 · n = 24576 numbers"])
        assertContains(explain("explain optimize x size=64 history=5 layers=pool4"), ["pool4 512 256 16 512 × 512", "2 · m · n = 122880"])
    }

    func testExtractAndCompareRoundOddSizesUpAtEachPooling() {
        // 60 x 100 → pool1 30 x 50 → pool2 15 x 25 → pool3 8 x 13 → pool4 4 x 7
        assertContains(explain("explain extract odd layers=conv1_1,pool3,pool4"),
                       ["with odd 100 × 60", "conv1_1 64 60 × 100 6000 64 × 6000", "pool3 256 8 × 13 104 256 × 104", "pool4 512 4 × 7 28 512 × 28"])
        assertContains(explain("explain compare x odd layers=pool1"), ["sliced Wasserstein", "K = 64", "pool1 64 16384 1500 64 × 64"])
    }

    func testTheGANsNetworksAndLosses() {
        XCTAssertTrue(interp.run(source: "g = gan x preset=small crop=64 batch=4", file: "t.txn").isEmpty)
        assertContains(explain("explain gan x preset=small"), [
            "z 8 × 32 × 4 × 4 → 256 × 8 × 8 → 128 × 16 × 16 → 64 × 32 × 32 → 32 × 64 × 64 → 3 × 128 × 128 (tanh)",
            "D: x 8 × 3 × 128 × 128 → 32 × 64 × 64 → 64 × 32 × 32 → 128 × 16 × 16 → 256 × 8 × 8 → 1 × 4 × 4",
            "B × 1 × 4 × 4 = 128 patches"])
        assertContains(explain("explain gan x preset=seed"), ["z 8 × 64 × 8 × 8 → 512 × 16 × 16", "B × 1 × 8 × 8 = 512 patches"])
        let train = explain("explain train g steps=50")
        assertContains(train, [
            "L_D = mean_p BCE(D(x)_p, 1) + mean_p BCE(D(G(z))_p, 0)", "L_G = mean_p BCE(D(G(z))_p, 1) = −mean_p log σ(D(G(z))_p)",
            "max(ℓ, 0) − ℓ y + log(1 + e^{−|ℓ|})",
            "z 4 × 32 × 2 × 2", "B × 1 × 2 × 2 = 16 patches",
            "lr = 0.0002, β₁ = 0.5, β₂ = 0.999, ε = 1e-8, weight decay = 1e-8", "iterations 1 to 50"])
        assertContains(explain("explain generate g size=100x64"), ["z 32 × 2 × 4 → G(z) 3 × 64 × 128"])
        assertContains(explain("explain generate g size=96x64 tile=true"), ["z 32 × 4 × 6 → 3 × 128 × 192, one period 96 × 64"])
        assertContains(explain("explain generate g size=100 tile=true"), ["generate refuses 100 × 100"])
    }

    func testEveryTableEntryIsACommandAndHelpMathIsTheSameText() {
        for name in StepMath.table.keys {
            XCTAssertTrue(interp.commandNames.contains(name), name)
            let math = explain("help \(name) --math")
            XCTAssertTrue(math.hasPrefix(name + " — "), math)
        }
        let math = explain("help gram --math")
        XCTAssertTrue(math.contains("G = F Fᵀ / M") && math.contains("explain gram f"), math)
        XCTAssertFalse(math.split(separator: "\n").contains { $0.hasPrefix("with ") }, "no sizes without arguments: \(math)")
        XCTAssertTrue(explain("help gram").contains("help gram --math"))
        XCTAssertTrue(explain("explain load").contains("load has no mathematics"))
        assertContains(explain("explain noise size=64x32"), ["x₀ 3 × 32 × 64 = 6144 numbers"])
    }

    func testTabCompletesTheCommandToExplainThenItsKeys() {
        XCTAssertEqual(interp.complete(line: "explain gr", cursor: 10).candidates, ["gram"])
        XCTAssertEqual(interp.complete(line: "explain gram f la", cursor: 17).candidates, ["layers="])
        XCTAssertEqual(interp.complete(line: "explain gram f norm=pixels-", cursor: 27).candidates, ["pixels-channels"])
        XCTAssertEqual(interp.complete(line: "gram f norm=pixels-", cursor: 19).candidates, ["pixels-channels"])
        XCTAssertEqual(interp.complete(line: "gram f norm=pix", cursor: 15).candidates, ["pixels", "pixels-channels"])
    }

    func testMistakesAreLocatedAndNothingChanges() {
        let names = Set(interp.variables.keys)
        func assertError(_ source: String, _ message: String, column: Int, line: UInt = #line) {
            guard let d = interp.run(source: source, file: "t.txn").first else { return XCTFail("no error for \(source)", line: line) }
            XCTAssertTrue(d.description.contains(message), d.description, line: line)
            XCTAssertEqual(d.location.column, column, d.description, line: line)
        }
        assertError("explain grm x", "'grm' is not a command (did you mean 'gram'?)", column: 9)
        assertError("explain gram f.pool2 layerz=pool1", "gram has no key 'layerz' (did you mean 'layers'?)", column: 22)
        assertError("explain optimize x size=big", "size: expected a size", column: 25)
        assertError("explain gram f layers=pool4", "'pool4' is not among the extracted layers", column: 23)
        assertError("help gram --maths", "expected --math", column: 11)
        XCTAssertEqual(Set(interp.variables.keys), names)
    }
}
