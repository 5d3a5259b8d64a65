import Foundation
import XCTest
@testable import TxnImage

final class EncodeTests: XCTestCase {
    /// Every 8-bit value appears in every channel.
    private func allValuesImage() -> Image {
        var image = Image(width: 32, height: 8, fill: (0, 0, 0))
        for y in 0..<8 {
            for x in 0..<32 {
                let v = x + 32 * y
                image[0, x, y] = Float(v) / 255
                image[1, x, y] = Float((v * 7 + 3) % 256) / 255
                image[2, x, y] = Float(255 - v) / 255
            }
        }
        return image
    }

    func testPNGRoundTripIsExact() throws {
        let image = allValuesImage()
        let bytes = try image.encoded(as: .png)
        XCTAssertEqual(Array(bytes.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        let decoded = try Image.decode(bytes, name: "memory")
        XCTAssertEqual(decoded.format, .png)
        XCTAssertEqual(decoded.notes, [])
        XCTAssertEqual(decoded.image, image)
    }

    func testSaveAndLoadThroughFiles() throws {
        let directory = try makeTemporaryDirectory(self)
        let image = allValuesImage()
        try image.save(directory + "/a.PNG")
        XCTAssertEqual(try Image.load(directory + "/a.PNG").image, image)
        // An explicit format wins over the name, and loading trusts the signature, not the name.
        try image.save(directory + "/b.data", format: .png)
        XCTAssertEqual(try Image.load(directory + "/b.data").format, .png)
        try image.save(directory + "/c.jpeg")
        XCTAssertEqual(try Image.load(directory + "/c.jpeg").format, .jpeg)
        try image.save(directory + "/d.jpg", format: .png)
        XCTAssertEqual(try Image.load(directory + "/d.jpg").format, .png)
        // Overwriting replaces the file.
        try Image(width: 3, height: 2, fill: (1, 0, 0)).save(directory + "/a.PNG")
        XCTAssertEqual(try Image.load(directory + "/a.PNG").image, Image(width: 3, height: 2, fill: (1, 0, 0)))
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: directory)),
                       ["a.PNG", "b.data", "c.jpeg", "d.jpg"])
    }

    func testQuantisationClampsAndRoundsHalfAway() throws {
        // 0.5 * 255 = 127.5 exactly, so it shows the rounding direction; the others avoid float ties.
        let values: [Float] = [-0.5, 1.5, .nan, 0.5, 0.6 / 255, 1.4 / 255, 254.6 / 255, .infinity]
        let expected: [Float] = [0, 255, 0, 128, 1, 1, 255, 255].map { $0 / 255 }
        let image = Image(width: values.count, height: 1, pixels: values + values + values)
        let decoded = try Image.decode(try image.encoded(as: .png), name: "memory").image
        XCTAssertEqual(Array(decoded.pixels.prefix(values.count)), expected)
    }

    func testJPEGRoundTripAtQuality95IsClose() throws {
        let image = smoothImage(width: 64, height: 48)
        let bytes = try image.encoded(as: .jpeg, jpegQuality: 95)
        XCTAssertEqual(Array(bytes.prefix(3)), [0xFF, 0xD8, 0xFF])
        let decoded = try Image.decode(bytes, name: "memory")
        XCTAssertEqual(decoded.format, .jpeg)
        XCTAssertEqual(decoded.image.width, 64)
        XCTAssertEqual(decoded.image.height, 48)
        XCTAssertLessThan(meanAbsoluteDifference(decoded.image, image), 2 / 255)
    }

    func testJPEGQualityIsHonoured() throws {
        let image = smoothImage(width: 64, height: 48)
        let low = try image.encoded(as: .jpeg, jpegQuality: 5)
        let high = try image.encoded(as: .jpeg, jpegQuality: 100)
        let standard = try image.encoded(as: .jpeg)
        XCTAssertLessThan(low.count, standard.count)
        XCTAssertLessThan(standard.count, high.count)
        XCTAssertEqual(standard, try image.encoded(as: .jpeg, jpegQuality: 92), "default quality is 92")
        let lowError = meanAbsoluteDifference(try Image.decode(low, name: "low").image, image)
        let highError = meanAbsoluteDifference(try Image.decode(high, name: "high").image, image)
        XCTAssertLessThan(highError, lowError)
    }

    func testGreyImageJPEGRoundTripStaysGrey() throws {
        let image = Image(width: 9, height: 7, fill: (0.25, 0.25, 0.25))
        let decoded = try Image.decode(try image.encoded(as: .jpeg, jpegQuality: 95), name: "memory").image
        XCTAssertLessThan(maxAbsoluteDifference(decoded, image), 1.5 / 255)
    }
}
