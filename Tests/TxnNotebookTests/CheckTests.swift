import XCTest
@testable import TxnNotebook

/// `Interpreter.check`: statements held to the commands' rules without running them.
final class CheckTests: XCTestCase {
    private func problem(_ statements: [String]) -> Diagnostic? {
        let interpreter = Interpreter(output: RecordingOutput(next: nil), modelsDirectory: "/nonexistent")
        defer { XCTAssertTrue(interpreter.variables.isEmpty, "a check assigns nothing") }
        return interpreter.check(statements, file: "job.txn")
    }

    func testStatementsTheNotebookWouldRunPass() {
        XCTAssertNil(problem(["set threads=2", "m = model", "src = load \"no/such/file.png\"", "x = preprocess src size=32",
                              "t = optimize x size=64x48 steps=3 optimizer=adam lr=0.05 layers=conv1_1,pool1 padding=circular seed=4",
                              "save t \"out.png\""]))
    }

    func testEachRuleIsTheNotebooksOwn() throws {
        let cases: [([String], Int, String)] = [
            (["src = load \"a.png\"", "t = optimize src size=8 steps=2"], 2, "size: 8x8 is too small for reflect padding"),
            (["t = optimize src steps=0"], 1, "steps: 0 is out of range 1…1000000"),
            (["t = optimize src history=0"], 1, "history: 0 is out of range 1…1000"),
            (["t = optimize src optimizer=sgd"], 1, "optimizer: 'sgd' is not one of lbfgs, adam"),
            (["t = optimize src layers=conv9_9"], 1, "layers:"),
            (["t = optimize src layers=conv1_1,pool1 weights=1,2,3"], 1, "weights: 3 weights for 2 layers"),
            (["t = optimize src optimizer=adam lr=20"], 1, "lr: Adam's learning rate must be in (0, 10]"),
            (["t = optimize src stepz=3"], 1, "optimize has no key 'stepz'"),
            (["t = optimise src"], 1, "unknown command 'optimise'"),
        ]
        for (statements, line, expected) in cases {
            let d = try XCTUnwrap(problem(statements), "\(statements)")
            XCTAssertTrue(d.message.hasPrefix(expected), "\(statements): \(d.message)")
            XCTAssertEqual(d.location.line, line, "\(statements)")
        }
    }

    /// A value written into a statement that carries a `;` or a line break would make two statements of one.
    func testOneStringIsOneStatement() throws {
        for smuggled in ["t = optimize src layers=pool1; save t \"x.png\"", "t = optimize src\nsave t \"x.png\"",
                         "t = optimize src\rsave t \"x.png\"", "# only a comment"] {
            let d = try XCTUnwrap(problem([smuggled]), smuggled.debugDescription)
            XCTAssertTrue(d.message.hasPrefix("expected one command"), "\(smuggled.debugDescription): \(d.message)")
        }
    }
}
