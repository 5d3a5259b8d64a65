import Foundation
import XCTest
@testable import TxnCheckpoint

/// A checkpoint is untrusted input: code references, corruption and truncation must give errors, never a crash,
/// a hang or a huge allocation.
final class UntrustedCheckpointTests: XCTestCase {
    /// Magic number, protocol version 1001 and an empty sys_info dict: 25 bytes, so a main pickle starts at 25.
    static let legacyHeader: [UInt8] =
        [0x80, 0x02, 0x8A, 0x0A] + Checkpoint.legacyMagic + [0x2E]
        + [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]
        + [0x80, 0x02, 0x7D, 0x2E]

    static func str(_ s: String) -> [UInt8] {
        let b = Array(s.utf8)
        return [0x58, UInt8(b.count), 0, 0, 0] + b
    }

    func expectError(_ bytes: [UInt8], containing parts: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let (sd, error) = try loadError(bytes)
        XCTAssertNil(sd, "loaded although it should not", file: file, line: line)
        guard let error else { return }
        for p in parts {
            XCTAssertTrue(error.description.contains(p), "'\(error.description)' lacks '\(p)'", file: file, line: line)
        }
    }

    func testGlobalPosixSystemIsRejectedByName() throws {
        // cposix\nsystem\n ( X'echo pwned' t R .   — what `os.system('echo pwned')` pickles to.
        let evil: [UInt8] = [0x80, 0x02, 0x63] + Array("posix\nsystem\n".utf8) + [0x28] + Self.str("echo pwned")
            + [0x74, 0x52, 0x2E]
        try expectError(Self.legacyHeader + evil, containing: ["forbidden global 'posix.system'", "at byte offset 27"])
    }

    func testStackGlobalIsCheckedToo() throws {
        // Protocol 4: FRAME, SHORT_BINUNICODE 'builtins', MEMOIZE, SHORT_BINUNICODE 'eval', STACK_GLOBAL.
        var evil: [UInt8] = [0x80, 0x04, 0x95] + [UInt8](repeating: 0, count: 8)
        evil += [0x8C, 8] + Array("builtins".utf8) + [0x94, 0x8C, 4] + Array("eval".utf8) + [0x94, 0x93]
        evil += [0x8C, 4] + Array("1+1".utf8) + [0x00, 0x85, 0x52, 0x2E]
        try expectError(Self.legacyHeader + evil, containing: ["forbidden global 'builtins.eval'", "at byte offset 54"])
    }

    func testForbiddenGlobalInZipArchive() throws {
        // A zip checkpoint whose data.pkl calls posix.system: the offset is given within data.pkl.
        let pkl: [UInt8] = [0x80, 0x02, 0x63] + Array("posix\nsystem\n".utf8) + [0x28] + Self.str("id") + [0x74, 0x52, 0x2E]
        let zip = makeZip([("evil/data.pkl", pkl), ("evil/byteorder", Array("little".utf8)), ("evil/version", [0x33, 0x0A])])
        try expectError(zip, containing: ["forbidden global 'posix.system'", "at byte offset 2 of evil/data.pkl"])
    }

    func testUnknownOpcodesAreRejected() throws {
        // INST ('i') and OBJ ('o') would instantiate classes in Python; 0xFF is no opcode at all.
        try expectError(Self.legacyHeader + [0x80, 0x02, 0x69] + Array("os\nsystem\n".utf8),
                        containing: ["opcode 0x69 ('i')", "at byte offset 27"])
        try expectError(Self.legacyHeader + [0x80, 0x02, 0x28, 0x6F], containing: ["opcode 0x6F ('o')", "at byte offset 28"])
        try expectError(Self.legacyHeader + [0x80, 0x02, 0xFF], containing: ["opcode 0xFF", "at byte offset 27"])
    }

