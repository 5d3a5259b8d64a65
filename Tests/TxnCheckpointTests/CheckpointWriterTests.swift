import Foundation
import XCTest
@testable import TxnCheckpoint

/// Checkpoint.write: round trips through the reader, the zip layout torch expects, atomic replacement and the
/// paths it must refuse.
final class CheckpointWriterTests: XCTestCase {
    /// Values by formula (exact in float32), so every test can recompute them.
    static func ramp(_ n: Int, salt: Int) -> [Float] { (0..<n).map { Float(($0 * 37 + salt * 11) % 101) * 0.25 - 12.5 } }

    static var sample: [CheckpointEntry] {
        [
            CheckpointEntry("generate.0.weight", shape: [8, 4, 4, 4], floats: ramp(512, salt: 1)),
            CheckpointEntry("generate.0.bias", shape: [4], floats: [-0.0, .infinity, -.infinity, .leastNonzeroMagnitude]),
            CheckpointEntry("generate.1.num_batches_tracked", shape: [], integers: [7]),
            CheckpointEntry("rng", shape: [4], integers: [.max, .min, -1, (1 << 53) + 1]),
            CheckpointEntry("empty", shape: [0, 3], floats: []),
            CheckpointEntry("empty_int", shape: [2, 0], integers: []),
            CheckpointEntry("scalar", shape: [], floats: [42.5]),
            CheckpointEntry("wide", shape: [70000], floats: ramp(70000, salt: 3)), // BININT numel, BININT2 sizes
        ]
    }

    func tempFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("txn-writer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func assertSame(_ sd: StateDict, _ entries: [CheckpointEntry], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(sd.format, .zip, file: file, line: line)
        XCTAssertEqual(sd.keys, entries.map(\.key), file: file, line: line)
        for e in entries {
            guard let t = sd[e.key] else { XCTFail("\(e.key) missing", file: file, line: line); continue }
            XCTAssertEqual(t.shape, e.shape, e.key, file: file, line: line)
            XCTAssertEqual(t.dtype, e.dtype, e.key, file: file, line: line)
            switch e.values {
            case .float32(let v):
                XCTAssertEqual(t.values.map(\.bitPattern), v.map(\.bitPattern), e.key, file: file, line: line)
                XCTAssertNil(t.integers, e.key, file: file, line: line)
            case .int64(let v):
                XCTAssertEqual(t.integers, v, e.key, file: file, line: line)
                XCTAssertEqual(t.values, v.map { Float($0) }, e.key, file: file, line: line)
            }
        }
    }

    func testRoundTripThroughTheReader() throws {
        let path = try tempFolder() + "/gen.pth"
        try Checkpoint.write(Self.sample, to: path)
        assertSame(try Checkpoint.load(path), Self.sample)
        // An empty state dict is a valid checkpoint too.
        try Checkpoint.write([], to: path)
        XCTAssertEqual(try Checkpoint.load(path).keys, [])
    }

    func testLayoutIsTorchs() throws {
        let path = try tempFolder() + "/my gen.v2.pth"
        try Checkpoint.write(Self.sample, to: path)
        let zip = try ZipArchive(source: FileSource(path: path))
        let names = zip.entries.map(\.name)
        let storages = (0..<Self.sample.count).map { "my gen.v2/data/\($0)" }
        XCTAssertEqual(names, ["my gen.v2/data.pkl", "my gen.v2/.format_version", "my gen.v2/.storage_alignment",
                               "my gen.v2/byteorder"] + storages + ["my gen.v2/version", "my gen.v2/.data/serialization_id"])
        for e in zip.entries {
            XCTAssertEqual(e.method, 0, e.name)
            XCTAssertEqual(try zip.dataRange(e).lowerBound % 64, 0, "\(e.name) is not 64-byte aligned")
            _ = try zip.read(e) // verifies the CRC-32
        }
        func text(_ name: String) throws -> String { String(decoding: try zip.read(zip.entry("my gen.v2/" + name)!), as: UTF8.self) }
        XCTAssertEqual(try text("byteorder"), "little")
        XCTAssertEqual(try text("version"), "3\n")
        XCTAssertEqual(try text(".storage_alignment"), "64")
        XCTAssertEqual(try text(".format_version"), "1")
        XCTAssertTrue(try text(".data/serialization_id").allSatisfy(\.isNumber))
        XCTAssertEqual(try text(".data/serialization_id").count, 40)
        XCTAssertEqual(zip.entry("my gen.v2/data/2")?.size, 8) // the 0-dim int64
        XCTAssertEqual(Checkpoint.archiveFolder(for: "/a/b/ünï.pth"), "archive")
        XCTAssertEqual(Checkpoint.archiveFolder(for: "noext"), "noext")
    }

