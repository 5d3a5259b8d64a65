import Foundation
import XCTest
@testable import txn

/// What can be checked without a terminal. The interactive behaviour (keys, Ctrl-C, Tab listing) is checked through a
/// pseudo-terminal by pty/line_editor_pty.sh (see pty/README.md).
final class LineEditorTests: XCTestCase {
    private var directory: String!

    override func setUp() {
        directory = NSTemporaryDirectory() + "txn-line-editor-\(getpid())-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testHistoryPersistsAcrossInstances() throws {
        let file = directory + "/nested/dir/history"  // the directories do not exist yet
        do {
            let editor = LineEditor(program: "test", historyFile: file)
            XCTAssertEqual(editor.history, [])
            editor.addHistory("x = load \"data/gravel.png\" size=256")
            editor.addHistory("show x")
            editor.addHistory("show x")  // a repeat of the newest entry is not added
            editor.addHistory("   ")  // nor a blank line
            editor.addHistory("print \"héllo\\n✓\"")
            editor.addHistory("two\nlines")
            XCTAssertEqual(editor.history, ["x = load \"data/gravel.png\" size=256", "show x", "print \"héllo\\n✓\"", "two\nlines"])
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: file))
        let second = LineEditor(program: "test", historyFile: file)
        XCTAssertEqual(second.history, ["x = load \"data/gravel.png\" size=256", "show x", "print \"héllo\\n✓\"", "two\nlines"])
        second.addHistory("synth y")
        let third = LineEditor(program: "test", historyFile: file)
        XCTAssertEqual(third.history.last, "synth y")
        XCTAssertEqual(third.history.count, 5)
    }

    func testHistoryIsLimitedToItsSize() throws {
        let file = directory + "/history"
        let editor = LineEditor(program: "test", historyFile: file, historySize: 3)
        for i in 0..<10 { editor.addHistory("line \(i)") }
        XCTAssertEqual(editor.history, ["line 7", "line 8", "line 9"])
        let again = LineEditor(program: "test", historyFile: file, historySize: 3)
        XCTAssertEqual(again.history, ["line 7", "line 8", "line 9"])
        // The file is compacted once it holds more than twice the size.
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        XCTAssertLessThanOrEqual(lines.count, 6)
    }

    func testWithoutHistoryFile() {
        let editor = LineEditor(program: "test", historyFile: nil)
        editor.addHistory("a")
        XCTAssertEqual(editor.history, ["a"])
    }

    func testHistoryLineEncoding() {
        for line in ["plain", "back\\slash", "new\nline", "trailing\\", "\\n literally", ""] {
            XCTAssertEqual(LineEditor.decodeHistoryLine(LineEditor.encodeHistoryLine(line)), line)
            XCTAssertFalse(LineEditor.encodeHistoryLine(line).contains("\n"))
        }
        XCTAssertEqual(LineEditor.encodeHistoryLine("a = load \"x.png\""), "a = load \"x.png\"")
    }

    func testLongestCommonPrefix() {
        XCTAssertEqual(LineEditor.longestCommonPrefix(["synth", "synthesize"]), "synth")
        XCTAssertEqual(LineEditor.longestCommonPrefix(["load", "loss", "layers"]), "l")
        XCTAssertEqual(LineEditor.longestCommonPrefix(["abc", "xyz"]), "")
        XCTAssertEqual(LineEditor.longestCommonPrefix(["only"]), "only")
        XCTAssertEqual(LineEditor.longestCommonPrefix([]), "")
        XCTAssertEqual(LineEditor.longestCommonPrefix(["", "a"]), "")
        XCTAssertEqual(LineEditor.longestCommonPrefix(["héllo", "hélp"]), "hél")
        XCTAssertEqual(LineEditor.longestCommonPrefix(["same", "same"]), "same")
    }

    func testCompletionActions() {
        // One candidate: inserted with a space, or without after "/" and "=".
        XCTAssertEqual(LineEditor.completionAction(word: "lay", candidates: ["layers"], repeated: false), .insert("layers "))
        XCTAssertEqual(LineEditor.completionAction(word: "da", candidates: ["data/"], repeated: false), .insert("data/"))
        XCTAssertEqual(LineEditor.completionAction(word: "si", candidates: ["size="], repeated: false), .insert("size="))
        XCTAssertEqual(LineEditor.completionAction(word: "x", candidates: ["y", "y"], repeated: false), .insert("y "))
        // None: beep.
        XCTAssertEqual(LineEditor.completionAction(word: "q", candidates: [], repeated: false), .none)
        XCTAssertEqual(LineEditor.completionAction(word: "q", candidates: [], repeated: true), .none)
        // Several: the common prefix when it adds something, else a list on the second Tab.
        XCTAssertEqual(LineEditor.completionAction(word: "sy", candidates: ["synth", "synthesize"], repeated: false),
                       .insert("synth"))
        XCTAssertEqual(LineEditor.completionAction(word: "synth", candidates: ["synthesize", "synth"], repeated: false), .none)
        XCTAssertEqual(LineEditor.completionAction(word: "synth", candidates: ["synthesize", "synth"], repeated: true),
                       .list(["synth", "synthesize"]))
        XCTAssertEqual(LineEditor.completionAction(word: "", candidates: ["b", "a"], repeated: true), .list(["a", "b"]))
        // Candidates that do not extend the word (a case-insensitive completer): the prefix replaces the word.
        XCTAssertEqual(LineEditor.completionAction(word: "lo", candidates: ["LOAD", "LOSS"], repeated: false), .insert("LO"))
    }

    func testColumnLayout() {
        let items = ["save", "size=", "synth", "synthesize"]
        XCTAssertEqual(LineEditor.columnLayout(items, width: 80), ["save        size=       synth       synthesize"])
        // Filled top to bottom, then left to right.
        XCTAssertEqual(LineEditor.columnLayout(items, width: 30), ["save        synth", "size=       synthesize"])
        XCTAssertEqual(LineEditor.columnLayout(items, width: 5), ["save", "size=", "synth", "synthesize"])
        XCTAssertEqual(LineEditor.columnLayout([], width: 80), [])
        let many = (1...7).map { "w\($0)" }
        XCTAssertEqual(LineEditor.columnLayout(many, width: 11), ["w1  w4  w7", "w2  w5", "w3  w6"])
        XCTAssertEqual(LineEditor.columnLayout(many, width: 14), ["w1  w3  w5  w7", "w2  w4  w6"])
        for row in LineEditor.columnLayout(many.map { $0 + "xxxxxxxx" }, width: 40) {
            XCTAssertLessThanOrEqual(row.count, 40)
        }
    }

    func testUTF8Decoding() {
        XCTAssertEqual(LineEditor.decodeUTF8([0x61]), .scalar("a"))
        XCTAssertEqual(LineEditor.decodeUTF8([0xC3]), .incomplete)
        XCTAssertEqual(LineEditor.decodeUTF8([0xC3, 0xA9]), .scalar("é"))
        XCTAssertEqual(LineEditor.decodeUTF8([0xE2, 0x9C]), .incomplete)
        XCTAssertEqual(LineEditor.decodeUTF8([0xE2, 0x9C, 0x93]), .scalar("✓"))
        XCTAssertEqual(LineEditor.decodeUTF8([0xF0, 0x9F, 0x98, 0x80]), .scalar("😀"))
        XCTAssertEqual(LineEditor.decodeUTF8([0xC3, 0x41]), .invalid)
        XCTAssertEqual(LineEditor.decodeUTF8([0xC0, 0x80]), .invalid)  // overlong
        XCTAssertEqual(LineEditor.decodeUTF8([0xE0, 0x80, 0x80]), .invalid)  // overlong
        XCTAssertEqual(LineEditor.decodeUTF8([0xED, 0xA0, 0x80]), .invalid)  // surrogate
        XCTAssertEqual(LineEditor.decodeUTF8([0xFF]), .invalid)
    }

    func testPromptEscapesAreMarked() {
        XCTAssertEqual(LineEditor.markEscapes("txn> "), "txn> ")
        XCTAssertEqual(LineEditor.markEscapes("\u{1B}[1;34mtxn>\u{1B}[0m "), "\u{1}\u{1B}[1;34m\u{1}txn>\u{1}\u{1B}[0m\u{1} ")
    }

    /// Without a terminal (as under `swift test`), reading returns the piped lines or end of file and never crashes.
    func testReadLineWithoutTerminal() {
        let editor = LineEditor(program: "test", historyFile: nil)
        editor.completer = { _, cursor in (cursor, []) }
        if isatty(STDIN_FILENO) == 0 {
            // Standard input here is whatever the test runner has; just make sure a read returns.
            let pipe = Pipe()
            let saved = dup(STDIN_FILENO)
            dup2(pipe.fileHandleForReading.fileDescriptor, STDIN_FILENO)
            pipe.fileHandleForWriting.write(Data("first\nsecond\n".utf8))
            pipe.fileHandleForWriting.closeFile()
            let reader = LineEditor(program: "test", historyFile: nil)
            XCTAssertEqual(reader.readLine(prompt: "> "), .line("first"))
            XCTAssertEqual(reader.readLine(prompt: "> "), .line("second"))
            XCTAssertEqual(reader.readLine(prompt: "> "), .endOfFile)
            dup2(saved, STDIN_FILENO)
            close(saved)
        }
    }
}
