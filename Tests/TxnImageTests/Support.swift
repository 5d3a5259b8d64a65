import Foundation
import XCTest
@testable import TxnImage

/// The formulas make_fixtures.py used, so fixtures can be checked sample by sample.
enum Pattern {
    static let width = 16, height = 12
    static func r8(_ x: Int, _ y: Int) -> Int { 16 * x + y }
    static func g8(_ x: Int, _ y: Int) -> Int { 20 * y + x }
    static func b8(_ x: Int, _ y: Int) -> Int { 128 + 8 * (x - y) }
    static func wide(_ v: Int, _ x: Int, _ y: Int) -> Int { 256 * v + ((7 * x + 13 * y) & 0xFF) }
    static func paletteIndex(_ x: Int, _ y: Int) -> Int { (x + 2 * y) % 16 }
    static func palette(_ i: Int) -> (Int, Int, Int) { (16 * i, 255 - 16 * i, (37 * i) % 256) }
}

func fixtureURL(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
    let dot = name.lastIndex(of: ".")!
    let base = String(name[..<dot]), ext = String(name[name.index(after: dot)...])
    let url = Bundle.module.url(forResource: base, withExtension: ext, subdirectory: "Fixtures")
    return try XCTUnwrap(url, "fixture \(name) missing from the test bundle", file: file, line: line)
}

func fixtureBytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: fixtureURL(name)))
}

/// `shared/data` sits beside the repository root in CI (and beside the worktrees locally).
func sharedDataPath(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let root = URL(fileURLWithPath: #filePath)  // <root>/Tests/TxnImageTests/Support.swift
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let path = root.deletingLastPathComponent().appendingPathComponent("shared/data/\(name)").standardizedFileURL.path
    guard FileManager.default.fileExists(atPath: path) else {
        XCTFail("shared data file missing: \(path)", file: file, line: line)
        throw ImageError(path: path, kind: .notFound, reason: "shared data file missing")
    }
    return path
}

/// A fresh directory per test, removed afterwards.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("TxnImageTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}

func writeFile(_ bytes: [UInt8], _ path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Asserts that `body` throws an ImageError of `kind` whose description names `path` (when given).
func assertImageError<T>(_ kind: ImageError.Kind, path: String?, reasonContains: String? = nil,
                         file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected a \(kind) error\(path.map { " for \($0)" } ?? ""), but nothing was thrown", file: file, line: line)
    } catch let error as ImageError {
        XCTAssertEqual(error.kind, kind, "wrong kind; error was: \(error)", file: file, line: line)
        if let path {
            XCTAssertEqual(error.path, path, file: file, line: line)
            XCTAssertTrue(error.description.contains(path), "description \(error) lacks the path", file: file, line: line)
        }
        XCTAssertFalse(error.reason.isEmpty, file: file, line: line)
        if let reasonContains {
            XCTAssertTrue(error.reason.localizedCaseInsensitiveContains(reasonContains),
                          "reason '\(error.reason)' lacks '\(reasonContains)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected ImageError, got \(error)", file: file, line: line)
    }
}

/// CRC-32 as PNG uses it, to forge chunks with valid checksums.
func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
    }
    return crc ^ 0xFFFF_FFFF
}

func putBigEndian(_ value: UInt32, into bytes: inout [UInt8], at offset: Int) {
    for i in 0..<4 { bytes[offset + i] = UInt8((value >> (24 - 8 * UInt32(i))) & 0xFF) }
}

/// A smooth test image (low-frequency sines) on which resampling and JPEG should be nearly lossless.
func smoothImage(width: Int, height: Int) -> Image {
    var image = Image(width: width, height: height, fill: (0, 0, 0))
    for y in 0..<height {
        for x in 0..<width {
            let u = Double(x) / Double(width), v = Double(y) / Double(height)
            image[0, x, y] = Float(0.5 + 0.3 * sin(2 * .pi * u))
            image[1, x, y] = Float(0.5 + 0.3 * cos(2 * .pi * v))
            image[2, x, y] = Float(0.3 + 0.4 * u * v)
        }
    }
    return image
}

func meanAbsoluteDifference(_ a: Image, _ b: Image) -> Float {
    precondition(a.width == b.width && a.height == b.height)
    var total: Double = 0
    for i in a.pixels.indices { total += Double(abs(a.pixels[i] - b.pixels[i])) }
    return Float(total / Double(a.pixels.count))
}

func maxAbsoluteDifference(_ a: Image, _ b: Image) -> Float {
    precondition(a.width == b.width && a.height == b.height)
    var worst: Float = 0
    for i in a.pixels.indices { worst = max(worst, abs(a.pixels[i] - b.pixels[i])) }
    return worst
}
