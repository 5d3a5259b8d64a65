import Foundation
import TxnTensor
import TxnTestSupport
import XCTest
@testable import TxnImage

/// Decoding is bounded work (issue 19): the header is read first and checked (pixels, memory), a progressive JPEG
/// is stopped at the scan limit, and a decode is stopped at its deadline.
final class DecodeLimitTests: XCTestCase {
    /// Issue 19's file: 4000x4000, 10,000 scans, about 250 KB. Refused at the first scan over the limit, with the
    /// limit in the message (without it: half a minute of decoding).
    func testTheScanBombIsRefusedAtTheScanLimit() throws {
        let bomb = ScanBombJPEG.make(width: 4000, height: 4000, scans: 10_000)
        XCTAssertLessThan(bomb.count, 400_000)
        XCTAssertThrowsError(try Image.decode(bomb, name: "bomb.jpg")) { error in
            let e = error as? ImageError
            XCTAssertEqual(e?.kind, .overWorkLimit, "\(error)")
            XCTAssertEqual(e?.path, "bomb.jpg")
            XCTAssertTrue(e?.reason.contains("more than \(DecodeLimits.defaultMaxScans) scans") == true, "\(error)")
        }
    }

    /// At the limit a file decodes, to the pixels it holds (all coefficients zero: grey 128 everywhere); one scan more
    /// is refused. The limit is the caller's to lower.
    func testTheScanLimitIsExact() throws {
        let limit = DecodeLimits.defaultMaxScans
        let atLimit = try Image.decode(ScanBombJPEG.make(width: 40, height: 24, scans: limit), name: "at.jpg")
        XCTAssertEqual([atLimit.image.width, atLimit.image.height], [40, 24])
        XCTAssertEqual(atLimit.image.pixels, [Float](repeating: Float(128) / 255, count: 3 * 40 * 24))
        XCTAssertTrue(atLimit.notes.contains("progressive JPEG"), "\(atLimit.notes)")
        XCTAssertThrowsError(try Image.decode(ScanBombJPEG.make(width: 40, height: 24, scans: limit + 1), name: "over.jpg")) {
            XCTAssertEqual(($0 as? ImageError)?.kind, .overWorkLimit, "\($0)")
        }
        let lowered = DecodeLimits(maxScans: 10)
        XCTAssertNoThrow(try Image.decode(ScanBombJPEG.make(width: 40, height: 24, scans: 10), name: "ten.jpg", limits: lowered))
        XCTAssertThrowsError(try Image.decode(ScanBombJPEG.make(width: 40, height: 24, scans: 11), name: "eleven.jpg", limits: lowered)) {
            XCTAssertTrue(($0 as? ImageError)?.reason.contains("more than 10 scans") == true, "\($0)")
        }
    }

    /// A deadline already passed stops a JPEG (baseline and progressive) and a PNG at their first row; a generous one
    /// lets the same files decode.
    func testTheDeadlineStopsJPEGAndPNG() throws {
        var pixels = [Float](repeating: 0, count: 3 * 64 * 48)
        for i in pixels.indices { pixels[i] = Float(i % 11) / 11 }
        let image = Image(width: 64, height: 48, pixels: pixels)
        let files: [(String, [UInt8])] = [("a.png", try image.encoded(as: .png)), ("a.jpg", try image.encoded(as: .jpeg)),
                                          ("p.jpg", ScanBombJPEG.make(width: 64, height: 48, scans: 20))]
        for (name, bytes) in files {
            XCTAssertThrowsError(try Image.decode(bytes, name: name, limits: DecodeLimits(seconds: 0))) { error in
                XCTAssertEqual((error as? ImageError)?.kind, .overWorkLimit, "\(name): \(error)")
                XCTAssertTrue("\(error)".contains("time budget of 0.0 s"), "\(name): \(error)")
            }
            let decoded = try Image.decode(bytes, name: name, limits: DecodeLimits(seconds: 600))
            XCTAssertEqual([decoded.image.width, decoded.image.height], [64, 48], name)
        }
    }

    /// The header alone: size, components, progressive; a 100000x100000 header is refused by pixels and by the memory
    /// budget before anything is decoded.
    func testTheHeaderIsReadFirst() throws {
        let header = try Image.header(ScanBombJPEG.make(width: 4000, height: 3000, scans: 10_000), name: "bomb.jpg")
        XCTAssertEqual(header, ImageHeader(format: .jpeg, width: 4000, height: 3000, channels: 1, progressive: true))
        // Samples (8), floats (12) and the coefficients of one progressive component (2) per pixel.
        XCTAssertEqual(header.decodeBytes, 4000 * 3000 * 22)
        let png = try Image(width: 24, height: 16, pixels: [Float](repeating: 0.5, count: 3 * 24 * 16)).encoded(as: .png)
        XCTAssertEqual(try Image.header(png, name: "a.png"), ImageHeader(format: .png, width: 24, height: 16, channels: 3, progressive: false))
        XCTAssertThrowsError(try Image.header(Array(png.prefix(20)), name: "cut.png")) {
            XCTAssertEqual(($0 as? ImageError)?.kind, .truncated, "\($0)")
        }

        let saved = MemoryBudget.limitBytes
        defer { MemoryBudget.limitBytes = saved }
        MemoryBudget.limitBytes = 24 * 16 * 20 - 1
        XCTAssertThrowsError(try Image.decode(png, name: "a.png")) { error in
            XCTAssertEqual((error as? ImageError)?.kind, .tooLarge, "\(error)")
            XCTAssertTrue("\(error)".contains("over the memory limit"), "\(error)")
        }
        MemoryBudget.limitBytes = 24 * 16 * 20
        XCTAssertNoThrow(try Image.decode(png, name: "a.png"))
    }
}
