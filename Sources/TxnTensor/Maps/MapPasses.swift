import CKernels

/// The elementwise passes around the convolutions on blocked maps (`CKernels/maps.c`): channel statistics, a
/// per-channel affine map with an optional LeakyReLU (what a normalisation layer computes once its statistics are
/// known), and nearest-neighbour x2 upsampling.
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
        var mean = [Double](repeating: 0, count: x.channels), variance = mean
        for c in 0..<x.channels {
            let (kb, lane) = (c / b, c % b)
            var (s, q) = (0.0, 0.0)
            for chunk in 0..<chunks { s += sums[(kb * chunks + chunk) * b + lane]; q += squares[(kb * chunks + chunk) * b + lane] }
            mean[c] = s / Double(pixels)
            variance[c] = max(0, q / Double(pixels) - mean[c] * mean[c])
        }
        return (mean, variance)
    }

    /// x = x·scale[c] + shift[c] for every channel c (then LeakyReLU of `leakySlope`, if given), in place. The
    /// padding channels get scale and shift 0, so they stay zero.
    public static func affine(_ x: MapView, scale: [Float], shift: [Float], leakySlope: Float?) {
        precondition(scale.count == x.channels && shift.count == x.channels)
        let padding = [Float](repeating: 0, count: x.paddedChannels - x.channels)
        let (a, c) = (scale + padding, shift + padding)
        let pixels = x.height * x.width, b = BlockedMap.block
        let chunks = (pixels + pixelsPerTask - 1) / pixelsPerTask
        let base = x.base, plane = x.plane
        a.withUnsafeBufferPointer { a in
            c.withUnsafeBufferPointer { c in
                parallelFor(x.blocks * chunks) { task in
                    let (kb, chunk) = (task / chunks, task % chunks), first = chunk * pixelsPerTask
                    txn_map8_affine(base + kb * plane, first, min(pixelsPerTask, pixels - first), a.baseAddress! + kb * b,
                                    c.baseAddress! + kb * b, leakySlope == nil ? 0 : 1, leakySlope ?? 0)
                }
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
