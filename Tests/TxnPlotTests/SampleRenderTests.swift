import XCTest
import TxnImage
@testable import TxnPlot

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Renders one of each plot to PNG for a human to look at, when TXN_PLOT_SAMPLES names a directory
/// (e.g. `TXN_PLOT_SAMPLES=/tmp/txn-plots swift test --filter TxnPlotTests`). Skipped otherwise, so the normal test
/// run writes nothing.
final class SampleRenderTests: XCTestCase {
    func testRenderSamples() throws {
        guard let directory = ProcessInfo.processInfo.environment["TXN_PLOT_SAMPLES"] else {
            throw XCTSkip("set TXN_PLOT_SAMPLES=<directory> to write sample plots")
        }
        // Loss curves shaped like a real L-BFGS run: 1e9 falling to ~1e4, style loss above content loss.
        let total = (1...500).map { i in 2e9 * pow(Double(i), -1.6) + 1.2e4 }
        let style = total.map { $0 * 0.8 }
        let content = (1...500).map { i in 4e6 * exp(-Double(i) / 80) + 3e3 }
        try Plot.lines([("total", total), ("style", style), ("content", content)],
                       title: "Loss (L-BFGS, 256x256, conv1_1..conv5_1)")
            .save("\(directory)/lines-log.png")
        try Plot.lines([("adam lr=0.02", (1...80).map { 1 - exp(-Double($0) / 20) * 0.9 })],
                       title: "Linear axis", yLabel: "ratio", logY: false)
            .save("\(directory)/lines-linear.png")
        var gram = [Float](repeating: 0, count: 64 * 64)
        for r in 0..<64 {
            for c in 0..<64 {
                let wave: Double = sin(Double(r) / 7) * cos(Double(c) / 9) * 3e4
                gram[r * 64 + c] = Float(wave + (r == c ? 9e4 : 0))
            }
        }
        try Plot.heatmap(gram, rows: 64, columns: 64, title: "Gram matrix conv1_1").save("\(directory)/heatmap.png")
        let planes: [[Float]] = (0..<100).map { k in
            (0..<(28 * 28)).map { i -> Float in
                let x = Double(i % 28), y = Double(i / 28)
                let value: Double = sin(x * Double(k % 7 + 1) / 9) + cos(y * Double(k % 5 + 1) / 7)
                return Float(value)
            }
        }
        try Plot.grid(planes, height: 28, width: 28, title: "conv3_1 activations").save("\(directory)/grid.png")
        try Plot.grid(planes, height: 28, width: 28, columns: 6, maxChannels: 12, title: "grey",
                      colormap: .grey).save("\(directory)/grid-grey.png")
        func checker(_ size: Int, _ cell: Int) -> Image {
            var image = Image(width: size, height: size, fill: (0.9, 0.5, 0.2))
            for y in 0..<size { for x in 0..<size where (x / cell + y / cell) % 2 == 0 {
                image[0, x, y] = 0.1; image[1, x, y] = 0.3; image[2, x, y] = 0.8 } }
            return image
        }
        try Plot.sideBySide([("conv1_1", checker(256, 32)), ("pool1", checker(128, 8)), ("pool4", checker(14, 2)),
                             ("a very long caption indeed", checker(40, 5))], height: 160)
            .save("\(directory)/side.png")
        // Edge cases: nothing to plot, a single point, gaps, many series, a one-row heat map, no channels.
        try Plot.lines([("nan", [.nan])], title: "No data").save("\(directory)/edge-nodata.png")
        try Plot.lines([("one", [3e6])], title: "One point", width: 360, height: 240).save("\(directory)/edge-one.png")
        try Plot.lines([(String(repeating: "long legend ", count: 10), [1e3, 1e2])],
                       title: String(repeating: "A title much too long for the chart ", count: 4), width: 480, height: 300)
            .save("\(directory)/edge-long.png")
        try Plot.lines([("gappy", [1e6, 5e5, .nan, 2e5, -1, 1e5, 8e4, 6e4])], title: "Gaps (NaN, -1)")
            .save("\(directory)/edge-gaps.png")
        let many = (0..<12).map { k -> (label: String, values: [Double]) in
            let decay = Double(10 + 3 * k), start = 1e6 / Double(k + 1)
            return ("series \(k)", (1...60).map { i -> Double in start * exp(-Double(i) / decay) + 10 })
        }
        try Plot.lines(many, title: "Twelve series", width: 480, height: 320).save("\(directory)/edge-many.png")
        try Plot.heatmap((0..<300).map { Float($0) }, rows: 1, columns: 300, title: "1 x 300").save("\(directory)/edge-row.png")
        try Plot.grid([], height: 8, width: 8, title: "no channels").save("\(directory)/edge-grid.png")
        var sheet = Canvas(width: 620, height: 90)
        let ascii = String((32...126).map { Character(Unicode.Scalar($0)) })
        sheet.text(String(ascii.prefix(48)), x: 4, y: 4, scale: 2)
        sheet.text(String(ascii.dropFirst(48)), x: 4, y: 26, scale: 2)
        sheet.text("The quick brown fox jumps over the lazy dog. 1e4 2.5e-3 [conv1_1]", x: 4, y: 52)
        sheet.text("gjpqy, Gram matrix: loss 1e9 -> 1e4 (x = 1...n)", x: 4, y: 66, color: RGB(0.8, 0.1, 0.1))
        try sheet.image.save("\(directory)/font.png")
    }
}
