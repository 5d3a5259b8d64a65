// Reader for PyTorch checkpoints (`torch.save` of a state dict), legacy and zip formats, without Python.

/// The element type a tensor had in the file (values are always handed out as Float32).
public enum StoredDType: String, Sendable {
    case float32, float16, float64, uint8, int64, int32
}

/// A tensor read from a checkpoint, converted to Float32 (uint8 and float16 convert exactly; float64, int64
/// and int32 round to nearest); `dtype` says what was stored, so callers can tell e.g. quantisation indices
/// (uint8) from weights. `values` are contiguous row-major in `shape`, whatever the strides in the file.
public struct StoredTensor: Sendable {
    public let dtype: StoredDType
    public let shape: [Int]
    public var values: [Float]
    /// The exact elements of int64 and int32 tensors (nil for other dtypes), in the order of `values`: what a
    /// 64-bit RNG state or an iteration count needs, since Float32 is exact only up to 2^24.
    public var integers: [Int64]?

    public init(dtype: StoredDType, shape: [Int], values: [Float], integers: [Int64]? = nil) {
        self.dtype = dtype
        self.shape = shape
        self.values = values
        self.integers = integers
    }
}

/// Which `torch.save` serialisation a file used: the pre-1.6 pickle stream or the zip archive.
public enum CheckpointFormat: String, Sendable {
    case legacy, zip
}

/// A loaded state dict, ordered like the file. Every key's shape and dtype are known even when its values
/// were not loaded, so a caller can validate a whole architecture while reading only the layers it needs.
public struct StateDict: Sendable {
    public let format: CheckpointFormat
    /// All keys in file order, including those that `include` filtered out.
    public let keys: [String]
    let tensors: [String: StoredTensor]
    let shapes: [String: [Int]]
    let dtypes: [String: StoredDType]
    /// Storage bytes actually read from disk (tests use it to prove that lazy loading skips storages).
    let storageBytesRead: Int

    /// The tensor for `key`; nil if absent or not loaded.
    public subscript(key: String) -> StoredTensor? { tensors[key] }

    /// Shape of `key`; known for every key, even if not loaded.
    public func shape(of key: String) -> [Int]? { shapes[key] }

    /// Stored element type of `key`; known for every key, even if not loaded.
    public func dtype(of key: String) -> StoredDType? { dtypes[key] }

    /// Keys whose values were loaded, in file order.
    public var loadedKeys: [String] { keys.filter { tensors[$0] != nil } }
}

/// A checkpoint could not be read; `reason` says why (truncation, forbidden global, compression, ...).
public struct CheckpointError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

public enum Checkpoint {
    /// Loads only the tensors whose key passes `include` (lazy: storages of other keys are skipped by seeking,
    /// never read into memory), so e.g. the first layers of an 80 MB VGG can be read in milliseconds.
    /// The file is treated as untrusted: a restricted unpickler accepts only state-dict globals and opcodes,
    /// every length is checked against the file before anything is allocated, and the decoded tensors may
    /// occupy at most `memoryBudget` bytes (default `defaultMemoryBudget(fileSize:)`), checked before any
    /// storage is read: views (zero strides, many keys on one storage) cannot multiply a small file.
    public static func load(_ path: String, include: (String) -> Bool = { _ in true },
                            memoryBudget: Int? = nil) throws -> StateDict {
        do {
            let source = try FileSource(path: path)
            let budget = memoryBudget ?? defaultMemoryBudget(fileSize: source.size)
            let magic = try source.read(at: 0, count: min(4, source.size), what: "magic bytes")
            if magic.count == 4 && magic[0] == 0x50 && magic[1] == 0x4B && (magic[2] == 3 || magic[2] == 5) {
                return try loadZip(source, include: include, budget: budget)
            }
            if magic.count >= 2 && magic[0] == 0x80 && magic[1] == 0x02 {
                return try loadLegacy(source, include: include, budget: budget)
            }
            throw Failure("not a PyTorch checkpoint: starts with neither a zip header nor a protocol-2 pickle")
        } catch let f as Failure {
            throw CheckpointError(path: path, reason: f.reason)
        }
    }

    /// SHA-256 of a file as lowercase hex, streamed in 4 MB chunks (an 80 MB model never sits in memory twice).
    public static func sha256(ofFileAt path: String) throws -> String {
        do {
            let source = try FileSource(path: path)
            var hasher = SHA256()
            var offset = 0
            while offset < source.size {
                let n = min(1 << 22, source.size - offset)
                hasher.update(try source.read(at: offset, count: n, what: "file contents"))
                offset += n
            }
            return SHA256.hex(hasher.finalize())
        } catch let f as Failure {
            throw CheckpointError(path: path, reason: f.reason)
        }
    }