    func testHugeLengthsDoNotAllocate() throws {
        // BINUNICODE claiming 4 GB, then a storage count of 2^62 elements.
        try expectError(Self.legacyHeader + [0x80, 0x02, 0x58, 0xF0, 0xFF, 0xFF, 0xFF, 0x41],
                        containing: ["truncated", "BINUNICODE"])
        var legacy = try fixtureBytes("small_legacy.ckpt")
        // 11 storages (424 data bytes, 8-byte counts) end the file; make the first count 2^62 + small.
        let storageStart = legacy.count - 424 - 8 * 11
        XCTAssertEqual(legacy[storageStart + 7], 0)
        legacy[storageStart + 7] = 0x40
        try expectError(legacy, containing: ["storage"])
    }

    func testDeepNestingAndCyclesAreHarmless() throws {
        // A million nested 1-tuples would overflow the stack if values were nested and freed recursively; they
        // are stopped by the container limit (4096 + pickle bytes values; each 1-tuple is two) half-way.
        let deep = Self.legacyHeader + [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2E]
        try expectError(deep, containing: ["containers and their elements"])
        // 2000 levels fit the limit and are simply no state dict.
        let nested = Self.legacyHeader + [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 2000) + [0x2E]
        try expectError(nested, containing: ["not a state dict", "tuple"])
        // A list that contains itself.
        let cyclic = Self.legacyHeader + [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]
        try expectError(cyclic, containing: ["not a state dict", "list"])
    }

    func testNonStateDictsAndBadRecords() throws {
        // A dict whose value is an int.
        try expectError(Self.legacyHeader + [0x80, 0x02, 0x7D] + Self.str("epoch") + [0x4B, 0x03, 0x73, 0x2E],
                        containing: ["value of 'epoch' is a int"])
        try expectError(Array("hello world".utf8), containing: ["not a PyTorch checkpoint"])
        try expectError([], containing: ["not a PyTorch checkpoint"])
        XCTAssertThrowsError(try Checkpoint.load("/nonexistent/x.pth")) { e in
            XCTAssertEqual(String(describing: e), "/nonexistent/x.pth: no such file")
        }
    }

    func testTensorOutsideItsStorageIsRejected() throws {
        // Patch the zip fixture's "s" record: storage offset 4 → 9 makes (2,4) rows run past the 12 elements.
        var entries = try zipEntries(try fixtureBytes("small_zip.ckpt"))
        let i = entries.firstIndex { $0.0.hasSuffix("/data.pkl") }!
        var pkl = entries[i].1
        // ... BINPERSID, BININT1 4, BININT1 2, BININT1 4, TUPLE2 ...: the record of "s".
        let pattern: [UInt8] = [0x51, 0x4B, 0x04, 0x4B, 0x02, 0x4B, 0x04, 0x86]
        let at = (0...(pkl.count - pattern.count)).first { Array(pkl[$0..<($0 + pattern.count)]) == pattern }!
        pkl[at + 2] = 9
        entries[i].1 = pkl
        try expectError(makeZip(entries), containing: ["'s'", "addresses element 16", "12 elements"])
    }

    func testCorruptZipStorageFailsCRC() throws {
        var entries = try zipEntries(try fixtureBytes("small_zip.ckpt"))
        let (rebuilt, rebuildError) = try loadError(makeZip(entries))
        XCTAssertNil(rebuildError)
        XCTAssertEqual(rebuilt?.keys.count, 13)
        var zip = makeZip(entries)
        // Flip one byte inside the data of the first storage entry (after its local header and name).
        let name = Array(entries.first { $0.0.hasSuffix("/data/0") }!.0.utf8)
        let at = (0...(zip.count - name.count)).first { Array(zip[$0..<($0 + name.count)]) == name }! + name.count
        zip[at + 5] ^= 0x01
        try expectError(zip, containing: ["CRC-32 mismatch", "data/0"])
        // Unknown byteorder text.
        entries = entries.map { $0.0.hasSuffix("/byteorder") ? ($0.0, Array("middle".utf8)) : $0 }
        try expectError(makeZip(entries), containing: ["byteorder 'middle'"])
    }

