import XCTest
import TxnTensor
@testable import TxnNotebook

final class ScannerTests: XCTestCase {
    func kinds(_ source: String) throws -> [TokenKind] {
        var scanner = Scanner(source, file: "t.txn")
        return try scanner.scanAll().map(\.kind)
    }

    func testValuesOfEveryKind() throws {
        XCTAssertEqual(try kinds("x = load \"a\\\"b\\n\" 256 0.8 1e9 -3 320x200 .5 a.b [1, 2]"), [
            .identifier("x"), .equals, .identifier("load"), .string("a\"b\n"), .number(256), .number(0.8), .number(1e9),
            .number(-3), .size(320, 200), .number(0.5), .identifier("a"), .dot, .identifier("b"),
            .leftBracket, .number(1), .comma, .number(2), .rightBracket, .end,
        ])
        XCTAssertEqual(try kinds("a # note\nb; c"), [.identifier("a"), .comment("note"), .newline, .identifier("b"), .semicolon, .identifier("c"), .end])
        XCTAssertEqual(try kinds("'\\u{1F600}'"), [.string("😀"), .end])
    }

    func testPositionsAreLineAndColumn() throws {
        var scanner = Scanner("a\n  bb = 12", file: "t.txn")
        let tokens = try scanner.scanAll()
        XCTAssertEqual(tokens[2].location, SourceLocation(line: 2, column: 3, length: 2))
        XCTAssertEqual(tokens[4].location, SourceLocation(line: 2, column: 8, length: 2))
    }

    func testScanErrorsArePositioned() {
        for (source, message, line, column) in [
            ("x = \"open", "unterminated string", 1, 5),
            ("a\nb = 12abc", "'12abc' is neither a number nor a name", 2, 5),
            ("a @ b", "unexpected '@'", 1, 3),
            ("a \"\\q\"", "unknown escape '\\q'", 1, 4),
        ] {
            var scanner = Scanner(source, file: "t.txn")
            XCTAssertThrowsError(try scanner.scanAll()) { e in
                let d = e as! Diagnostic
                XCTAssertTrue(d.message.contains(message), "\(d.message)")
                XCTAssertEqual([d.location.line, d.location.column], [line, column], source)
                XCTAssertTrue(d.description.hasPrefix("t.txn:\(line):\(column): error: "), d.description)
            }
        }
    }
}

final class ParserTests: XCTestCase {
    func statements(_ source: String) throws -> [Statement] {
        try Parser.parse(source, file: "t.txn").compactMap { item in
            if case .statement(let s) = item { return s.statement }
            return nil
        }
    }

    func testStatementForms() throws {
        let s = try statements("""
            param size = 256
            x = load "a.png"
            optimize x size=size layers=conv1_1,pool1 weights=[1, 2]
            time save x "b.png"; show x.width
            """)
        XCTAssertEqual(s.count, 5)
        guard case .parameter("size", _, .number(256, _)) = s[0] else { return XCTFail("\(s[0])") }
        guard case .assignment("x", _, let load) = s[1] else { return XCTFail("\(s[1])") }
        XCTAssertEqual(load.name, "load")
        guard case .command(let opt) = s[2] else { return XCTFail() }
        XCTAssertEqual(opt.positional.count, 1)
        XCTAssertEqual(opt.keywords.map(\.key), ["size", "layers", "weights"])
        guard case .list(let layers, _) = opt.keywords[1].value else { return XCTFail() }
        XCTAssertEqual(layers.count, 2)
        guard case .timed(.command(let save), _) = s[3] else { return XCTFail("\(s[3])") }
        XCTAssertEqual(save.name, "save")
        guard case .command(let show) = s[4], case .name("x", let path, _) = show.positional[0] else { return XCTFail() }
        XCTAssertEqual(path.map(\.0), ["width"])
    }

    func testCommentBlocksBecomeProseAndAsidesDoNot() throws {
        let items = try Parser.parse("# one\n# two\n\nx = noise # aside\n# three", file: "t.txn")
        XCTAssertEqual(items.count, 3)
        XCTAssertEqual(items[0], .prose("one\ntwo", line: 1))
        if case .statement(let s) = items[1] { XCTAssertEqual(s.text, "x = noise") } else { XCTFail() }
        XCTAssertEqual(items[2], .prose("three", line: 5))
    }

    func testParseErrorsArePositioned() {
        for (source, message, column) in [
            ("x = 5", "expected a command after 'x ='", 5),
            ("load a key=1 b", "positional argument after key=value", 14),
            ("save x k=1 k=2", "'k' is given twice", 12),
            ("show [1, 2", "expected ',' or ']'", 11),
            ("= 3", "expected a command name", 1),
            ("show x.", "expected a field name", 8),
        ] {
            XCTAssertThrowsError(try Parser.parse(source, file: "t.txn"), source) { e in
                let d = e as! Diagnostic
                XCTAssertTrue(d.message.contains(message), "\(source): \(d.message)")
                XCTAssertEqual(d.location.column, column, "\(source): \(d)")
            }
        }
    }

    func testDiagnosticShowsTheLineAndACaret() {
        let d = Diagnostic(file: "g.txn", location: SourceLocation(line: 12, column: 5, length: 7), message: "unknown command",
                           sourceLine: "    optimse x")
        XCTAssertEqual(d.description, "g.txn:12:5: error: unknown command\n 12 |     optimse x\n    |     ^~~~~~~")
    }
}

/// Random and mutated notebooks: the parser must always either succeed or give a positioned error.
final class ParserFuzzTests: XCTestCase {
    func check(_ source: String, file: StaticString = #filePath, line: UInt = #line) {
        let lineCount = source.split(separator: "\n", omittingEmptySubsequences: false).count
        do {
            _ = try Parser.parse(source, file: "fuzz.txn")
        } catch let d as Diagnostic {
            XCTAssertTrue(d.location.line >= 1 && d.location.line <= lineCount, "line \(d.location.line) of \(lineCount): \(source.debugDescription)", file: file, line: line)
            XCTAssertTrue(d.location.column >= 1, file: file, line: line)
            XCTAssertTrue(d.description.hasPrefix("fuzz.txn:\(d.location.line):\(d.location.column): error: "), file: file, line: line)
        } catch {
            XCTFail("not a Diagnostic: \(error)", file: file, line: line)
        }
    }

    func testMutatedNotebooksNeverCrash() throws {
        let notebooks = try ["gatys", "tileable", "layers", "weights"].map { name in
            try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("Notebooks/\(name).txn").path, encoding: .utf8)
        }
        for source in notebooks { check(source) }
        var rng = SplitMix64(seed: 2026)
        let alphabet = Array("abcxyz_019 .,;=[]\"'\\#\n\t-+e@{}()xu😀é")
        for i in 0..<3000 {
            var chars = Array(notebooks[i % notebooks.count])
            for _ in 0..<(1 + rng.next(below: 6)) {
                guard !chars.isEmpty else { break }
                let at = rng.next(below: chars.count)
                switch rng.next(below: 4) {
                case 0: chars.remove(at: at)
                case 1: chars.insert(alphabet[rng.next(below: alphabet.count)], at: at)
                case 2: chars[at] = alphabet[rng.next(below: alphabet.count)]
                default:
                    let end = min(chars.count, at + rng.next(below: 40))
                    let piece = chars[at..<end]
                    chars.insert(contentsOf: piece, at: rng.next(below: chars.count))
                }
            }
            check(String(chars))
        }
        for _ in 0..<2000 {
            check(String((0..<rng.next(below: 60)).map { _ in alphabet[rng.next(below: alphabet.count)] }))
        }
    }
}
