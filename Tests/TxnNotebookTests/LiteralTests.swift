import TxnTensor
import XCTest
@testable import TxnNotebook

/// `notebookLiteral` is the inverse of the scanner's strings: what it writes scans back to the same Unicode scalars,
/// as one string token and nothing else.
final class LiteralTests: XCTestCase {
    private func scannedBack(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let literal = notebookLiteral(text)
        var scanner = Scanner(literal, file: "literal")
        let tokens = try scanner.scanAll()
        XCTAssertEqual(tokens.count, 2, "\(literal.debugDescription): \(tokens.map(\.kind))", file: file, line: line)
        guard case .string(let value) = tokens.first?.kind else {
            return XCTFail("\(literal.debugDescription) is not one string: \(tokens.map(\.kind))", file: file, line: line)
        }
        XCTAssertEqual(Array(value.unicodeScalars), Array(text.unicodeScalars), literal.debugDescription, file: file, line: line)
    }

    func testHostileStringsRoundTrip() throws {
        let hostile = [
            "", "plain.png", "a\rb", "a\r\nb", "\r", "x\rsave t \"pwned.png\"", "say \"hi\"", "back\\slash", "\\", "\"",
            "tab\there", "nul\u{0}", "del\u{7F}", "nel\u{85}", "line\u{2028}para\u{2029}", "bom\u{FEFF}", "rtl\u{202E}gnp.exe",
            "\u{301}accent first", "cafe\u{301}", "e\u{301}\\n", "\\\u{301}", "last accent\u{301}", "prepend at end\u{600}",
            "\u{600}", "zwj\u{200D}", "👍🏽", "🇫🇷🇩🇪", "한국어", "\u{1100}\u{1161}\u{11A8}", "\u{10FFFF}", "\u{E000}",
            "}\u{301}", "\\u{41}", "'single'", "#not a comment", "a; b = c", "\n#x\nsave t \"y\"",
        ]
        for text in hostile { try scannedBack(text) }
    }

    /// Seeded random strings over the characters that matter: syntax, controls, marks, joiners, astral scalars.
    func testRandomStringsRoundTrip() throws {
        let pool: [Unicode.Scalar] = ["\"", "'", "\\", "\n", "\r", "\t", "\u{0}", "\u{1B}", "\u{7F}", "\u{85}", "\u{2028}",
                                      "\u{301}", "\u{20DD}", "\u{903}", "\u{600}", "\u{200D}", "\u{FE0F}", "\u{1F3FD}",
                                      "\u{1F1EB}", "\u{1100}", "\u{1161}", "a", "Z", "0", " ", "#", "u", "{", "}", "n", "é", "😀"]
        var rng = SplitMix64(seed: 21)  // a failure names a string the next run makes again
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 12) { text.unicodeScalars.append(pool[Int(rng.next() % UInt64(pool.count))]) }
            try scannedBack(text)
        }
    }

    func testAWordIsOneTokenAndNothingElse() {
        for word in ["pool1", "conv1_1", "gram+sw", "reflect-pad", "é"] { XCTAssertTrue(isNotebookWord(word), word) }
        for text in ["", "pool1 x", "pool1;save", "a=b", "pool1\r", "pool1\n", "\"s\"", "12", "pool1#", "-x", "pool1,pool2"] {
            XCTAssertFalse(isNotebookWord(text), text.debugDescription)
        }
    }
}
