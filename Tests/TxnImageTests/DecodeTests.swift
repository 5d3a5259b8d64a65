import XCTest
@testable import TxnImage

final class DecodeTests: XCTestCase {
    private func load(_ fixture: String) throws -> DecodedImage {
        try Image.load(fixtureURL(fixture).path)
    }

    /// Checks every sample of a PNG fixture against the generating formula, exactly.
    private func assertExact(_ image: Image, scale: Float, file: StaticString = #filePath, line: UInt = #line,
                             _ expected: (Int, Int) -> (Int, Int, Int)) {
        XCTAssertEqual(image.width, Pattern.width, file: file, line: line)
        XCTAssertEqual(image.height, Pattern.height, file: file, line: line)
        guard image.width == Pattern.width, image.height == Pattern.height else { return }
        var mismatches = 0
        for y in 0..<Pattern.height {
            for x in 0..<Pattern.width {
                let (r, g, b) = expected(x, y)
                let want = [Float(r) / scale, Float(g) / scale, Float(b) / scale]
                for c in 0..<3 where image[c, x, y] != want[c] {
                    if mismatches < 5 {
                        XCTFail("(\(x), \(y)) channel \(c): \(image[c, x, y]) != \(want[c])", file: file, line: line)
                    }
                    mismatches += 1
                }
            }
        }
        XCTAssertEqual(mismatches, 0, file: file, line: line)
    }

    func testGrey8() throws {
        let decoded = try load("grey8.png")
        XCTAssertEqual(decoded.format, .png)
        assertExact(decoded.image, scale: 255) { x, y in (Pattern.r8(x, y), Pattern.r8(x, y), Pattern.r8(x, y)) }
        XCTAssertEqual(decoded.notes, ["greyscale expanded to RGB"])
    }

    func testGrey16() throws {
        let decoded = try load("grey16.png")
        assertExact(decoded.image, scale: 65535) { x, y in
            let v = Pattern.wide(Pattern.r8(x, y), x, y)
            return (v, v, v)
        }
        XCTAssertTrue(decoded.notes.contains("16-bit samples"), "\(decoded.notes)")
        XCTAssertTrue(decoded.notes.contains("greyscale expanded to RGB"), "\(decoded.notes)")
    }

    func testGreyAlpha8() throws {
        let decoded = try load("greyalpha8.png")
        assertExact(decoded.image, scale: 255) { x, y in (Pattern.r8(x, y), Pattern.r8(x, y), Pattern.r8(x, y)) }
        XCTAssertEqual(Set(decoded.notes), ["greyscale expanded to RGB", "alpha channel dropped"])
    }

    func testRGB8() throws {
        let decoded = try load("rgb8.png")
        assertExact(decoded.image, scale: 255) { x, y in (Pattern.r8(x, y), Pattern.g8(x, y), Pattern.b8(x, y)) }
        XCTAssertEqual(decoded.notes, [])
    }

    func testRGB16() throws {
        let decoded = try load("rgb16.png")
        assertExact(decoded.image, scale: 65535) { x, y in
            (Pattern.wide(Pattern.r8(x, y), x, y), Pattern.wide(Pattern.g8(x, y), x, y),
             Pattern.wide(Pattern.b8(x, y), x, y))
        }
        XCTAssertEqual(decoded.notes, ["16-bit samples"])
    }

    func testRGBA8DropsAlphaWithoutCompositing() throws {
        let decoded = try load("rgba8.png")
        assertExact(decoded.image, scale: 255) { x, y in (Pattern.r8(x, y), Pattern.g8(x, y), Pattern.b8(x, y)) }
        XCTAssertEqual(decoded.notes, ["alpha channel dropped"])
    }

    func testPalette4() throws {
        let decoded = try load("palette4.png")
        assertExact(decoded.image, scale: 255) { x, y in Pattern.palette(Pattern.paletteIndex(x, y)) }
        XCTAssertTrue(decoded.notes.contains("palette expanded to RGB"), "\(decoded.notes)")
        XCTAssertFalse(decoded.notes.contains("alpha channel dropped"))
    }

    func testInterlaced() throws {
        let decoded = try load("rgb8_interlaced.png")
        assertExact(decoded.image, scale: 255) { x, y in (Pattern.r8(x, y), Pattern.g8(x, y), Pattern.b8(x, y)) }
        XCTAssertEqual(decoded.notes, ["interlaced PNG"])
    }

