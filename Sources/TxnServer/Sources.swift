import Foundation
import Hummingbird
import TxnFiles
import TxnImage

/// One source texture: a shipped one from `Notebooks/data`, or an upload. Clients name it only by
/// `id`; the path is the server's own and is never built from anything a client sent.
struct SourceEntry: Sendable {
    var id: String
    var name: String
    var width: Int
    var height: Int
    var format: ImageFormat
    var shipped: Bool
    var path: String

    var json: [String: Any] {
        ["id": id, "name": name, "width": width, "height": height, "format": format.rawValue,
         "kind": shipped ? "shipped" : "upload"]
    }
}

/// The shipped and uploaded textures, by id.
final class SourceStore: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: SourceEntry] = [:]
    private var order: [String] = []
    private let uploadDirectory: String
    private let limits: ServerSettings.Limits
    private let data: DataStore

    /// Reads the shipped textures (regular files only, through `SafeFile`: a symlink in the folder is skipped, so
    /// it cannot point the server elsewhere, and a FIFO is skipped without waiting on it) and the uploads of
    /// earlier runs.
    init(settings: ServerSettings, data: DataStore) throws {
        limits = settings.limits
        self.data = data
        uploadDirectory = settings.dataDirectory + "/sources"
        try FileManager.default.createDirectory(atPath: uploadDirectory, withIntermediateDirectories: true)
        for (dir, shipped) in [(settings.shippedDirectory, true), (uploadDirectory, false)] {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            for name in names {
                let lower = name.lowercased()
                guard lower.hasSuffix(".png") || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") else { continue }
                let stem = String(name[..<name.lastIndex(of: ".")!])
                // Ids are made of [a-z0-9-] only; uploads were named by the server as `u<hex>`.
                let id = Self.slug(stem)
                guard !id.isEmpty, entries[id] == nil, shipped || Self.isUploadID(id) else { continue }
                let path = dir + "/" + name
                // The header only: the start stays quick however many sources there are (an upload was decoded
                // whole when it came; a job's `load` decodes its source again, within the usual limits).
                guard let bytes = try? readSourceFile(path, maxBytes: shipped ? 1 << 30 : limits.uploadBytes),
                      let header = try? Image.header(bytes, name: name),
                      header.width.multipliedReportingOverflow(by: header.height).partialValue
                        <= (shipped ? Image.defaultMaxPixels : limits.uploadPixels),
                      header.width > 0, header.height > 0, header.width <= 1 << 20, header.height <= 1 << 20
                else { continue }
                add(SourceEntry(id: id, name: shipped ? name : "upload \(id)", width: header.width,
                                height: header.height, format: header.format, shipped: shipped, path: path))
            }
        }
    }

    static func slug(_ s: String) -> String {
        String(s.lowercased().unicodeScalars.map { ("a"..."z").contains($0) || ("0"..."9").contains($0) ? Character($0) : "-" })
    }

    private var uploadsMade: UInt64 = 0

    /// `u`, the time in milliseconds (11 hex digits) and a count (5): ids sort as the uploads came, in this run and
    /// across restarts, which is the order the storage quota removes them in.
    private func makeUploadID() -> String {
        lock.lock(); defer { lock.unlock() }
        let milliseconds = UInt64(max(0, Date().timeIntervalSince1970 * 1000)) & 0xFFF_FFFF_FFFF
        while true {
            uploadsMade += 1
            let id = "u" + String(format: "%011llx%05llx", milliseconds, uploadsMade & 0xFFFFF)
            if entries[id] == nil { return id }
        }
    }

    static func isUploadID(_ id: String) -> Bool {
        id.count == 17 && id.hasPrefix("u") && id.dropFirst().allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    private func add(_ entry: SourceEntry) {
        lock.lock(); defer { lock.unlock() }
        entries[entry.id] = entry
        order.append(entry.id)
    }

    /// Forgets an upload whose file was removed (deleted, or to keep within the storage quota).
    func forget(_ id: String) {
        lock.lock(); defer { lock.unlock() }
        guard entries[id]?.shipped == false else { return }
        entries[id] = nil
        order.removeAll { $0 == id }
    }

    func get(_ id: String) -> SourceEntry? {
        lock.lock(); defer { lock.unlock() }
        return entries[id]
    }

    var all: [SourceEntry] {
        lock.lock(); defer { lock.unlock() }
        return order.compactMap { entries[$0] }
    }

    /// The stored bytes of a source, for `GET /api/sources/ID/image`.
    func bytes(of entry: SourceEntry) throws -> [UInt8] {
        try readSourceFile(entry.path, maxBytes: entry.shipped ? 1 << 30 : limits.uploadBytes)
    }

    /// Checks an upload and stores it under a new id; runs on an `UploadPool` thread (parsing and decoding are work
    /// a client can make expensive). The type comes from the bytes (the decoder sniffs the signature); the header is
    /// read before any pixel (pixels against `uploadPixels`, the decode's memory against the budget); the whole
    /// image is then decoded once, within the JPEG scan limit and `decodeSeconds`, so a truncated, corrupt or too
    /// costly file is refused here, not in a job. The file is stored within the quota (`DataStore`: the oldest
    /// files no job uses make room).
    func upload(_ body: [UInt8], contentType: String) throws -> SourceEntry {
        var bytes = body
        if contentType.lowercased().hasPrefix("multipart/form-data") {
            guard let boundary = Multipart.boundary(contentType) else {
                throw APIError.badRequest("multipart body without a boundary")
            }
            bytes = try Multipart.filePart(body, boundary: boundary)
        }
        guard !bytes.isEmpty else { throw APIError.badRequest("the upload is empty; send a PNG or JPEG") }
        let decoded: DecodedImage
        do {
            decoded = try Image.decode(bytes, name: "upload", limits: DecodeLimits(maxPixels: limits.uploadPixels,
                                                                                    seconds: limits.decodeSeconds))
        } catch {
            switch error.kind {
            case .tooLarge:
                throw APIError(.contentTooLarge, "the image is too large (limit \(limits.uploadPixels) pixels): \(error.reason)")
            case .overWorkLimit:
                throw APIError(.unprocessableContent, "the image is too much work to decode: \(error.reason)")
            case .unsupportedFormat, .empty:
                throw APIError(.unsupportedMediaType, "not a PNG or JPEG image: \(error.reason)")
            default:
                throw APIError.badRequest("the image cannot be read: \(error.reason)")
            }
        }
        let id = makeUploadID()
        let path = uploadDirectory + "/" + id + (decoded.format == .png ? ".png" : ".jpg")
        // The exact bytes are kept, so a notebook that loads this file sees the pixels the job saw.
        try data.store(DataStore.Entry(kind: .upload, key: id, path: path, bytes: bytes.count)) {
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
                throw APIError(.internalServerError, "cannot store the upload")
            }
        }
        let entry = SourceEntry(id: id, name: "upload \(id)", width: decoded.image.width, height: decoded.image.height,
                                format: decoded.format, shipped: false, path: path)
        add(entry)
        return entry
    }
}

