import Foundation
import XCTest
@testable import TxnCheckpoint

/// The torch-written fixtures (make_fixtures.py) read back to exactly the values of the formulas there.
final class FixtureCheckpointTests: XCTestCase {
    static let keys = ["conv.weight", "conv.bias", "half", "bytes", "t", "s", "col", "d", "i64", "i32",
                       "scalar", "empty", "param"]

    /// base(i) = i*1.5 - 4, the 3x4 storage shared by "t", "s" and "col".
    static func base(_ i: Int) -> Float { Float(Double(i) * 1.5 - 4.0) }

    /// (dtype, shape, values) for every key, recomputed from the formulas of make_fixtures.py.
    static var expected: [String: (StoredDType, [Int], [Float])] {
        var e: [String: (StoredDType, [Int], [Float])] = [:]
        e["conv.weight"] = (.float32, [4, 3, 2, 2], (0..<48).map { Float(Double(($0 * 37) % 101) * 0.25 - 12.5) })
        e["conv.bias"] = (.float32, [4], (0..<4).map { Float(Double($0) / 3.0 - 1.0) })
        e["half"] = (.float16, [2, 6], [0, 1, -2, 0.5, 65504, Float(bitPattern: 0x3380_0000), Float(bitPattern: 0x3880_0000),
                                        -0.0, .infinity, -.infinity, 0.333251953125, -1000])
        e["bytes"] = (.uint8, [3, 4, 5], (0..<60).map { Float(($0 * 13 + 7) % 256) })
        e["t"] = (.float32, [4, 3], (0..<12).map { base(($0 % 3) * 4 + $0 / 3) })
        e["s"] = (.float32, [2, 4], (4..<12).map { base($0) })
        e["col"] = (.float32, [3], [base(1), base(5), base(9)])
        e["d"] = (.float64, [3], [Float(1.0 / 3.0), -2.5, Float(1e-3)])
        e["i64"] = (.int64, [4], [-3, 0, 7, Float(Int64(1) << 40)])
        e["i32"] = (.int32, [3], [-5, 12345, Float(Int32(1 << 24) + 1)])
        e["scalar"] = (.float32, [], [42.5])
        e["empty"] = (.float32, [0, 3], [])
        e["param"] = (.float32, [3], [0, 1, 2])
        return e
    }

    func checkAll(_ sd: StateDict, format: CheckpointFormat, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(sd.format, format, file: file, line: line)
        XCTAssertEqual(sd.keys, Self.keys, file: file, line: line)
        XCTAssertEqual(sd.loadedKeys, Self.keys, file: file, line: line)
        for (key, (dtype, shape, values)) in Self.expected {
            guard let t = sd[key] else { XCTFail("\(key) not loaded", file: file, line: line); continue }
            XCTAssertEqual(t.dtype, dtype, key, file: file, line: line)
            XCTAssertEqual(t.shape, shape, key, file: file, line: line)
            XCTAssertEqual(sd.shape(of: key), shape, key, file: file, line: line)
            // Bit patterns: exactness, and -0.0 must keep its sign.
            XCTAssertEqual(t.values.map(\.bitPattern), values.map(\.bitPattern), key, file: file, line: line)
        }
    }

    func testLegacyFixture() throws {
        checkAll(try Checkpoint.load(try fixturePath("small_legacy.ckpt")), format: .legacy)
    }

    func testZipFixture() throws {
        checkAll(try Checkpoint.load(try fixturePath("small_zip.ckpt")), format: .zip)
    }

    func testZip64Fixture() throws {
        // Same entries re-packed with every size and offset in zip64 extras and a zip64 end record.
        checkAll(try Checkpoint.load(try fixturePath("small_zip64.ckpt")), format: .zip)
    }

    func testBigEndianZipIsByteSwapped() throws {
        // byteorder "big", every storage element byte-reversed: values must come out identical.
        checkAll(try Checkpoint.load(try fixturePath("small_zip_be.ckpt")), format: .zip)
    }

    func testIntegerTensorsAreExact() throws {
        // 2^24 + 1 has no float32; `integers` keeps it (and int64 beyond 2^24), also from the byte-swapped file.
        for name in ["small_legacy.ckpt", "small_zip.ckpt", "small_zip64.ckpt", "small_zip_be.ckpt"] {
            let sd = try Checkpoint.load(try fixturePath(name))
            XCTAssertEqual(sd["i64"]?.integers, [-3, 0, 7, 1 << 40], name)
            XCTAssertEqual(sd["i32"]?.integers, [-5, 12345, (1 << 24) + 1], name)
            XCTAssertEqual(sd["i32"]?.values.last, Float(1 << 24), name) // the float rounds
            for key in Self.keys where key != "i64" && key != "i32" { XCTAssertNil(sd[key]?.integers, "\(name) \(key)") }
        }
    }