    func testSameInputGivesSameBytes() throws {
        let folder = try tempFolder()
        try Checkpoint.write(Self.sample, to: folder + "/a.pth")
        let first = try Data(contentsOf: URL(fileURLWithPath: folder + "/a.pth"))
        try Checkpoint.write(Self.sample, to: folder + "/a.pth")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/a.pth")), first)
        let sink = MemorySink()
        try Checkpoint.writeArchive(Self.sample, folder: "a", zip64Limit: ZipWriter.zip64Threshold, to: sink)
        XCTAssertEqual(Data(sink.bytes), first)
        // A different value changes the bytes (and the content-derived serialization id).
        var changed = Self.sample
        changed[2] = CheckpointEntry("generate.1.num_batches_tracked", shape: [], integers: [8])
        try Checkpoint.write(changed, to: folder + "/a.pth")
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/a.pth")), first)
    }

    func testForcedZip64ReadsBack() throws {
        // Every size, offset and the entry count through zip64 fields, as a >4 GB file would have them.
        let path = try tempFolder() + "/big.pth"
        try Checkpoint.write(Self.sample, to: path, zip64Limit: 0)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let end = bytes.count - 22
        XCTAssertEqual(Array(bytes[end..<(end + 4)]), [0x50, 0x4B, 0x05, 0x06])
        XCTAssertEqual(Array(bytes[(end + 8)..<(end + 20)]), [UInt8](repeating: 0xFF, count: 12))
        XCTAssertEqual(Array(bytes[(end - 20)..<(end - 16)]), [0x50, 0x4B, 0x06, 0x07]) // zip64 locator
        assertSame(try Checkpoint.load(path), Self.sample)
        let zip = try ZipArchive(source: FileSource(path: path))
        for e in zip.entries { XCTAssertEqual(try zip.dataRange(e).lowerBound % 64, 0, e.name) }
        // A limit between the sizes: small entries keep 32-bit sizes, later offsets and the big storages do not.
        try Checkpoint.write(Self.sample, to: path, zip64Limit: 1000)
        assertSame(try Checkpoint.load(path), Self.sample)
    }

    func testPickleIntegerAndMemoEncodings() throws {
        // 300 entries (memo indices past 255: LONG_BINPUT/LONG_BINGET) and sizes needing BININT2, BININT, LONG1;
        // only the pickle is built (no 8 GB of data), then parsed by the restricted unpickler.
        var entries: [(key: String, dtype: StoredDType, shape: [Int])] = (0..<300).map { ("k\($0)", .float32, [$0 % 5]) }
        entries.append(("huge", .int64, [(1 << 33) + 5, 3]))
        entries.append(("mid", .float32, [70_000, 2]))
        entries.append(("nd", .float32, [2, 3, 4, 5, 6]))
        let pkl = StatePickler.pickle(entries)
        let path = try writeTemp(pkl, tag: "pkl")
        defer { removeTemp(path) }
        let source = try FileSource(path: path)
        var r = WindowReader(source: source, start: 0, end: source.size, label: "")
        var u = Unpickler(limits: .forPickle(bytes: source.size))
        let root = try u.load(&r)
        let items = try XCTUnwrap(u.dict(root))
        XCTAssertEqual(items.count, entries.count)
        for ((k, v), e) in zip(items, entries) {
            guard case .str(let key) = k, case .tensor(let handle) = v else { return XCTFail("bad item") }
            let t = u.tensor(handle)
            XCTAssertEqual(key, e.key)
            XCTAssertEqual(t.shape, e.shape)
            XCTAssertEqual(t.strides, StatePickler.contiguousStrides(e.shape))
            XCTAssertEqual(t.storage.dtype, e.dtype)
            XCTAssertEqual(t.storage.numel, e.shape.reduce(1, *))
        }
        XCTAssertEqual(StatePickler.contiguousStrides([2, 0, 3]), [3, 3, 1]) // as torch.zeros(2, 0, 3).stride()
    }

