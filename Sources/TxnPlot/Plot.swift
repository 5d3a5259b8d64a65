import TxnImage
import TxnTensor

/// Charts and visualisations rendered straight to `Image`s, so the notebook can save them as PNG or show them in
/// the terminal with no plotting library, font files or display server.
///
/// Every function draws on a white background with the built-in bitmap font. Input that cannot be drawn (no
/// values, only NaN, non-positive values on a log axis) produces a chart saying so rather than a trap, since the
/// data usually comes from a run the user cannot redo; mismatched sizes (a plane whose length is not
/// height x width) are programming errors and trap.
public enum Plot {
    /// Line chart of one or more series against iteration (x = 1...n), log-scaled y by default (losses span
    /// 1e9 → 1e4), with axes, tick labels (1e4-style on log axes), title, legend, distinct colours.
    ///
    /// A log axis spans whole decades; values that are not positive (or not finite) leave gaps in their line.
    /// Series with an empty label are drawn but left out of the legend.
    public static func lines(_ series: [(label: String, values: [Double])], title: String,
                             xLabel: String = "iteration", yLabel: String = "loss", logY: Bool = true,
                             width: Int = 720, height: Int = 420) -> Image {
        LineChart(series: series, title: title, xLabel: xLabel, yLabel: yLabel, logY: logY,
                  width: max(width, 1), height: max(height, 1)).render().image
    }

    /// A matrix as a heat map (e.g. a 64x64 Gram matrix), perceptual colormap (viridis-like, a few control points
    /// interpolated), colour bar with min/max labels, title. Each cell at least 1 pixel, scaled up with nearest
    /// neighbour to about `size` pixels.
    ///
    /// `values` is row-major, `rows` x `columns`. A constant matrix is drawn in the low colour; non-finite entries
    /// are ignored for the colour range and drawn grey.
    public static func heatmap(_ values: [Float], rows: Int, columns: Int, title: String, size: Int = 512,
                               colormap: Colormap = .viridis) -> Image {
        precondition(rows >= 0 && columns >= 0 && values.count == rows * columns,
                     "Plot.heatmap: \(values.count) values for \(rows)x\(columns)")
        return Heatmap(values: values, rows: rows, columns: columns, title: title, size: size)
            .render(values, colormap: colormap).image
    }

    /// Feature maps (channels of one layer, each h x w, given as planes) as a grid, each normalised to its own
    /// min/max, grey or viridis, 1-pixel gaps, at most `maxChannels`, with a title.
    ///
    /// Each cell is its plane enlarged by a whole factor (nearest neighbour) to at most `cellSize` on its longer
    /// side, or area-averaged down to `cellSize` when the plane is larger. When channels are left out, the title
    /// says how many are shown.
    public static func grid(_ planes: [[Float]], height: Int, width: Int, columns: Int = 8, maxChannels: Int = 64,
                            title: String, cellSize: Int = 64, colormap: Colormap = .viridis) -> Image {
        precondition(height > 0 && width > 0, "Plot.grid: plane size \(height)x\(width)")
        for (index, plane) in planes.enumerated() {
            precondition(plane.count == height * width,
                         "Plot.grid: plane \(index) has \(plane.count) values, expected \(height)x\(width)")
        }
        return FeatureGrid(channels: planes.count, height: height, width: width, columns: columns,
                           maxChannels: maxChannels, title: title, cellSize: cellSize)
            .render(planes, colormap: colormap).image
    }

    /// Images side by side with a caption under each (e.g. "conv1_1", "pool1", …), scaled to a common height.
    ///
    /// Shrinking averages areas; enlarging repeats pixels, so small feature maps show their true resolution.
    /// Images are separated by a small gap; captions too wide for their image are shortened with "..".
    /// Throws when the montage would not fit in the memory budget (a 5000x1 image at height 4096 is 20M pixels wide).
    public static func sideBySide(_ images: [(label: String, image: Image)], height: Int = 256) throws -> Image {
        let layout = SideBySide(images: images.map { ($0.label, $0.image.width, $0.image.height) }, height: max(height, 1))
        // The canvas, its image and the largest scaled image.
        try MemoryBudget.requireFloats([3, layout.height, layout.width], copies: 3,
                                       for: "a montage of \(layout.width)x\(layout.height)")
        return layout.render(images.map(\.image)).image
    }
}
