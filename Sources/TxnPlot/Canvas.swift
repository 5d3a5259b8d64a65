import TxnImage

/// An RGB colour with components in [0, 1], the range `Image` uses.
public struct RGB: Equatable, Sendable {
    public var r: Float
    public var g: Float
    public var b: Float

    public init(_ r: Float, _ g: Float, _ b: Float) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// From 8-bit components, as colours are usually written down (palettes, colormap control points).
    public init(bytes r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.init(Float(r) / 255, Float(g) / 255, Float(b) / 255)
    }

    public static let white = RGB(1, 1, 1)
    public static let black = RGB(0, 0, 0)

    /// Straight linear blend: `self` at 0, `other` at 1.
    public func mixed(with other: RGB, _ t: Float) -> RGB {
        RGB(r + (other.r - r) * t, g + (other.g - g) * t, b + (other.b - b) * t)
    }
}

/// A small RGB raster to draw charts on, stored planar exactly like `Image` (pixel (c, x, y) at
/// `pixels[(c * height + y) * width + x]`) so turning it into an image is a copy.
///
/// Coordinates are pixel indices; drawing outside the canvas is clipped, never an error, so layout code can be
/// approximate at the edges without guarding every call.
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [Float]

    public init(width: Int, height: Int, background: RGB = .white) {
        precondition(width >= 0 && height >= 0, "Canvas: negative size \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = []
        let plane = width * height
        pixels.reserveCapacity(3 * plane)
        for value in [background.r, background.g, background.b] {
            pixels.append(contentsOf: repeatElement(value, count: plane))
        }
    }

    /// The canvas as an image (a copy of the samples).
    public var image: Image { Image(width: width, height: height, pixels: pixels) }

    // MARK: Pixels

    public subscript(x: Int, y: Int) -> RGB {
        get {
            let plane = width * height, index = y * width + x
            return RGB(pixels[index], pixels[plane + index], pixels[2 * plane + index])
        }
        set {
            let plane = width * height, index = y * width + x
            pixels[index] = newValue.r
            pixels[plane + index] = newValue.g
            pixels[2 * plane + index] = newValue.b
        }
    }

    /// Sets a pixel, ignoring coordinates outside the canvas.
    public mutating func plot(x: Int, y: Int, color: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        self[x, y] = color
    }

    /// Mixes `color` into a pixel with opacity `alpha` (antialiased edges), ignoring coordinates outside the canvas.
    public mutating func blend(x: Int, y: Int, color: RGB, alpha: Float) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        self[x, y] = self[x, y].mixed(with: color, min(alpha, 1))
    }

    // MARK: Shapes

    /// Paints the whole canvas.
    public mutating func fill(_ color: RGB) {
        rect(x: 0, y: 0, width: width, height: height, color: color)
    }

    /// A rectangle with top-left corner (x, y): filled, or a 1-pixel outline just inside its bounds.
    public mutating func rect(x: Int, y: Int, width w: Int, height h: Int, color: RGB, filled: Bool = true) {
        guard w > 0, h > 0 else { return }
        if !filled {
            rect(x: x, y: y, width: w, height: 1, color: color)
            rect(x: x, y: y + h - 1, width: w, height: 1, color: color)
            rect(x: x, y: y, width: 1, height: h, color: color)
            rect(x: x + w - 1, y: y, width: 1, height: h, color: color)
            return
        }
        let x0 = max(x, 0), x1 = min(x + w, width), y0 = max(y, 0), y1 = min(y + h, height)
        guard x0 < x1, y0 < y1 else { return }
        let plane = width * height
        for (channel, value) in [color.r, color.g, color.b].enumerated() {
            for row in y0..<y1 {
                let start = channel * plane + row * width
                for index in (start + x0)..<(start + x1) { pixels[index] = value }
            }
        }
    }

    /// A crisp (not antialiased) 1-pixel line by Bresenham's algorithm, for axes, ticks and grid lines where a
    /// half-covered pixel would look blurred.
    public mutating func line(x0: Int, y0: Int, x1: Int, y1: Int, color: RGB) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let stepX = x0 < x1 ? 1 : -1, stepY = y0 < y1 ? 1 : -1
        var error = dx + dy
        while true {
            plot(x: x, y: y, color: color)
            if x == x1 && y == y1 { return }
            let doubled = 2 * error
            if doubled >= dy { error += dy; x += stepX }
            if doubled <= dx { error += dx; y += stepY }
        }
    }

    /// An antialiased polyline of the given width through points in pixel coordinates (pixel centres at integers).
    ///
    /// Coverage is the distance from each pixel centre to the nearest segment, taken as a maximum over all segments
    /// and blended once. Drawing segment by segment instead would blend the shared pixels of a dense series (1000
    /// iterations across 600 pixels) many times over and turn its antialiased fringe into a dark smear.
    /// A single point draws a round dot.
    public mutating func polyline(_ points: [(x: Double, y: Double)], color: RGB, lineWidth: Double = 2) {
        guard !points.isEmpty, width > 0, height > 0 else { return }
        let radius = lineWidth / 2
        var coverage = [Float](repeating: 0, count: width * height)
        var previous = points[0]
        for point in points.dropFirst(points.count > 1 ? 1 : 0) {
            let (ax, ay, bx, by) = (previous.x, previous.y, point.x, point.y)
            previous = point
            guard ax.isFinite, ay.isFinite, bx.isFinite, by.isFinite else { continue }
            let left = max(0, Int((min(ax, bx) - radius - 1).rounded(.down)))
            let right = min(width - 1, Int((max(ax, bx) + radius + 1).rounded(.up)))
            let top = max(0, Int((min(ay, by) - radius - 1).rounded(.down)))
            let bottom = min(height - 1, Int((max(ay, by) + radius + 1).rounded(.up)))
            guard left <= right, top <= bottom else { continue }
            let (ux, uy) = (bx - ax, by - ay)
            let lengthSquared = ux * ux + uy * uy
            for py in top...bottom {
                for px in left...right {
                    let (vx, vy) = (Double(px) - ax, Double(py) - ay)
                    let t = lengthSquared > 0 ? min(max((vx * ux + vy * uy) / lengthSquared, 0), 1) : 0
                    let (dx, dy) = (vx - t * ux, vy - t * uy)
                    let cover = Float(min(max(radius + 0.5 - (dx * dx + dy * dy).squareRoot(), 0), 1))
                    let index = py * width + px
                    if cover > coverage[index] { coverage[index] = cover }
                }
            }
        }
        for index in coverage.indices where coverage[index] > 0 {
            blend(x: index % width, y: index / width, color: color, alpha: coverage[index])
        }
    }

    // MARK: Images

    /// Copies `image` with its top-left corner at (x, y), clipped to the canvas; samples are clamped to [0, 1] so
    /// resampling overshoot does not leak out of range.
    public mutating func draw(_ image: Image, x: Int, y: Int) {
        let plane = width * height, sourcePlane = image.width * image.height
        for channel in 0..<3 {
            for row in 0..<image.height where y + row >= 0 && y + row < height {
                for column in 0..<image.width where x + column >= 0 && x + column < width {
                    let value = image.pixels[channel * sourcePlane + row * image.width + column]
                    pixels[channel * plane + (y + row) * width + x + column] = min(max(value, 0), 1)
                }
            }
        }
    }

    // MARK: Text

    /// Height of a line of text at `scale`, descender included.
    public static func textHeight(scale: Int = 1) -> Int { Font.glyphHeight * scale }

    /// Width in pixels of `text` at `scale`, from the first glyph's left edge to the last glyph's right edge.
    public static func textWidth(_ text: String, scale: Int = 1) -> Int {
        let count = text.count
        return count == 0 ? 0 : (count * Font.advance - 1) * scale
    }

    /// Width in pixels of `text` at `scale` (same as the static `textWidth`).
    public func textWidth(_ text: String, scale: Int = 1) -> Int { Canvas.textWidth(text, scale: scale) }

    /// `text` cut to fit `width` pixels at `scale`, ending in ".." when cut (empty if not even that fits), so
    /// a long label is visibly shortened rather than clipped mid-glyph at the edge of the image.
    public static func shortened(_ text: String, toWidth width: Int, scale: Int = 1) -> String {
        guard textWidth(text, scale: scale) > width else { return text }
        var kept = text
        while !kept.isEmpty && textWidth(kept + "..", scale: scale) > width { kept.removeLast() }
        while kept.last == " " { kept.removeLast() }
        return kept.isEmpty ? "" : kept + ".."
    }

    /// Draws `text` with its top-left corner at (x, y), each font pixel a `scale` x `scale` block.
    /// Capitals occupy the top 7 * scale rows; descenders the row below.
    public mutating func text(_ text: String, x: Int, y: Int, scale: Int = 1, color: RGB = .black) {
        var originX = x
        for character in text {
            for row in 0..<Font.glyphHeight {
                for column in 0..<Font.glyphWidth where Font.isSet(character, column: column, row: row) {
                    rect(x: originX + column * scale, y: y + row * scale, width: scale, height: scale, color: color)
                }
            }
            originX += Font.advance * scale
        }
    }

    /// Draws `text` rotated a quarter turn anticlockwise (reading bottom to top), as y-axis titles are, with the
    /// start of the text at the bottom: (x, y) is the bottom-left corner of the rotated block.
    public mutating func verticalText(_ text: String, x: Int, y: Int, scale: Int = 1, color: RGB = .black) {
        var originY = y
        for character in text {
            for row in 0..<Font.glyphHeight {
                for column in 0..<Font.glyphWidth where Font.isSet(character, column: column, row: row) {
                    rect(x: x + row * scale, y: originY + 1 - (column + 1) * scale, width: scale, height: scale,
                         color: color)
                }
            }
            originY -= Font.advance * scale
        }
    }
}
