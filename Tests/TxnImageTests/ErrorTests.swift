import Foundation
import XCTest
@testable import TxnImage

/// Broken inputs are made at run time from good fixtures, so each test states exactly what damage it checks.
final class ErrorTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory(self)
    }

    private func broken(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory + "/" + name
        try writeFile(bytes, path)
        return path
    }

    func testMissingFile() {
        let path = directory + "/does-not-exist.png"
        assertImageError(.notFound, path: path) { try Image.load(path) }
    }

    func testDirectoryIsNotAnImage() {
        assertImageError(.ioError, path: directory) { try Image.load(directory) }
    }

    func testEmptyFile() throws {
        let path = try broken("empty.png", [])
        assertImageError(.empty, path: path) { try Image.load(path) }
    }

    func testTruncatedPNG() throws {
        let bytes = try fixtureBytes("rgb8.png")
        let path = try broken("half.png", Array(bytes.prefix(bytes.count / 2)))
        assertImageError(.truncated, path: path) { try Image.load(path) }
    }

    func testPNGMissingOnlyIEND() throws {
        let bytes = try fixtureBytes("rgb8.png")
        let path = try broken("no-iend.png", Array(bytes.dropLast(12)))
        assertImageError(.truncated, path: path) { try Image.load(path) }
    }

    func testTruncatedInsideSignature() throws {
        let path = try broken("tiny.png", Array(try fixtureBytes("rgb8.png").prefix(4)))
        assertImageError(.truncated, path: path) { try Image.load(path) }
    }

    func testTruncatedJPEGFixture() throws {
        for name in ["baseline.jpg", "progressive.jpg", "grey.jpg"] {
            let bytes = try fixtureBytes(name)
            let path = try broken("half-" + name, Array(bytes.prefix(bytes.count / 2)))
            assertImageError(.truncated, path: path) { try Image.load(path) }
        }
    }

    /// Cut in the middle of the entropy-coded data: libjpeg only warns here and would fill the rest with grey.
    func testTruncatedRealJPEG() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try sharedDataPath("hubble_deep_field.jpg"))))
        let path = try broken("half-hubble.jpg", Array(bytes.prefix(bytes.count / 2)))
        assertImageError(.truncated, path: path, reasonContains: "Premature end of JPEG file") { try Image.load(path) }
    }

    func testTextFileNamedPNG() throws {
        let path = try broken("notes.png", Array("This is not an image.\nJust some text.\n".utf8))
        assertImageError(.unsupportedFormat, path: path) { try Image.load(path) }
    }

    func testBadCRC() throws {
        var bytes = try fixtureBytes("rgb8.png")
        // Signature (8) + IHDR length/type (8) + data (13) = 29: the IHDR CRC occupies bytes 29..<33.
        bytes[32] ^= 0x01
        let path = try broken("bad-crc.png", bytes)
        assertImageError(.corrupt, path: path, reasonContains: "CRC") { try Image.load(path) }
    }

    func testBadIDATCRC() throws {
        var bytes = try fixtureBytes("rgb8.png")
        // The last IDAT byte sits just before its CRC, which precedes the 12-byte IEND chunk.
        bytes[bytes.count - 12 - 4 - 1] ^= 0x40
        let path = try broken("bad-idat.png", bytes)
        assertImageError(.corrupt, path: path) { try Image.load(path) }
    }

    func testBogusJPEGMarkerLengthIsCorrupt() throws {
        var bytes = try fixtureBytes("baseline.jpg")
        let sof = try XCTUnwrap((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        bytes[sof + 2] = 0x00 // SOF0 length 17 -> 1
        bytes[sof + 3] = 0x01
        let path = try broken("bogus-length.jpg", bytes)
        assertImageError(.corrupt, path: path, reasonContains: "corrupt JPEG") { try Image.load(path) }
    }

    /// libjpeg skips junk between markers with a warning; that is harmless, so it becomes a note, not an error.
    func testExtraneousBytesBeforeMarkerBecomeANote() throws {
        var bytes = try fixtureBytes("baseline.jpg")
        bytes[2] = 0x00 // destroy the APP0 marker right after SOI
        bytes[3] = 0x00
        let decoded = try Image.load(try broken("junk.jpg", bytes))
        XCTAssertEqual(decoded.image.width, Pattern.width)
        XCTAssertTrue(decoded.notes.contains { $0.hasPrefix("libjpeg warning: Corrupt JPEG data") }, "\(decoded.notes)")
    }

    func testPixelLimitPNGAndJPEG() throws {
        for name in ["rgb8.png", "baseline.jpg"] {
            let path = try fixtureURL(name).path
            assertImageError(.tooLarge, path: path, reasonContains: "limit") { try Image.load(path, maxPixels: 191) }
            XCTAssertNoThrow(try Image.load(path, maxPixels: 192))
        }
    }

    /// A header claiming 100000 x 100000 pixels (40 GB as RGB8) must be rejected from the header alone.
    func testHugePNGHeaderIsRejectedBeforeAllocation() throws {
        var bytes = try fixtureBytes("rgb8.png")
        putBigEndian(100_000, into: &bytes, at: 16)
        putBigEndian(100_000, into: &bytes, at: 20)
        putBigEndian(crc32(bytes[12..<29]), into: &bytes, at: 29)
        let path = try broken("huge.png", bytes)
        assertImageError(.tooLarge, path: path, reasonContains: "100000x100000") { try Image.load(path) }
    }

    func testHugeJPEGHeaderIsRejectedBeforeAllocation() throws {
        var bytes = try fixtureBytes("baseline.jpg")
        // SOF0: FF C0, length (2), precision (1), height (2), width (2).
        let sof = try XCTUnwrap((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        for offset in [sof + 5, sof + 7] { bytes[offset] = 0xEA; bytes[offset + 1] = 0x60 } // 60000
        let path = try broken("huge.jpg", bytes)
        assertImageError(.tooLarge, path: path, reasonContains: "60000x60000") { try Image.load(path) }
    }

    func testGIFAndBMPSignatures() throws {
        let gif = try broken("anim.png", Array("GIF89a".utf8) + [UInt8](repeating: 0, count: 32))
        assertImageError(.unsupportedFormat, path: gif, reasonContains: "GIF") { try Image.load(gif) }
        let bmp = try broken("picture.jpg", Array("BM".utf8) + [UInt8](repeating: 0, count: 60))
        assertImageError(.unsupportedFormat, path: bmp, reasonContains: "BMP") { try Image.load(bmp) }
    }

    func testBinaryGarbage() throws {
        let path = try broken("noise.png", [0x00, 0x01, 0x02, 0x03, 0xFE, 0x80, 0x00, 0x10, 0x20])
        assertImageError(.unsupportedFormat, path: path, reasonContains: "00 01 02 03") { try Image.load(path) }
    }

    func testDecodeNamesTheGivenName() {
        assertImageError(.empty, path: "clipboard") { try Image.decode([], name: "clipboard") }
        assertImageError(.invalidArgument, path: "x") { try Image.decode([0x89], name: "x", maxPixels: 0) }
    }

    // MARK: Saving

    func testUnknownSaveExtension() {
        let image = Image(width: 2, height: 2, fill: (0.5, 0.5, 0.5))
        for name in ["out.bmp", "out"] {
            let path = directory + "/" + name
            assertImageError(.unsupportedFormat, path: path) { try image.save(path) }
            XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        }
    }

    func testBadQualityIsAnErrorAndLeavesOldFileIntact() throws {
        let path = directory + "/keep.jpg"
        let image = Image(width: 4, height: 4, fill: (0.2, 0.4, 0.6))
        try image.save(path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        for quality in [0, 101, -5] {
            assertImageError(.invalidArgument, path: path, reasonContains: "quality") {
                try Image(width: 4, height: 4, fill: (1, 1, 1)).save(path, jpegQuality: quality)
            }
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["keep.jpg"],
                       "no temporary files may be left behind")
    }

    func testSaveIntoMissingDirectory() {
        let path = directory + "/no/such/dir/out.png"
        assertImageError(.notFound, path: path) { try Image(width: 1, height: 1, fill: (0, 0, 0)).save(path) }
    }

    func testSaveOverADirectoryFailsCleanly() throws {
        let path = directory + "/sub.png"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        assertImageError(.ioError, path: path) { try Image(width: 1, height: 1, fill: (0, 0, 0)).save(path) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["sub.png"])
    }

    func testEncodingAnEmptyImageIsAnError() {
        assertImageError(.invalidArgument, path: nil) { try Image(width: 0, height: 3, fill: (0, 0, 0)).encoded(as: .png) }
    }
}
