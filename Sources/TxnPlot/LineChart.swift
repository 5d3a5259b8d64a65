#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The geometry of a line chart: axis scales and where the plot area sits. Kept apart from drawing so tests can
/// ask where a value must land without reverse-engineering pixels.
struct LineChart {
    static let margin = 12
    static let tickLength = 5
    static let labelScale = 1
    static let lineWidth = 2.0
    static let legendPadding = 6
    static let legendSwatch = 18
    static let legendRow = Canvas.textHeight(scale: labelScale) + 5

    let series: [(label: String, values: [Double])]
    let title: String, xLabel: String, yLabel: String
    let logY: Bool
    let width: Int, height: Int
    let xScale: AxisScale
    let yScale: AxisScale
    /// The plot area, inclusive pixel bounds: the frame is drawn on these rows and columns.
    let plotLeft: Int, plotRight: Int, plotTop: Int, plotBottom: Int
    /// False when no series has a single plottable value (the chart then says so instead of drawing nothing).
    let hasData: Bool

    init(series: [(label: String, values: [Double])], title: String, xLabel: String, yLabel: String, logY: Bool,
         width: Int, height: Int) {
        self.series = series
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logY = logY
        self.width = width
        self.height = height

        let plottable = series.flatMap(\.values).filter { LineChart.isPlottable($0, logY: logY) }
        hasData = !plottable.isEmpty
        let low = plottable.min() ?? (logY ? 1 : 0), high = plottable.max() ?? (logY ? 10 : 1)
        yScale = logY ? Ticks.logarithmic(minimum: low, maximum: high)
                      : Ticks.linear(minimum: low, maximum: high, expand: true)
        xScale = Ticks.iterations(count: series.map(\.values.count).max() ?? 1)

        let labelHeight = Canvas.textHeight(scale: LineChart.labelScale)
        let widestYLabel = yScale.labels.map { Canvas.textWidth($0, scale: LineChart.labelScale) }.max() ?? 0
        let lastXLabel = Canvas.textWidth(xScale.ticks.last?.label ?? "", scale: LineChart.labelScale)
        plotTop = LineChart.margin + (title.isEmpty ? 0 : Canvas.textHeight(scale: FigureText.titleScale) + 12)
        plotLeft = LineChart.margin + (yLabel.isEmpty ? 0 : labelHeight + 8) + widestYLabel + LineChart.tickLength + 4
        plotRight = width - 1 - LineChart.margin - max(lastXLabel / 2, 4)
        plotBottom = height - 1 - LineChart.margin - (xLabel.isEmpty ? 0 : labelHeight + 6)
            - labelHeight - LineChart.tickLength - 4
    }

    /// Log axes can only show positive values; NaN and infinities are gaps in any chart.
    static func isPlottable(_ value: Double, logY: Bool) -> Bool { value.isFinite && (!logY || value > 0) }

    /// Horizontal pixel centre of iteration `iteration` (1-based).
    func pixelX(_ iteration: Double) -> Double {
        Double(plotLeft) + xScale.fraction(iteration) * Double(plotRight - plotLeft)
    }

    /// Vertical pixel centre of value `value` (in data units, not log10).
    func pixelY(_ value: Double) -> Double {
        pixelY(axis: logY ? log10(value) : value)
    }

    /// Vertical pixel centre of a y-axis coordinate (log10 of the value on a log axis).
    func pixelY(axis coordinate: Double) -> Double {
        Double(plotBottom) - yScale.fraction(coordinate) * Double(plotBottom - plotTop)
    }

    // MARK: Drawing

    static let frameColor = RGB(0.25, 0.25, 0.25)
    static let gridColor = RGB(0.88, 0.88, 0.88)

