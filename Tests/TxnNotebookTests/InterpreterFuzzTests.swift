import Foundation
import XCTest
@testable import TxnNotebook
import TxnTensor

/// Random and mutated statements built from cheap commands (no network, no synthesis), executed, not only
/// parsed: nothing may crash, and every failure must be a diagnostic with a real position.
final class InterpreterFuzzTests: XCTestCase {
    var tmp = ""
    let savedThreads = Threads.count

    override func setUp() {
        tmp = NSTemporaryDirectory() + "txn-fuzz-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        // Small, so that random sizes fail at the budget rather than take the machine.
        try? MemoryBudget.setLimit(mebibytes: 64)
    }

    override func tearDown() {
        MemoryBudget.limitBytes = MemoryBudget.defaultLimitBytes
        Threads.count = savedThreads
        try? FileManager.default.removeItem(atPath: tmp)
    }

    struct Generator {
        var rng: SplitMix64
        mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(max(1, n))) }
        mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }

        mutating func number() -> String {
            pick(["0", "1", "2", "3", "7", "16", "-1", "0.5", "1e9", "1e300", "-0", "4294967297", "99999999999",
                  "\(int(40))", "\(int(40))x\(int(40))", "100000x100000", "1e-9"])
        }
        mutating func variable() -> String { pick(["a", "b", "c", "x", "a.width", "b.height", "c.size", "zz", "a.nope"]) }
        mutating func value() -> String {
            switch int(7) {
            case 0: return number()
            case 1: return variable()
            case 2: return pick(["\"out.png\"", "\"x.jpg\"", "\"\"", "\"a\\u{0}b.png\"", "\"/dev/zero\"", "\"nope/x.png\"",
                                 "\"\\n\"", "'q'", "\"missing.txn\""])
            case 3: return "[" + (0..<int(4)).map { _ in variable() }.joined(separator: ", ") + "]"
            case 4: return pick(["true", "false", "meannoise", "uniform", "center", "random", "none", "conv1_1", "pool9"])
            case 5: return number() + "," + number()
            default: return String(repeating: "[", count: int(3)) + number() + String(repeating: "]", count: int(3))
            }
        }
        mutating func key() -> String {
            pick(["size", "seed", "kind", "sigma", "like", "crop", "box", "height", "labels", "threads", "every",
                  "memory", "quality", "bogus", "linear", "title"])
        }

        mutating func statement() -> String {
            let command = pick(["noise", "noise", "tile", "preprocess", "show", "vars", "set", "help", "histmatch",
                                "montage", "save", "time noise", "run", "param p =", "plot", "load"])
            var parts = [command]
            for _ in 0..<int(3) { parts.append(value()) }
            for _ in 0..<int(3) { parts.append(key() + "=" + value()) }
            let target = int(3) == 0 ? "" : pick(["a", "b", "c", "x", "noise"]) + " = "
            return command.hasPrefix("param") ? "param p = " + value() : target + parts.joined(separator: " ")
        }

        /// One random edit: a character inserted, deleted or replaced by one that matters to the scanner.
        mutating func mutate(_ text: String) -> String {
            var chars = Array(text)
            let alphabet: [Character] = ["[", "]", "=", ",", ";", "\"", "'", "\\", ".", "#", "x", "-", "1", " ", "\n",
                                         "\r", "\u{0}", "é", "\t", "e", "_"]
            let at = int(chars.count + 1)
            switch int(3) {
            case 0: chars.insert(pick(alphabet), at: at)
            case 1: if at < chars.count { chars.remove(at: at) }
            default: if at < chars.count { chars[at] = pick(alphabet) }
            }
            return String(chars)
        }
    }

    func check(_ source: String, _ interp: Interpreter, _ out: RecordingOutput) {
        let lineCount = SourceLines(normalizedSource(source)).lines.count
        for d in interp.run(source: source, file: "fuzz.txn", keepGoing: true) {
            XCTAssertTrue(d.location.line >= 1 && d.location.line <= lineCount,
                          "line \(d.location.line) of \(lineCount): \(source.debugDescription)\n\(d)")
            XCTAssertGreaterThanOrEqual(d.location.column, 1, source.debugDescription)
            XCTAssertTrue(d.description.hasPrefix("fuzz.txn:\(d.location.line):\(d.location.column): error: "), d.description)
            XCTAssertFalse(d.message.isEmpty)
        }
    }

    func testRandomAndMutatedStatementsNeverCrashAndFailWithPositions() {
        var gen = Generator(rng: SplitMix64(seed: 20_251_130))
        let start = Date()
        var statements = 0
        for round in 0..<200 {
            // A fresh session every round, seeded with a few images, so `quit` and failures stay contained.
            let out = RecordingOutput(next: nil)
            let interp = Interpreter(output: out, baseDirectory: tmp, outputDirectory: tmp, modelsDirectory: tmp)
            _ = interp.run(source: "a = noise size=12\nb = noise size=5x9 seed=3\nc = noise size=1", file: "setup.txn")
            for _ in 0..<12 {
                var source = (0..<(1 + gen.int(3))).map { _ in gen.statement() }.joined(separator: gen.pick(["\n", "; ", "\r\n"]))
                for _ in 0..<gen.int(4) { source = gen.mutate(source) }
                check(source, interp, out)
                statements += 1
            }
            _ = round
        }
        XCTAssertGreaterThan(statements, 500)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
    }
}
