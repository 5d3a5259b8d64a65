import Foundation
import TxnNotebook
import TxnTensor

/// The interactive session (here in the program, as clox keeps `repl()` in main.c: the notebook library links no
/// terminal library): reads statements (with libedit when stdin is a terminal, plain lines
/// otherwise), runs them, and keeps going whatever happens, so no typo loses the session.
public final class REPL {
    public let interpreter: Interpreter
    private var cell = 1
    /// Sees every statement run (for `--report` after `txn -i` or `--step`).
    public var onCell: ((Interpreter.Cell) -> Void)?
    /// Input already read from a pipe and not yet run (after `txn --step` without a terminal).
    private var pendingInput: LineReader?

    public init(interpreter: Interpreter, pendingInput: LineReader? = nil) {
        self.interpreter = interpreter
        self.pendingInput = pendingInput
    }

    /// Runs until `quit`, Ctrl-D or the end of input. Returns true if any statement failed (for the
    /// exit code of `txn < session.txn`).
    public func run() -> Bool {
        Interrupt.install()
        defer { Interrupt.uninstall() }
        if isatty(STDIN_FILENO) != 0 {
            return interactive()
        }
        var failed = false
        var number = 0
        var reader = pendingInput ?? LineReader(descriptor: STDIN_FILENO)
        while !interpreter.quitRequested, let line = reader.next() {
            number += 1
            switch line {
            case .text(let text):
                let errors = interpreter.run(source: text, file: "<stdin>", firstLine: number, onCell: onCell)
                failed = !errors.isEmpty || failed
                // Ctrl-C while reading a pipe ends the session, like the end of input.
                if errors.contains(where: \.isInterruption) { return true }
            case .tooLong(let bytes):
                interpreter.print(Diagnostic(file: "<stdin>", location: SourceLocation(line: number, column: 1),
                                             message: "line \(number) is over \(bytes) bytes long, more than the \(reader.maxLineBytes) a line may have: stopping").description)
                return true
            }
            if Interrupt.isRequested { return true }
        }
        return failed
    }

    /// The history file: $TXN_HISTORY, else ~/.txn_history.
    public static var historyFile: String {
        EnvironmentSettings.history.value ?? (NSHomeDirectory() as NSString).appendingPathComponent(".txn_history")
    }

    private func interactive() -> Bool {
        let editor = LineEditor(program: "txn", historyFile: REPL.historyFile)
        editor.completer = { [interpreter] line, cursor in interpreter.complete(line: line, cursor: cursor) }
        interpreter.print("txn notebook — `help` lists the commands, Tab completes, Ctrl-C stops a running command, Ctrl-D quits.")
        var failed = false
        while !interpreter.quitRequested {
            switch editor.readLine(prompt: "[\(cell)] ") {
            case .endOfFile:
                interpreter.print("")
                return failed
            case .interrupted:
                continue
            case .line(let line):
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                editor.addHistory(line)
                failed = execute(line) || failed
            }
        }
        return failed
    }

    /// Runs one line as cell `[n]`; returns true if it failed.
    private func execute(_ line: String) -> Bool {
        Interrupt.reset()
        let errors = interpreter.run(source: line, file: "[\(cell)]", keepGoing: false, onCell: onCell)
        Interrupt.reset()
        cell += 1
        return !errors.isEmpty
    }
}
