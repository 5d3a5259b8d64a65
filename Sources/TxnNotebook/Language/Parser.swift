/// Recursive descent over the tokens of a notebook. One statement per line or between `;`:
///
///     statement  := 'param' NAME '=' value | NAME '=' command | 'time' statement | command
///     command    := NAME argument*
///     argument   := NAME '=' values | values
///     values     := value (',' value)*            two or more make a list
///     value      := NUMBER | SIZE | STRING | NAME ('.' NAME)* | '[' (value (',' value)*)? ']'
public struct Parser {
    private let tokens: [Token]
    private let file: String
    private let lines: SourceLines
    /// Each line as Characters, made once: slicing statements out of them is then linear in the statement.
    private let lineCharacters: [[Character]]
    private var current = 0
    /// Lists and `time` prefixes currently open, against `maxNestingDepth`.
    private var depth = 0

    public init(source: String, file: String, firstLine: Int = 1) throws {
        let source = normalizedSource(source)
        var scanner = Scanner(source, file: file, firstLine: firstLine)
        tokens = try scanner.scanAll()
        self.file = file
        lines = SourceLines(source, firstLine: firstLine)
        lineCharacters = lines.lines.map(Array.init)
    }

    /// Parses a whole notebook into statements and prose (comment blocks on their own lines).
    public static func parse(_ source: String, file: String, firstLine: Int = 1) throws -> [NotebookItem] {
        var parser = try Parser(source: source, file: file, firstLine: firstLine)
        return try parser.items()
    }

    /// Parses a single value (for `--set key=value`).
    public static func parseValue(_ source: String, file: String) throws -> Expression {
        var parser = try Parser(source: source, file: file)
        let value = try parser.values()
        guard case .end = parser.peek.kind else {
            throw parser.error("unexpected \(parser.peek.kind.display) after the value", at: parser.peek.location)
        }
        return value
    }

    private var peek: Token { tokens[current] }
    private func peekKind(_ offset: Int) -> TokenKind {
        current + offset < tokens.count ? tokens[current + offset].kind : .end
    }

    @discardableResult
    private mutating func advance() -> Token {
        let t = tokens[current]
        if current < tokens.count - 1 { current += 1 }
        return t
    }

    func error(_ message: String, at location: SourceLocation, notes: [String] = []) -> Diagnostic {
        Diagnostic(file: file, location: location, message: message, sourceLine: lines[location.line], notes: notes)
    }

    mutating func items() throws -> [NotebookItem] {
        var items: [NotebookItem] = []
        var prose: [String] = []
        var proseLine = 0
        var lineHasCode = false
        func flushProse() {
            if !prose.isEmpty { items.append(.prose(prose.joined(separator: "\n"), line: proseLine)) }
            prose = []
        }
        while true {
            let t = peek
            switch t.kind {
            case .end:
                flushProse()
                return items
            case .newline:
                advance()
                lineHasCode = false
            case .semicolon:
                advance()
            case .comment(let text):
                advance()
                // A comment after code on the same line is an aside, not prose.
                if !lineHasCode {
                    if prose.isEmpty { proseLine = t.location.line }
                    prose.append(text)
                }
            default:
                flushProse()
                let startToken = current
                let statement = try self.statement()
                try endOfStatement()
                let first = tokens[startToken].location, last = tokens[current - 1]
                items.append(.statement(SourceStatement(statement: statement, text: sourceText(from: first, to: last), line: first.line)))
                lineHasCode = true
            }
        }
    }

    /// The source text of a statement, from its first token to its last.
    private func sourceText(from first: SourceLocation, to last: Token) -> String {
        var end = last
        if case .newline = last.kind { end = tokens[max(0, current - 2)] }
        if case .semicolon = last.kind { end = tokens[max(0, current - 2)] }
        if case .comment = end.kind { end = tokens[max(0, current - 3)] }
        let base = lines.firstLine
        guard first.line >= base, end.location.line <= lines.lastLine else { return "" }
        if first.line == end.location.line {
            let line = lineCharacters[first.line - base]
            let from = first.column - 1, to = min(line.count, end.location.column - 1 + end.location.length)
            return from < to ? String(line[from..<to]) : ""
        }
        var parts: [String] = []
        for l in first.line...end.location.line {
            let chars = lineCharacters[l - base]
            let from = l == first.line ? first.column - 1 : 0
            let to = l == end.location.line ? min(chars.count, end.location.column - 1 + end.location.length) : chars.count
            parts.append(from < to ? String(chars[from..<to]) : "")
        }
        return parts.joined(separator: "\n")
    }

