import Foundation

/// Lines from a file descriptor (stdin when it is not a terminal), each at most `maxLineBytes` long.
///
/// `readLine` would keep reading a stream without newlines (`txn < /dev/zero`) until memory runs out; here a
/// line that is too long is reported as soon as it is, and the session ends: such input is not a notebook.
public struct LineReader {
    public enum Line: Equatable {
        case text(String)
        /// A line longer than the limit; `bytes` is how much of it was read. The reader cannot go on after it.
        case tooLong(bytes: Int)
    }

    public let descriptor: Int32
    public let maxLineBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    public init(descriptor: Int32 = STDIN_FILENO, maxLineBytes: Int = 16 << 20) {
        self.descriptor = descriptor
        self.maxLineBytes = max(1, maxLineBytes)
    }

    /// The next line without its "\n" (and without a "\r" before it), or nil at the end of input.
    public mutating func next() -> Line? {
        var scanned = 0  // bytes after `start` already known to hold no newline
        while true {
            if let newline = buffer[(start + scanned)...].firstIndex(of: UInt8(ascii: "\n")) {
                let lineBytes = buffer[start..<newline]
                start = newline + 1
                if lineBytes.count > maxLineBytes { return .tooLong(bytes: lineBytes.count) }
                return .text(Self.decode(lineBytes))
            }
            scanned = buffer.count - start
            if scanned > maxLineBytes {
                // Reported at once: the rest of such a line may never come (`txn < /dev/zero`).
                buffer.removeAll()
                start = 0
                return .tooLong(bytes: scanned)
            }
            if atEnd || !fill() {
                atEnd = true
                guard start < buffer.count else { return nil }
                let rest = buffer[start...]
                start = buffer.count
                return .text(Self.decode(rest))
            }
        }
    }

    /// Reads one chunk; false at the end of input or on an error.
    private mutating func fill() -> Bool {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
    }

    private static func decode(_ bytes: ArraySlice<UInt8>) -> String {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
