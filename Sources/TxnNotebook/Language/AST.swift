/// A value written in a statement.
public indirect enum Expression: Equatable, Sendable {
    case number(Double, SourceLocation)
    case size(Int, Int, SourceLocation)
    case string(String, SourceLocation)
    /// A bare name: a variable if one has that name, else a word (a layer, a mode); `path` is field access.
    case name(String, path: [(String, SourceLocation)], SourceLocation)
    case list([Expression], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .number(_, let l), .size(_, _, let l), .string(_, let l), .name(_, _, let l), .list(_, let l): return l
        }
    }

    public static func == (a: Expression, b: Expression) -> Bool {
        switch (a, b) {
        case let (.number(x, l1), .number(y, l2)): return x == y && l1 == l2
        case let (.size(w1, h1, l1), .size(w2, h2, l2)): return w1 == w2 && h1 == h2 && l1 == l2
        case let (.string(x, l1), .string(y, l2)): return x == y && l1 == l2
        case let (.name(x, p1, l1), .name(y, p2, l2)):
            return x == y && l1 == l2 && p1.map(\.0) == p2.map(\.0) && p1.map(\.1) == p2.map(\.1)
        case let (.list(x, l1), .list(y, l2)): return x == y && l1 == l2
        default: return false
        }
    }
}

/// `name arg arg key=value …`
public struct CommandCall: Equatable, Sendable {
    public var name: String
    public var location: SourceLocation
    public var positional: [Expression]
    public var keywords: [(key: String, location: SourceLocation, value: Expression)]

    public static func == (a: CommandCall, b: CommandCall) -> Bool {
        a.name == b.name && a.location == b.location && a.positional == b.positional
            && a.keywords.map(\.key) == b.keywords.map(\.key) && a.keywords.map(\.value) == b.keywords.map(\.value)
    }
}

public indirect enum Statement: Equatable, Sendable {
    case command(CommandCall)
    /// `x = command …`
    case assignment(target: String, SourceLocation, CommandCall)
    /// `param size = 256`: a default the command line can override.
    case parameter(name: String, SourceLocation, Expression)
    /// `time <statement>`
    case timed(Statement, SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .command(let c): return c.location
        case .assignment(_, let l, _), .parameter(_, let l, _), .timed(_, let l): return l
        }
    }
}

/// A statement with the source text it came from (for echo and rendered notebooks).
public struct SourceStatement: Equatable, Sendable {
    public var statement: Statement
    public var text: String
    public var line: Int
}

/// What a notebook file is made of, in order.
public enum NotebookItem: Equatable, Sendable {
    case statement(SourceStatement)
    /// Consecutive comment lines that stand on their own lines.
    case prose(String, line: Int)
}
