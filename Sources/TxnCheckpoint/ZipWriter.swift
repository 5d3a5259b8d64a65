import TxnFiles

/// Where the writer's bytes go (the atomic temporary file, or memory in tests); tracks the position so the
/// zip writer knows each record's offset.
protocol ByteSink: AnyObject {
    var position: Int { get }
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

extension ByteSink {
    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
}

/// The temporary file of an atomic write.
extension FileSink: ByteSink {}

/// Passes bytes on to another sink and hashes them on the way (SHA-256 of exactly what was written).
final class HashingSink: ByteSink {
    private let next: ByteSink
    var hasher = SHA256()
    init(_ next: ByteSink) { self.next = next }
    var position: Int { next.position }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(Array(bytes))
        try next.write(bytes)
    }
}

/// A zip archive of stored (uncompressed) entries laid out as PyTorch's writer does: each record's data starts
/// on a 64-byte boundary, padded by an extra field with id "FB" filled with 'Z', so readers can map tensors
/// straight from the file. CRC-32 and sizes sit in the local headers (no data descriptors). A zip64 extra is
/// added to exactly the headers whose size or offset does not fit 32 bits, and a zip64 end record only when the
/// directory's size, offset or entry count does not fit.
struct ZipWriter {
    static let alignment = 64
    /// Sizes and offsets from here on need zip64 fields (0xFFFFFFFF itself marks "see the zip64 extra").
    static let zip64Threshold = 0xFFFF_FFFF

    private let sink: ByteSink
    private let zip64Limit: Int
    private var central: [UInt8] = []
    private var count = 0

    init(sink: ByteSink, zip64Limit: Int = zip64Threshold) {
        self.sink = sink
        self.zip64Limit = zip64Limit
    }

    mutating func add(_ name: String, _ data: [UInt8]) throws {
        _ = try data.withUnsafeBytes { try add(name, $0) }
    }

    /// Appends one stored entry and returns its CRC-32.
    @discardableResult
    mutating func add(_ name: String, _ data: UnsafeRawBufferPointer) throws -> UInt32 {
        let nameBytes = Array(name.utf8)
        let offset = sink.position
        let size = data.count
        let crc = CRC32.update(0, data)
        let bigSize = size >= zip64Limit, bigOffset = offset >= zip64Limit

        var local = Bytes()
        local.u32(0x0403_4B50)
        local.u16(bigSize ? 45 : 20) // version needed: 4.5 for zip64
        local.u16(0x0800) // names are UTF-8
        local.u16(0) // stored
        local.u16(0); local.u16(0) // time, date: fixed, so equal content gives equal bytes
        local.u32(Int(crc))
        local.u32(bigSize ? 0xFFFF_FFFF : size)
        local.u32(bigSize ? 0xFFFF_FFFF : size)
        local.u16(nameBytes.count)
        let zip64Local = bigSize ? 20 : 0
        // Data start = header + name + zip64 extra + "FB" extra header + padding, rounded up to the alignment.
        let unpadded = offset + 30 + nameBytes.count + zip64Local + 4
        let padding = (Self.alignment - unpadded % Self.alignment) % Self.alignment
        local.u16(zip64Local + 4 + padding)
        local.b += nameBytes
        if bigSize {
            local.u16(1); local.u16(16); local.u64(size); local.u64(size)
        }
        local.b += [0x46, 0x42] // "FB"
        local.u16(padding)
        local.b += [UInt8](repeating: 0x5A, count: padding) // 'Z'
        try sink.write(local.b)
        try sink.write(data)

        var extra = Bytes()
        if bigSize { extra.u64(size); extra.u64(size) }
        if bigOffset { extra.u64(offset) }
        var c = Bytes()
        c.u32(0x0201_4B50)
        c.u16(bigSize || bigOffset ? 45 : 20) // made by (MS-DOS attributes)
        c.u16(bigSize || bigOffset ? 45 : 20) // needed
        c.u16(0x0800); c.u16(0); c.u16(0); c.u16(0)
        c.u32(Int(crc))
        c.u32(bigSize ? 0xFFFF_FFFF : size)
        c.u32(bigSize ? 0xFFFF_FFFF : size)
        c.u16(nameBytes.count)
        c.u16(extra.b.isEmpty ? 0 : 4 + extra.b.count)
        c.u16(0); c.u16(0); c.u16(0); c.u32(0) // comment, disk, internal and external attributes
        c.u32(bigOffset ? 0xFFFF_FFFF : offset)
        c.b += nameBytes
        if !extra.b.isEmpty {
            c.u16(1); c.u16(extra.b.count)
            c.b += extra.b
        }
        central += c.b
        count += 1
        return crc
    }

    /// Writes the central directory and the end records.
    mutating func finish() throws {
        let cdOffset = sink.position
        try sink.write(central)
        let cdSize = central.count
        let manyEntries = count >= min(zip64Limit, 0xFFFF)
        let zip64 = manyEntries || cdSize >= zip64Limit || cdOffset >= zip64Limit
        var end = Bytes()
        if zip64 {
            let recordOffset = cdOffset + cdSize
            end.u32(0x0606_4B50)
            end.u64(44) // size of the rest of this record
            end.u16(45); end.u16(45)
            end.u32(0); end.u32(0) // this disk, directory's disk
            end.u64(count); end.u64(count)
            end.u64(cdSize); end.u64(cdOffset)
            end.u32(0x0706_4B50) // locator
            end.u32(0)
            end.u64(recordOffset)
            end.u32(1)
        }
        end.u32(0x0605_4B50)
        end.u16(0); end.u16(0)
        end.u16(manyEntries ? 0xFFFF : count)
        end.u16(manyEntries ? 0xFFFF : count)
        end.u32(zip64 ? 0xFFFF_FFFF : cdSize)
        end.u32(zip64 ? 0xFFFF_FFFF : cdOffset)
        end.u16(0) // comment length
        try sink.write(end.b)
    }
}

/// Little-endian field builder for the zip headers.
private struct Bytes {
    var b: [UInt8] = []
    mutating func u16(_ v: Int) { b += [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }
    mutating func u32(_ v: Int) { for i in 0..<4 { b.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: Int) { for i in 0..<8 { b.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
}
