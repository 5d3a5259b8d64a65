// Writer for PyTorch state dicts in the zip format of `torch.save` (torch ≥ 1.6), readable by
// `torch.load(path, weights_only=True)` and `Module.load_state_dict`.
//
// Layout of the archive (the order and records torch 2.x writes; the folder is the file's stem, as in torch):
//   <stem>/data.pkl                  the OrderedDict pickled with protocol 2 (see StatePickler)
//   <stem>/.format_version           "1"
//   <stem>/.storage_alignment        "64": every record's data starts at a multiple of 64 bytes
//   <stem>/byteorder                 "little"
//   <stem>/data/0, data/1, …         one storage per entry, raw little-endian elements, in entry order
//   <stem>/version                   "3\n"
//   <stem>/.data/serialization_id    40 digits; torch's are random, ours come from the content (same input,
//                                    same bytes)
// Entries are stored uncompressed with their CRC-32; zip64 records appear only when a size, offset or count
// needs them (see ZipWriter).

import TxnFiles

/// One tensor of a state dict to be written: a key, a shape, and contiguous row-major values.
public struct CheckpointEntry: Sendable {
    /// The element values; the case decides the stored dtype (torch.float32 or torch.int64).
    public enum Values: Sendable {
        case float32([Float])
        case int64([Int64])
    }

    public let key: String
    /// Sizes of the dimensions; `[]` is a 0-dim tensor (one element), e.g. BatchNorm's `num_batches_tracked`.
    public let shape: [Int]
    public let values: Values

    public init(_ key: String, shape: [Int], floats: [Float]) {
        self.key = key
        self.shape = shape
        self.values = .float32(floats)
    }

    public init(_ key: String, shape: [Int], integers: [Int64]) {
        self.key = key
        self.shape = shape
        self.values = .int64(integers)
    }

    /// A tensor read by `Checkpoint.load`, written back with its stored type: float32 as floats, int64 from its
    /// exact `integers`. Nil for other stored types (they would change type silently).
    public init?(_ key: String, _ tensor: StoredTensor) {
        switch tensor.dtype {
        case .float32: self.init(key, shape: tensor.shape, floats: tensor.values)
        case .int64:
            guard let integers = tensor.integers else { return nil }
            self.init(key, shape: tensor.shape, integers: integers)
        default: return nil
        }
    }

    public var dtype: StoredDType {
        switch values {
        case .float32: return .float32
        case .int64: return .int64
        }
    }

    var count: Int {
        switch values {
        case .float32(let v): return v.count
        case .int64(let v): return v.count
        }
    }

    /// Calls `body` with the elements as little-endian bytes (no copy on little-endian hosts).
    func withLittleEndianBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch values {
        case .float32(let v):
            if TensorDecode.hostIsLittleEndian { return try v.withUnsafeBytes(body) }
            return try v.map { $0.bitPattern.littleEndian }.withUnsafeBytes(body)
        case .int64(let v):
            if TensorDecode.hostIsLittleEndian { return try v.withUnsafeBytes(body) }
            return try v.map { $0.littleEndian }.withUnsafeBytes(body)
        }
    }
}

extension Checkpoint {
    /// Writes `entries`, in order, as a PyTorch zip checkpoint at `path` (conventionally `.pth`).
    ///
    /// The write is atomic: a temporary file in the same folder is written, flushed with fsync and renamed over
    /// `path`, so readers see the old file or the new one, never a partial one. `path` may be new or an existing
    /// regular file; a symbolic link, folder, device, FIFO or socket is never replaced. Keys must be unique and
    /// each entry's value count must equal the product of its shape. Errors are `CheckpointError`s naming `path`.
    public static func write(_ entries: [CheckpointEntry], to path: String) throws {
        try write(entries, to: path, zip64Limit: ZipWriter.zip64Threshold)
    }

    /// `zip64Limit` lets tests force the zip64 records that only files over 4 GB would otherwise need.
    static func write(_ entries: [CheckpointEntry], to path: String, zip64Limit: Int) throws {
        do {
            try validate(entries)
            try SafeFile.write(to: path) { sink in
                try writeArchive(entries, folder: archiveFolder(for: path), zip64Limit: zip64Limit, to: sink)
            }
        } catch let f as Failure {
            throw CheckpointError(path: path, reason: f.reason)
        } catch let f as SafeFile.Failure {
            throw CheckpointError(path: path, reason: f.reason)
        }
    }

