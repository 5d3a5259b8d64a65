import XCTest
import TxnImage
@testable import TxnPlot

final class FontCanvasTests: XCTestCase {
    func testFontCoversPrintableASCII() {
        XCTAssertEqual(Font.table.count, 95 * Font.glyphHeight)
        for code in 32...126 {
            let character = Character(Unicode.Scalar(UInt8(code)))
            let rows = Font.rows(for: character)
            XCTAssertTrue(rows.allSatisfy { $0 & ~0x1F == 0 }, "glyph \(character) has ink outside its 5 columns")
            if character == " " {
                XCTAssertTrue(rows.allSatisfy { $0 == 0 }, "space must be blank")
            } else {
                XCTAssertTrue(rows.contains { $0 != 0 }, "glyph \(character) is blank")
            }
        }
    }

    func testGlyphsAreDistinct() {
        var seen: [ArraySlice<UInt8>: Character] = [:]
        for code in 33...126 {
            let character = Character(Unicode.Scalar(UInt8(code)))
            let rows = Font.rows(for: character)
            XCTAssertNil(seen[rows], "\(character) looks exactly like \(seen[rows] ?? " ")")
            seen[rows] = character
        }
    }

    func testUnknownCharactersDrawAsQuestionMark() {
        XCTAssertEqual(Font.rows(for: "é"), Font.rows(for: "?"))
        XCTAssertEqual(Font.rows(for: "\u{7F}"), Font.rows(for: "?"))
    }

    func testTextWidthAndInkStaysInsideIt() {
        XCTAssertEqual(Canvas.textWidth(""), 0)
        XCTAssertEqual(Canvas.textWidth("1e4"), 17)
        XCTAssertEqual(Canvas.textWidth("1e4", scale: 2), 34)
        var canvas = Canvas(width: 60, height: 30)
        canvas.text("1e4", x: 5, y: 6, scale: 2, color: .black)
        var inkInside = 0
        for y in 0..<30 {
            for x in 0..<60 where canvas[x, y] == .black {
                XCTAssertTrue((5..<(5 + 34)).contains(x) && (6..<(6 + 16)).contains(y), "ink at \(x),\(y)")
                inkInside += 1
            }
        }
        // "1" has 10 set bits, "e" 14, "4" 14: 38 font pixels, each 2x2.
        XCTAssertEqual(inkInside, 38 * 4)
    }

    func testVerticalTextIsTheRotatedHorizontalText() {
        var horizontal = Canvas(width: 40, height: 10), vertical = Canvas(width: 10, height: 40)
        horizontal.text("Ab1", x: 0, y: 0)
        vertical.verticalText("Ab1", x: 0, y: 39)
        for y in 0..<8 {
            for x in 0..<17 {
                // Rotating anticlockwise maps (x, y) to (y, 39 - x).
                XCTAssertEqual(horizontal[x, y], vertical[y, 39 - x], "at \(x),\(y)")
            }
        }
    }

    func testLineRectAndClipping() {
        var canvas = Canvas(width: 10, height: 10)
        canvas.line(x0: 0, y0: 0, x1: 9, y1: 9, color: .black)
        for i in 0..<10 { XCTAssertEqual(canvas[i, i], .black) }
        XCTAssertEqual(canvas[1, 0], .white)
        canvas.fill(.white)
        canvas.rect(x: 2, y: 3, width: 4, height: 3, color: .black, filled: false)
        XCTAssertEqual(canvas[2, 3], .black)
        XCTAssertEqual(canvas[5, 5], .black)
        XCTAssertEqual(canvas[3, 4], .white, "an outline leaves the inside alone")
        canvas.rect(x: -5, y: -5, width: 100, height: 7, color: .black)  // clipped, no trap
        XCTAssertEqual(canvas[9, 1], .black)
        XCTAssertEqual(canvas[9, 2], .white)
        canvas.line(x0: -20, y0: 5, x1: 30, y1: 5, color: RGB(1, 0, 0))
        XCTAssertEqual(canvas[0, 5], RGB(1, 0, 0))
    }

    func testPolylineIsSolidOnItsAxisAndBlendsOnce() {
        var canvas = Canvas(width: 40, height: 20)
        let red = RGB(1, 0, 0)
        // Many overlapping sub-pixel segments must look like one line, not a smear.
        let points = (0...300).map { (x: 5 + Double($0) * 0.1, y: 10.0) }
        canvas.polyline(points, color: red, lineWidth: 2)
        XCTAssertEqual(canvas[20, 10], red)
        XCTAssertEqual(canvas[20, 12], .white)
        let fringe = canvas[20, 11]
        XCTAssertEqual(fringe.r, 1, accuracy: 1e-6)
        XCTAssertEqual(fringe.g, 0.5, accuracy: 1e-6, "half-covered pixel blended exactly once")
    }

    func testImageIsPlanarLikeTxnImage() {
        var canvas = Canvas(width: 3, height: 2, background: RGB(0.1, 0.2, 0.3))
        canvas[2, 1] = RGB(1, 0.5, 0)
        let image = canvas.image
        XCTAssertEqual(image.width, 3)
        XCTAssertEqual(image.height, 2)
        XCTAssertEqual(image[0, 2, 1], 1)
        XCTAssertEqual(image[1, 2, 1], 0.5)
        XCTAssertEqual(image[2, 2, 1], 0)
        XCTAssertEqual(image[2, 0, 0], 0.3)
    }
}
