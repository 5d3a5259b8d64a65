#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces a file atomically: the content goes to a temporary file in the destination's folder (same file
/// system, so rename is atomic), is flushed with fsync, and is renamed over the destination; the folder is then
/// fsynced so the rename itself survives a crash. Only a missing path or a regular file is ever replaced.
enum AtomicFile {
    static func write(_ path: String, _ body: (ByteSink) throws -> Void) throws {
        let (folder, name) = split(path)
        guard !name.isEmpty, name != ".", name != ".." else { throw Failure("not a file name") }
        try checkReplaceable(path)
        var st = stat()
        guard stat(folder, &st) == 0 else {
            throw Failure("cannot write: folder '\(folder)' \(errno == ENOENT ? "does not exist" : describeErrno())")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw Failure("cannot write: '\(folder)' is not a folder") }

        let (fd, temp) = try createTemporary(folder: folder, name: name)
        var renamed = false
        defer {
            if !renamed { unlink(temp) }
        }
        do {
            let sink = FileSink(fd: fd)
            try body(sink)
            try sink.flush()
            // Keep the permissions of a file being replaced; a new file gets 0666 minus the umask (open's mode).
            var old = stat()
            if lstat(path, &old) == 0, old.st_mode & S_IFMT == S_IFREG { _ = fchmod(fd, old.st_mode & 0o7777) }
            guard fsync(fd) == 0 else { throw Failure("cannot flush the temporary file '\(temp)': \(describeErrno())") }
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw Failure("cannot close the temporary file '\(temp)': \(describeErrno())") }
        try checkReplaceable(path) // it may have changed while we wrote
        guard rename(temp, path) == 0 else { throw Failure("cannot rename '\(temp)' to it: \(describeErrno())") }
        renamed = true
        let dirFD = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }

    /// Folder (`.` for a bare name) and last component of `path`.
    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }

    /// Throws unless `path` is absent or a regular file (lstat: a symbolic link is refused, not followed).
    static func checkReplaceable(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return } // a new file (a missing folder is reported by the caller)
            throw Failure("cannot write: \(describeErrno())")
        }
        let kind: String
        switch st.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFLNK: kind = "a symbolic link"
        case S_IFDIR: kind = "a folder"
        case S_IFCHR: kind = "a character device"
        case S_IFBLK: kind = "a block device"
        case S_IFIFO: kind = "a FIFO"
        case S_IFSOCK: kind = "a socket"
        default: kind = "not a regular file"
        }
        throw Failure("refusing to replace \(kind) with a checkpoint (only a regular file or a new path is written)")
    }

    /// `.<name>.<random>.tmp` next to the destination, shortened so the name stays within NAME_MAX (255 bytes).
    static func createTemporary(folder: String, name: String) throws -> (Int32, String) {
        var stem = Substring(name)
        while stem.utf8.count > 200 { stem = stem.dropLast() }
        for _ in 0..<16 {
            let random = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            let temp = folder + "/." + stem + "." + random + ".tmp"
            let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 { return (fd, temp) }
            if errno != EEXIST {
                throw Failure("cannot create a temporary file in '\(folder)': \(describeErrno())")
            }
        }
        throw Failure("cannot create a temporary file in '\(folder)': names keep colliding")
    }

    static func describeErrno() -> String { String(cString: strerror(errno)) }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif

/// Buffered writes to a file descriptor (the zip headers are small; storages pass straight through).
final class FileSink: ByteSink {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var position = 0
    private static let bufferSize = 1 << 16

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(Self.bufferSize)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
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
            let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure("write failed: \(AtomicFile.describeErrno())")
            }
            done += n
        }
    }
}
