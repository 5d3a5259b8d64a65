import Foundation
import XCTest
@testable import TxnCheckpoint

/// Issue 10, class 2: a small checkpoint must not make the reader allocate much more than the file holds.
/// Views (zero strides, many keys on one storage) are charged against a memory budget before any storage is
/// read; the unpickler's stack, memo and containers are limited by the pickle's size.
final class AmplificationTests: XCTestCase {
    /// One tensor record: key, storage key, storage element count, offset, shape, strides (float32).
    struct Record {
        var key: String
        var storage: String
        var numel: Int
        var offset = 0
        var shape: [Int]
        var strides: [Int]
    }

    /// A protocol-2 state dict pickle with arbitrary views (what StatePickler never writes). No memo: plain
    /// opcodes, so the bytes are easy to reason about.
    static func pickle(_ records: [Record]) -> [UInt8] {
        func str(_ s: String) -> [UInt8] {
            let b = Array(s.utf8)
            return [0x58] + withUnsafeBytes(of: UInt32(b.count).littleEndian, Array.init) + b
        }
        func int(_ v: Int) -> [UInt8] { [0x4A] + withUnsafeBytes(of: Int32(v).littleEndian, Array.init) }
        func tuple(_ v: [Int]) -> [UInt8] { [0x28] + v.flatMap(int) + [0x74] }
        let orderedDict: [UInt8] = [0x63] + Array("collections\nOrderedDict\n".utf8)
        var p: [UInt8] = [0x80, 0x02] + orderedDict + [0x29, 0x52]
        for r in records {
            p += str(r.key)
            p += [0x63] + Array("torch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28]
            p += [0x28] + str("storage") + [0x63] + Array("torch\nFloatStorage\n".utf8) + str(r.storage) + str("cpu")
            p += int(r.numel) + [0x74, 0x51]
            p += int(r.offset) + tuple(r.shape) + tuple(r.strides) + [0x89] + orderedDict + [0x29, 0x52, 0x74, 0x52]
            p += [0x73] // SETITEM
        }
        return p + [0x2E]
    }

    /// A zip checkpoint with the given records and float storages (values i + 0.5).
    static func checkpoint(_ records: [Record], storages: [String: Int]) -> [UInt8] {
        var entries = [("c/data.pkl", pickle(records)), ("c/byteorder", Array("little".utf8))]
        for (key, n) in storages.sorted(by: { $0.key < $1.key }) {
            entries.append(("c/data/\(key)", (0..<n).flatMap { withUnsafeBytes(of: (Float($0) + 0.5).bitPattern.littleEndian, Array.init) }))
        }
        return makeZip(entries)
    }

    func load(_ bytes: [UInt8], memoryBudget: Int? = nil) throws -> (StateDict?, String?) {
        let path = try writeTemp(bytes, tag: "amp")
        defer { removeTemp(path) }
        do {
            return (try Checkpoint.load(path, memoryBudget: memoryBudget), nil)
        } catch let e as CheckpointError {
            XCTAssertTrue(e.description.hasPrefix(path + ": "), e.description)
            return (nil, e.reason)
        }
    }

    func expectError(_ bytes: [UInt8], memoryBudget: Int? = nil, _ parts: [String], seconds: Double = 2,
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let start = Date()
        let (sd, reason) = try load(bytes, memoryBudget: memoryBudget)
        XCTAssertNil(sd, "loaded although it should not", file: file, line: line)
        for p in parts {
            XCTAssertTrue(reason?.contains(p) ?? false, "'\(reason ?? "no error")' lacks '\(p)'", file: file, line: line)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), seconds, "rejection was slow", file: file, line: line)
    }

    func testZeroStrideViewOfHugeShape() throws {
        // 2^20 x 2^12 elements (16 GB of floats) from one stored float.
        let huge = Record(key: "big", storage: "0", numel: 1, shape: [1 << 20, 1 << 12], strides: [0, 0])
        try expectError(Self.checkpoint([huge], storages: ["0": 1]), ["'big'", "[1048576, 4096]", "memory budget"])
        // Exactly as many floats as the default budget (16 MiB + 4 × file size) holds: the tensor alone would fit,
        // with its decoded 1-element storage it does not. (The file size does not depend on the BININT shape.)
        func wide(_ n: Int) -> [UInt8] {
            Self.checkpoint([Record(key: "wide", storage: "0", numel: 1, shape: [n], strides: [0])], storages: ["0": 1])
        }
        let budget = Checkpoint.defaultMemoryBudget(fileSize: wide(1).count)
        let n = budget / 4
        try expectError(wide(n), ["'wide'", "view of \(n) elements", "storage '0' of 1 elements",
                                  "take \(4 + 4 * n) bytes", "memory budget of \(budget) bytes"])
    }

