import Foundation
#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
private let systemWrite = Darwin.write
#endif

/// Reading input files and writing output files, the one way txn does both (images, reports, GIFs, notebooks,
/// checkpoints: every module that touches a file goes through here).
///
/// Input: only regular files are read (a FIFO would block in `open`, a device never ends), opened without
/// blocking, and only up to a size limit checked before anything is allocated.
/// Output: written to a temporary file in the same folder, then renamed over the target, so a failed write never
/// leaves half a file; the target must be a new path or a regular file (never a device, a symlink or a folder:
/// `--report /dev/null` as root must not replace /dev/null); the temporary name stays under NAME_MAX.
public enum SafeFile {
    /// Why a file could not be read or written: the path and the reason, ready for a message.
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public enum Kind: Equatable, Sendable { case notFound, notRegular, tooLarge, invalidPath, io }
        public var path: String
        public var kind: Kind
        public var reason: String
        public var description: String { "\(path): \(reason)" }

        public init(_ path: String, _ kind: Kind, _ reason: String) {
            self.path = path
            self.kind = kind
            self.reason = reason
        }
    }

    /// Throws for paths the system would silently misread: empty, or with a NUL (C would stop at it).
    public static func checkPath(_ path: String) throws {
        if path.isEmpty { throw Failure(path, .invalidPath, "empty path") }
        if path.utf8.contains(0) {
            throw Failure(path.replacingOccurrences(of: "\0", with: "\\0"), .invalidPath, "the path contains a NUL character")
        }
    }

    /// The whole content of a regular file of at most `limit` bytes; `limitHint` follows the "too large" reason
    /// (how to raise the limit). TxnTensor adds `read(_:)`, whose limit is the memory budget. With `followSymlinks`
    /// false a symlink is refused too (the server's sources, which must not point it elsewhere).
    public static func read(_ path: String, limit: Int, limitHint: String = "", followSymlinks: Bool = true) throws -> [UInt8] {
        let (descriptor, size) = try openRegular(path, followSymlinks: followSymlinks)
        defer { close(descriptor) }
        guard size <= limit else {
            throw Failure(path, .tooLarge, "file is \(size) bytes, more than the \(limit) bytes allowed" + limitHint)
        }
        // One byte more than the size, to notice a file that grows while it is read.
        var bytes = [UInt8](repeating: 0, count: size + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(path, .io, "read failed: \(message(errno))")
            }
            if n == 0 { break }
            count += n
        }
        guard count <= size else { throw Failure(path, .io, "the file grew while it was read") }
        bytes.removeLast(bytes.count - count)
        return bytes
    }

    /// UTF-8 text of a regular file of at most `limit` bytes.
    public static func readText(_ path: String, limit: Int, limitHint: String = "") throws -> String {
        try text(of: try read(path, limit: limit, limitHint: limitHint), path: path)
    }

    /// `bytes` (read from `path`) as UTF-8 text without NULs.
    public static func text(of bytes: [UInt8], path: String) throws -> String {
        guard !bytes.contains(0), let text = String(bytes: bytes, encoding: .utf8) else {
            throw Failure(path, .io, bytes.contains(0) ? "is not text (it contains NUL bytes)" : "is not UTF-8 text")
        }
        return text
    }

    /// Checks that `path` is a regular file that can be opened for reading, without blocking; returns its size.
    /// For readers that open the file themselves (checkpoints).
    @discardableResult
    public static func checkReadable(_ path: String) throws -> Int {
        let (descriptor, size) = try openRegular(path)
        close(descriptor)
        return size
    }

    /// Opens a regular file for reading without ever blocking (a FIFO is refused, not waited on) and returns the
    /// descriptor, which the caller closes, and the size. For readers that need random access (checkpoints): the
    /// one way txn opens an input file.
    public static func openForReading(_ path: String) throws -> (descriptor: Int32, size: Int) {
        let (descriptor, size) = try openRegular(path)
        return (descriptor, size)
    }

    private static func openRegular(_ path: String, followSymlinks: Bool = true) throws -> (Int32, Int) {
        try checkPath(path)
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, deaf to Ctrl-C.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (followSymlinks ? 0 : O_NOFOLLOW))
        if descriptor < 0 {
            let code = errno
            if code == ELOOP && !followSymlinks { throw Failure(path, .notRegular, "is a symbolic link, not a regular file") }
            throw Failure(path, code == ENOENT || code == ENOTDIR ? .notFound : .io,
                          code == ENOENT ? "no such file" : message(code))
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            close(descriptor)
            throw Failure(path, .io, message(code))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw Failure(path, .notRegular, "is \(kindName(info.st_mode)), not a regular file")
        }
        // Regular files ignore O_NONBLOCK, but the flag is cleared so that reads behave as usual.
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        return (descriptor, Int(info.st_size))
    }

    // MARK: Output

    /// Checks, before any work is done, that `write(…, to: path)` can succeed: the path is new or a regular
    /// file, and its folder exists (or, with `createFolders`, can be made) and is writable.
    public static func checkWritable(_ path: String, createFolders: Bool = false) throws {
        try checkPath(path)
        try checkTarget(path)
        let folder = folderOf(path)
        var info = stat()
        if stat(folder, &info) != 0 {
            guard createFolders, errno == ENOENT else {
                throw Failure(path, .notFound, "folder '\(folder)' does not exist")
            }
            // The nearest existing ancestor must be a writable folder.
            var ancestor = folder
            while stat(ancestor, &info) != 0 && ancestor != "/" && ancestor != "." {
                ancestor = folderOf(ancestor)
            }
            guard (info.st_mode & S_IFMT) == S_IFDIR, access(ancestor, W_OK | X_OK) == 0 else {
                throw Failure(path, .io, "cannot create folder \(folder): \(ancestor) is not a writable folder")
            }
            return
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw Failure(path, .io, "\(folder) is not a folder") }
        guard access(folder, W_OK | X_OK) == 0 else { throw Failure(path, .io, "folder \(folder) is not writable") }
    }

    /// Writes `bytes` to `path` through a temporary file in the same folder, renamed over it at the end.
    /// With `createFolders`, missing folders are made first.
    public static func write(_ bytes: [UInt8], to path: String, createFolders: Bool = false) throws {
        try write(to: path, createFolders: createFolders) { sink in try bytes.withUnsafeBytes { try sink.write($0) } }
    }

    /// Writes what `body` gives its sink (streamed: a checkpoint's storages are not gathered in memory first) to
    /// `path`: into a temporary file in the same folder (same file system, so the rename is atomic), flushed with
    /// fsync, renamed over `path`; then the folder is fsynced so the rename itself survives a crash. A failure
    /// anywhere, `body`'s included, leaves the old file as it was and no temporary file behind. A replaced file
    /// keeps its permissions; a new one gets 0666 minus the umask. Errors from `body` pass through unchanged.
    public static func write(to path: String, createFolders: Bool = false, _ body: (FileSink) throws -> Void) throws {
        try withoutActuallyEscaping(body) { body in try write(together: [(path, body)], createFolders: createFolders) }
    }

    /// Writes several files as `write(to:_:)` writes one, each through its own temporary file, in order, and renames
    /// them into place only when all are written and flushed, one right after the other: a failure, or a kill,
    /// before the renames leaves every old file as it was, so files that belong together (a generator and its
    /// resume state) change together but for the instant between two renames. No temporary file is left behind.
    public static func write(together files: [(path: String, body: (FileSink) throws -> Void)], createFolders: Bool = false) throws {
        var staged: [(temporary: String, path: String)] = []
        var renamed = 0
        defer { for s in staged.dropFirst(renamed) { unlink(s.temporary) } }
        for (path, body) in files { staged.append((try stage(path, createFolders: createFolders, body), path)) }
        for (temporary, path) in staged {
            // Checked again just before the rename, which is what would replace a device or a link.
            try checkTarget(path)
            guard rename(temporary, path) == 0 else { throw Failure(path, .io, "cannot replace the file: \(message(errno))") }
            renamed += 1
        }
        for folder in Set(staged.map { folderOf($0.path) }) {
            let folderDescriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if folderDescriptor >= 0 {
                _ = fsync(folderDescriptor)
                close(folderDescriptor)
            }
        }
    }

    /// Writes what `body` gives into a new temporary file beside `path`, flushed with fsync, and returns its path;
    /// on any failure the temporary file is removed.
    private static func stage(_ path: String, createFolders: Bool, _ body: (FileSink) throws -> Void) throws -> String {
        try checkPath(path)
        let base = (path as NSString).lastPathComponent
        guard !path.hasSuffix("/"), !base.isEmpty, base != ".", base != ".." else {
            throw Failure(path, .invalidPath, "not a file name")
        }
        try checkTarget(path)
        let folder = folderOf(path)
        if createFolders && !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw Failure(path, .io, "cannot create folder \(folder)")
            }
        }
        var info = stat()
        guard stat(folder, &info) == 0 else {
            let code = errno
            throw Failure(path, code == ENOENT ? .notFound : .io,
                          "cannot write: folder '\(folder)' " + (code == ENOENT ? "does not exist" : message(code)))
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw Failure(path, .io, "cannot write: '\(folder)' is not a folder") }
        var generator = SystemRandomNumberGenerator()
        var temporary = ""
        var descriptor: Int32 = -1
        for _ in 0..<16 {
            temporary = folder + "/" + temporaryName(for: base, random: generator.next())
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o666)
            if descriptor >= 0 || errno != EEXIST { break }
        }
        if descriptor < 0 {
            let code = errno
            throw Failure(path, code == ENOENT ? .notFound : .io, "cannot create a file in \(folder): \(message(code))")
        }
        var written = false
        defer { if !written { unlink(temporary) } }
        do {
            let sink = FileSink(descriptor: descriptor, path: path)
            try body(sink)
            try sink.flush()
            var old = stat()
            if lstat(path, &old) == 0, (old.st_mode & S_IFMT) == S_IFREG { _ = fchmod(descriptor, old.st_mode & 0o7777) }
            guard fsync(descriptor) == 0 else { throw Failure(path, .io, "fsync failed: \(message(errno))") }
        } catch {
            close(descriptor)
            throw error
        }
        guard close(descriptor) == 0 else { throw Failure(path, .io, "close failed: \(message(errno))") }
        written = true
        return temporary
    }

    /// `.NAME.tmp-XXXX`, with NAME shortened (on a character boundary) so that the whole stays within
    /// NAME_MAX (255 bytes): a long but valid output name must not make its temporary name invalid.
    public static func temporaryName(for base: String, random: UInt64) -> String {
        temporaryPrefix(for: base) + "\(getpid())-\(String(random, radix: 36))"
    }

    /// `.NAME.tmp-`, NAME shortened so that a pid and a 64-bit random number in base 36 still fit NAME_MAX.
    static func temporaryPrefix(for base: String) -> String {
        // The longest suffix: ".tmp-" + a pid (at most 10 digits) + "-" + 13 base-36 digits.
        let room = 255 - 1 - (5 + 10 + 1 + 13)
        var name = base
        while name.utf8.count > room { name.removeLast() }
        return "." + name + ".tmp-"
    }

    /// Removes the temporary files that `write(…, to: path)` left beside `path` when its process was killed
    /// (`.NAME.tmp-PID-XXXX` of a process that no longer runs); those of live processes, this one included, stay.
    /// Returns their names.
    @discardableResult
    public static func removeStaleTemporaries(of path: String) -> [String] {
        let folder = folderOf(path)
        let prefix = temporaryPrefix(for: (path as NSString).lastPathComponent)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard rest.count == 2, let pid = Int32(rest[0]), pid > 0 else { continue }
            // This process's own may be in the middle of a write (the server runs jobs side by side).
            if pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH { continue }
            let full = folder + "/" + name
            var info = stat()
            guard lstat(full, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if unlink(full) == 0 { removed.append(name) }
        }
        return removed
    }

    /// Makes the folder `path` (and its parents) for outputs, or checks that it is one; errors name `path` and
    /// say what is there instead (`--samples /dev/null`: "is a character device, not a folder").
    public static func makeFolder(_ path: String) throws {
        try checkPath(path)
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw Failure(path, .notRegular, "is \(kindName(info.st_mode)), not a folder")
            }
            guard access(path, W_OK | X_OK) == 0 else { throw Failure(path, .io, "folder is not writable") }
            return
        }
        guard errno == ENOENT else { throw Failure(path, .io, message(errno)) }
        try checkWritable(path + "/x", createFolders: true)
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw Failure(path, .io, "cannot create the folder")
        }
    }

    /// Throws unless `path` ends in one of `extensions` (lowercase, without the dot; compared case-insensitively):
    /// a file of one kind is never written under another kind's name (`save g "x.png"` writing a checkpoint).
    public static func checkExtension(_ path: String, _ extensions: [String], kind: String) throws {
        let ext = (path as NSString).pathExtension.lowercased()
        guard extensions.contains(ext) else {
            let names = extensions.map { "." + $0 }.joined(separator: " or ")
            throw Failure(path, .invalidPath,
                          "\(kind) is written to a \(names) file, not " + (ext.isEmpty ? "a name without extension" : "a .\(ext) file"))
        }
    }

    /// A path may be written if nothing is there, or a regular file is (not a symlink, device, FIFO, folder).
    private static func checkTarget(_ path: String) throws {
        var info = stat()
        if lstat(path, &info) != 0 {
            if errno == ENOENT { return }
            if errno == ENOTDIR { throw Failure(path, .notFound, "cannot write: a parent of it is not a folder") }
            throw Failure(path, .io, "cannot write: \(message(errno))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw Failure(path, .notRegular, "is \(kindName(info.st_mode)): txn only replaces regular files")
        }
    }

    private static func folderOf(_ path: String) -> String {
        let folder = parentPath(path)
        return folder.isEmpty ? "." : folder
    }

    private static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a folder"
        case S_IFLNK: return "a symbolic link"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    public static func message(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}

/// Buffered writes to the temporary file of `SafeFile.write(to:_:)` (small headers are gathered; large blocks pass
/// straight through).
public final class FileSink {
    private let descriptor: Int32
    private let path: String
    private var buffer: [UInt8] = []
    /// Bytes written so far.
    public private(set) var position = 0
    private static let bufferSize = 1 << 16

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
        buffer.reserveCapacity(Self.bufferSize)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        position += bytes.count
        if buffer.count + bytes.count <= Self.bufferSize {
            buffer.append(contentsOf: bytes)
            return
        }
        try flush()
        if bytes.count <= Self.bufferSize {
            buffer.append(contentsOf: bytes)
        } else {
            try writeAll(bytes)
        }
    }

    func flush() throws {
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = systemWrite(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeFile.Failure(path, .io, "write failed: \(SafeFile.message(errno))")
            }
            done += n
        }
    }
}

