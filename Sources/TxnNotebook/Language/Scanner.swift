import TxnTensor
import TxnSynthesis

/// Turns notebook source into tokens, clox-style: one pass over the characters, every token
/// knowing its line and column so that errors can point at it.
public struct Scanner {
    private let chars: [Character]
    private let file: String
    private let lines: SourceLines
    private var index = 0
    private var line = 1
    private var column = 1

    /// - Parameter firstLine: the line number of the source's first line (a line read from a pipe is
    ///   line n of the session, not line 1).
    public init(_ source: String, file: String, firstLine: Int = 1) {
        let source = normalizedSource(source)
        chars = Array(source)
        self.file = file
        line = firstLine
        lines = SourceLines(source, firstLine: firstLine)
    }

    /// All tokens, ending with `.end`; the first malformed token is an error.
    public mutating func scanAll() throws -> [Token] {
        var tokens: [Token] = []
        while true {
            if tokens.count & 4095 == 4095 && Interrupt.isRequested {
                throw error("interrupted (Ctrl-C) while reading", at: SourceLocation(line: line, column: column))
            }
            let t = try next()
            tokens.append(t)
            if t.kind == .end { return tokens }
        }
    }

    /// The character offset (in the CR-normalised source) of the next character to scan.
    public var offset: Int { index }

    /// One piece of tolerantly scanned text: a token, or (kind nil) text the language would reject.
    public struct Piece: Equatable, Sendable {
        public var kind: TokenKind?
        public var text: String
        /// Character offset in the normalised source.
        public var offset: Int
    }

    /// The tokens of any text, for tools that must show or complete what is being typed (the report's
    /// highlighter, Tab completion) with the same rules as the parser: where `next()` would throw, the text up
    /// to the next whitespace becomes a piece of kind nil and scanning goes on. Whitespace between pieces is not
    /// a piece; `normalizedSource(source)` is the text the offsets refer to.
    public static func tolerantPieces(_ source: String) -> [Piece] {
        var scanner = Scanner(source, file: "")
        var pieces: [Piece] = []
        while true {
            let before = scanner.index
            do {
                let t = try scanner.next()
                if t.kind == .end { return pieces }
                pieces.append(Piece(kind: t.kind, text: t.text, offset: scanner.index - t.text.count))
            } catch {
                var start = before
                while start < scanner.chars.count, scanner.chars[start] == " " || scanner.chars[start] == "\t" { start += 1 }
                scanner.skipRejected(from: start)
                pieces.append(Piece(kind: nil, text: String(scanner.chars[start..<scanner.index]), offset: start))
            }
        }
    }

    /// After an error: moves past the rejected text, at least one character, up to the next whitespace.
    private mutating func skipRejected(from start: Int) {
        while index < start, !atEnd { _ = advance() }
        if index == start, !atEnd { _ = advance() }
        while let c = peek(), !c.isWhitespace { _ = advance() }
    }

    private var atEnd: Bool { index >= chars.count }
    private func peek(_ offset: Int = 0) -> Character? {
        index + offset < chars.count ? chars[index + offset] : nil
    }

    private mutating func advance() -> Character {
        let c = chars[index]
        index += 1
        if c == "\n" { line += 1; column = 1 } else { column += 1 }
        return c
    }

    func error(_ message: String, at location: SourceLocation) -> Diagnostic {
        Diagnostic(file: file, location: location, message: message, sourceLine: lines[location.line])
    }