    /// Bytes the loaded tensors may occupy unless the caller says otherwise: 4 × the file size (a uint8 storage
    /// becomes 4-byte floats; float32 storages stay 1:1) plus 16 MiB, so small files can still hold a few
    /// legitimately expanded tensors.
    public static func defaultMemoryBudget(fileSize: Int) -> Int {
        let (fourTimes, overflow) = fileSize.multipliedReportingOverflow(by: 4)
        return overflow ? Int.max : fourTimes.addingReportingOverflow(16 << 20).partialValue
    }

    // MARK: - formats

    /// `0x1950a86a20f9469cfc6c` as LONG1 little-endian bytes: the legacy format's magic number.
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Legacy stream: magic, protocol version, sys_info, the state dict pickle, the list of storage keys,
    /// then per key an int64 element count and the raw elements.
    static func loadLegacy(_ source: FileSource, include: (String) -> Bool, budget: Int) throws -> StateDict {
        var r = WindowReader(source: source, start: 0, end: source.size, label: "")
        // Each pickle of the stream is limited by the bytes left in the file.
        func unpickler() -> Unpickler { Unpickler(limits: .forPickle(bytes: r.end - r.position)) }
        var u = unpickler()
        guard case .bigInt(let m) = try u.load(&r), m == legacyMagic else {
            throw Failure("not a PyTorch legacy checkpoint: wrong magic number")
        }
        u = unpickler()
        guard case .int(1001) = try u.load(&r) else { throw Failure("unsupported legacy checkpoint protocol version") }
        u = unpickler()
        let sysInfo = try u.load(&r)
        guard let info = u.dict(sysInfo) else { throw Failure("corrupt legacy checkpoint: sys_info is not a dict") }
        for (k, v) in info {
            if case .str("little_endian") = k, case .bool(false) = v {
                throw Failure("unsupported: big-endian legacy checkpoint (re-save it with torch ≥ 1.6, zip format)")
            }
        }
        u = unpickler()
        let plan = try Plan(u.load(&r), u, include: include, budget: budget)
        u = unpickler()
        let keysValue = try u.load(&r)
        guard let keyList = u.list(keysValue) else { throw Failure("corrupt legacy checkpoint: storage key list is not a list") }

        var bytes: [String: [UInt8]] = [:]
        var seen = Set<String>()
        var total = 0
        var pos = r.position
        for kv in keyList {
            guard case .str(let key) = kv, seen.insert(key).inserted else {
                throw Failure("corrupt legacy checkpoint: bad or duplicate storage key in the key list")
            }
            guard let s = plan.storages[key] else {
                throw Failure("corrupt legacy checkpoint: storage '\(key)' is listed but no tensor uses it")
            }
            let header = try source.read(at: pos, count: 8, what: "element count of storage '\(key)'")
            let count = try header.u64(0)
            guard count == s.numel else {
                throw Failure("corrupt legacy checkpoint: storage '\(key)' has \(count) elements, the pickle says \(s.numel)")
            }
            let (size, overflow) = count.multipliedReportingOverflow(by: s.dtype.elementSize)
            guard !overflow, source.contains(offset: pos + 8, count: size) else {
                throw Failure("truncated or corrupt file: storage '\(key)' needs \(size) bytes at offset \(pos + 8), "
                    + "but the file has \(source.size) bytes")
            }
            if plan.needed.contains(key) {
                bytes[key] = try source.read(at: pos + 8, count: size, what: "storage '\(key)'")
                total += size
            }
            pos += 8 + size // skip (or step past) without reading
        }
        for key in plan.storages.keys where !seen.contains(key) {
            throw Failure("corrupt legacy checkpoint: storage '\(key)' is used but missing from the file")
        }
        return try plan.materialise(format: .legacy, storageBytes: bytes, swapBytes: false, bytesRead: total)
    }

