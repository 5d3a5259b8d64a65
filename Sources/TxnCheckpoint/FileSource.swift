import Foundation
import TxnFiles

/// Internal error carrying only the reason; `Checkpoint.load` adds the path, so the low layers stay path-free.
struct Failure: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Random-access reads of a file with every range checked against the file size *before* anything is
/// allocated: a checkpoint is untrusted, and a corrupt length field must give an error, not a huge allocation.
final class FileSource {
    private let handle: FileHandle
    /// Size measured once at open; reads beyond it are refused even if the file grows.
    let size: Int

    /// Opened through `SafeFile`, the one reader of input files: only a regular file, never blocking in `open`
    /// (a FIFO named like a checkpoint is refused at once instead of waiting for a writer forever).
    init(path: String) throws {
        let opened: (descriptor: Int32, size: Int)
        do {
            opened = try SafeFile.openForReading(path)
        } catch let f as SafeFile.Failure {
            throw Failure(f.reason)
        }
        handle = FileHandle(fileDescriptor: opened.descriptor, closeOnDealloc: true)
        size = opened.size
    }

    deinit { try? handle.close() }

    /// True if `count` bytes starting at `offset` lie inside the file (overflow-safe).
    func contains(offset: Int, count: Int) -> Bool {
        offset >= 0 && count >= 0 && offset <= size && count <= size - offset
    }

    /// Reads exactly `count` bytes at `offset`; `what` names the item for the truncation message.
    func read(at offset: Int, count: Int, what: String) throws -> [UInt8] {
        guard contains(offset: offset, count: count) else {
            throw Failure("truncated or corrupt file: \(what) needs \(count) bytes at offset \(offset), "
                + "but the file has \(size) bytes")
        }
        if count == 0 { return [] }
        do {
            try handle.seek(toOffset: UInt64(offset))
            var out = [UInt8]()
            out.reserveCapacity(count)
            while out.count < count {
                guard let chunk = try handle.read(upToCount: min(count - out.count, 1 << 24)), !chunk.isEmpty else {
                    throw Failure("unexpected end of file while reading \(what) at offset \(offset)")
                }
                out.append(contentsOf: chunk)
            }
            return out
        } catch let f as Failure {
            throw f
        } catch {
            throw Failure("read error at offset \(offset): \(error)")
        }
    }
}

/// Little-endian field access on a byte array, bounds-checked (the zip and legacy headers are parsed with it).
extension Array where Element == UInt8 {
    func le(_ offset: Int, _ width: Int) throws -> UInt64 {
        guard offset >= 0, width <= 8, offset <= count - width else {
            throw Failure("truncated or corrupt header: field at \(offset) beyond \(count) bytes")
        }
        var v: UInt64 = 0
        for i in (0..<width).reversed() { v = (v << 8) | UInt64(self[offset + i]) }
        return v
    }
    func u16(_ o: Int) throws -> Int { Int(try le(o, 2)) }
    func u32(_ o: Int) throws -> Int { Int(try le(o, 4)) }
    /// 64-bit fields of untrusted files may not fit an `Int`: that is corruption, reported as such.
    func u64(_ o: Int) throws -> Int {
        let v = try le(o, 8)
        guard v <= UInt64(Int.max) else { throw Failure("corrupt header: 64-bit field \(v) out of range") }
        return Int(v)
    }
}

/// Sequential reader over a window `[start, end)` of a file, buffered so the unpickler can fetch bytes one
/// opcode at a time without a syscall per byte. Offsets in errors are relative to `start` and tagged with `label`.
struct WindowReader {
    let source: FileSource
    let start: Int
    let end: Int
    /// Absolute file position of the next byte.
    private(set) var position: Int
    /// e.g. "" for a legacy stream (offsets are file offsets) or " of archive/data.pkl".
    let label: String
    private var buffer: [UInt8] = []
    private var bufferStart = 0

    init(source: FileSource, start: Int, end: Int, label: String) {
        self.source = source
        self.start = start
        self.end = end
        self.position = start
        self.label = label
    }

    /// "at byte offset N" (plus the entry name for zip archives) for error messages.
    func at(_ absolute: Int) -> String { "at byte offset \(absolute - start)\(label)" }
    var here: String { at(position) }

    private mutating func ensure(_ n: Int, what: String) throws {
        guard n >= 0, position <= end, n <= end - position else {
            throw Failure("truncated or corrupt pickle: \(what) needs \(n) bytes \(here), only \(end - position) left")
        }
        if position >= bufferStart && position + n <= bufferStart + buffer.count { return }
        let want = Swift.min(Swift.max(n, 1 << 16), end - position)
        buffer = try source.read(at: position, count: want, what: what)
        bufferStart = position
    }

    mutating func byte(_ what: String = "opcode") throws -> UInt8 {
        try ensure(1, what: what)
        let b = buffer[position - bufferStart]
        position += 1
        return b
    }

    mutating func bytes(_ n: Int, _ what: String) throws -> [UInt8] {
        try ensure(n, what: what)
        let i = position - bufferStart
        position += n
        return Array(buffer[i..<(i + n)])
    }

    /// Unsigned little-endian integer of `width` bytes.
    mutating func uint(_ width: Int, _ what: String) throws -> UInt64 {
        try ensure(width, what: what)
        var v: UInt64 = 0
        let i = position - bufferStart
        for k in (0..<width).reversed() { v = (v << 8) | UInt64(buffer[i + k]) }
        position += width
        return v
    }

    /// A newline-terminated ASCII line (GLOBAL operands), at most `limit` bytes so garbage fails fast.
    mutating func line(limit: Int, _ what: String) throws -> String {
        var out = [UInt8]()
        while true {
            let b = try byte(what)
            if b == 0x0A { break }
            out.append(b)
            guard out.count <= limit else { throw Failure("corrupt pickle: \(what) longer than \(limit) bytes \(here)") }
        }
        guard let s = String(bytes: out, encoding: .utf8) else { throw Failure("corrupt pickle: \(what) is not UTF-8 \(here)") }
        return s
    }
}