    public mutating func next() throws -> Token {
        // Spaces, tabs, carriage returns and a backslash before a newline (line continuation).
        while let c = peek() {
            if c == " " || c == "\t" || c == "\r" { _ = advance(); continue }
            if c == "\\", peek(1) == "\n" { _ = advance(); _ = advance(); continue }
            break
        }
        let start = SourceLocation(line: line, column: column)
        let startIndex = index
        func token(_ kind: TokenKind) -> Token {
            let text = String(chars[startIndex..<index])
            return Token(kind: kind, text: text, location: SourceLocation(line: start.line, column: start.column, length: text.count))
        }
        guard !atEnd else { return token(.end) }
        let c = advance()
        switch c {
        case "\n": return token(.newline)
        case ";": return token(.semicolon)
        case "=": return token(.equals)
        case ",": return token(.comma)
        case "[": return token(.leftBracket)
        case "]": return token(.rightBracket)
        case "#":
            while let d = peek(), d != "\n" { _ = advance() }
            var text = String(chars[(startIndex + 1)..<index])
            if text.hasPrefix(" ") { text.removeFirst() }
            return token(.comment(text))
        case "\"", "'":
            return try string(quote: c, start: start, startIndex: startIndex)
        case "-", "+", ".", "0"..."9":
            if c == "." && !(peek()?.isASCIIDigit ?? false) { return token(.dot) }
            // `--math` (as in `help gram --math`): a command-line style flag, read as a word.
            if c == "-", peek() == "-", peek(1)?.isLetter ?? false {
                _ = advance()
                while let d = peek(), d.isLetter || d.isNumber || d == "_" || d == "-" && (peek(1)?.isLetter ?? false) { _ = advance() }
                return token(.identifier(String(chars[startIndex..<index])))
            }
            if (c == "-" || c == "+") && !((peek()?.isASCIIDigit ?? false) || (peek() == "." && (peek(1)?.isASCIIDigit ?? false))) {
                throw error("unexpected '\(c)'", at: start)
            }
            return try number(start: start, startIndex: startIndex)
        default:
            if c.isLetter || c == "_" {
                // Inner '-' and '+' join words: reflect-pad, gram+sw.
                while let d = peek(), d.isLetter || d.isNumber || d == "_" || (d == "-" || d == "+") && (peek(1)?.isLetter ?? false) {
                    _ = advance()
                }
                return token(.identifier(String(chars[startIndex..<index])))
            }
            let shown = c.isWhitespace || c.asciiValue.map { $0 < 32 } ?? false ? "character U+\(String(c.unicodeScalars.first!.value, radix: 16, uppercase: true))" : "'\(c)'"
            throw error("unexpected \(shown)", at: start)
        }
    }

    /// Numbers: 256, 0.8, 1e9, -3, .5; and sizes: 320x200.
    private mutating func number(start: SourceLocation, startIndex: Int) throws -> Token {
        while let d = peek(), d.isASCIIDigit || d == "." { _ = advance() }
        if let e = peek(), e == "e" || e == "E",
           let n = peek(1), n.isASCIIDigit || ((n == "-" || n == "+") && (peek(2)?.isASCIIDigit ?? false)) {
            _ = advance(); _ = advance()
            while let d = peek(), d.isASCIIDigit { _ = advance() }
        }
        var text = String(chars[startIndex..<index])
        // A size: digits 'x' digits, no spaces.
        if peek() == "x", let n = peek(1), n.isASCIIDigit, let w = Int(text), w >= 0 {
            _ = advance()
            let heightStart = index
            while let d = peek(), d.isASCIIDigit { _ = advance() }
            text = String(chars[startIndex..<index])
            guard let h = Int(String(chars[heightStart..<index])) else {
                throw error("'\(text)' is not a size", at: SourceLocation(line: start.line, column: start.column, length: text.count))
            }
            try checkWordBoundary(text, start: start)
            return Token(kind: .size(w, h), text: text, location: SourceLocation(line: start.line, column: start.column, length: text.count))
        }
        try checkWordBoundary(text, start: start)
        guard let value = Double(text), value.isFinite else {
            throw error("'\(text)' is not a number", at: SourceLocation(line: start.line, column: start.column, length: text.count))
        }
        return Token(kind: .number(value), text: text, location: SourceLocation(line: start.line, column: start.column, length: text.count))
    }

