import Foundation
import TxnImage
import TxnPlot
#if canImport(Glibc)
import Glibc
#endif

/// `optimize … every=10 show=true`: a small preview of the image being made, under the progress lines, redrawn in
/// place each time a progress line is printed (cursor up over the old picture, clear, draw the new one).
///
/// Only on a terminal: the preview is written straight to it, past any recorder, so reports and piped output get the
/// plain progress lines and never a picture or a cursor movement.
final class LivePreview {
    private let write: (String) -> Void
    private let columns: Int, lines: Int
    private var picture: String?
    /// Lines the picture on screen takes (0: none drawn).
    private(set) var drawnLines = 0

    init(columns: Int, lines: Int, write: @escaping (String) -> Void) {
        (self.columns, self.lines, self.write) = (max(4, columns), max(2, lines), write)
    }

    /// A preview for the interpreter's output, or nil when that output does not end in a terminal.
    static func make(for session: CommandContext) -> LivePreview? {
        guard isatty(STDOUT_FILENO) != 0, let terminal = session.output.terminal else { return nil }
        var size = winsize()
        let known = ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 && size.ws_row > 0
        let (cols, rows) = known ? (Int(size.ws_col), Int(size.ws_row)) : (80, 24)
        return LivePreview(columns: min(40, cols - 1), lines: min(14, rows - 4), write: terminal.write)
    }

    /// Prints the progress line through `print` (the interpreter, which records it), then the picture of `image`,
    /// or the last one when this iteration has none.
    func update(line: String, image: Image?, print: (String) -> Void) {
        erase()
        print(line)
        if let image { picture = TerminalImage.render(image, maxColumns: columns, maxLines: lines) }
        if let picture {
            write(picture)
            drawnLines = picture.reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
        }
    }

    /// Leaves the picture where it is (other output follows it), and draws the next one below.
    func keep() { drawnLines = 0 }

    /// Removes the picture (the command then shows its result as usual).
    func finish() { erase() }

    private func erase() {
        guard drawnLines > 0 else { return }
        write("\u{1B}[\(drawnLines)A\u{1B}[J")
        drawnLines = 0
    }
}

extension OutputSink {
    /// The terminal this output ends in, through any recorders, if it shows images there.
    var terminal: TerminalOutput? {
        if let t = self as? TerminalOutput { return t.inlineImages ? t : nil }
        if let r = self as? RecordingOutput { return r.next?.terminal }
        return nil
    }
}
