import XCTest
import TxnImage
@testable import TxnPlot

final class TerminalImageTests: XCTestCase {
    func testTwoByTwoImageIsOneLineOfTwoHalfBlocks() {
        var image = Image(width: 2, height: 2, fill: (0, 0, 0))
        image[0, 0, 0] = 1                                    // top left red
        image[2, 0, 1] = 1                                    // bottom left blue
        image[1, 1, 0] = 1                                    // top right green
        image[0, 1, 1] = 1; image[1, 1, 1] = 1; image[2, 1, 1] = 1  // bottom right white
        let expected = "\u{1B}[38;2;255;0;0m\u{1B}[48;2;0;0;255m▀"
            + "\u{1B}[38;2;0;255;0m\u{1B}[48;2;255;255;255m▀"
            + "\u{1B}[0m\n"
        XCTAssertEqual(TerminalImage.render(image), expected)
    }

    func testLargeImagesAreAveragedDownKeepingAspect() {
        // Left half black, right half white, 256 x 128: 64 columns x 32 pixel rows = 16 lines.
        var image = Image(width: 256, height: 128, fill: (0, 0, 0))
        for c in 0..<3 { for y in 0..<128 { for x in 128..<256 { image[c, x, y] = 1 } } }
        let output = TerminalImage.render(image, maxColumns: 64)
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, 16)
        XCTAssertTrue(output.hasSuffix("\u{1B}[0m\n"))
        for line in lines {
            XCTAssertEqual(line.filter { $0 == "▀" }.count, 64)
            XCTAssertTrue(line.hasSuffix("\u{1B}[0m"))
            XCTAssertTrue(line.hasPrefix("\u{1B}[38;2;0;0;0m\u{1B}[48;2;0;0;0m▀"))
        }
        XCTAssertTrue(lines[0].hasSuffix("\u{1B}[38;2;255;255;255m\u{1B}[48;2;255;255;255m▀\u{1B}[0m"))
    }

    func testAreaAveragingMixesCoveredPixels() {
        // A 4 x 2 checkerboard squeezed to 2 columns averages each 2 x 2 block to mid grey (127.5 → 128).
        var image = Image(width: 4, height: 4, fill: (0, 0, 0))
        for c in 0..<3 { for y in 0..<4 { for x in 0..<4 where (x + y) % 2 == 0 { image[c, x, y] = 1 } } }
        let output = TerminalImage.render(image, maxColumns: 2)
        XCTAssertEqual(output, String(repeating: "\u{1B}[38;2;128;128;128m\u{1B}[48;2;128;128;128m▀", count: 2)
            + "\u{1B}[0m\n")
    }

    func testOddRowCountLeavesTheLastBottomHalfToTheTerminal() {
        let image = Image(width: 1, height: 3, fill: (1, 1, 1))
        let output = TerminalImage.render(image)
        XCTAssertEqual(output, "\u{1B}[38;2;255;255;255m\u{1B}[48;2;255;255;255m▀\u{1B}[0m\n"
            + "\u{1B}[38;2;255;255;255m▀\u{1B}[0m\n")
        XCTAssertEqual(TerminalImage.render(Image(width: 0, height: 0, pixels: [])), "")
    }
}

final class TerminalPreviewCapTests: XCTestCase {
    func testTallImagesAreCappedInLinesKeepingTheirAspect() {
        // 1x5000 used to print 2,500 lines; now at most maxLines, a one-column strip.
        let tall = Image(width: 1, height: 5000, fill: (1, 1, 1))
        let lines = TerminalImage.render(tall).split(separator: "\n")
        XCTAssertEqual(lines.count, 32)
        XCTAssertTrue(lines.allSatisfy { $0.filter { $0 == "▀" }.count == 1 })
        // 100x1000 at most 32 lines (64 pixel rows), so 6 or 7 columns wide: the aspect kept.
        let narrow = TerminalImage.render(Image(width: 100, height: 1000, fill: (0, 0, 0)), maxColumns: 64, maxLines: 32)
        let rows = narrow.split(separator: "\n")
        XCTAssertEqual(rows.count, 32)
        XCTAssertEqual(rows[0].filter { $0 == "▀" }.count, 6)
    }
}