    /// Two checkpoints that belong together: `first` at `path`, then at `secondPath` the entries `second` makes
    /// from the SHA-256 (lowercase hex) of the first file's bytes, hashed as they are written. Both are renamed
    /// into place only when both are written, one right after the other (`SafeFile.write(together:)`): a process
    /// killed while they are written leaves the old pair, and the hash lets a reader tell the rare mixed pair.
    public static func writePair(_ first: [CheckpointEntry], to path: String,
                                 then second: @escaping (_ firstSHA256: String) -> [CheckpointEntry], to secondPath: String) throws {
        var current = path
        do {
            try validate(first)
            var digest = ""
            try SafeFile.write(together: [
                (path, { sink in
                    let hashed = HashingSink(sink)
                    try writeArchive(first, folder: archiveFolder(for: path), zip64Limit: ZipWriter.zip64Threshold, to: hashed)
                    digest = SHA256.hex(hashed.hasher.finalize())
                }),
                (secondPath, { sink in
                    current = secondPath
                    let entries = second(digest)
                    try validate(entries)
                    try writeArchive(entries, folder: archiveFolder(for: secondPath), zip64Limit: ZipWriter.zip64Threshold, to: sink)
                }),
            ])
        } catch let f as Failure {
            throw CheckpointError(path: current, reason: f.reason)
        } catch let f as SafeFile.Failure {
            throw CheckpointError(path: f.path, reason: f.reason)
        }
    }

    static func validate(_ entries: [CheckpointEntry]) throws {
        var seen = Set<String>()
        for e in entries {
            guard seen.insert(e.key).inserted else { throw Failure("key '\(e.key)' appears twice") }
            var n = 1
            for size in e.shape {
                guard size >= 0 else { throw Failure("entry '\(e.key)' has a negative size in shape \(e.shape)") }
                let (m, overflow) = n.multipliedReportingOverflow(by: size)
                guard !overflow else { throw Failure("entry '\(e.key)': shape \(e.shape) overflows") }
                n = m
            }
            guard n == e.count else {
                throw Failure("entry '\(e.key)' has \(e.count) values but shape \(e.shape) needs \(n)")
            }
        }
    }

    /// The folder inside the zip: the file name without directories and extension, as torch names it;
    /// "archive" (torch's name for streams) when that is empty or not plain printable ASCII.
    static func archiveFolder(for path: String) -> String {
        var name = Substring(path)
        if let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
        if let dot = name.lastIndex(of: ".") { name = name[..<dot] }
        let plain = !name.isEmpty && name.utf8.allSatisfy { (0x20...0x7E).contains($0) && $0 != 0x5C }
        return plain ? String(name) : "archive"
    }

    /// Serialises the archive into `sink`. Storages are streamed from the entries' own buffers.
    static func writeArchive(_ entries: [CheckpointEntry], folder: String, zip64Limit: Int,
                             to sink: ByteSink) throws {
        let pickle = StatePickler.pickle(entries.map { ($0.key, $0.dtype, $0.shape) })
        var zip = ZipWriter(sink: sink, zip64Limit: zip64Limit)
        let prefix = folder + "/"
        try zip.add(prefix + "data.pkl", pickle)
        try zip.add(prefix + ".format_version", Array("1".utf8))
        try zip.add(prefix + ".storage_alignment", Array(String(ZipWriter.alignment).utf8))
        try zip.add(prefix + "byteorder", Array("little".utf8))
        var fingerprint = SHA256()
        fingerprint.update(pickle)
        for (i, e) in entries.enumerated() {
            let crc = try e.withLittleEndianBytes { try zip.add(prefix + "data/\(i)", $0) }
            withUnsafeBytes(of: crc.littleEndian) { fingerprint.update(Array($0)) }
        }
        try zip.add(prefix + "version", Array("3\n".utf8))
        try zip.add(prefix + ".data/serialization_id", Array(serializationID(fingerprint.finalize()).utf8))
        try zip.finish()
    }

    /// torch's format: two 20-digit decimal numbers. Taken from a hash of the pickle and the storages' CRCs.
    static func serializationID(_ digest: [UInt8]) -> String {
        func number(_ bytes: ArraySlice<UInt8>) -> String {
            let v = bytes.reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
            let digits = String(v)
            return String(repeating: "0", count: 20 - digits.count) + digits
        }
        return number(digest[0..<8]) + number(digest[8..<16])
    }
}
