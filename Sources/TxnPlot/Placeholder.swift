// Temporary stand-in for the plot module being written on branch `plot` (same API); replaced at merge.
import TxnImage

public enum Plot {
    public static func lines(_ series: [(label: String, values: [Double])], title: String, xLabel: String = "iteration",
                             yLabel: String = "loss", logY: Bool = true, width: Int = 720, height: Int = 420) -> Image {
        Image(width: width, height: height, fill: (1, 1, 1))
    }
    public static func heatmap(_ values: [Float], rows: Int, columns: Int, title: String, size: Int = 512) -> Image {
        Image(width: size, height: size, fill: (1, 1, 1))
    }
    public static func grid(_ planes: [[Float]], height: Int, width: Int, columns: Int = 8, maxChannels: Int = 64,
                            title: String, cellSize: Int = 64) -> Image {
        Image(width: 8 * cellSize, height: 8 * cellSize, fill: (1, 1, 1))
    }
    public static func sideBySide(_ images: [(label: String, image: Image)], height: Int = 256) -> Image {
        Image(width: height * images.count, height: height, fill: (1, 1, 1))
    }
}

public enum TerminalImage {
    public static func render(_ image: Image, maxColumns: Int = 64) -> String { "" }
}
