import Foundation
import TxnTensor

/// `txn --step FILE.txn`: the notebook cell by cell, as a class would walk through it. Before each statement its
/// prose (the comment block above it) is shown as text; the statement waits pre-filled on the editing line.
///
/// Enter runs it as it is; an edited line runs instead and goes into the history; `skip` moves on; `quit` ends the
/// session; Ctrl-D leaves the rest unrun and returns, so the caller can go on in the REPL with the variables. A cell
/// that fails stays, with the line as it was run, to be fixed or skipped. Without a terminal, one line is read per
/// cell: an empty line runs the cell as it is, anything else is read as at the prompt.
public final class StepSession {
    public enum Outcome: Equatable {
        /// The notebook ended, or Ctrl-D left the rest: the session goes on.
        case stay
        /// `quit`: the session ends.
        case quit
    }

    public let interpreter: Interpreter
    public let file: String
    /// Sees what actually ran (edits included) and the prose shown, for `--report`.
    public var onCell: ((Interpreter.Cell) -> Void)?
    /// True once any cell failed.
    public private(set) var failed = false
    /// The piped input left after stepping (no terminal), for the REPL to go on with.
    public private(set) var remainingInput: LineReader?

    private let items: [NotebookItem]
    private let styled: Bool
    /// The editing line a terminal's cells wait on (txn's is libedit's); without a terminal, or without one, a line
    /// is read per cell.
    private let editor: LineEditing?

    /// Parses the notebook; a syntax error is thrown, before anything runs.
    public init(interpreter: Interpreter, source: String, file: String, editor: LineEditing?) throws {
        self.interpreter = interpreter
        self.file = file
        self.editor = editor
        items = try Parser.parse(normalizedSource(source), file: file)
        styled = isatty(STDOUT_FILENO) != 0
    }

    public var statementCount: Int { items.reduce(0) { if case .statement = $1 { return $0 + 1 } else { return $0 } } }

    public func run() -> Outcome {
        Interrupt.install()
        defer { Interrupt.uninstall() }
        let terminal = isatty(STDIN_FILENO) != 0
        let editor = terminal ? self.editor : nil
        var reader = editor == nil ? LineReader(descriptor: STDIN_FILENO) : nil
        defer { remainingInput = reader }

        /// The user's answer for a cell: the line to run, or what to do instead.
        func read(_ prompt: String, _ statement: String) -> LineInput {
            if let editor { return editor.readLine(prompt: prompt, prefill: statement) }
            interpreter.print(prompt + statement)
            switch reader?.next() {
            case .text(let line)?: return .line(line.trimmingCharacters(in: .whitespaces).isEmpty ? statement : line)
            case .tooLong?, nil: return .endOfFile
            }
        }

        let total = statementCount
        interpreter.print("Stepping through \(file) (\(total) cells): Enter runs a cell, or edit it first to run your version; "
            + "`skip` skips it, `quit` stops, Ctrl-D leaves the rest and stays in the session.")
        var number = 0
        var prose: [(String, Int)] = []
        for (index, item) in items.enumerated() {
            guard case .statement(let s) = item else {
                if case .prose(let text, let line) = item { prose.append((text, line)) }
                continue
            }
            number += 1
            for (text, line) in prose {
                interpreter.print("")
                interpreter.output.write(TerminalProse.render(text, styled: styled))
                onCell?(Interpreter.Cell(item: .prose(text, line: line), output: "", images: [], error: nil, seconds: 0))
            }
            prose = []
            var offered = s.text.replacingOccurrences(of: "\n", with: " ")
            cell: while true {
                if interpreter.quitRequested { return .quit }
                switch read("[\(number)/\(total)] ", offered) {
                case .endOfFile:
                    let left = items[index...].reduce(0) { if case .statement = $1 { return $0 + 1 } else { return $0 } }
                    interpreter.print("(\(left) of \(total) cells left unrun; the session goes on with its variables)")
                    return .stay
                case .interrupted:
                    continue cell
                case .line(let line):
                    switch line.trimmingCharacters(in: .whitespaces) {
                    case "skip":
                        interpreter.print("(skipped)")
                        break cell
                    case "quit":
                        return .quit
                    case "":
                        interpreter.print("(an empty line runs nothing: Enter on the cell runs it, `skip` skips it)")
                        continue cell
                    case let trimmed:
                        if trimmed != s.text.trimmingCharacters(in: .whitespaces) { editor?.addHistory(line) }
                        Interrupt.reset()
                        let errors = interpreter.run(source: line, file: file, firstLine: s.line, onCell: onCell)
                        Interrupt.reset()
                        if errors.isEmpty || errors.contains(where: \.isInterruption) { break cell }
                        // The cell stays, as it was run, to be fixed or skipped.
                        failed = true
                        offered = line
                    }
                }
            }
            if interpreter.quitRequested { return .quit }
        }
        for (text, line) in prose {
            interpreter.print("")
            interpreter.output.write(TerminalProse.render(text, styled: styled))
            onCell?(Interpreter.Cell(item: .prose(text, line: line), output: "", images: [], error: nil, seconds: 0))
        }
        interpreter.print("(end of \(file); the session goes on with its variables)")
        return .stay
    }
}