    /// Zip archive: `<archive>/data.pkl`, `<archive>/byteorder`, storages in `<archive>/data/<key>`.
    static func loadZip(_ source: FileSource, include: (String) -> Bool, budget: Int) throws -> StateDict {
        let zip = try ZipArchive(source: source)
        let candidates = zip.entries.filter {
            $0.name.hasSuffix("/data.pkl") && $0.name.dropLast("/data.pkl".count).firstIndex(of: "/") == nil
        }
        guard let pkl = candidates.first else { throw Failure("not a PyTorch checkpoint: zip has no <archive>/data.pkl") }
        let prefix = String(pkl.name.dropLast("data.pkl".count))
        var swapBytes = false
        if let bo = zip.entry(prefix + "byteorder") {
            switch String(decoding: try zip.read(bo), as: UTF8.self) {
            case "little": swapBytes = !TensorDecode.hostIsLittleEndian
            case "big": swapBytes = TensorDecode.hostIsLittleEndian
            case let other: throw Failure("corrupt checkpoint: unknown byteorder '\(other.prefix(20))'")
            }
        } // absent: written by torch < 1.10, which only ran little-endian
        let range = try zip.dataRange(pkl)
        try zip.verify(pkl)
        var r = WindowReader(source: source, start: range.lowerBound, end: range.upperBound, label: " of \(pkl.name)")
        var u = Unpickler(limits: .forPickle(bytes: range.count))
        let plan = try Plan(u.load(&r), u, include: include, budget: budget)
        var bytes: [String: [UInt8]] = [:]
        var total = 0
        for key in plan.needed {
            let s = plan.storages[key]!
            guard let e = zip.entry(prefix + "data/" + key) else {
                throw Failure("corrupt checkpoint: storage entry '\(prefix)data/\(key)' missing from the zip")
            }
            let (expected, overflow) = s.numel.multipliedReportingOverflow(by: s.dtype.elementSize)
            guard !overflow, e.size == expected else {
                throw Failure("corrupt checkpoint: entry '\(e.name)' has \(e.size) bytes, expected "
                    + "\(s.numel) × \(s.dtype.elementSize)")
            }
            bytes[key] = try zip.read(e)
            total += e.size
        }
        return try plan.materialise(format: .zip, storageBytes: bytes, swapBytes: swapBytes, bytesRead: total)
    }
}

/// The state dict pickle, validated: keys in order, tensor records, the storages they use and which of
/// those storages must be read for the included keys, with the memory that loading them will take.
struct Plan {
    var keys: [String] = []
    var tensors: [String: TensorRef] = [:]
    var counts: [String: Int] = [:]
    /// Root storage key → element type and element count (consistent across all references).
    var storages: [String: (dtype: StoredDType, numel: Int)] = [:]
    var included: [String] = []
    var needed = Set<String>()

    init(_ root: PV, _ u: Unpickler, include: (String) -> Bool, budget: Int) throws {
        guard let items = u.dict(root) else {
            throw Failure("not a state dict: the checkpoint holds a \(root.kind), expected a dict of tensors")
        }
        // No tensor may have more elements than the whole budget could hold as floats (this also keeps the
        // element arithmetic below far from overflow).
        let maxElements = budget / 4
        for (k, v) in items {
            guard case .str(let key) = k else { throw Failure("not a state dict: a key is a \(k.kind), not a string") }
            guard case .tensor(let handle) = v else { throw Failure("not a state dict: value of '\(key)' is a \(v.kind), not a tensor") }
            let t = u.tensor(handle)
            if tensors[key] == nil { keys.append(key) } // a repeated key replaces the value in place, as in Python
            let s = t.storage
            if let prev = storages[s.key] {
                guard prev.dtype == s.dtype, prev.numel == s.numel else {
                    throw Failure("corrupt checkpoint: storage '\(s.key)' referenced with different types or sizes")
                }
            }
            storages[s.key] = (s.dtype, s.numel)
            // Element count and the largest addressed index, overflow-checked, must stay inside the storage view.
            var n = 1
            var distinct = 1 // elements along dimensions with a non-zero stride
            var last = t.offset
            for (size, stride) in zip(t.shape, t.strides) {
                let (m, o1) = n.multipliedReportingOverflow(by: size)
                guard !o1, m <= maxElements else {
                    throw Failure("tensor '\(key)' has shape \(t.shape): more elements than the memory budget of "
                        + "\(budget) bytes allows (\(maxElements) floats)")
                }
                n = m
                if stride != 0 { distinct *= size }
                if size > 0 {
                    let (step, o2) = (size - 1).multipliedReportingOverflow(by: stride)
                    let (sum, o3) = last.addingReportingOverflow(step)
                    guard !o2, !o3 else { throw Failure("corrupt tensor record: '\(key)' strides overflow") }
                    last = sum
                }
            }
            if n > 0 && last >= s.viewNumel {
                throw Failure("corrupt tensor record: '\(key)' (shape \(t.shape), stride \(t.strides), offset \(t.offset)) "
                    + "addresses element \(last) of a storage with \(s.viewNumel) elements")
            }
            // More elements than the storage holds is only legitimate through zero strides (expand); overlapping
            // non-zero strides repeat elements in ways no state dict does.
            if n > s.viewNumel && distinct > s.viewNumel {
                throw Failure("corrupt tensor record: '\(key)' (shape \(t.shape), stride \(t.strides)) has \(n) elements "
                    + "but its storage only \(s.viewNumel), and zero strides do not account for the difference")
            }
            tensors[key] = t
            counts[key] = n
        }
        for key in keys where include(key) {
            included.append(key)
            needed.insert(tensors[key]!.storage.key)
        }
        try checkBudget(budget)
    }