/// Reads a source file through `SafeFile`, the one reader: regular files only (a symlink, a FIFO or a device is
/// refused, and a FIFO is never waited on), up to `maxBytes`. Answers as the API does: 404 or 413.
func readSourceFile(_ path: String, maxBytes: Int) throws -> [UInt8] {
    do {
        return try SafeFile.read(path, limit: maxBytes, followSymlinks: false)
    } catch let failure as SafeFile.Failure {
        if failure.kind == .tooLarge { throw APIError(.contentTooLarge, "the file is too large") }
        throw APIError.notFound("such file")
    }
}

/// Reads a request body up to `limit` bytes, counting as it streams: a client that sends more (with
/// or without a Content-Length) gets 413 without the server holding more than the limit. With `seconds`, a body
/// that is still arriving after that long is refused (408): a trickle of bytes just inside the idle timeout
/// cannot hold its place for ever.
func collectBody(_ request: Request, limit: Int, seconds: Int? = nil) async throws -> [UInt8] {
    let declared = request.headers[.contentLength].flatMap({ Int($0) })
    if let length = declared, length > limit {
        throw APIError(.contentTooLarge, "the body is \(length) bytes; the limit is \(limit)")
    }
    let deadline = seconds.map { ContinuousClock.now + .seconds($0) }
    var bytes: [UInt8] = []
    // One allocation of the declared size: growing by doubling would hold up to twice the body for a moment.
    if let declared, declared > 0 { bytes.reserveCapacity(declared) }
    for try await chunk in request.body {
        guard bytes.count + chunk.readableBytes <= limit else {
            throw APIError(.contentTooLarge, "the body is over the limit of \(limit) bytes")
        }
        if let deadline, let seconds, ContinuousClock.now > deadline {
            throw APIError(.requestTimeout, "the body took longer than \(seconds) s to arrive")
        }
        bytes.append(contentsOf: chunk.readableBytesView)
    }
    return bytes
}

/// The file part of a `multipart/form-data` body (the first part with a filename, else the first part).
enum Multipart {
    static func boundary(_ contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let kv = parameter.trimmingCharacters(in: .whitespaces)
            if kv.lowercased().hasPrefix("boundary=") {
                var value = String(kv.dropFirst("boundary=".count))
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                return value.isEmpty || value.count > 200 ? nil : value
            }
        }
        return nil
    }

    static func filePart(_ body: [UInt8], boundary: String) throws -> [UInt8] {
        let delimiter = Array(("--" + boundary).utf8)
        var parts: [[UInt8]] = []
        var starts: [Int] = []
        var i = 0
        while let at = find(delimiter, in: body, from: i) { starts.append(at); i = at + delimiter.count }
        guard starts.count >= 2 else { throw APIError.badRequest("malformed multipart body: no parts") }
        var withFile: [UInt8]?
        for (a, b) in zip(starts, starts.dropFirst()) {
            var part = Array(body[(a + delimiter.count)..<b])
            if part.starts(with: [13, 10]) { part.removeFirst(2) }
            if part.suffix(2) == [13, 10] { part.removeLast(2) }
            guard let end = find([13, 10, 13, 10], in: part, from: 0) else { continue }
            let head = String(decoding: part[..<end], as: UTF8.self).lowercased()
            let content = Array(part[(end + 4)...])
            parts.append(content)
            if withFile == nil, head.contains("filename=") { withFile = content }
        }
        guard let file = withFile ?? parts.first else { throw APIError.badRequest("malformed multipart body: no file part") }
        return file
    }

    /// The first `needle` in `haystack` at or after `from`, by Knuth-Morris-Pratt: linear in the haystack (a naive
    /// search is quadratic on a body of near-matches, and the body is the client's).
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, from >= 0, haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        // failure[i]: the length of the longest proper prefix of needle[0...i] that is also its suffix.
        var failure = [Int](repeating: 0, count: needle.count)
        var k = 0
        for i in 1..<needle.count {
            while k > 0 && needle[i] != needle[k] { k = failure[k - 1] }
            if needle[i] == needle[k] { k += 1 }
            failure[i] = k
        }
        var matched = 0
        for i in from..<haystack.count {
            while matched > 0 && haystack[i] != needle[matched] { matched = failure[matched - 1] }
            if haystack[i] == needle[matched] { matched += 1 }
            if matched == needle.count { return i - needle.count + 1 }
        }
        return nil
    }
}
