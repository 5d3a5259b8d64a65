import Foundation

/// The sampling pattern of a k×k convolution with a stride and zero padding, on channel-major batches.
///
/// `unfold` lays every receptive field out as a column ("im2col"): rows are (channel, ky, kx), columns are
/// (sample, output y, output x), so the whole batch is one matrix product. `fold` is its adjoint ("col2im"): it
/// sums each column entry back onto the input pixel it came from. A strided convolution is W · unfold(x); a
/// transposed convolution is fold(Wᵀ · x): the same two routines serve both, forwards and backwards.
public struct PatchGeometry: Sendable, Equatable {
    public let kernel: Int, stride: Int, padding: Int

    public init(kernel: Int, stride: Int, padding: Int) {
        precondition(kernel > 0 && stride > 0 && padding >= 0)
        (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
    }

    /// Output size of the convolution over an input of `size` (0 if the kernel does not fit).
    public func convolvedSize(_ size: Int) -> Int {
        let span = size + 2 * padding - kernel
        return span < 0 ? 0 : span / stride + 1
    }

    /// Output size of the transposed convolution over an input of `size`.
    public func transposedSize(_ size: Int) -> Int {
        (size - 1) * stride - 2 * padding + kernel
    }

    /// The output columns whose kernel tap `k` lands inside an input of `size`: i = o·stride − padding + k ∈ [0, size).
    @inline(__always)
    func validOutputs(tap k: Int, inputSize size: Int, outputs: Int) -> Range<Int> {
        let shift = padding - k  // i = o·s − shift
        let lo = shift <= 0 ? 0 : (shift + stride - 1) / stride
        let hiInclusive = (size - 1 + shift) < 0 ? -1 : (size - 1 + shift) / stride
        let hi = min(outputs, hiInclusive + 1)
        return lo < hi ? lo..<hi : 0..<0
    }

    /// x [C][N][H][W] → columns [C·k·k][N·Ho·Wo], zero where the field leaves the image.
    public func unfold(_ x: UnsafePointer<Float>, channels: Int, batch: Int, height h: Int, width w: Int,
                       into col: UnsafeMutablePointer<Float>) {
        let k = kernel, s = stride, p = padding
        let ho = convolvedSize(h), wo = convolvedSize(w), outPlane = ho * wo, row = batch * outPlane
        parallelFor(channels * k) { ck in
            let c = ck / k, ky = ck % k
            let rows = validOutputs(tap: ky, inputSize: h, outputs: ho)
            for kx in 0..<k {
                let cols = validOutputs(tap: kx, inputSize: w, outputs: wo)
                let dst0 = col + ((c * k + ky) * k + kx) * row
                for n in 0..<batch {
                    let src = x + (c * batch + n) * h * w, plane = dst0 + n * outPlane
                    plane.update(repeating: 0, count: rows.lowerBound * wo)
                    for oy in rows {
                        let dst = plane + oy * wo, line = src + (oy * s - p + ky) * w + kx - p
                        dst.update(repeating: 0, count: cols.lowerBound)
                        if s == 2 {
                            Self.gatherEven(dst, line, cols)
                        } else {
                            for ox in cols { dst[ox] = line[ox * s] }
                        }
                        (dst + cols.upperBound).update(repeating: 0, count: wo - cols.upperBound)
                    }
                    (plane + rows.upperBound * wo).update(repeating: 0, count: (ho - rows.upperBound) * wo)
                }
            }
        }
    }

    /// The adjoint of `unfold`: x [C][N][H][W] = Σ of the column entries that sample each pixel (x is overwritten).
    /// With `activation`, x is a gradient and is taken back through that activation, whose output (same layout as
    /// x) is `output`, plane by plane while the plane is in cache.
    public func fold(_ col: UnsafePointer<Float>, channels: Int, batch: Int, height h: Int, width w: Int,
                     into x: UnsafeMutablePointer<Float>,
                     through activation: PointwiseActivation? = nil, output: UnsafePointer<Float>? = nil) {
        precondition((activation == nil) == (output == nil))
        let k = kernel, s = stride, p = padding
        let ho = convolvedSize(h), wo = convolvedSize(w), outPlane = ho * wo, row = batch * outPlane
        let halving = isHalving(height: h, width: w)
        // One task per (channel, sample) plane: planes are disjoint, so no two threads write one pixel.
        parallelFor(channels * batch) { cn in
            let c = cn / batch, n = cn % batch
            let dst = x + (c * batch + n) * h * w
            dst.update(repeating: 0, count: h * w)
            if halving {
                // Each image row is the sum of two tap rows (ky) of the columns, each interleaving four taps (kx).
                let taps = col + c * k * k * row + n * outPlane
                for y in 0..<h {
                    let line = dst + y * w
                    func add(ky: Int, oy: Int) {
                        guard oy >= 0 && oy < ho else { return }
                        let src = taps + ky * k * row + oy * wo
                        Self.addInterleaved(line, src, src + row, src + 2 * row, src + 3 * row, count: wo)
                    }
                    let r = y >> 1
                    if y & 1 == 0 { add(ky: 1, oy: r); add(ky: 3, oy: r - 1) } else { add(ky: 2, oy: r); add(ky: 0, oy: r + 1) }
                }
            } else {
                for ky in 0..<k {
                    let rows = validOutputs(tap: ky, inputSize: h, outputs: ho)
                    for kx in 0..<k {
                        let cols = validOutputs(tap: kx, inputSize: w, outputs: wo)
                        let src0 = col + ((c * k + ky) * k + kx) * row + n * outPlane
                        for oy in rows {
                            let line = dst + (oy * s - p + ky) * w + kx - p, src = src0 + oy * wo
                            for ox in cols { line[ox * s] += src[ox] }
                        }
                    }
                }
            }
            if let activation, let output {
                let y = output + (c * batch + n) * h * w
                for j in 0..<(h * w) { dst[j] = activation.gradient(dst[j], output: y[j]) }
            }
        }
    }

    // MARK: stride 2, kernel 4, padding 1 (every GAN layer)

    /// Whether this is the 4×4, stride-2, padding-1 sampling over an even-sized input, which halves each side
    /// exactly: image row y = 2·oy − 1 + ky, so every image row is fed by two kernel rows and every pixel by four
    /// taps, and the fold can be written as whole interleaved rows instead of sixteen strided scatter passes.
    func isHalving(height h: Int, width w: Int) -> Bool {
        isHalvingKernel && h % 2 == 0 && w % 2 == 0 && h > 0 && w > 0
    }

    /// 4×4, stride 2, padding 1: its transposed convolution always doubles each side exactly.
    var isHalvingKernel: Bool { kernel == 4 && stride == 2 && padding == 1 }

    /// dst[ox] = line[2·ox] over `cols`. A literal stride lets the compiler vectorise the gather (with a variable
    /// stride it stays one scalar load per element).
    @inline(__always)
    static func gatherEven(_ dst: UnsafeMutablePointer<Float>, _ line: UnsafePointer<Float>, _ cols: Range<Int>) {
        var ox = cols.lowerBound
        while ox < cols.upperBound {
            dst[ox] = line[2 &* ox]
            ox &+= 1
        }
    }

    /// One image row of 2·count pixels += its four horizontal taps of one kernel row: pixel 2m takes tap 1 at m
    /// and tap 3 at m−1, pixel 2m+1 takes tap 2 at m and tap 0 at m+1 (image x = 2·ox − 1 + kx).
    @inline(__always)
    static func addInterleaved(_ out: UnsafeMutablePointer<Float>, _ t0: UnsafePointer<Float>, _ t1: UnsafePointer<Float>,
                               _ t2: UnsafePointer<Float>, _ t3: UnsafePointer<Float>, count: Int) {
        guard count > 1 else {
            if count == 1 { out[0] += t1[0]; out[1] += t2[0] }
            return
        }
        out[0] += t1[0]
        out[1] += t2[0] + t0[1]
        var m = 1
        let last = count - 1
        while m < last {
            out[2 &* m] += t1[m] + t3[m &- 1]
            out[2 &* m &+ 1] += t2[m] + t0[m &+ 1]
            m &+= 1
        }
        out[2 * last] += t1[last] + t3[last - 1]
        out[2 * last + 1] += t2[last]
    }
}