    /// Bytes per element once loaded: Float32 values, plus the exact Int64 of integer tensors.
    static func loadedSize(_ dtype: StoredDType) -> Int { dtype.isInteger ? 12 : 4 }

    /// Whether `key` is its whole storage in order, so materialise hands out the decoded storage without a copy.
    func isWholeStorage(_ key: String) -> Bool {
        let t = tensors[key]!
        return t.storage.viewOffset == 0 && t.offset == 0 && counts[key]! == t.storage.numel
            && TensorDecode.isContiguous(shape: t.shape, strides: t.strides)
    }

    /// What materialise will allocate: each needed storage decoded once, plus a copy for every included tensor
    /// that is a view rather than its whole storage. Checked before any storage is read.
    func checkBudget(_ budget: Int) throws {
        var total = 0
        for key in needed.sorted() {
            // numel comes from the pickle and is checked against the file only when the storage is read.
            let s = storages[key]!
            let (size, o1) = s.numel.multipliedReportingOverflow(by: Self.loadedSize(s.dtype))
            let (sum, o2) = total.addingReportingOverflow(size)
            guard !o1, !o2, sum <= budget else {
                throw Failure("decoding storage '\(key)' (\(s.numel) elements of \(s.dtype)) would bring the storages "
                    + "needed to more than the memory budget of \(budget) bytes")
            }
            total = sum
        }
        for key in included where !isWholeStorage(key) {
            let t = tensors[key]!
            total += counts[key]! * Self.loadedSize(t.storage.dtype) // counts ≤ budget / 4 each
            if total > budget {
                throw Failure("tensor '\(key)' (shape \(t.shape), stride \(t.strides)) is a view of \(counts[key]!) elements "
                    + "on storage '\(t.storage.key)' of \(t.storage.viewNumel) elements; with it the loaded tensors would "
                    + "take \(total) bytes, more than the memory budget of \(budget) bytes (the file has views that "
                    + "repeat its data; pass a larger memoryBudget if that is intended)")
            }
        }
    }

    func materialise(format: CheckpointFormat, storageBytes: [String: [UInt8]], swapBytes: Bool,
                     bytesRead: Int) throws -> StateDict {
        var decoded: [String: [Float]] = [:] // once per storage, shared by all views of it
        var decodedIntegers: [String: [Int64]] = [:]
        var out: [String: StoredTensor] = [:]
        for key in included {
            let t = tensors[key]!
            let s = t.storage
            if decoded[s.key] == nil {
                decoded[s.key] = TensorDecode.floats(storageBytes[s.key]!, dtype: s.dtype, swapBytes: swapBytes)
            }
            let values = TensorDecode.gather(decoded[s.key]!, base: s.viewOffset + t.offset, shape: t.shape,
                                             strides: t.strides, count: counts[key]!)
            var integers: [Int64]? = nil
            if s.dtype.isInteger {
                if decodedIntegers[s.key] == nil {
                    decodedIntegers[s.key] = TensorDecode.integers(storageBytes[s.key]!, dtype: s.dtype, swapBytes: swapBytes)
                }
                integers = TensorDecode.gather(decodedIntegers[s.key]!, base: s.viewOffset + t.offset, shape: t.shape,
                                               strides: t.strides, count: counts[key]!)
            }
            out[key] = StoredTensor(dtype: s.dtype, shape: t.shape, values: values, integers: integers)
        }
        return StateDict(format: format, keys: keys, tensors: out,
                         shapes: tensors.mapValues { $0.shape }, dtypes: tensors.mapValues { $0.storage.dtype },
                         storageBytesRead: bytesRead)
    }
}
