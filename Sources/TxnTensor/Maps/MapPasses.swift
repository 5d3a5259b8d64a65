import CKernels

/// What a normalisation layer in evaluation mode does to each channel of a map, y = leaky(x·scale + shift) with
/// leaky(v) = v < 0 ? slope·v : v (slope 1: no activation), kept as numbers so that the next convolution can apply
/// it as it reads its input instead of in a pass of its own. One entry per padded channel; the padding channels
/// have scale and shift 0, so they stay zero.
public struct ChannelAffine {
    public private(set) var scale: [Float], shift: [Float], slope: [Float]

    /// For `channels` channels (padded to whole blocks with zeros).
    public init(scale: [Float], shift: [Float], slope: Float) {
        precondition(scale.count == shift.count)
        let padding = [Float](repeating: 0, count: BlockedMap.blocks(scale.count) * BlockedMap.block - scale.count)
        (self.scale, self.shift) = (scale + padding, shift + padding)
        self.slope = [Float](repeating: slope, count: self.scale.count)
    }

    /// The identity on `channels` channels.
    public static func identity(channels: Int) -> ChannelAffine {
        ChannelAffine(scale: [Float](repeating: 1, count: channels), shift: [Float](repeating: 0, count: channels), slope: 1)
    }

    /// Padded channels.
    public var channels: Int { scale.count }

    /// `self` on the first channels and `other` on the next: the affine map of a concatenation (whole blocks).
    public func joined(_ other: ChannelAffine) -> ChannelAffine {
        var result = self
        result.scale += other.scale; result.shift += other.shift; result.slope += other.slope
        return result
    }

    func withPointers<R>(_ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>) throws -> R) rethrows -> R {
        try scale.withUnsafeBufferPointer { a in
            try shift.withUnsafeBufferPointer { b in
                try slope.withUnsafeBufferPointer { k in try body(a.baseAddress!, b.baseAddress!, k.baseAddress!) }
            }
        }
    }
}

/// The elementwise passes around the convolutions on blocked maps (`CKernels/maps.c`): channel statistics, a
/// `ChannelAffine` applied in place, and nearest-neighbour x2 upsampling.
public enum MapPasses {
    /// Pixels one task of a pass covers: enough to amortise the task, few enough to share the work evenly.
    static let pixelsPerTask = 1 << 14

    /// Each channel's mean and biased variance over the map's pixels (sums in Double).
    public static func moments(_ x: MapView) -> (mean: [Double], variance: [Double]) {
        let pixels = x.height * x.width, b = BlockedMap.block
        let chunks = (pixels + pixelsPerTask - 1) / pixelsPerTask, tasks = x.blocks * chunks
        var sums = [Double](repeating: 0, count: tasks * b), squares = sums
        let base = x.base, plane = x.plane
        sums.withUnsafeMutableBufferPointer { s in
            squares.withUnsafeMutableBufferPointer { q in
                let (s, q) = (s.baseAddress!, q.baseAddress!)
                parallelFor(tasks) { task in
                    let (kb, chunk) = (task / chunks, task % chunks), first = chunk * pixelsPerTask
                    txn_map8_moments(base + kb * plane, first, min(pixelsPerTask, pixels - first), s + task * b, q + task * b)
                }
            }
        }
        var sum = [Double](repeating: 0, count: x.channels), square = sum
        for c in 0..<x.channels {
            let (kb, lane) = (c / b, c % b)
            for chunk in 0..<chunks { sum[c] += sums[(kb * chunks + chunk) * b + lane]; square[c] += squares[(kb * chunks + chunk) * b + lane] }
        }
        return moments(sums: sum, squares: square, pixels: pixels)
    }

    /// Mean and biased variance from each channel's sum and sum of squares over `pixels` values.
    public static func moments(sums: [Double], squares: [Double], pixels: Int) -> (mean: [Double], variance: [Double]) {
        let mean = sums.map { $0 / Double(pixels) }
        return (mean, zip(squares, mean).map { max(0, $0 / Double(pixels) - $1 * $1) })
    }

    /// The moments of the first `channels` channels from per-worker sums kept by a kernel as it wrote a map
    /// (`workers` slots of 2·`stride` doubles: sums, then sums of squares).
    static func moments(workerSums: [Double], workers: Int, stride: Int, channels: Int, pixels: Int) -> (mean: [Double], variance: [Double]) {
        var sum = [Double](repeating: 0, count: channels), square = sum
        for w in 0..<workers {
            for c in 0..<channels { sum[c] += workerSums[2 * stride * w + c]; square[c] += workerSums[2 * stride * w + stride + c] }
        }
        return moments(sums: sum, squares: square, pixels: pixels)
    }

    /// `affine` applied to `x` in place.
    public static func apply(_ affine: ChannelAffine, to x: MapView) {
        precondition(affine.channels == x.paddedChannels)
        let pixels = x.height * x.width, b = BlockedMap.block
        let chunks = (pixels + pixelsPerTask - 1) / pixelsPerTask
        let base = x.base, plane = x.plane
        affine.withPointers { scale, shift, slope in
            parallelFor(x.blocks * chunks) { task in
                let (kb, chunk) = (task / chunks, task % chunks), first = chunk * pixelsPerTask
                let at = base + kb * plane + first * b
                txn_map8_affine(at, at, min(pixelsPerTask, pixels - first), scale + kb * b, shift + kb * b, slope + kb * b)
            }
        }
    }

    /// `destination` (2H x 2W, the same blocks) = `source` upsampled x2, every pixel a 2x2 square.
    public static func upsample2(_ source: MapView, into destination: MapView) throws {
        guard destination.height == 2 * source.height, destination.width == 2 * source.width,
              destination.blocks == source.blocks else {
            throw TensorError.shapeMismatch("upsampling \(source.paddedChannels)x\(source.height)x\(source.width) into "
                + "\(destination.paddedChannels)x\(destination.height)x\(destination.width)")
        }
        let (h, w) = (source.height, source.width), rowsPerTask = max(1, pixelsPerTask / w)
        let chunks = (h + rowsPerTask - 1) / rowsPerTask
        let (src, dst, srcPlane, dstPlane) = (source.base, destination.base, source.plane, destination.plane)
        parallelFor(source.blocks * chunks) { task in
            let (kb, chunk) = (task / chunks, task % chunks), first = chunk * rowsPerTask
            txn_map8_upsample2(src + kb * srcPlane, Int32(w), Int32(first), Int32(min(rowsPerTask, h - first)), dst + kb * dstPlane)
        }
    }
}
