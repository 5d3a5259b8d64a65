/// The smallest pieces of a statement.
public enum TokenKind: Equatable, Sendable {
    case identifier(String)
    case number(Double)
    /// `320x200`: width x height, written without spaces.
    case size(Int, Int)
    case string(String)
    case equals, comma, dot, leftBracket, rightBracket
    /// A statement separator: end of line or `;`.
    case newline, semicolon
    /// `# text`, kept so that comment blocks can become prose in a rendered notebook.
    case comment(String)
    case end
}

public struct Token: Equatable, Sendable {
    public var kind: TokenKind
    /// The exact source text of the token.
    public var text: String
    public var location: SourceLocation
}

extension TokenKind {
    /// How the token is named in "expected …, found …" messages.
    var display: String {
        switch self {
        case .identifier(let s): return "'\(s)'"
        case .number: return "a number"
        case .size: return "a size"
        case .string: return "a string"
        case .equals: return "'='"
        case .comma: return "','"
        case .dot: return "'.'"
        case .leftBracket: return "'['"
        case .rightBracket: return "']'"
        case .newline: return "end of line"
        case .semicolon: return "';'"
        case .comment: return "a comment"
        case .end: return "end of input"
        }
    }
}
