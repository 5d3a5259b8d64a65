import TxnImage

// Layout and drawing of `Plot.heatmap`, `Plot.grid` and `Plot.sideBySide`. Each layout is computed before any
// drawing so tests can check sizes and positions directly.

/// Maps one plane of values to colours, stretching its own finite min...max over the colormap. Non-finite values
/// are drawn grey; a constant plane gets the low colour (it has no contrast to show, and for a feature map a
/// constant channel is usually a dead, all-zero one).
func colorize(_ values: [Float], colormap: Colormap) -> (colors: [RGB], minimum: Float, maximum: Float) {
    let finite = values.filter(\.isFinite)
    let low = finite.min() ?? 0, high = finite.max() ?? 0
    let span = high - low
    let colors = values.map { value -> RGB in
        guard value.isFinite else { return RGB(0.5, 0.5, 0.5) }
        return colormap.color(span > 0 ? (value - low) / span : 0)
    }
    return (colors, low, high)
}

// MARK: - Heat map

/// Layout of a heat map: title on top, the matrix below it, the colour bar and its min/max labels to the right.
struct Heatmap {
    static let margin = 12
    static let titleGap = 10
    static let barGap = 14
    static let barWidth = 18
    static let labelGap = 6
    static let labelScale = 2
    static let minimumBarHeight = 64

    let rows: Int, columns: Int, title: String
    /// Pixels per matrix cell along each axis: the largest whole number fitting `size`, at least 1.
    let cell: Int
    let mapX: Int, mapY: Int
    let width: Int, height: Int

    var mapWidth: Int { columns * cell }
    var mapHeight: Int { rows * cell }
    var barX: Int { mapX + mapWidth + Heatmap.barGap }
    /// The colour bar is as tall as the map, but never so short that its two labels collide.
    var barHeight: Int { max(mapHeight, Heatmap.minimumBarHeight) }

    /// Colour-bar labels: the smallest and largest finite value.
    let minimumLabel: String, maximumLabel: String

    init(values: [Float], rows: Int, columns: Int, title: String, size: Int) {
        let (_, low, high) = colorize(values, colormap: .grey)
        (minimumLabel, maximumLabel) = Ticks.compactPair(Double(low), Double(high))
        let labelWidth = max(Canvas.textWidth(minimumLabel, scale: Heatmap.labelScale),
                             Canvas.textWidth(maximumLabel, scale: Heatmap.labelScale))
        self.rows = rows
        self.columns = columns
        self.title = title
        cell = max(1, size / max(rows, columns, 1))
        let titleHeight = title.isEmpty ? 0 : Canvas.textHeight(scale: FigureText.titleScale) + Heatmap.titleGap
        let contentWidth = columns * cell + Heatmap.barGap + Heatmap.barWidth + Heatmap.labelGap + labelWidth
        let titleWidth = Canvas.textWidth(title, scale: FigureText.titleScale)
        width = max(contentWidth, titleWidth) + 2 * Heatmap.margin
        mapX = (width - contentWidth) / 2
        mapY = Heatmap.margin + titleHeight
        height = mapY + max(rows * cell, Heatmap.minimumBarHeight) + Heatmap.margin
    }

    func render(_ values: [Float], colormap: Colormap) -> Canvas {
        let (colors, _, _) = colorize(values, colormap: colormap)
        var canvas = Canvas(width: width, height: height)
        if !title.isEmpty {
            canvas.text(title, x: (width - Canvas.textWidth(title, scale: FigureText.titleScale)) / 2, y: Heatmap.margin,
                        scale: FigureText.titleScale, color: FigureText.color)
        }
        for row in 0..<rows {
            for column in 0..<columns {
                canvas.rect(x: mapX + column * cell, y: mapY + row * cell, width: cell, height: cell,
                            color: colors[row * columns + column])
            }
        }
        // Colour bar: high at the top, like the y axis of a chart.
        for offset in 0..<barHeight {
            let t = barHeight > 1 ? Float(barHeight - 1 - offset) / Float(barHeight - 1) : 1
            canvas.rect(x: barX, y: mapY + offset, width: Heatmap.barWidth, height: 1, color: colormap.color(t))
        }
        canvas.rect(x: barX - 1, y: mapY - 1, width: Heatmap.barWidth + 2, height: barHeight + 2,
                    color: RGB(0.4, 0.4, 0.4), filled: false)
        let labelX = barX + Heatmap.barWidth + Heatmap.labelGap
        canvas.text(maximumLabel, x: labelX, y: mapY, scale: Heatmap.labelScale, color: FigureText.color)
        canvas.text(minimumLabel, x: labelX, y: mapY + barHeight - 7 * Heatmap.labelScale,
                    scale: Heatmap.labelScale, color: FigureText.color)
        return canvas
    }
}

// MARK: - Feature-map grid

/// Layout of a feature-map grid: title on top, then channels in row-major order, `columns` per row.
struct FeatureGrid {
    static let margin = 10
    static let titleGap = 8
    static let gap = 1
    static let greyGapColor = RGB(0.45, 0.6, 0.85)

    let shown: Int, total: Int
    let columns: Int, rows: Int
    let planeWidth: Int, planeHeight: Int
    let cellWidth: Int, cellHeight: Int
    let title: String
    let gridX: Int, gridY: Int
    let width: Int, height: Int

    var gridWidth: Int { shown == 0 ? 0 : columns * cellWidth + (columns - 1) * FeatureGrid.gap }
    var gridHeight: Int { shown == 0 ? 0 : rows * cellHeight + (rows - 1) * FeatureGrid.gap }

