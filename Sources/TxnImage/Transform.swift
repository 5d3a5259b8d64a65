import TxnTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Resampling

extension Image {
    /// Resamples with a separable Lanczos-3 filter (as PIL's LANCZOS). When shrinking, the filter is stretched by the
    /// shrink factor so every source pixel contributes: without that, fine texture (the very thing we synthesise)
    /// aliases into moiré. Borders are mirrored without repeating the edge pixel, which keeps the filter window
    /// symmetric, so e.g. a checkerboard halves to uniform grey right up to the edges.
    /// Throws `invalidArgument` for non-positive sizes or an empty source image.
    public func resized(width newWidth: Int, height newHeight: Int) throws(ImageError) -> Image {
        guard newWidth > 0, newHeight > 0 else {
            throw ImageError(path: "", kind: .invalidArgument, reason: "resize target must be positive, got \(newWidth)x\(newHeight)")
        }
        guard width > 0, height > 0 else {
            throw ImageError(path: "", kind: .invalidArgument, reason: "cannot resize an empty \(width)x\(height) image")
        }
        // The result and the intermediate of the separable filter.
        try Self.requireMemory(width: max(width, newWidth), height: max(height, newHeight), copies: 2,
                               for: "resizing to \(newWidth)x\(newHeight)")
        var result = self
        if newWidth != width { result = result.resampledHorizontally(to: newWidth) }
        if newHeight != height { result = result.resampledVertically(to: newHeight) }
        return result
    }

    /// Precomputed filter taps for one axis: output i reads indices[offsets[i]..<offsets[i+1]] with matching weights.
    struct Taps {
        var offsets: [Int]
        var indices: [Int]
        var weights: [Float]
    }

    static func lanczos3(_ x: Double) -> Double {
        let ax = abs(x)
        if ax < 1e-12 { return 1 }
        if ax >= 3 { return 0 }
        let px = Double.pi * x
        return 3 * sin(px) * sin(px / 3) / (px * px)
    }

    /// Mirror about the edge pixels' centres (…2 1 | 0 1 2 … n-1 | n-2 …), periodic so any overhang works.
    static func reflect(_ index: Int, count: Int) -> Int {
        if count == 1 { return 0 }
        let period = 2 * (count - 1)
        var folded = index % period
        if folded < 0 { folded += period }
        return folded < count ? folded : period - folded
    }

    static func taps(from source: Int, to target: Int) -> Taps {
        let scale = Double(source) / Double(target)
        let stretch = max(scale, 1)
        let support = 3 * stretch
        var taps = Taps(offsets: [0], indices: [], weights: [])
        taps.offsets.reserveCapacity(target + 1)
        var row: [(Int, Double)] = []
        for i in 0..<target {
            // Pixel j covers [j, j + 1); the output pixel's centre in source coordinates:
            let centre = (Double(i) + 0.5) * scale
            let first = Int((centre - support - 0.5).rounded(.down))
            let last = Int((centre + support - 0.5).rounded(.up))
            row.removeAll(keepingCapacity: true)
            var total = 0.0
            for j in first...last {
                let weight = lanczos3((Double(j) + 0.5 - centre) / stretch)
                if weight != 0 {
                    row.append((reflect(j, count: source), weight))
                    total += weight
                }
            }
            for (index, weight) in row {
                taps.indices.append(index)
                taps.weights.append(Float(weight / total))
            }
            taps.offsets.append(taps.indices.count)
        }
        return taps
    }

    private func resampledHorizontally(to newWidth: Int) -> Image {
        let taps = Self.taps(from: width, to: newWidth)
        let rows = 3 * height
        var out = [Float](repeating: 0, count: rows * newWidth)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                taps.indices.withUnsafeBufferPointer { indices in
                    taps.weights.withUnsafeBufferPointer { weights in
                        for row in 0..<rows {
                            let sourceRow = row * width
                            for i in 0..<newWidth {
                                var sum: Float = 0
                                for k in taps.offsets[i]..<taps.offsets[i + 1] {
                                    sum += weights[k] * source[sourceRow + indices[k]]
                                }
                                target[row * newWidth + i] = sum
                            }
                        }
                    }
                }
            }
        }
        return Image(width: newWidth, height: height, pixels: out)
    }

    private func resampledVertically(to newHeight: Int) -> Image {
        let taps = Self.taps(from: height, to: newHeight)
        var out = [Float](repeating: 0, count: 3 * newHeight * width)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for channel in 0..<3 {
                    for i in 0..<newHeight {
                        let targetRow = (channel * newHeight + i) * width
                        for k in taps.offsets[i]..<taps.offsets[i + 1] {
                            let weight = taps.weights[k]
                            let sourceRow = (channel * height + taps.indices[k]) * width
                            // Whole rows at a time keeps the inner loop contiguous.
                            for x in 0..<width { target[targetRow + x] += weight * source[sourceRow + x] }
                        }
                    }
                }
            }
        }
        return Image(width: width, height: newHeight, pixels: out)
    }
}

