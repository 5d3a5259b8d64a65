import CLibEdit
import Foundation
import TxnFiles
import TxnNotebook
import TxnTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Interactive line editing on a terminal, built on libedit (emacs key bindings: arrows, Ctrl-A/E, Up/Down through
/// history, Ctrl-R incremental search backwards, ~/.editrc honoured), with persistent history and Tab completion.
///
/// Ctrl-C: while a line is being edited the terminal's ISIG flag is off (libedit's `setty -d -isig`), so Ctrl-C reaches
/// the editor as the byte 0x03 instead of raising SIGINT. The editor's own read function turns that byte into
/// `.interrupted`. No signal handler is involved, so it works the same whatever SIGINT handler the process has and
/// whichever thread a signal would have been delivered to. Outside `readLine` the terminal is back in its normal mode,
/// so Ctrl-C during a computation raises SIGINT as usual. A SIGINT sent from elsewhere while the prompt waits
/// (`kill -INT`) is left to the process's handler; the editor retries the interrupted read.
///
/// Offsets given to and taken from `completer` count Characters of the line.
public final class LineEditor: LineEditing {
    public typealias Input = LineInput

    /// Called on Tab with the whole line and the cursor offset; returns the start offset of the word being completed and
    /// the candidates. One candidate: insert it (plus a space unless it ends in "/" or "="). Several: insert their longest
    /// common prefix, and on a second Tab list them in columns below the prompt, then redraw the prompt and line.
    public var completer: ((_ line: String, _ cursor: Int) -> (start: Int, candidates: [String]))?

    /// The history, oldest first (what Up/Down walk through), including lines loaded from `historyFile`.
    public private(set) var history: [String] = []
    public let historyFile: String?
    public let historySize: Int

    private var editLine: OpaquePointer?
    private var libeditHistory: OpaquePointer?
    private var promptBuffer: UnsafeMutablePointer<wchar_t>?
    private let isTerminal: Bool
    private var interrupted = false
    /// (line, cursor) right after a Tab that left several candidates: a Tab in the same state lists them.
    private var pendingCompletion: (line: String, cursor: Int)?
    private var historyFileLines = 0

    /// historyFile: lines persist across sessions (loaded at init, appended/saved on each added line; create the dir if needed).
    /// endOfInputOnCtrlD: Ctrl-D ends the input even on a line that has text (`txn --step`, whose lines start filled);
    /// otherwise, as usual, only on an empty line (elsewhere it deletes the character under the cursor).
    public init(program: String, historyFile: String?, historySize: Int = 1000, endOfInputOnCtrlD: Bool = false) {
        self.historyFile = historyFile.map { NSString(string: $0).expandingTildeInPath }
        self.historySize = max(1, historySize)
        self.isTerminal = isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1
        loadHistoryFile()
        setUpLibedit(program: program, endOfInputOnCtrlD: endOfInputOnCtrlD)
    }

    deinit {
        if let editLine { el_end(editLine) }
        if let libeditHistory { history_wend(libeditHistory) }
        promptBuffer?.deallocate()
    }

    // MARK: Reading

    /// Reads one line with editing (arrows, history up/down, Ctrl-A/E, Ctrl-R search backwards).
    /// Ctrl-C at the prompt abandons the current line and returns `.interrupted` (the editor prints "^C" and a newline;
    /// the caller prints a fresh prompt); Ctrl-D on an empty line returns `.endOfFile` (after a newline). Never crashes,
    /// never exits the process. The returned line has no trailing newline and is not added to the history by itself.
    ///
    /// `prefill` is put on the line before the user types, as if typed (`txn --step` offers each cell this way):
    /// control characters in it are replaced by spaces, so it cannot press a key.
    public func readLine(prompt: String, prefill: String = "") -> Input {
        guard let editLine else { return plainReadLine(prompt: prompt) }
        setPrompt(prompt)
        interrupted = false
        pendingCompletion = nil
        if !prefill.isEmpty {
            let text = String(String.UnicodeScalarView(prefill.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
            LineEditor.wide(text).withUnsafeBufferPointer { el_wpush(editLine, $0.baseAddress) }
        }
        fflush(stdout)
        var count: Int32 = 0
        let result = el_wgets(editLine, &count)
        if interrupted {
            interrupted = false
            // Put the terminal cursor after the abandoned text (by writing its tail over itself), mark it, go on.
            let (scalars, cursor) = currentLine()
            if isTerminal {
                emit(String(String.UnicodeScalarView(scalars[cursor...])) + "^C\n")
            }
            el_reset(editLine)
            return .interrupted
        }
        guard let result, count > 0 else {
            if isTerminal { emit("\n") }
            return .endOfFile
        }
        var scalars = String.UnicodeScalarView()
        for i in 0..<Int(count) {
            if let scalar = Unicode.Scalar(UInt32(truncatingIfNeeded: result[i])) { scalars.append(scalar) }
        }
        var line = String(scalars)
        while line.hasSuffix("\n") || line.hasSuffix("\r") || line.hasSuffix("\r\n") { line.removeLast() }
        return .line(line)
    }

    /// Adds a line to the history (and appends it to the history file). Blank lines and a repeat of the newest entry
    /// are not added.
    public func addHistory(_ line: String) {
        guard !line.allSatisfy(\.isWhitespace), history.last != line else { return }
        history.append(line)
        if history.count > historySize { history.removeFirst(history.count - historySize) }
        if let libeditHistory { _ = txn_history_enter(libeditHistory, LineEditor.wide(line)) }
        appendToHistoryFile(line)
    }

    private func plainReadLine(prompt: String) -> Input {
        emit(prompt)
        guard let line = Swift.readLine(strippingNewline: true) else { return .endOfFile }
        return .line(line)
    }

    private func emit(_ text: String) {
        fputs(text, stdout)
        fflush(stdout)
    }

    // MARK: libedit

    private func setUpLibedit(program: String, endOfInputOnCtrlD: Bool) {
        LineEditor.ensureUTF8Locale()
        guard let el = el_init(program, stdin, stdout, stderr) else { return }
        editLine = el
        _ = txn_el_set_clientdata(el, Unmanaged.passUnretained(self).toOpaque())
        setPrompt("")
        _ = txn_el_set_prompt(el, { el in
            guard let editor = LineEditor.editor(of: el) else { return nil }
            return editor.promptBuffer
        }, 1)
        _ = txn_el_set_getcfn(el, { el, out in
            guard let editor = LineEditor.editor(of: el), let out else { return -1 }
            return editor.readCharacter(into: out)
        })
        parse(["bind", "-e"])
        parse(["setty", "-d", "-isig"])
        parse(["bind", "^R", "em-inc-search-prev"])
        // libedit keeps the name and help pointers: they must outlive it.
        _ = txn_el_add_function(el, LineEditor.completeName, LineEditor.completeHelp,
                                { el, _ in
            guard let editor = LineEditor.editor(of: el) else { return UInt8(CC_ERROR) }
            return editor.complete()
        })
        parse(["bind", "^I", "txn-complete"])
        if endOfInputOnCtrlD {
            _ = txn_el_add_function(el, LineEditor.endName, LineEditor.endHelp, { _, _ in UInt8(CC_EOF) })
            parse(["bind", "^D", "txn-end-of-input"])
        }
        if let events = history_winit() {
            libeditHistory = events
            _ = txn_history_set_size(events, Int32(clamping: historySize))
            for line in history { _ = txn_history_enter(events, LineEditor.wide(line)) }
            _ = txn_el_set_history(el, events)
        }
        _ = el_source(el, nil)  // ~/.editrc, if any, may override the bindings above
    }

    private func parse(_ words: [String]) {
        guard let editLine else { return }
        let buffers = words.map { LineEditor.wide($0) }
        var pointers: [UnsafePointer<wchar_t>?] = []
        func go(_ i: Int) {
            if i == buffers.count {
                let count = Int32(pointers.count)
                pointers.append(nil)  // the commands read argv up to a NULL
                _ = el_wparse(editLine, count, &pointers)
                return
            }
            buffers[i].withUnsafeBufferPointer { pointers.append($0.baseAddress); go(i + 1) }
        }
        go(0)
    }

    private static func editor(of el: OpaquePointer?) -> LineEditor? {
        guard let el, let data = txn_el_get_clientdata(el) else { return nil }
        return Unmanaged<LineEditor>.fromOpaque(data).takeUnretainedValue()
    }

    private static let completeName = permanentWide("txn-complete")
    private static let completeHelp = permanentWide("Complete the word before the cursor")
    private static let endName = permanentWide("txn-end-of-input")
    private static let endHelp = permanentWide("End the input, whatever is on the line")

    private static func permanentWide(_ string: String) -> UnsafePointer<wchar_t> {
        let characters = wide(string)
        let buffer = UnsafeMutablePointer<wchar_t>.allocate(capacity: characters.count)
        buffer.initialize(from: characters, count: characters.count)
        return UnsafePointer(buffer)
    }

    private static func wide(_ string: String) -> [wchar_t] {
        string.unicodeScalars.map { wchar_t(truncatingIfNeeded: $0.value) } + [0]
    }

    /// libedit decides at `el_init` whether the terminal speaks UTF-8, from LC_CTYPE. A process that never called
    /// setlocale is in the "C" locale: switch LC_CTYPE (only) to C.UTF-8 so non-ASCII text can be edited.
    private static func ensureUTF8Locale() {
        if let codeset = nl_langinfo(nl_item(CODESET)), String(cString: codeset) == "UTF-8" { return }
        if setlocale(LC_CTYPE, "") != nil, let codeset = nl_langinfo(nl_item(CODESET)), String(cString: codeset) == "UTF-8" {
            return
        }
        if setlocale(LC_CTYPE, "C.UTF-8") == nil { _ = setlocale(LC_CTYPE, "en_US.UTF-8") }
    }

    private func setPrompt(_ prompt: String) {
        let marked = LineEditor.wide(LineEditor.markEscapes(prompt))
        promptBuffer?.deallocate()
        let buffer = UnsafeMutablePointer<wchar_t>.allocate(capacity: marked.count)
        buffer.initialize(from: marked, count: marked.count)
        promptBuffer = buffer
    }

    /// Wraps ANSI escape sequences of a prompt in \u{1} markers, so libedit does not count them as columns.
    static func markEscapes(_ prompt: String) -> String {
        var out = ""
        var scalars = prompt.unicodeScalars.makeIterator()
        while let s = scalars.next() {
            guard s == "\u{1B}" else {
                if s != "\u{1}" { out.unicodeScalars.append(s) }
                continue
            }
            var sequence = String.UnicodeScalarView([s])
            if let next = scalars.next() {
                sequence.append(next)
                if next == "[" {  // CSI: parameters, then one final byte in @...~
                    while let c = scalars.next() {
                        sequence.append(c)
                        if (0x40...0x7E).contains(c.value) { break }
                    }
                }
            }
            out += "\u{1}" + String(sequence) + "\u{1}"
        }
        return out
    }

    /// libedit's read function: one character from standard input, UTF-8 decoded. 1 = a character, 0 = end of input
    /// (also used for Ctrl-C, with `interrupted` set), -1 = error.
    private func readCharacter(into out: UnsafeMutablePointer<wchar_t>) -> Int32 {
        var bytes: [UInt8] = []
        out.pointee = 0
        while true {
            var byte: UInt8 = 0
            let n = read(STDIN_FILENO, &byte, 1)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return -1
            }
            if n == 0 { return 0 }
            if byte == 0x03 && isTerminal && bytes.isEmpty {
                interrupted = true
                return 0
            }
            bytes.append(byte)
            switch LineEditor.decodeUTF8(bytes) {
            case .scalar(let scalar):
                out.pointee = wchar_t(truncatingIfNeeded: scalar.value)
                return 1
            case .incomplete:
                continue
            case .invalid:
                bytes.removeAll()  // drop a malformed sequence, like libedit does
            }
        }
    }

    enum UTF8Decoding: Equatable { case scalar(Unicode.Scalar), incomplete, invalid }

    /// Decodes the bytes of one UTF-8 sequence read so far.
    static func decodeUTF8(_ bytes: [UInt8]) -> UTF8Decoding {
        guard let first = bytes.first else { return .incomplete }
        let length: Int
        var value: UInt32
        switch first {
        case 0x00...0x7F: return .scalar(Unicode.Scalar(first))
        case 0xC2...0xDF: length = 2; value = UInt32(first & 0x1F)
        case 0xE0...0xEF: length = 3; value = UInt32(first & 0x0F)
        case 0xF0...0xF4: length = 4; value = UInt32(first & 0x07)
        default: return .invalid
        }
        for byte in bytes.dropFirst() {
            guard byte & 0xC0 == 0x80 else { return .invalid }
            value = value << 6 | UInt32(byte & 0x3F)
        }
        if bytes.count < length { return .incomplete }
        if bytes.count > length { return .invalid }
        let minimum: UInt32 = length == 3 ? 0x800 : length == 4 ? 0x10000 : 0x80
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return .invalid }
        return .scalar(scalar)
    }

    /// The line being edited, as Unicode scalars, and the cursor's index in them.
    private func currentLine() -> ([Unicode.Scalar], Int) {
        guard let editLine, let info = el_wline(editLine)?.pointee,
              let buffer = info.buffer, let cursor = info.cursor, let last = info.lastchar else { return ([], 0) }
        let count = max(0, last - buffer)
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(count)
        for i in 0..<count {
            scalars.append(Unicode.Scalar(UInt32(truncatingIfNeeded: buffer[i])) ?? "\u{FFFD}")
        }
        return (scalars, min(max(0, cursor - buffer), count))
    }

    // MARK: Completion

    private func complete() -> UInt8 {
        guard let editLine, let completer else { return UInt8(CC_ERROR) }
        let (scalars, cursorScalar) = currentLine()
        let line = String(String.UnicodeScalarView(scalars))
        let cursor = String(String.UnicodeScalarView(scalars[..<cursorScalar])).count
        let (start, candidates) = completer(line, cursor)
        let clampedStart = min(max(0, start), cursor)
        let characters = Array(line)
        let word = String(characters[clampedStart..<cursor])
        let repeated = pendingCompletion.map { $0.line == line && $0.cursor == cursor } ?? false
        let action = LineEditor.completionAction(word: word, candidates: candidates, repeated: repeated)
        switch action {
        case .none:
            pendingCompletion = Set(candidates).count > 1 ? (line, cursor) : nil
            return UInt8(CC_ERROR)
        case .insert(let text):
            let deleted = word.unicodeScalars.count
            if deleted > 0 { el_deletestr(editLine, Int32(deleted)) }
            _ = el_winsertstr(editLine, LineEditor.wide(text))
            if Set(candidates).count > 1 {
                let newCharacters = Array(characters[..<clampedStart]) + Array(text) + Array(characters[cursor...])
                pendingCompletion = (String(newCharacters), clampedStart + text.count)
            } else {
                pendingCompletion = nil
            }
            return UInt8(CC_REFRESH)
        case .list(let items):
            pendingCompletion = nil
            let columns = Int(txn_el_terminal_columns(editLine))
            let rows = LineEditor.columnLayout(items, width: columns > 0 ? columns : 80)
            // Move the terminal cursor to the end of the input by rewriting its tail, list below, redraw.
            emit(String(String.UnicodeScalarView(scalars[cursorScalar...])) + "\n" + rows.joined(separator: "\n") + "\n")
            _ = txn_el_redraw(editLine)
            return UInt8(CC_NORM)
        }
    }

    enum CompletionAction: Equatable {
        /// Nothing to insert (beep).
        case none
        /// Replace the word being completed with this text.
        case insert(String)
        /// Show these candidates.
        case list([String])
    }

    /// What Tab does: `word` is the text from the completion start to the cursor; `repeated` is true when the previous
    /// key was a Tab that left the same line ambiguous.
    static func completionAction(word: String, candidates: [String], repeated: Bool) -> CompletionAction {
        var seen = Set<String>()
        let unique = candidates.filter { seen.insert($0).inserted }
        guard let first = unique.first else { return .none }
        if unique.count == 1 {
            let suffix = first.hasSuffix("/") || first.hasSuffix("=") ? "" : " "
            return .insert(first + suffix)
        }
        let prefix = longestCommonPrefix(unique)
        if prefix.count > word.count || (prefix.count == word.count && prefix != word && !prefix.isEmpty) {
            return .insert(prefix)
        }
        return repeated ? .list(unique.sorted()) : .none
    }

    /// The longest common prefix of the strings, by Characters.
    static func longestCommonPrefix(_ strings: [String]) -> String {
        guard var prefix = strings.first.map(Array.init) else { return "" }
        for string in strings.dropFirst() {
            var n = 0
            var i = string.startIndex
            while n < prefix.count, i < string.endIndex, string[i] == prefix[n] { n += 1; i = string.index(after: i) }
            prefix.removeLast(prefix.count - n)
            if prefix.isEmpty { break }
        }
        return String(prefix)
    }

    /// Lays out items in columns (filled top to bottom, then left to right, like `ls`) for a terminal `width` columns
    /// wide; returns the rows without trailing spaces.
    static func columnLayout(_ items: [String], width: Int) -> [String] {
        guard !items.isEmpty else { return [] }
        let gap = 2
        let cell = (items.map(\.count).max() ?? 0) + gap
        var columns = max(1, (max(width, 1) + gap) / cell)
        let rows = (items.count + columns - 1) / columns
        columns = (items.count + rows - 1) / rows
        var lines: [String] = []
        for row in 0..<rows {
            var line = ""
            for column in 0..<columns {
                let index = column * rows + row
                guard index < items.count else { break }
                let item = items[index]
                line += item
                if column < columns - 1 { line += String(repeating: " ", count: cell - item.count) }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            lines.append(line)
        }
        return lines
    }

    // MARK: History file

    /// One history entry as one line of the file: backslashes and newlines escaped.
    static func encodeHistoryLine(_ line: String) -> String {
        line.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func decodeHistoryLine(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var out = ""
        var escaped = false
        for c in text {
            if escaped {
                out.append(c == "n" ? "\n" : c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        if escaped { out.append("\\") }
        return out
    }

    private func loadHistoryFile() {
        // A regular file of bounded size only: a history that is a FIFO or /dev/zero must not hang or fill memory.
        guard let historyFile, let bytes = try? SafeFile.read(historyFile, limit: 64 << 20) else { return }
        let data = Data(bytes)
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map { LineEditor.decodeHistoryLine(String($0)) }
        historyFileLines = lines.count
        var deduplicated: [String] = []
        for line in lines where deduplicated.last != line && !line.allSatisfy(\.isWhitespace) { deduplicated.append(line) }
        lines = deduplicated
        if lines.count > historySize { lines.removeFirst(lines.count - historySize) }
        history = lines
        if historyFileLines > historySize * 2 { rewriteHistoryFile() }
    }

    private func rewriteHistoryFile() {
        guard let historyFile else { return }
        let text = history.map { LineEditor.encodeHistoryLine($0) + "\n" }.joined()
        // Like every output: through a temporary file, and never over a device or a link.
        guard (try? SafeFile.write(Array(text.utf8), to: historyFile)) != nil else { return }
        historyFileLines = history.count
    }

    private func appendToHistoryFile(_ line: String) {
        guard let historyFile else { return }
        let directory = parentPath(historyFile)
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let fd = open(historyFile, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array((LineEditor.encodeHistoryLine(line) + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        historyFileLines += 1
        if historyFileLines > historySize * 2 { rewriteHistoryFile() }
    }
}
