import TxnImage

/// Shows an image directly in a terminal, so the notebook can preview a texture or a plot over SSH without a viewer.
public enum TerminalImage {
    /// The image as lines of 24-bit ANSI colour upper-half blocks ("▀"): the foreground colour paints the top pixel
    /// of each character cell and the background colour the bottom one. Terminal cells are about twice as tall as
    /// wide, so two pixels per cell keep pixels square.
    ///
    /// The image is area-averaged down to at most `maxColumns` pixels wide (never enlarged), keeping its aspect
    /// ratio, and to at most `maxLines` lines tall (a 1x5000 image is a thin strip, not 2,500 lines). With an odd number of pixel rows the last line's bottom halves keep the terminal's own background.
    /// Every line ends with a colour reset and a newline, so nothing bleeds into the text printed after it.
    public static func render(_ image: Image, maxColumns: Int = 64, maxLines: Int = 32) -> String {
        guard image.width > 0, image.height > 0, maxColumns > 0, maxLines > 0 else { return "" }
        // The scale that fits both limits, never enlarging.
        let scale = min(1, Double(maxColumns) / Double(image.width), Double(2 * maxLines) / Double(image.height))
        let columns = min(maxColumns, max(1, Int((Double(image.width) * scale).rounded())))
        let rows = min(2 * maxLines, max(1, Int((Double(image.height) * scale).rounded())))
        let small = Resample.scaled(image, width: columns, height: rows)
        let plane = columns * rows
        func code(_ x: Int, _ y: Int) -> String {
            let index = y * columns + x
            return "\(byte(small.pixels[index]));\(byte(small.pixels[plane + index]));\(byte(small.pixels[2 * plane + index]))"
        }
        var output = ""
        for top in stride(from: 0, to: rows, by: 2) {
            for x in 0..<columns {
                output += "\u{1B}[38;2;\(code(x, top))m"
                if top + 1 < rows { output += "\u{1B}[48;2;\(code(x, top + 1))m" }
                output += "▀"
            }
            output += "\u{1B}[0m\n"
        }
        return output
    }

    /// A sample in [0, 1] as 0...255, clamped, NaN as 0.
    static func byte(_ value: Float) -> Int {
        guard !value.isNaN else { return 0 }
        return Int((min(max(value, 0), 1) * 255).rounded())
    }
}