// MARK: - Cropping and tiling

extension Image {
    /// Copies the box [x, x + width) × [y, y + height). A box that does not fit is an error rather than being
    /// clipped, because a silently smaller crop would change the statistics the caller asked for.
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int) throws(ImageError) -> Image {
        guard cropWidth > 0, cropHeight > 0 else {
            throw ImageError(path: "", kind: .invalidArgument, reason: "crop size must be positive, got \(cropWidth)x\(cropHeight)")
        }
        guard x >= 0, y >= 0, x <= width - cropWidth, y <= height - cropHeight else {
            throw ImageError(path: "", kind: .invalidArgument,
                             reason: "crop box \(cropWidth)x\(cropHeight) at (\(x), \(y)) lies outside the \(width)x\(height) image")
        }
        var out = [Float](repeating: 0, count: 3 * cropWidth * cropHeight)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for channel in 0..<3 {
                    for row in 0..<cropHeight {
                        let from = (channel * height + y + row) * width + x
                        let to = (channel * cropHeight + row) * cropWidth
                        for column in 0..<cropWidth { target[to + column] = source[from + column] }
                    }
                }
            }
        }
        return Image(width: cropWidth, height: cropHeight, pixels: out)
    }

    /// Crops the middle; when the margin is odd the extra pixel goes to the right/bottom (offset rounds down).
    public func centerCropped(width cropWidth: Int, height cropHeight: Int) throws(ImageError) -> Image {
        try checkCropSize(cropWidth, cropHeight)
        return try cropped(x: (width - cropWidth) / 2, y: (height - cropHeight) / 2, width: cropWidth, height: cropHeight)
    }

    /// A crop at a position drawn from `seed` with SplitMix64, so runs are reproducible across machines and
    /// Swift versions (SystemRandomNumberGenerator is neither seedable nor stable).
    public func randomCropped(width cropWidth: Int, height cropHeight: Int, seed: UInt64) throws(ImageError) -> Image {
        try checkCropSize(cropWidth, cropHeight)
        var generator = SplitMix64(seed: seed)
        let x = generator.next(below: width - cropWidth + 1)
        let y = generator.next(below: height - cropHeight + 1)
        return try cropped(x: x, y: y, width: cropWidth, height: cropHeight)
    }

    private func checkCropSize(_ cropWidth: Int, _ cropHeight: Int) throws(ImageError) {
        guard cropWidth > 0, cropHeight > 0 else {
            throw ImageError(path: "", kind: .invalidArgument, reason: "crop size must be positive, got \(cropWidth)x\(cropHeight)")
        }
        guard cropWidth <= width, cropHeight <= height else {
            throw ImageError(path: "", kind: .invalidArgument,
                             reason: "crop \(cropWidth)x\(cropHeight) is larger than the \(width)x\(height) image")
        }
    }

    /// Repeats the image `columns` times across and `rows` times down, e.g. to show whether a synthesised texture
    /// tiles seamlessly. Throws `invalidArgument` for counts below 1.
    public func tiled(columns: Int, rows: Int) throws(ImageError) -> Image {
        guard columns > 0, rows > 0 else {
            throw ImageError(path: "", kind: .invalidArgument, reason: "tile counts must be positive, got \(columns)x\(rows)")
        }
        let (newWidth, overflowW) = width.multipliedReportingOverflow(by: columns)
        let (newHeight, overflowH) = height.multipliedReportingOverflow(by: rows)
        guard !overflowW, !overflowH else {
            throw ImageError(path: "", kind: .tooLarge, reason: "tiling \(columns)x\(rows) overflows the image size")
        }
        try Self.requireMemory(width: newWidth, height: newHeight, for: "tiling \(columns)x\(rows) (\(newWidth)x\(newHeight))")
        var out = [Float](repeating: 0, count: 3 * newWidth * newHeight)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for channel in 0..<3 {
                    for row in 0..<newHeight {
                        let from = (channel * height + row % height) * width
                        let to = (channel * newHeight + row) * newWidth
                        for column in 0..<newWidth { target[to + column] = source[from + column % width] }
                    }
                }
            }
        }
        return Image(width: newWidth, height: newHeight, pixels: out)
    }
}

extension Image {
    /// Throws `tooLarge` unless `copies` RGB float images of `width` x `height` fit in the memory budget
    /// (overflow-checked), before anything of that size is allocated.
    public static func requireMemory(width: Int, height: Int, copies: Int = 1,
                                     for what: @autoclosure () -> String) throws(ImageError) {
        do {
            try MemoryBudget.requireFloats([3, height, width], copies: copies, for: what())
        } catch {
            var overLimit = ImageError(path: "", kind: .tooLarge, reason: "\(error)")
            overLimit.isOverMemoryLimit = true
            throw overLimit
        }
    }
}
