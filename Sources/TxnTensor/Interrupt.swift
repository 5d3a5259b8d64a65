#if canImport(Glibc)
import Glibc
#endif

/// Set from the SIGINT handler; a plain word that a signal handler may write.
nonisolated(unsafe) private var interruptFlag: sig_atomic_t = 0

/// Ctrl-C for long runs: the handler only raises a flag, and the synthesis checks it after every
/// evaluation, so it stops at a clean point and hands back the best image so far; the interpreter checks it
/// between statements and the scanner while it reads. A second Ctrl-C before the first was seen ends the
/// process (exit 130), so Ctrl-C always either stops the current statement or quits: nothing can ignore it,
/// not even a blocking system call.
public enum Interrupt {
    /// Routes SIGINT to the flag (instead of killing the process). Idempotent.
    public static func install() {
        interruptFlag = 0
        signal(SIGINT) { _ in
            if interruptFlag != 0 {
                let message: StaticString = "\ninterrupted twice: quitting\n"
                _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
                _exit(130)
            }
            interruptFlag = 1
        }
    }

    /// Restores the default SIGINT behaviour (terminate).
    public static func uninstall() {
        signal(SIGINT, SIG_DFL)
    }

    public static var isRequested: Bool { interruptFlag != 0 }

    /// Clears a pending request, e.g. before the next command in the REPL.
    public static func reset() { interruptFlag = 0 }
}