    func render() -> Canvas {
        var canvas = Canvas(width: width, height: height)
        guard plotRight > plotLeft + 10, plotBottom > plotTop + 10 else {
            canvas.text("chart too small", x: 2, y: 2, color: FigureText.color)
            return canvas
        }
        drawAxes(on: &canvas)
        for (index, entry) in series.enumerated() {
            drawSeries(entry.values, color: SeriesPalette.color(index), on: &canvas)
        }
        if !hasData {
            let message = series.isEmpty ? "no series" : (logY ? "no positive values" : "no finite values")
            let scale = FigureText.titleScale
            canvas.text(message, x: (plotLeft + plotRight - Canvas.textWidth(message, scale: scale)) / 2,
                        y: (plotTop + plotBottom - Canvas.textHeight(scale: scale)) / 2, scale: scale,
                        color: LineChart.frameColor)
        }
        drawLegend(on: &canvas)
        return canvas
    }

    /// Title, grid lines, frame, ticks, tick labels and axis titles.
    private func drawAxes(on canvas: inout Canvas) {
        let scale = LineChart.labelScale, labelHeight = Canvas.textHeight(scale: scale)
        let capHeight = 7 * scale
        if !title.isEmpty {
            let title = Canvas.shortened(self.title, toWidth: width - 2 * LineChart.margin, scale: FigureText.titleScale)
            let titleWidth = Canvas.textWidth(title, scale: FigureText.titleScale)
            canvas.text(title, x: max(LineChart.margin, (plotLeft + plotRight - titleWidth) / 2), y: LineChart.margin,
                        scale: FigureText.titleScale, color: FigureText.color)
        }
        // Grid lines first, so the frame and the series draw over them.
        for tick in yScale.ticks where tick.label != nil {
            let y = Int(pixelY(axis: tick.position).rounded())
            canvas.line(x0: plotLeft, y0: y, x1: plotRight, y1: y, color: LineChart.gridColor)
        }
        for tick in xScale.ticks {
            let x = Int(pixelX(tick.position).rounded())
            canvas.line(x0: x, y0: plotTop, x1: x, y1: plotBottom, color: LineChart.gridColor)
        }
        canvas.rect(x: plotLeft, y: plotTop, width: plotRight - plotLeft + 1, height: plotBottom - plotTop + 1,
                    color: LineChart.frameColor, filled: false)
        for tick in yScale.ticks {
            let y = Int(pixelY(axis: tick.position).rounded())
            let length = tick.label == nil ? LineChart.tickLength - 2 : LineChart.tickLength
            canvas.line(x0: plotLeft - length, y0: y, x1: plotLeft - 1, y1: y, color: LineChart.frameColor)
            if let label = tick.label {
                canvas.text(label, x: plotLeft - LineChart.tickLength - 4 - Canvas.textWidth(label, scale: scale),
                            y: y - capHeight / 2, scale: scale, color: FigureText.color)
            }
        }
        for tick in xScale.ticks {
            let x = Int(pixelX(tick.position).rounded())
            canvas.line(x0: x, y0: plotBottom + 1, x1: x, y1: plotBottom + LineChart.tickLength,
                        color: LineChart.frameColor)
            if let label = tick.label {
                canvas.text(label, x: x - Canvas.textWidth(label, scale: scale) / 2,
                            y: plotBottom + LineChart.tickLength + 4, scale: scale, color: FigureText.color)
            }
        }
        if !xLabel.isEmpty {
            canvas.text(xLabel, x: (plotLeft + plotRight - Canvas.textWidth(xLabel, scale: scale)) / 2,
                        y: height - LineChart.margin - labelHeight, scale: scale, color: FigureText.color)
        }
        if !yLabel.isEmpty {
            canvas.verticalText(yLabel, x: LineChart.margin,
                                y: (plotTop + plotBottom + Canvas.textWidth(yLabel, scale: scale)) / 2,
                                scale: scale, color: FigureText.color)
        }
    }

    /// One series as antialiased polylines, broken wherever a value cannot be plotted. A value with gaps on both
    /// sides gets a dot twice the line width, or it would be a speck no one sees.
    private func drawSeries(_ values: [Double], color: RGB, on canvas: inout Canvas) {
        var run: [(x: Double, y: Double)] = []
        func flush() {
            canvas.polyline(run, color: color, lineWidth: LineChart.lineWidth * (run.count == 1 ? 2 : 1))
            run.removeAll()
        }
        for (index, value) in values.enumerated() {
            if LineChart.isPlottable(value, logY: logY) {
                run.append((pixelX(Double(index + 1)), pixelY(value)))
            } else {
                flush()
            }
        }
        flush()
    }