    private mutating func endOfStatement() throws {
        switch peek.kind {
        case .newline, .semicolon, .end: return
        case .comment: return
        default:
            throw error("unexpected \(peek.kind.display); one statement per line (or separate them with ';')",
                        at: peek.location)
        }
    }

    mutating func statement() throws -> Statement {
        let t = peek
        guard case .identifier(let name) = t.kind else {
            throw error("expected a command name, found \(t.kind.display)", at: t.location)
        }
        if name == "param", case .identifier(let variable) = peekKind(1) {
            advance()
            let nameToken = advance()
            try expect(.equals, "after 'param \(variable)'")
            let value = try values()
            _ = t
            return .parameter(name: variable, nameToken.location, value)
        }
        if name == "time", case .identifier = peekKind(1) {
            advance()
            try enterNesting(at: t.location, "'time' prefixes")
            defer { depth -= 1 }
            return .timed(try statement(), t.location)
        }
        if case .equals = peekKind(1) {
            advance()
            advance()
            guard case .identifier = peek.kind else {
                throw error("expected a command after '\(name) =', found \(peek.kind.display)", at: peek.location,
                            notes: ["a variable gets the result of a command, e.g. \(name) = load \"texture.png\""])
            }
            return .assignment(target: name, t.location, try command())
        }
        return .command(try command())
    }

    mutating func command() throws -> CommandCall {
        let nameToken = advance()
        guard case .identifier(let name) = nameToken.kind else {
            throw error("expected a command name, found \(nameToken.kind.display)", at: nameToken.location)
        }
        var call = CommandCall(name: name, location: nameToken.location, positional: [], keywords: [])
        while true {
            switch peek.kind {
            case .newline, .semicolon, .end, .comment:
                return call
            case .identifier(let key) where peekKind(1) == .equals:
                let keyToken = advance()
                advance()
                if call.keywords.contains(where: { $0.key == key }) {
                    throw error("'\(key)' is given twice", at: keyToken.location)
                }
                call.keywords.append((key, keyToken.location, try values()))
            default:
                if !call.keywords.isEmpty {
                    throw error("positional argument after key=value arguments; put it before them", at: peek.location)
                }
                call.positional.append(try values())
            }
        }
    }

    /// One value, or several separated by commas (a list).
    mutating func values() throws -> Expression {
        let first = try value()
        guard case .comma = peek.kind else { return first }
        var items = [first]
        while case .comma = peek.kind {
            advance()
            items.append(try value())
        }
        return .list(items, first.location)
    }

    mutating func value() throws -> Expression {
        let t = advance()
        switch t.kind {
        case .number(let v): return .number(v, t.location)
        case .size(let w, let h): return .size(w, h, t.location)
        case .string(let s): return .string(s, t.location)
        case .identifier(let name):
            var path: [(String, SourceLocation)] = []
            var length = t.location.length
            while case .dot = peek.kind {
                advance()
                let field = advance()
                guard case .identifier(let f) = field.kind else {
                    throw error("expected a field name after '.', found \(field.kind.display)", at: field.location)
                }
                path.append((f, field.location))
                length = field.location.column + field.location.length - t.location.column
            }
            return .name(name, path: path, SourceLocation(line: t.location.line, column: t.location.column, length: length))
        case .leftBracket:
            try enterNesting(at: t.location, "lists")
            defer { depth -= 1 }
            var items: [Expression] = []
            while true {
                while case .newline = peek.kind { advance() }
                if case .rightBracket = peek.kind { advance(); break }
                items.append(try value())
                while case .newline = peek.kind { advance() }
                switch peek.kind {
                case .comma: advance()
                case .rightBracket: break
                default:
                    throw error("expected ',' or ']' in the list, found \(peek.kind.display)", at: peek.location,
                                notes: ["the list started here: line \(t.location.line), column \(t.location.column)"])
                }
            }
            return .list(items, t.location)
        default:
            throw error("expected a value, found \(t.kind.display)", at: t.location)
        }
    }

    /// Counts one more level of nesting, or fails where it went too deep (instead of overflowing the stack).
    private mutating func enterNesting(at location: SourceLocation, _ what: String) throws {
        guard depth < maxNestingDepth else {
            throw error("\(what) nested more than \(maxNestingDepth) deep", at: location)
        }
        depth += 1
    }

    private mutating func expect(_ kind: TokenKind, _ context: String) throws {
        guard peek.kind == kind else {
            throw error("expected \(kind.display) \(context), found \(peek.kind.display)", at: peek.location)
        }
        advance()
    }
}