    func testLegitimateExpandLoadsWithinItsBudget() throws {
        // torch.arange(3).expand(4, 3): decoded storage 12 bytes + a 48-byte copy = exactly 60 bytes.
        let expand = Record(key: "e", storage: "0", numel: 3, shape: [4, 3], strides: [0, 1])
        let bytes = Self.checkpoint([expand], storages: ["0": 3])
        let (sd, reason) = try load(bytes, memoryBudget: 60)
        XCTAssertNil(reason)
        XCTAssertEqual(sd?["e"]?.values, [0.5, 1.5, 2.5, 0.5, 1.5, 2.5, 0.5, 1.5, 2.5, 0.5, 1.5, 2.5])
        try expectError(bytes, memoryBudget: 59, ["'e'", "60 bytes", "memory budget of 59 bytes"])
        // Overlapping non-zero strides are no expand: 1000 x 1000 from 2000 elements.
        let overlap = Record(key: "o", storage: "0", numel: 2000, shape: [1000, 1000], strides: [1, 1])
        try expectError(Self.checkpoint([overlap], storages: ["0": 2000]),
                        ["'o'", "1000000 elements", "storage only 2000", "zero strides do not account"])
    }

    func testThousandKeysOnOneStorage() throws {
        // A 256 KB storage and 1000 keys, each a view from offset 1: 256 MB of copies before the fix.
        let n = 1 << 16
        let records = (0..<1000).map { Record(key: "k\($0)", storage: "0", numel: n, offset: 1, shape: [n - 1], strides: [1]) }
        let bytes = Self.checkpoint(records, storages: ["0": n])
        let budget = Checkpoint.defaultMemoryBudget(fileSize: bytes.count)
        // Decoded storage 4n, then 4(n-1) per key: the first key over the budget is k(⌊(budget - 4n) / 4(n-1)⌋).
        let first = (budget - 4 * n) / (4 * (n - 1))
        try expectError(bytes, ["'k\(first)'", "view of \(n - 1) elements", "memory budget of \(budget) bytes"])
        // The same keys as the whole storage share one decoded buffer: they load, at the cost of one storage.
        let shared = (0..<1000).map { Record(key: "k\($0)", storage: "0", numel: n, shape: [n], strides: [1]) }
        let (sd, reason) = try load(Self.checkpoint(shared, storages: ["0": n]), memoryBudget: 4 * n)
        XCTAssertNil(reason)
        XCTAssertEqual(sd?.keys.count, 1000)
        XCTAssertEqual(sd?["k999"]?.values.last, Float(n - 1) + 0.5)
    }

    /// A legacy-format stream whose main pickle is `body` (a protocol-2 pickle without PROTO).
    static func legacy(_ body: [UInt8]) -> [UInt8] { UntrustedCheckpointTests.legacyHeader + [0x80, 0x02] + body }

    func testMegabyteOfNoneOpcodes() throws {
        // Each NONE pushes one value; the stack stops at 65536 values (1.5 MB), at the 65537th opcode.
        let none = [UInt8](repeating: 0x4E, count: 1 << 20) + [0x2E]
        try expectError(Self.legacy(none), ["limit of 65536 stack depth", "at byte offset \(27 + 65536)"])
        try expectError(makeZip([("z/data.pkl", [0x80, 0x02] + none)]),
                        ["limit of 65536 stack depth", "at byte offset \(2 + 65536) of z/data.pkl"])
    }

    func testMemoAndContainerFloods() throws {
        // MEMOIZE adds one memo entry per byte: limit 256 + bytes / 2.
        let memoize = [0x4E] + [UInt8](repeating: 0x94, count: 1 << 20) + [0x2E]
        let zip = makeZip([("z/data.pkl", [0x80, 0x04] + memoize)])
        try expectError(zip, ["limit of \(256 + (memoize.count + 2) / 2) memo entries", "z/data.pkl"])
        // NONE wrapped in a 1-tuple a million times: each byte makes a tuple and an element, limit 4096 + bytes.
        let nested = [0x4E] + [UInt8](repeating: 0x85, count: 1 << 20) + [0x2E]
        try expectError(makeZip([("z/data.pkl", [0x80, 0x02] + nested)]),
                        ["limit of \(4096 + nested.count + 2) containers and their elements"])
        // Lists grow by at most one element per byte (APPEND of NONE): a 1 MB pickle stays within the limit and
        // fails only for not being a state dict.
        let appends = [0x5D] + [UInt8]((0..<(1 << 19)).flatMap { _ in [0x4E, 0x61] }) + [0x2E]
        try expectError(makeZip([("z/data.pkl", [0x80, 0x02] + appends)]), ["not a state dict", "list"])
    }

    func testPickleValuesAreSmall() {
        // Every stack slot, memo entry and container element is a PV: with tensor records inline it was 80 bytes.
        XCTAssertLessThanOrEqual(MemoryLayout<PV>.stride, 24)
    }

    func testRealSizedPicklesStayFarBelowTheLimits() throws {
        // 5000 tensors through the writer's pickle (the same opcodes as torch.save): well within every limit.
        let entries = (0..<5000).map { (key: "layer.\($0).weight", dtype: StoredDType.float32, shape: [$0 % 7, 3]) }
        let pkl = StatePickler.pickle(entries)
        let path = try writeTemp(pkl, tag: "limits")
        defer { removeTemp(path) }
        let source = try FileSource(path: path)
        var r = WindowReader(source: source, start: 0, end: source.size, label: "")
        var u = Unpickler(limits: .forPickle(bytes: pkl.count))
        let root = try u.load(&r)
        XCTAssertEqual(u.dict(root)?.count, 5000)
        XCTAssertLessThan(u.containerValues * 2, u.limits.containerValues, "less than half the container budget")
    }
}