    func testLazyLoadReadsOnlyNeededStorages() throws {
        for name in ["small_legacy.ckpt", "small_zip.ckpt"] {
            let path = try fixturePath(name)
            // "s" is a view of the 12-float base storage: exactly 48 storage bytes are read.
            let sd = try Checkpoint.load(path, include: { $0 == "s" })
            XCTAssertEqual(sd.keys, Self.keys, name)
            XCTAssertEqual(sd.loadedKeys, ["s"], name)
            XCTAssertEqual(sd.storageBytesRead, 48, name)
            XCTAssertEqual(sd["s"]?.values, (4..<12).map { Self.base($0) }, name)
            XCTAssertNil(sd["t"], name)
            XCTAssertEqual(sd.shape(of: "t"), [4, 3], name)
            XCTAssertEqual(sd.dtype(of: "bytes"), .uint8, name)
            XCTAssertNil(sd.shape(of: "nope"), name)

            let none = try Checkpoint.load(path, include: { _ in false })
            XCTAssertEqual(none.storageBytesRead, 0, name)
            XCTAssertEqual(none.loadedKeys, [], name)
            XCTAssertEqual(none.shape(of: "conv.weight"), [4, 3, 2, 2], name)

            let all = try Checkpoint.load(path)
            // Distinct storages: 48+4 float32, 12 half, 60 bytes, 12 base, 3 f64, 4 i64, 3 i32, 1, 0, 3 float32.
            XCTAssertEqual(all.storageBytesRead, 48 * 4 + 16 + 24 + 60 + 48 + 24 + 32 + 12 + 4 + 0 + 12, name)
        }
    }

    func testDeflatedZipIsAClearError() throws {
        let path = try fixturePath("small_deflated.ckpt")
        XCTAssertThrowsError(try Checkpoint.load(path)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.hasPrefix(path + ": "), text)
            XCTAssertTrue(text.contains("is deflated") && text.contains("small_zip/"), text)
        }
    }

    /// Hand-built legacy stream with what old torch wrote and torch 2.x never does: `_rebuild_tensor` (4 args)
    /// on a storage *view* (`view_metadata = ('view', 2, 3)` inside a 6-float root storage).
    static func legacyView(tensorOffset: UInt8) -> [UInt8] {
        func str(_ s: String) -> [UInt8] { [0x58, UInt8(s.utf8.count), 0, 0, 0] + Array(s.utf8) }
        func global(_ m: String, _ n: String) -> [UInt8] { [0x63] + Array("\(m)\n\(n)\n".utf8) }
        var b = UntrustedCheckpointTests.legacyHeader
        b += [0x80, 0x02] + global("collections", "OrderedDict") + [0x29, 0x52, 0x28] + str("v")
        b += global("torch._utils", "_rebuild_tensor") + [0x28, 0x28] + str("storage") + global("torch", "FloatStorage")
        b += str("root") + str("cpu") + [0x4B, 6, 0x28] + str("view") + [0x4B, 2, 0x4B, 3, 0x74, 0x74, 0x51]
        b += [0x4B, tensorOffset, 0x4B, 2, 0x85, 0x4B, 1, 0x85, 0x74, 0x52, 0x75, 0x2E]
        b += [0x80, 0x02, 0x5D] + str("root") + [0x61, 0x2E]
        b += [6, 0, 0, 0, 0, 0, 0, 0]
        for v in [Float](arrayLiteral: 10, 11, 12, 13, 14, 15) { withUnsafeBytes(of: v.bitPattern.littleEndian) { b += $0 } }
        return b
    }

    func testLegacyStorageViewAndRebuildTensor() throws {
        let (sd, error) = try loadError(Self.legacyView(tensorOffset: 1))
        XCTAssertNil(error)
        XCTAssertEqual(sd?.keys, ["v"])
        XCTAssertEqual(sd?["v"]?.shape, [2])
        XCTAssertEqual(sd?["v"]?.values, [13, 14]) // root[2 + 1], root[2 + 2]
        // Offset 2 would read root[5]: inside the root storage but outside the 3-element view.
        let (bad, viewError) = try loadError(Self.legacyView(tensorOffset: 2))
        XCTAssertNil(bad)
        XCTAssertTrue(viewError?.description.contains("addresses element 3 of a storage with 3 elements") ?? false,
                      viewError?.description ?? "no error")
    }

    func testHalfConversionIsExactForEveryBitPattern() {
        // Against the hardware/stdlib conversion where available: every one of the 65536 patterns.
        #if !(os(macOS) && arch(x86_64))
        for h in 0...UInt16.max {
            let mine = TensorDecode.halfToFloat(h)
            let ref = Float(Float16(bitPattern: h))
            if ref.isNaN { XCTAssertTrue(mine.isNaN); continue }
            XCTAssertEqual(mine.bitPattern, ref.bitPattern, "half 0x\(String(h, radix: 16))")
        }
        #endif
    }

    func testGatherGeneralStrides() {
        // 2x3x2 view with permuted strides and an offset into a 20-element storage.
        let src = (0..<20).map(Float.init)
        let v = TensorDecode.gather(src, base: 1, shape: [2, 3, 2], strides: [1, 4, 2], count: 12)
        var expect: [Float] = []
        for a in 0..<2 { for b in 0..<3 { for c in 0..<2 { expect.append(Float(1 + a + 4 * b + 2 * c)) } } }
        XCTAssertEqual(v, expect)
        // Zero stride (expand) repeats.
        XCTAssertEqual(TensorDecode.gather(src, base: 3, shape: [2, 2], strides: [0, 1], count: 4), [3, 4, 3, 4])
    }
}
