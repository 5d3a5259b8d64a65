import Foundation
import TxnImage
import TxnPlot
#if canImport(Glibc)
import Glibc
#endif

/// Where commands print text and show images. The terminal, a rendered notebook and the web
/// interface each provide one.
public protocol OutputSink: AnyObject {
    func write(_ text: String)
    func show(_ image: Image, caption: String)
}

/// Standard output; images as 24-bit colour half-blocks when stdout is a terminal.
public final class TerminalOutput: OutputSink {
    public var inlineImages: Bool
    public var maxColumns: Int

    public init(inlineImages: Bool = isatty(STDOUT_FILENO) != 0, maxColumns: Int = 48) {
        self.inlineImages = inlineImages
        self.maxColumns = maxColumns
    }

    public func write(_ text: String) {
        StandardOutput.write(text)
    }

    public func show(_ image: Image, caption: String) {
        guard inlineImages else { return }
        write(TerminalImage.render(image, maxColumns: maxColumns))
        if !caption.isEmpty { write("  \(caption)\n") }
    }
}

/// Standard output with its write errors handled: a closed or full stdout (`txn -c help >&-`, `| head -1`,
/// a full disk) ends the program with a message on stderr and exit code 74, instead of a trap inside
/// FileHandle or output silently lost.
public enum StandardOutput {
    public static func write(_ text: String) {
        // Whatever `print` buffered goes first, so the two keep their order.
        if fflush(stdout) != 0 { fail(errno) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                fail(errno)
            }
            bytes = bytes.dropFirst(n)
        }
    }

    /// Checks what `print` buffered; called at exit.
    public static func flush() {
        if fflush(stdout) != 0 || ferror(stdout) != 0 { fail(errno) }
    }

    public static func fail(_ code: Int32) -> Never {
        let reason = code == 0 ? "write error" : String(cString: strerror(code))
        let message = "txn: cannot write to standard output (\(reason)); stopping\n"
        _ = message.withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
        _exit(74)  // EX_IOERR; _exit, because exit() would flush stdout again
    }

    /// Makes write errors visible and file descriptors 0-2 safe to rely on, at the start of the process:
    /// SIGPIPE is ignored so a closed pipe is an EPIPE error, not a silent death; and a closed 0, 1 or 2
    /// is filled with /dev/null (read-only for 1 and 2, so that writes to them still fail), so that no file
    /// txn opens later can land on it and receive its output.
    public static func prepareProcess() {
        signal(SIGPIPE, SIG_IGN)
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 && errno == EBADF {
            let opened = open("/dev/null", O_RDONLY)
            if opened >= 0 && opened != fd { dup2(opened, fd); close(opened) }
        }
        atexit { StandardOutput.flush() }
    }
}

/// Keeps what one statement printed and showed (for rendered notebooks), passing it on to another sink.
public final class RecordingOutput: OutputSink {
    public let next: OutputSink?
    public private(set) var text = ""
    public private(set) var images: [(caption: String, image: Image)] = []

    public init(next: OutputSink?) { self.next = next }

    public func write(_ text: String) {
        self.text += text
        next?.write(text)
    }

    public func show(_ image: Image, caption: String) {
        images.append((caption, image))
        next?.show(image, caption: caption)
    }
}