    func testCRC32() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926) // the standard check value
        XCTAssertEqual(CRC32.checksum([]), 0)
        // Slicing-by-8 against the bit-by-bit definition, at every length and split (unaligned starts and tails).
        var rng = SplitMix64(state: 42)
        let data = (0..<100).map { _ in UInt8(rng.below(256)) }
        func bitwise(_ d: ArraySlice<UInt8>) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for b in d {
                c ^= UInt32(b)
                for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            }
            return c ^ 0xFFFF_FFFF
        }
        for n in 0...data.count {
            XCTAssertEqual(CRC32.checksum(Array(data[0..<n])), bitwise(data[0..<n]), "length \(n)")
            let split = n / 3
            let first = data[0..<split].withUnsafeBytes { CRC32.update(0, $0) }
            XCTAssertEqual(data[split..<n].withUnsafeBytes { CRC32.update(first, $0) }, bitwise(data[0..<n]), "split \(split) of \(n)")
        }
    }

    func testBadEntriesAreRejectedBeforeWriting() throws {
        let folder = try tempFolder()
        let path = folder + "/x.pth"
        try Checkpoint.write([CheckpointEntry("a", shape: [1], floats: [1])], to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        func expect(_ entries: [CheckpointEntry], _ parts: [String], line: UInt = #line) {
            XCTAssertThrowsError(try Checkpoint.write(entries, to: path), line: line) { e in
                let text = String(describing: e)
                XCTAssertTrue(text.hasPrefix(path + ": "), text, line: line)
                for p in parts { XCTAssertTrue(text.contains(p), "'\(text)' lacks '\(p)'", line: line) }
            }
        }
        expect([CheckpointEntry("w", shape: [2, 3], floats: [1, 2, 3])], ["'w'", "3 values", "[2, 3]", "needs 6"])
        expect([CheckpointEntry("w", shape: [-1], floats: [])], ["'w'", "negative"])
        expect([CheckpointEntry("w", shape: [1], floats: [1]), CheckpointEntry("w", shape: [], integers: [2])],
               ["'w' appears twice"])
        expect([CheckpointEntry("w", shape: [Int.max, 2], floats: [])], ["'w'", "overflows"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before, "a failed write changed the file")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["x.pth"], "temporary file left behind")
    }

    func testOnlyRegularFilesAreReplaced() throws {
        let folder = try tempFolder()
        let entries = [CheckpointEntry("a", shape: [2], floats: [1, 2])]
        func expectRefusal(_ path: String, _ parts: [String], line: UInt = #line) {
            XCTAssertThrowsError(try Checkpoint.write(entries, to: path), line: line) { e in
                let text = String(describing: e)
                XCTAssertTrue(text.hasPrefix(path + ": "), text, line: line)
                for p in parts { XCTAssertTrue(text.contains(p), "'\(text)' lacks '\(p)'", line: line) }
            }
        }
        // A symbolic link to a regular file: neither the link nor its target changes.
        let target = folder + "/target.txt"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.pth", withDestinationPath: target)
        expectRefusal(folder + "/link.pth", ["is a symbolic link: txn only replaces regular files"])
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "keep")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: folder + "/link.pth"), target)
        // A folder, a character device, a FIFO.
        try FileManager.default.createDirectory(atPath: folder + "/dir.pth", withIntermediateDirectories: false)
        expectRefusal(folder + "/dir.pth", ["is a folder: txn only replaces regular files"])
        expectRefusal("/dev/null", ["is a character device: txn only replaces regular files"])
        XCTAssertEqual(mkfifo(folder + "/fifo.pth", 0o600), 0)
        expectRefusal(folder + "/fifo.pth", ["is a FIFO: txn only replaces regular files"])
        // Missing folder, a file used as a folder, no file name.
        expectRefusal(folder + "/nope/x.pth", ["folder '\(folder)/nope' does not exist"])
        expectRefusal(target + "/x.pth", ["cannot write"])
        expectRefusal(folder + "/", ["not a file name"])
        let left = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        XCTAssertEqual(left, ["dir.pth", "fifo.pth", "link.pth", "target.txt"], "temporary files left behind")
        // A regular file is replaced, keeping its permissions.
        let regular = folder + "/model.pth"
        try Data("old".utf8).write(to: URL(fileURLWithPath: regular))
        XCTAssertEqual(chmod(regular, 0o640), 0)
        try Checkpoint.write(entries, to: regular)
        XCTAssertEqual(try Checkpoint.load(regular)["a"]?.values, [1, 2])
        let mode = try FileManager.default.attributesOfItem(atPath: regular)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o640)
    }

    func testLongFileNameStaysWithinNameMax() throws {
        let folder = try tempFolder()
        let name = String(repeating: "n", count: 251) + ".pth" // 255 bytes: NAME_MAX
        try Checkpoint.write([CheckpointEntry("a", shape: [], floats: [3])], to: folder + "/" + name)
        XCTAssertEqual(try Checkpoint.load(folder + "/" + name)["a"]?.values, [3])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [name])
    }

    func testLoadedTensorsConvertBack() throws {
        let path = try tempFolder() + "/c.pth"
        try Checkpoint.write(Self.sample, to: path)
        let sd = try Checkpoint.load(path)
        let again = try sd.keys.map { try XCTUnwrap(CheckpointEntry($0, sd[$0]!)) }
        try Checkpoint.write(again, to: path)
        assertSame(try Checkpoint.load(path), Self.sample)
        XCTAssertNil(CheckpointEntry("h", StoredTensor(dtype: .float16, shape: [1], values: [1])))
    }
}

/// An in-memory sink, to compare the written bytes.
final class MemorySink: ByteSink {
    private(set) var bytes: [UInt8] = []
    var position: Int { bytes.count }
    func write(_ b: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: b) }
}