/// The path without its last component, as `NSString.deletingLastPathComponent` gives it: "a/b.png" → "a",
/// "b.png" → "", "/b" → "/", "a/b/" → "a". Written out because swift-corelibs-foundation's traps (an illegal
/// instruction, not an error) on any one-character path, such as the folder "a" of "a/G.pth".
public func parentPath(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return "" }
    var folder = p[..<slash]
    while folder.count > 1 && folder.hasSuffix("/") { folder = folder.dropLast() }
    return folder.isEmpty ? "/" : String(folder)
}

/// A text file written line by line while a long run goes on (`--log`), so that what was written survives a kill
/// or a crash: each line goes to the file in one write, as soon as it is given. The path is checked as
/// `SafeFile.checkWritable` checks it, and opened without following a symlink or blocking on a FIFO.
public final class LineLog {
    public let path: String
    private let descriptor: Int32

    public init(path: String, createFolders: Bool = false) throws {
        try SafeFile.checkWritable(path, createFolders: createFolders)
        if createFolders { try SafeFile.makeFolder(parentPath(path).isEmpty ? "." : parentPath(path)) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw SafeFile.Failure(path, .io, "cannot open for writing: \(SafeFile.message(errno))") }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw SafeFile.Failure(path, .notRegular, "is not a regular file: txn only writes logs to regular files")
        }
        descriptor = fd
        self.path = path
    }

    deinit { close(descriptor) }

    /// Writes `line` and a newline.
    public func write(line: String) throws {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeFile.Failure(path, .io, "write failed: \(SafeFile.message(errno))")
            }
            done += n
        }
    }
}
