import TxnImage

/// Plain resampling for display: box averaging to shrink, nearest neighbour to enlarge.
///
/// Display wants different filters from synthesis: a shrunken picture should be the true average of what it covers
/// (no ringing, no moiré), and an enlarged feature map should show its cells as crisp blocks, because each cell is
/// one activation and smoothing would invent structure that is not there.
enum Resample {
    /// Area-weighted average of a `width` x `height` plane onto `newWidth` x `newHeight`: every output sample is the
    /// mean of the source area it covers, fractional overlaps weighted by their share.
    static func areaAveraged(_ plane: [Float], width: Int, height: Int, newWidth: Int, newHeight: Int) -> [Float] {
        let columns = weights(from: width, to: newWidth)
        let rows = weights(from: height, to: newHeight)
        var horizontal = [Float](repeating: 0, count: newWidth * height)
        for y in 0..<height {
            for (x, taps) in columns.enumerated() {
                var sum: Float = 0
                for (source, weight) in taps { sum += plane[y * width + source] * weight }
                horizontal[y * newWidth + x] = sum
            }
        }
        var result = [Float](repeating: 0, count: newWidth * newHeight)
        for (y, taps) in rows.enumerated() {
            for x in 0..<newWidth {
                var sum: Float = 0
                for (source, weight) in taps { sum += horizontal[source * newWidth + x] * weight }
                result[y * newWidth + x] = sum
            }
        }
        return result
    }

    /// For each output index, the source indices it covers and their weights (summing to 1).
    static func weights(from size: Int, to newSize: Int) -> [[(Int, Float)]] {
        let ratio = Double(size) / Double(newSize)
        return (0..<newSize).map { index in
            let start = Double(index) * ratio, end = Double(index + 1) * ratio
            var taps: [(Int, Float)] = []
            var source = Int(start)
            while Double(source) < end - 1e-12, source < size {
                let overlap = min(end, Double(source + 1)) - max(start, Double(source))
                if overlap > 0 { taps.append((source, Float(overlap / ratio))) }
                source += 1
            }
            return taps
        }
    }

    /// Nearest-neighbour resampling of a plane: output (x, y) takes the source sample whose area contains the
    /// output pixel's centre.
    static func nearest(_ plane: [Float], width: Int, height: Int, newWidth: Int, newHeight: Int) -> [Float] {
        let sourceX = (0..<newWidth).map { min(width - 1, (2 * $0 + 1) * width / (2 * newWidth)) }
        var result = [Float](repeating: 0, count: newWidth * newHeight)
        for y in 0..<newHeight {
            let row = min(height - 1, (2 * y + 1) * height / (2 * newHeight)) * width
            for x in 0..<newWidth { result[y * newWidth + x] = plane[row + sourceX[x]] }
        }
        return result
    }

    /// An image at a new size: area-averaged along an axis that shrinks, nearest neighbour along one that grows
    /// (mixing the two per axis is fine because both are separable).
    static func scaled(_ image: Image, width newWidth: Int, height newHeight: Int) -> Image {
        guard newWidth != image.width || newHeight != image.height else { return image }
        let plane = image.width * image.height
        var pixels: [Float] = []
        pixels.reserveCapacity(3 * newWidth * newHeight)
        for channel in 0..<3 {
            var samples = Array(image.pixels[(channel * plane)..<((channel + 1) * plane)])
            var currentWidth = image.width
            if newWidth < currentWidth {
                samples = areaAveraged(samples, width: currentWidth, height: image.height, newWidth: newWidth,
                                       newHeight: image.height)
            } else if newWidth > currentWidth {
                samples = nearest(samples, width: currentWidth, height: image.height, newWidth: newWidth,
                                  newHeight: image.height)
            }
            currentWidth = newWidth
            if newHeight < image.height {
                samples = areaAveraged(samples, width: currentWidth, height: image.height, newWidth: currentWidth,
                                       newHeight: newHeight)
            } else if newHeight > image.height {
                samples = nearest(samples, width: currentWidth, height: image.height, newWidth: currentWidth,
                                  newHeight: newHeight)
            }
            pixels.append(contentsOf: samples)
        }
        return Image(width: newWidth, height: newHeight, pixels: pixels)
    }
}
