/// The lines of a piece of source, numbered from `firstLine` (a line read from a pipe is line n of the session,
/// not line 1), for the excerpts of diagnostics. Indexing by offset keeps the cost of a late line number constant:
/// padding with n empty lines made reading n lines from stdin quadratic.
public struct SourceLines: Sendable {
    public let firstLine: Int
    public let lines: [String]

    public init(_ source: String, firstLine: Int = 1) {
        self.firstLine = firstLine
        lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// The text of line `number`, or "" outside the source.
    public subscript(_ number: Int) -> String {
        let i = number - firstLine
        return i >= 0 && i < lines.count ? lines[i] : ""
    }

    public var lastLine: Int { firstLine + lines.count - 1 }
}

/// What the language accepts as source text: CRLF and CR-only line ends become LF (a notebook saved on Windows
/// must read the same), so every later stage only sees "\n".
public func normalizedSource(_ source: String) -> String {
    guard source.contains("\r") else { return source }
    return source.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
}

/// How deep lists and `time` prefixes may nest. Far beyond any real notebook, far below what the recursive
/// parser and evaluator can take on the smallest thread stack.
public let maxNestingDepth = 64