    /// `12abc` is a typo, not the number 12 followed by a word.
    private mutating func checkWordBoundary(_ text: String, start: SourceLocation) throws {
        if let d = peek(), d.isLetter || d == "_" {
            var end = index
            while end < chars.count, chars[end].isLetter || chars[end].isNumber || chars[end] == "_" { end += 1 }
            let word = String(chars[(index - text.count)..<end])
            throw error("'\(word)' is neither a number nor a name (names start with a letter)",
                        at: SourceLocation(line: start.line, column: start.column, length: word.count))
        }
    }

    /// "…" or '…' with escapes \n \r \t \\ \" \' \u{…}; may not span lines. `Scanner.quoted` is its inverse.
    private mutating func string(quote: Character, start: SourceLocation, startIndex: Int) throws -> Token {
        var value = ""
        while true {
            guard let c = peek(), c != "\n" else {
                throw error("unterminated string (missing \(quote))", at: start)
            }
            _ = advance()
            if c == quote { break }
            if c == "\\" {
                let escapeStart = SourceLocation(line: line, column: column - 1, length: 2)
                guard let e = peek(), e != "\n" else { throw error("unterminated string (missing \(quote))", at: start) }
                _ = advance()
                switch e {
                case "n": value.unicodeScalars.append("\n")
                case "r": value.unicodeScalars.append("\r")
                case "t": value.unicodeScalars.append("\t")
                case "\\": value.append("\\")
                case "\"": value.append("\"")
                case "'": value.append("'")
                case "u":
                    guard peek() == "{" else { throw error("\\u needs braces: \\u{1F600}", at: escapeStart) }
                    _ = advance()
                    var hex = ""
                    while let h = peek(), h != "}", h != "\n", hex.count < 8 { hex.append(advance()) }
                    guard peek() == "}", let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                        throw error("bad unicode escape \\u{\(hex)}", at: escapeStart)
                    }
                    _ = advance()
                    value.unicodeScalars.append(scalar)
                default:
                    throw error("unknown escape '\\\(e)' (use \\n, \\r, \\t, \\\\, \\\", \\', \\u{…})", at: escapeStart)
                }
            } else {
                value.append(c)
            }
        }
        let text = String(chars[startIndex..<index])
        return Token(kind: .string(value), text: text, location: SourceLocation(line: start.line, column: start.column, length: text.count))
    }
}

/// `text` as a string literal that the scanner (`Scanner.string(quote:…)`) reads back to exactly the same Unicode
/// scalars: the inverse of the scanner's strings, for every front end that writes notebook text (the server's job
/// notebooks).
///
/// Escaped: the quote and the backslash; every control character and line or paragraph separator (`\r` too: the
/// scanner reads a raw CR as a line break, so a raw one would end the statement and start another); and every
/// scalar that would join the character before or after it into one grapheme (a combining accent after the opening
/// quote, a prepended mark before the closing one), since the scanner reads characters, not scalars.
public func notebookLiteral(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if isPlainInQuotes(scalar) { out.unicodeScalars.append(scalar) } else { out += "\\u{\(String(scalar.value, radix: 16))}" }
        }
    }
    return out + "\""
}

/// Whether `text` is one bare word to the scanner (a name, a layer, a choice), so that writing it into a statement
/// adds exactly one token: no space, `;`, `=` or line break can ride along.
public func isNotebookWord(_ text: String) -> Bool {
    var scanner = Scanner(text, file: "")
    guard let tokens = try? scanner.scanAll(), tokens.count == 2, case .identifier(let word) = tokens[0].kind else { return false }
    return word == text
}

/// A scalar that stands alone as a character between two quotes and is no line break.
private func isPlainInQuotes(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.isASCII { return scalar.value >= 0x20 && scalar.value != 0x7F }
    switch scalar.properties.generalCategory {
    case .control, .lineSeparator, .paragraphSeparator, .format, .surrogate, .privateUse, .unassigned: return false
    default: break
    }
    var alone = "\""
    alone.unicodeScalars.append(scalar)
    alone += "\""
    return alone.count == 3
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
