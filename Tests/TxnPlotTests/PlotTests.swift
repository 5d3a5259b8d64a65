import XCTest
import TxnImage
@testable import TxnPlot

/// Colour of pixel (x, y) of an image.
private func pixel(_ image: Image, _ x: Int, _ y: Int) -> RGB { RGB(image[0, x, y], image[1, x, y], image[2, x, y]) }

private func assertClose(_ a: RGB, _ b: RGB, accuracy: Float = 1e-4, _ message: String = "",
                         file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.r, b.r, accuracy: accuracy, message, file: file, line: line)
    XCTAssertEqual(a.g, b.g, accuracy: accuracy, message, file: file, line: line)
    XCTAssertEqual(a.b, b.b, accuracy: accuracy, message, file: file, line: line)
}

final class LineChartTests: XCTestCase {
    func testChartHasTheRequestedSize() {
        let series = [(label: "loss", values: [1e9, 1e7, 1e5, 1e4])]
        let image = Plot.lines(series, title: "t")
        XCTAssertEqual([image.width, image.height], [720, 420])
        let small = Plot.lines(series, title: "t", width: 300, height: 200)
        XCTAssertEqual([small.width, small.height], [300, 200])
        XCTAssertTrue(small.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    func testConstantSeriesDrawsAHorizontalLineMidAxis() {
        let series = [(label: "", values: [Double](repeating: 1e5, count: 40))]
        let chart = LineChart(series: series, title: "flat", xLabel: "iteration", yLabel: "loss", logY: true,
                              width: 720, height: 420)
        // A constant 1e5 gets the axis 1e4...1e6, so its line sits exactly halfway down the plot area.
        XCTAssertEqual(chart.pixelY(1e5), Double(chart.plotTop + chart.plotBottom) / 2, accuracy: 1e-9)
        let row = Int(chart.pixelY(1e5).rounded())
        let image = Plot.lines(series, title: "flat")
        let blue = SeriesPalette.color(0)
        for x in stride(from: chart.plotLeft + 2, to: chart.plotRight - 1, by: 7) {
            assertClose(pixel(image, x, row), blue, "line missing at x = \(x)")
            XCTAssertNotEqual(pixel(image, x, row - 3), blue)
            XCTAssertNotEqual(pixel(image, x, row + 3), blue)
        }
    }

    func testSecondSeriesGetsADifferentColourAndDecreasingValuesGoUp() {
        let falling = [(label: "a", values: [Double](repeating: 1e8, count: 10)),
                       (label: "b", values: [Double](repeating: 1e5, count: 10))]
        let chart = LineChart(series: falling, title: "", xLabel: "", yLabel: "", logY: true, width: 400, height: 300)
        XCTAssertLessThan(chart.pixelY(1e8), chart.pixelY(1e5), "larger values are higher up")
        XCTAssertNotEqual(SeriesPalette.color(0), SeriesPalette.color(1))
        let image = Plot.lines(falling, title: "", xLabel: "", yLabel: "", width: 400, height: 300)
        let x = (chart.plotLeft + chart.plotRight) / 2
        assertClose(pixel(image, x, Int(chart.pixelY(1e8).rounded())), SeriesPalette.color(0))
        assertClose(pixel(image, x, Int(chart.pixelY(1e5).rounded())), SeriesPalette.color(1))
    }

    func testLogAxisTickLabelsAreDrawnBesideTheirTicks() {
        let series = [(label: "loss", values: (0..<100).map { 1e9 * pow(0.9, Double($0)) })]
        let chart = LineChart(series: series, title: "loss", xLabel: "iteration", yLabel: "loss", logY: true,
                              width: 720, height: 420)
        XCTAssertEqual(chart.yScale.labels, ["1e4", "1e5", "1e6", "1e7", "1e8", "1e9"])
        let image = Plot.lines(series, title: "loss")
        for tick in chart.yScale.ticks {
            guard let label = tick.label else { continue }
            // Draw the label alone where the chart should have drawn it; the chart must match pixel for pixel.
            let width = Canvas.textWidth(label), height = Canvas.textHeight()
            let x = chart.plotLeft - LineChart.tickLength - 4 - width
            let y = Int(chart.pixelY(axis: tick.position).rounded()) - 3
            var alone = Canvas(width: width, height: height)
            alone.text(label, x: 0, y: 0, color: FigureText.color)
            var ink = 0
            for dy in 0..<height {
                for dx in 0..<width {
                    XCTAssertEqual(pixel(image, x + dx, y + dy), alone[dx, dy], "label \(label) at \(dx),\(dy)")
                    if alone[dx, dy] != .white { ink += 1 }
                }
            }
            XCTAssertGreaterThan(ink, 10, "label \(label) has ink")
        }
    }

    func testLegendAvoidsTheLines() {
        // A rising curve fills the top right, so the legend must move elsewhere.
        let rising = [(label: "rising", values: (1...80).map { 1 - 0.9 * exp(-Double($0) / 20) })]
        let chart = LineChart(series: rising, title: "", xLabel: "", yLabel: "", logY: false, width: 720, height: 420)
        let frame = try! XCTUnwrap(chart.legendFrame())
        XCTAssertLessThan(frame.x, (chart.plotLeft + chart.plotRight) / 2, "legend moved to the left")
        let unlabelled = LineChart(series: [(label: "", values: [1, 2])], title: "", xLabel: "", yLabel: "",
                                   logY: false, width: 720, height: 420)
        XCTAssertNil(unlabelled.legendFrame())
    }

    func testUnplottableDataDoesNotTrap() {
        let cases: [[(label: String, values: [Double])]] = [
            [], [(label: "empty", values: [])], [(label: "nan", values: [.nan, .infinity])],
            [(label: "negative", values: [-1, 0, -5])], [(label: "one", values: [42])],
            [(label: "gappy", values: [1e6, .nan, 1e5, -1, 1e4])],
        ]
        for series in cases {
            let image = Plot.lines(series, title: "edge case")
            XCTAssertEqual([image.width, image.height], [720, 420])
        }
        let long = String(repeating: "a very long title ", count: 20)
        let titled = Plot.lines([(label: long, values: [1, 2])], title: long, width: 400, height: 300)
        XCTAssertEqual([titled.width, titled.height], [400, 300])
        XCTAssertEqual(Canvas.shortened("conv1_1 activations", toWidth: Canvas.textWidth("conv1..")), "conv1..")
        let tiny = Plot.lines([(label: "x", values: [1, 2])], title: "tiny", width: 40, height: 30)
        XCTAssertEqual([tiny.width, tiny.height], [40, 30])
    }
}

final class PanelTests: XCTestCase {
    func testHeatmapMapsMinimumToFirstColourAndMaximumToLast() {
        // 3 x 4 matrix: minimum at row 0 column 0, maximum at row 2 column 3.
        let values: [Float] = [-2, 0, 1, 1, 0, 0.5, 0.5, 1, 1, 2, 3, 7]
        let layout = Heatmap(values: values, rows: 3, columns: 4, title: "gram", size: 64)
        XCTAssertEqual(layout.cell, 16)
        let image = Plot.heatmap(values, rows: 3, columns: 4, title: "gram", size: 64)
        XCTAssertEqual([image.width, image.height], [layout.width, layout.height])
        let cell = layout.cell
        assertClose(pixel(image, layout.mapX + cell / 2, layout.mapY + cell / 2), Colormap.viridis.first)
        assertClose(pixel(image, layout.mapX + 3 * cell + cell / 2, layout.mapY + 2 * cell + cell / 2),
                    Colormap.viridis.last)
        assertClose(Colormap.viridis.first, RGB(bytes: 68, 1, 84))
        assertClose(Colormap.viridis.last, RGB(bytes: 253, 231, 37))
        // The colour bar runs from the last colour at the top to the first at the bottom.
        assertClose(pixel(image, layout.barX + 5, layout.mapY), Colormap.viridis.last)
        assertClose(pixel(image, layout.barX + 5, layout.mapY + layout.barHeight - 1), Colormap.viridis.first)
        XCTAssertEqual([layout.minimumLabel, layout.maximumLabel], ["-2", "7"])
    }

    func testHeatmapCellsAreAtLeastOnePixel() {
        XCTAssertEqual(Heatmap(values: [Float](repeating: 0, count: 64 * 64), rows: 64, columns: 64, title: "",
                               size: 512).cell, 8)
        let large = Heatmap(values: [Float](repeating: 0, count: 600 * 700), rows: 600, columns: 700, title: "",
                            size: 512)
        XCTAssertEqual(large.cell, 1)
        XCTAssertEqual(large.mapWidth, 700)
    }

    func testColormapInterpolatesBetweenStops() {
        let middle = Colormap.viridis.color(0.5)
        assertClose(middle, RGB(bytes: 33, 145, 140))
        assertClose(Colormap.grey.color(0.25), RGB(0.25, 0.25, 0.25))
        assertClose(Colormap.viridis.color(-3), Colormap.viridis.first)
        assertClose(Colormap.viridis.color(.nan), Colormap.viridis.first)
    }

    func testGridLayoutForTenChannels() {
        let layout = FeatureGrid(channels: 10, height: 4, width: 4, columns: 8, maxChannels: 64, title: "conv",
                                 cellSize: 64)
        XCTAssertEqual([layout.cellWidth, layout.cellHeight], [64, 64])
        XCTAssertEqual([layout.columns, layout.rows], [8, 2])
        XCTAssertEqual([layout.gridWidth, layout.gridHeight], [8 * 64 + 7, 2 * 64 + 1])
        let planes = (0..<10).map { channel in (0..<16).map { Float($0 + 100 * channel) } }
        let image = Plot.grid(planes, height: 4, width: 4, title: "conv")
        XCTAssertEqual([image.width, image.height], [layout.width, layout.height])
        XCTAssertEqual(image.width, 8 * 64 + 7 + 2 * FeatureGrid.margin)
        // Each channel is normalised on its own: every cell starts with its minimum, ends with its maximum.
        for channel in 0..<10 {
            let origin = layout.cellOrigin(channel)
            assertClose(pixel(image, origin.x, origin.y), Colormap.viridis.first, "channel \(channel)")
            assertClose(pixel(image, origin.x + 63, origin.y + 63), Colormap.viridis.last, "channel \(channel)")
        }
        // One-pixel gap between neighbouring cells.
        XCTAssertEqual(layout.cellOrigin(1).x - layout.cellOrigin(0).x, 65)
        XCTAssertEqual(pixel(image, layout.cellOrigin(0).x + 64, layout.cellOrigin(0).y + 10), .white)
    }

    func testGridCapsChannelsAndScalesPlanes() {
        let capped = FeatureGrid(channels: 100, height: 28, width: 28, columns: 8, maxChannels: 64, title: "c",
                                 cellSize: 64)
        XCTAssertEqual([capped.shown, capped.rows], [64, 8])
        XCTAssertEqual(capped.title, "c (64 of 100)")
        XCTAssertEqual(capped.cellWidth, 56, "28 px enlarged by a whole factor of 2")
        let large = FeatureGrid(channels: 3, height: 224, width: 112, columns: 8, maxChannels: 64, title: "c",
                                cellSize: 64)
        XCTAssertEqual([large.cellWidth, large.cellHeight, large.columns], [32, 64, 3])
        let none = FeatureGrid(channels: 0, height: 4, width: 4, columns: 8, maxChannels: 64, title: "empty",
                               cellSize: 64)
        XCTAssertEqual(none.gridWidth, 0)
        XCTAssertEqual(Plot.grid([], height: 4, width: 4, title: "empty").height, none.height)
    }

    func testSideBySideWidthIsTheSumOfScaledWidths() throws {
        let wide = Image(width: 100, height: 50, fill: (1, 0, 0))
        let tall = Image(width: 30, height: 60, fill: (0, 0, 1))
        let layout = SideBySide(images: [("wide", 100, 50), ("tall", 30, 60)], height: 120)
        XCTAssertEqual(layout.scaledWidths, [240, 60])
        let image = try Plot.sideBySide([("wide", wide), ("tall", tall)], height: 120)
        XCTAssertEqual(image.width, 240 + 60 + SideBySide.gap + 2 * SideBySide.margin)
        XCTAssertEqual([image.width, image.height], [layout.width, layout.height])
        let top = SideBySide.margin
        assertClose(pixel(image, SideBySide.margin, top), RGB(1, 0, 0))
        assertClose(pixel(image, SideBySide.margin + 239, top + 119), RGB(1, 0, 0))
        assertClose(pixel(image, SideBySide.margin + 240 + SideBySide.gap, top), RGB(0, 0, 1))
        assertClose(pixel(image, SideBySide.margin + 240, top), .white)
    }

    func testSideBySideCaptions() throws {
        let square = Image(width: 8, height: 8, fill: (0.5, 0.5, 0.5))
        let fits = SideBySide(images: [("conv1_1", 8, 8), ("pool1", 8, 8)], height: 128)
        XCTAssertEqual(fits.captionScale, 2)
        XCTAssertEqual(fits.captions, ["conv1_1", "pool1"])
        let squeezed = SideBySide(images: [("a caption far too long for its image", 8, 8)], height: 32)
        XCTAssertEqual(squeezed.captionScale, 1)
        XCTAssertTrue(squeezed.captions[0].hasSuffix(".."))
        XCTAssertLessThanOrEqual(Canvas.textWidth(squeezed.captions[0]), 32 + SideBySide.gap)
        let image = try Plot.sideBySide([("conv1_1", square)], height: 128)
        let captionTop = SideBySide.margin + 128 + SideBySide.captionGap
        var ink = 0
        for y in captionTop..<(captionTop + 16) { for x in 0..<image.width where pixel(image, x, y) != .white { ink += 1 } }
        XCTAssertGreaterThan(ink, 50, "caption drawn under the image")
        XCTAssertEqual(try Plot.sideBySide([], height: 64).width, 2 * SideBySide.margin)
    }
}