    private func patternImage() -> Image {
        var image = Image(width: Pattern.width, height: Pattern.height, fill: (0, 0, 0))
        for y in 0..<Pattern.height {
            for x in 0..<Pattern.width {
                image[0, x, y] = Float(Pattern.r8(x, y)) / 255
                image[1, x, y] = Float(Pattern.g8(x, y)) / 255
                image[2, x, y] = Float(Pattern.b8(x, y)) / 255
            }
        }
        return image
    }

    func testBaselineJPEG() throws {
        let decoded = try load("baseline.jpg")
        XCTAssertEqual(decoded.format, .jpeg)
        XCTAssertEqual(decoded.notes, [])
        XCTAssertLessThan(meanAbsoluteDifference(decoded.image, patternImage()), 2 / 255)
        XCTAssertLessThan(maxAbsoluteDifference(decoded.image, patternImage()), 12 / 255)
    }

    func testProgressiveJPEG() throws {
        let decoded = try load("progressive.jpg")
        XCTAssertEqual(decoded.format, .jpeg)
        XCTAssertEqual(decoded.notes, ["progressive JPEG"])
        XCTAssertLessThan(meanAbsoluteDifference(decoded.image, patternImage()), 2 / 255)
        XCTAssertLessThan(maxAbsoluteDifference(decoded.image, patternImage()), 12 / 255)
        // Same encoder settings as the baseline file, so the pixels should agree closely too.
        let baseline = try load("baseline.jpg").image
        XCTAssertLessThan(maxAbsoluteDifference(decoded.image, baseline), 3 / 255)
    }

    func testGreyJPEG() throws {
        let decoded = try load("grey.jpg")
        XCTAssertEqual(decoded.notes, ["greyscale expanded to RGB"])
        let image = decoded.image
        XCTAssertEqual(image.width, Pattern.width)
        XCTAssertEqual(image.height, Pattern.height)
        let plane = image.width * image.height
        XCTAssertEqual(Array(image.pixels[0..<plane]), Array(image.pixels[plane..<(2 * plane)]))
        XCTAssertEqual(Array(image.pixels[0..<plane]), Array(image.pixels[(2 * plane)...]))
        var grey = Image(width: Pattern.width, height: Pattern.height, fill: (0, 0, 0))
        for y in 0..<Pattern.height {
            for x in 0..<Pattern.width {
                for c in 0..<3 { grey[c, x, y] = Float(Pattern.r8(x, y)) / 255 }
            }
        }
        XCTAssertLessThan(meanAbsoluteDifference(image, grey), 2 / 255)
    }

    func testCMYKJPEGIsRejected() throws {
        let path = try fixtureURL("cmyk.jpg").path
        assertImageError(.unsupportedFormat, path: path, reasonContains: "CMYK") { try Image.load(path) }
    }

    func testDecodeFromMemoryMatchesLoad() throws {
        let bytes = try fixtureBytes("rgb8.png")
        let fromMemory = try Image.decode(bytes, name: "in-memory")
        XCTAssertEqual(fromMemory.image, try load("rgb8.png").image)
    }

    // MARK: Real data

    func testGravelPNG() throws {
        let decoded = try Image.load(try sharedDataPath("gravel.png"))
        XCTAssertEqual(decoded.format, .png)
        XCTAssertEqual(decoded.image.width, 512)
        XCTAssertEqual(decoded.image.height, 512)
        XCTAssertTrue(decoded.notes.contains("greyscale expanded to RGB"))
        let (r, g, b) = decoded.image.channelMean()
        XCTAssertEqual(r, g)
        XCTAssertEqual(g, b)
        XCTAssertGreaterThan(r, 0.05)
        XCTAssertLessThan(r, 0.95)
    }

    func testHubbleJPEG() throws {
        let decoded = try Image.load(try sharedDataPath("hubble_deep_field.jpg"))
        XCTAssertEqual(decoded.format, .jpeg)
        XCTAssertEqual(decoded.image.width, 1000)
        XCTAssertEqual(decoded.image.height, 872)
        XCTAssertFalse(decoded.notes.contains("greyscale expanded to RGB"))
        let (r, g, b) = decoded.image.channelMean()
        XCTAssertTrue(r != g || g != b, "a colour photograph should not have identical channel means")
    }

    func testIHCPNG() throws {
        let decoded = try Image.load(try sharedDataPath("ihc.png"))
        XCTAssertEqual(decoded.format, .png)
        XCTAssertEqual(decoded.image.width, 512)
        XCTAssertEqual(decoded.image.height, 512)
        XCTAssertEqual(decoded.notes, [])
        XCTAssertTrue(decoded.image.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
}
