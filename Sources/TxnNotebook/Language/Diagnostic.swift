import TxnTensor
/// A place in a notebook's source: 1-based line and column (in characters), and how many
/// characters the thing there spans (for the caret line).
public struct SourceLocation: Equatable, Sendable {
    public var line: Int
    public var column: Int
    public var length: Int

    public init(line: Int, column: Int, length: Int = 1) {
        self.line = line
        self.column = column
        self.length = max(1, length)
    }
}

/// An error in a notebook, with where it happened: printed as `file:line:col: error: message`,
/// then the source line and a caret under the culprit, as compilers do.
public struct Diagnostic: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var location: SourceLocation
    public var message: String
    /// The full text of the offending line, for the excerpt.
    public var sourceLine: String
    /// Extra lines (valid keys, usage), printed after the excerpt.
    public var notes: [String]

    public init(file: String, location: SourceLocation, message: String, sourceLine: String = "", notes: [String] = []) {
        self.file = file
        self.location = location
        self.message = message
        self.sourceLine = sourceLine
        self.notes = notes
    }

    /// Ctrl-C, not a mistake in the source: ends a run even with --keep-going.
    public var isInterruption: Bool { message.hasPrefix("interrupted (Ctrl-C)") }

    public var headline: String { "\(file):\(location.line):\(location.column): error: \(message)" }

    public var description: String {
        var out = headline
        if !sourceLine.isEmpty {
            let number = String(location.line)
            let gutter = String(repeating: " ", count: number.count)
            out += "\n \(number) | \(sourceLine)"
            let indent = String(repeating: " ", count: max(0, location.column - 1))
            out += "\n \(gutter) | \(indent)^" + String(repeating: "~", count: max(0, location.length - 1))
        }
        for note in notes { out += "\nnote: \(note)" }
        return out
    }
}

/// A runtime failure inside a command, before it is given its place in the source.
/// An error as a notebook says it: a lower layer's words, and after an error over the memory limit how a notebook
/// raises it (the command line says `--max-memory` instead).
func notebookWording(_ error: Error) -> String {
    let overLimit = (error as? MemoryLimitError)?.isOverMemoryLimit == true
    return "\(error)" + (overLimit ? " " + raiseMemoryLimitInNotebook : "")
}

/// How a notebook raises the memory limit, after an error over it.
let raiseMemoryLimitInNotebook = "(raise it with `set memory=MiB`)"

struct CommandError: Error, CustomStringConvertible {
    var message: String
    /// Where in the statement: an argument key or index, if the command knows.
    var argument: ArgumentRef?
    var notes: [String] = []

    enum ArgumentRef: Equatable { case key(String), position(Int), command }

    init(_ message: String, at argument: ArgumentRef? = nil, notes: [String] = []) {
        self.message = message
        self.argument = argument
        self.notes = notes
    }

    var description: String { message }
}
