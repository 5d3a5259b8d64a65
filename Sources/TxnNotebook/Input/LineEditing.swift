/// What one line typed at a terminal prompt gave.
public enum LineInput: Equatable { case line(String), interrupted, endOfFile }

/// An editing line at a terminal (history, Tab completion, a line that waits pre-filled). The notebook declares it and
/// the program provides it: txn's is libedit's (`LineEditor` in the executable), so that no library under the
/// executable links a terminal library — as clox keeps `repl()` in main.c.
public protocol LineEditing: AnyObject {
    /// Reads one line after `prompt`, with `prefill` already on the line to be run or edited.
    func readLine(prompt: String, prefill: String) -> LineInput
    /// Keeps `line` in the history (and its file).
    func addHistory(_ line: String)
}