    /// The legend's box: in whichever corner of the plot area the lines cross least, top-right first (where
    /// falling loss curves leave room). Nil when no series has a label.
    func legendFrame() -> (x: Int, y: Int, width: Int, height: Int)? {
        let labels = legendLabels()
        guard !labels.isEmpty else { return nil }
        let scale = LineChart.labelScale
        let textWidth = labels.map { Canvas.textWidth($0, scale: scale) }.max() ?? 0
        let boxWidth = 2 * LineChart.legendPadding + LineChart.legendSwatch + 6 + textWidth
        let boxHeight = 2 * LineChart.legendPadding + labels.count * LineChart.legendRow - 5
        let inset = 8
        let left = plotLeft + inset, right = plotRight - inset - boxWidth
        let top = plotTop + inset, bottom = plotBottom - inset - boxHeight
        let corners = [(right, top), (left, top), (right, bottom), (left, bottom)]
        let samples = lineSamples()
        func crossings(_ corner: (Int, Int)) -> Int {
            let (x0, y0) = (Double(corner.0 - 3), Double(corner.1 - 3))
            let (x1, y1) = (x0 + Double(boxWidth + 6), y0 + Double(boxHeight + 6))
            return samples.reduce(0) { $0 + ($1.x >= x0 && $1.x <= x1 && $1.y >= y0 && $1.y <= y1 ? 1 : 0) }
        }
        var best = corners[0], fewest = crossings(best)
        for corner in corners.dropFirst() where fewest > 0 {
            let count = crossings(corner)
            if count < fewest { (best, fewest) = (corner, count) }
        }
        return (best.0, best.1, boxWidth, boxHeight)
    }

    /// Legend text for each labelled series, shortened to at most half the plot width.
    private func legendLabels() -> [String] {
        series.map(\.label).filter { !$0.isEmpty }.map {
            Canvas.shortened($0, toWidth: (plotRight - plotLeft) / 2, scale: LineChart.labelScale)
        }
    }

    /// Points along every drawn line, no more than 4 pixels apart, for finding where the lines are.
    private func lineSamples() -> [(x: Double, y: Double)] {
        var samples: [(x: Double, y: Double)] = []
        for entry in series {
            var previous: (x: Double, y: Double)?
            for (index, value) in entry.values.enumerated() {
                guard LineChart.isPlottable(value, logY: logY) else { previous = nil; continue }
                let point = (x: pixelX(Double(index + 1)), y: pixelY(value))
                if let start = previous {
                    let length = max(abs(point.x - start.x), abs(point.y - start.y))
                    let steps = max(1, Int(length / 4))
                    for step in 1...steps {
                        let t = Double(step) / Double(steps)
                        samples.append((start.x + (point.x - start.x) * t, start.y + (point.y - start.y) * t))
                    }
                } else {
                    samples.append(point)
                }
                previous = point
            }
        }
        return samples
    }

    private func drawLegend(on canvas: inout Canvas) {
        guard let frame = legendFrame() else { return }
        let scale = LineChart.labelScale, padding = LineChart.legendPadding
        canvas.rect(x: frame.x, y: frame.y, width: frame.width, height: frame.height, color: .white)
        canvas.rect(x: frame.x, y: frame.y, width: frame.width, height: frame.height, color: RGB(0.7, 0.7, 0.7),
                    filled: false)
        let labelled = series.enumerated().filter { !$0.element.label.isEmpty }
        for (row, (entry, label)) in zip(labelled, legendLabels()).enumerated() {
            let y = frame.y + padding + row * LineChart.legendRow
            let middle = Double(y + 7 * scale / 2)
            let swatchLeft = Double(frame.x + padding)
            canvas.polyline([(swatchLeft, middle), (swatchLeft + Double(LineChart.legendSwatch), middle)],
                            color: SeriesPalette.color(entry.offset), lineWidth: LineChart.lineWidth)
            canvas.text(label, x: frame.x + padding + LineChart.legendSwatch + 6, y: y, scale: scale,
                        color: FigureText.color)
        }
    }
}