    init(channels: Int, height planeHeight: Int, width planeWidth: Int, columns: Int, maxChannels: Int,
         title: String, cellSize: Int) {
        total = channels
        shown = max(0, min(channels, maxChannels))
        self.columns = max(1, min(columns, shown))
        rows = shown == 0 ? 0 : (shown + self.columns - 1) / self.columns
        self.planeWidth = planeWidth
        self.planeHeight = planeHeight
        let longer = max(planeWidth, planeHeight), target = max(cellSize, 1)
        if longer <= target {
            let factor = target / longer
            cellWidth = planeWidth * factor
            cellHeight = planeHeight * factor
        } else {
            cellWidth = max(1, (planeWidth * target + longer / 2) / longer)
            cellHeight = max(1, (planeHeight * target + longer / 2) / longer)
        }
        self.title = shown < channels ? "\(title) (\(shown) of \(channels))" : title
        let titleHeight = self.title.isEmpty ? 0 : Canvas.textHeight(scale: FigureText.titleScale) + FeatureGrid.titleGap
        let gridWidth = shown == 0 ? 0 : self.columns * cellWidth + (self.columns - 1) * FeatureGrid.gap
        let gridHeight = shown == 0 ? 0 : rows * cellHeight + (rows - 1) * FeatureGrid.gap
        width = max(gridWidth, Canvas.textWidth(self.title, scale: FigureText.titleScale)) + 2 * FeatureGrid.margin
        height = FeatureGrid.margin + titleHeight + gridHeight + FeatureGrid.margin
        gridX = (width - gridWidth) / 2
        gridY = FeatureGrid.margin + titleHeight
    }

    /// Top-left corner of channel `index`'s cell (row-major).
    func cellOrigin(_ index: Int) -> (x: Int, y: Int) {
        (gridX + (index % columns) * (cellWidth + FeatureGrid.gap), gridY + (index / columns) * (cellHeight + FeatureGrid.gap))
    }

    func render(_ planes: [[Float]], colormap: Colormap) -> Canvas {
        var canvas = Canvas(width: width, height: height)
        if !title.isEmpty {
            canvas.text(title, x: (width - Canvas.textWidth(title, scale: FigureText.titleScale)) / 2,
                        y: FeatureGrid.margin, scale: FigureText.titleScale, color: FigureText.color)
        }
        // Grey cells can be white or black at their edges, so the gaps need a colour that is neither.
        if colormap == .grey, shown > 0 {
            canvas.rect(x: gridX - 1, y: gridY - 1, width: gridWidth + 2, height: gridHeight + 2,
                        color: FeatureGrid.greyGapColor)
        }
        for index in 0..<shown {
            let (colors, _, _) = colorize(planes[index], colormap: colormap)
            var cellImage = Image(width: planeWidth, height: planeHeight,
                                  pixels: colors.map(\.r) + colors.map(\.g) + colors.map(\.b))
            cellImage = Resample.scaled(cellImage, width: cellWidth, height: cellHeight)
            let origin = cellOrigin(index)
            canvas.draw(cellImage, x: origin.x, y: origin.y)
        }
        return canvas
    }
}

// MARK: - Side by side

/// Layout of images in a row: all the same height, a gap between them, each caption centred under its image.
struct SideBySide {
    static let margin = 10
    static let gap = 10
    static let captionGap = 6

    /// Width of each image once scaled to the common height (0 for an empty image, which is skipped).
    let scaledWidths: [Int]
    let captions: [String]
    let captionScale: Int
    let imageHeight: Int
    let width: Int, height: Int

    init(images: [(label: String, width: Int, height: Int)], height imageHeight: Int) {
        self.imageHeight = imageHeight
        scaledWidths = images.map { image in
            guard image.width > 0, image.height > 0 else { return 0 }
            return max(1, Int((Double(image.width) * Double(imageHeight) / Double(image.height)).rounded()))
        }
        // One caption size for all, so captions line up: large when every caption fits under its image.
        let room = scaledWidths.map { $0 + SideBySide.gap }
        let fitsLarge = zip(images, room).allSatisfy { Canvas.textWidth($0.0.label, scale: 2) <= $0.1 }
        captionScale = fitsLarge ? 2 : 1
        captions = zip(images, room).map { Canvas.shortened($0.0.label, toWidth: $0.1, scale: fitsLarge ? 2 : 1) }
        width = 2 * SideBySide.margin + scaledWidths.reduce(0, +) + max(images.count - 1, 0) * SideBySide.gap
        height = 2 * SideBySide.margin + imageHeight + SideBySide.captionGap + Canvas.textHeight(scale: captionScale)
    }

    func render(_ images: [Image]) -> Canvas {
        var canvas = Canvas(width: width, height: height)
        var x = SideBySide.margin
        for (index, image) in images.enumerated() {
            let scaledWidth = scaledWidths[index]
            if scaledWidth > 0 {
                canvas.draw(Resample.scaled(image, width: scaledWidth, height: imageHeight), x: x, y: SideBySide.margin)
            }
            let caption = captions[index]
            canvas.text(caption, x: x + (scaledWidth - Canvas.textWidth(caption, scale: captionScale)) / 2,
                        y: SideBySide.margin + imageHeight + SideBySide.captionGap, scale: captionScale,
                        color: FigureText.color)
            x += scaledWidth + SideBySide.gap
        }
        return canvas
    }
}
