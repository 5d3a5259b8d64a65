import Foundation
import XCTest
@testable import TxnCheckpoint

/// Path of a committed fixture (made by Fixtures/make_fixtures.py).
func fixturePath(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
        XCTFail("fixture \(name) missing from the test bundle", file: file, line: line)
        throw CheckpointError(path: name, reason: "missing fixture")
    }
    return url.path
}

func fixtureBytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: try fixturePath(name))))
}

/// Writes bytes to a fresh temporary file and returns its path; removed by `removeTemp`.
func writeTemp(_ bytes: [UInt8], tag: String = "ckpt") throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("txn-checkpoint-\(tag)-\(UUID().uuidString).bin").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

func removeTemp(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

/// Loads bytes through a temporary file; returns the thrown CheckpointError (or nil if it loaded).
func loadError(_ bytes: [UInt8], tag: String = "bad",
               include: (String) -> Bool = { _ in true }) throws -> (StateDict?, CheckpointError?) {
    let path = try writeTemp(bytes, tag: tag)
    defer { removeTemp(path) }
    do {
        return (try Checkpoint.load(path, include: include), nil)
    } catch let e as CheckpointError {
        return (nil, e)
    }
}

/// The package root, found from this file's location (Tests/TxnCheckpointTests/TestSupport.swift).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Deterministic generator for the fuzz loops (SplitMix64), so a failure reproduces.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Minimal STORED zip writer for hand-made archives (CRC from the module under test is fine here: a wrong
/// CRC would make the *valid* archives fail to load, which the tests would notice).
func makeZip(_ entries: [(String, [UInt8])]) -> [UInt8] {
    var out: [UInt8] = []
    func u16(_ v: Int) { out += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    func u32(_ v: Int) { for i in 0..<4 { out.append(UInt8((v >> (8 * i)) & 0xFF)) } }
    var central: [(name: [UInt8], crc: UInt32, size: Int, offset: Int)] = []
    for (name, data) in entries {
        let nb = Array(name.utf8), crc = CRC32.checksum(data), off = out.count
        u32(0x0403_4B50); u16(20); u16(0); u16(0); u16(0); u16(0); u32(Int(crc))
        u32(data.count); u32(data.count); u16(nb.count); u16(0)
        out += nb + data
        central.append((nb, crc, data.count, off))
    }
    let cdStart = out.count
    for c in central {
        u32(0x0201_4B50); u16(20); u16(20); u16(0); u16(0); u16(0); u16(0); u32(Int(c.crc))
        u32(c.size); u32(c.size); u16(c.name.count); u16(0); u16(0); u16(0); u16(0); u32(0); u32(c.offset)
        out += c.name
    }
    let cdEnd = out.count
    u32(0x0605_4B50); u16(0); u16(0); u16(central.count); u16(central.count)
    u32(cdEnd - cdStart); u32(cdStart); u16(0)
    return out
}

/// Reads every entry of a (stored) zip fixture with Python-free code, to rebuild modified archives.
func zipEntries(_ bytes: [UInt8]) throws -> [(String, [UInt8])] {
    let path = try writeTemp(bytes, tag: "entries")
    defer { removeTemp(path) }
    let zip = try ZipArchive(source: FileSource(path: path))
    return try zip.entries.map { ($0.name, try zip.read($0)) }
}