    func testBigEndianLegacyIsRejected() throws {
        var legacy = try fixtureBytes("small_legacy.ckpt")
        // sys_info: X'little_endian' q 2 NEWTRUE → NEWFALSE.
        let key = Array("little_endian".utf8)
        let at = (0...(legacy.count - key.count)).first { Array(legacy[$0..<($0 + key.count)]) == key }! + key.count
        XCTAssertEqual(legacy[at + 2], 0x88)
        legacy[at + 2] = 0x89
        try expectError(legacy, containing: ["big-endian legacy"])
    }

    func testEveryTruncationIsAnError() throws {
        for name in ["small_legacy.ckpt", "small_zip.ckpt", "small_zip64.ckpt"] {
            let bytes = try fixtureBytes(name)
            let path = try writeTemp(bytes, tag: "trunc")
            defer { removeTemp(path) }
            for cut in stride(from: 0, to: bytes.count, by: 1) {
                try Data(bytes[0..<cut]).write(to: URL(fileURLWithPath: path))
                do {
                    _ = try Checkpoint.load(path)
                    XCTFail("\(name) cut at \(cut) of \(bytes.count) loaded")
                } catch let e as CheckpointError {
                    XCTAssertTrue(e.description.hasPrefix(path + ": "))
                }
            }
        }
    }

    /// Every mutated file either throws a CheckpointError or loads consistently. A zip checkpoint CRC-checks every
    /// byte the reader uses, so a zip that loads must be exactly the original; a legacy stream has no checksum, so
    /// one that loads must at least be self-consistent (values fill each shape, integer tensors agree with their
    /// floats, keys unique) and within the memory budget.
    func testRandomMutationsNeverCrash() throws {
        var rng = SplitMix64(state: 0x7E57_C0DE)
        for name in ["small_legacy.ckpt", "small_zip.ckpt", "small_zip64.ckpt"] {
            let original = try fixtureBytes(name)
            let reference = try Checkpoint.load(try fixturePath(name))
            let path = try writeTemp(original, tag: "fuzz")
            defer { removeTemp(path) }
            var rejected = 0
            for iteration in 0..<300 {
                var bytes = original
                // Half of the mutations hit the first 700 bytes (the legacy pickle / the first zip entries).
                let region = iteration % 2 == 0 ? min(700, bytes.count) : bytes.count
                for _ in 0..<(1 + rng.below(4)) {
                    let i = rng.below(min(region, bytes.count))
                    switch rng.below(4) {
                    case 0: bytes[i] = UInt8(rng.below(256))
                    case 1: bytes[i] ^= UInt8(1 << rng.below(8))
                    case 2: bytes.remove(at: i)
                    default: bytes.insert(UInt8(rng.below(256)), at: i)
                    }
                }
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                let sd: StateDict
                do {
                    sd = try Checkpoint.load(path)
                } catch let e as CheckpointError {
                    XCTAssertTrue(e.description.hasPrefix(path + ": "), e.description)
                    rejected += 1
                    continue
                }
                let what = "\(name) mutation #\(iteration)"
                XCTAssertEqual(Set(sd.keys).count, sd.keys.count, what)
                var loadedBytes = 0
                for key in sd.keys {
                    let t = try XCTUnwrap(sd[key], what)
                    XCTAssertEqual(t.values.count, t.shape.reduce(1, *), "\(what) \(key)")
                    if let integers = t.integers { XCTAssertEqual(integers.map { Float($0) }, t.values, "\(what) \(key)") }
                    loadedBytes += t.values.count * 4 + (t.integers?.count ?? 0) * 8
                }
                XCTAssertLessThanOrEqual(loadedBytes, Checkpoint.defaultMemoryBudget(fileSize: bytes.count), what)
                if sd.format == .zip {
                    XCTAssertEqual(sd.keys, reference.keys, what)
                    for key in reference.keys {
                        XCTAssertEqual(sd[key]?.shape, reference[key]?.shape, "\(what) \(key)")
                        XCTAssertEqual(sd[key]?.values.map(\.bitPattern), reference[key]?.values.map(\.bitPattern), "\(what) \(key)")
                    }
                }
            }
            print("\(name): \(300 - rejected) of 300 mutations loaded, \(rejected) rejected")
            XCTAssertGreaterThan(rejected, 100, "\(name): most mutations should be detected")
        }
    }
}
