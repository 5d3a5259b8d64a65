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

    /// x [C][N][H][W] → columns [C·k·k][N·Ho·Wo], zero where the field leaves the image.
    public func unfold(_ x: UnsafePointer<Float>, channels: Int, batch: Int, height h: Int, width w: Int,
                       into col: UnsafeMutablePointer<Float>) {
        let k = kernel, s = stride, p = padding
        let ho = convolvedSize(h), wo = convolvedSize(w), outPlane = ho * wo, row = batch * outPlane
        parallelFor(channels * k) { ck in
            let c = ck / k, ky = ck % k
            for kx in 0..<k {
                let dst0 = col + ((c * k + ky) * k + kx) * row
                for n in 0..<batch {
                    let src = x + (c * batch + n) * h * w
                    for oy in 0..<ho {
                        let dst = dst0 + n * outPlane + oy * wo
                        let iy = oy * s - p + ky
                        guard iy >= 0 && iy < h else {
                            dst.update(repeating: 0, count: wo)
                            continue
                        }
                        let line = src + iy * w
                        for ox in 0..<wo {
                            let ix = ox * s - p + kx
                            dst[ox] = (ix >= 0 && ix < w) ? line[ix] : 0
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `unfold`: x [C][N][H][W] = Σ of the column entries that sample each pixel (x is overwritten).
    public func fold(_ col: UnsafePointer<Float>, channels: Int, batch: Int, height h: Int, width w: Int,
                     into x: UnsafeMutablePointer<Float>) {
        let k = kernel, s = stride, p = padding
        let ho = convolvedSize(h), wo = convolvedSize(w), outPlane = ho * wo, row = batch * outPlane
        // One task per (channel, sample) plane: planes are disjoint, so no two threads write one pixel.
        parallelFor(channels * batch) { cn in
            let c = cn / batch, n = cn % batch
            let dst = x + (c * batch + n) * h * w
            dst.update(repeating: 0, count: h * w)
            for ky in 0..<k {
                for kx in 0..<k {
                    let src0 = col + ((c * k + ky) * k + kx) * row + n * outPlane
                    for oy in 0..<ho {
                        let iy = oy * s - p + ky
                        guard iy >= 0 && iy < h else { continue }
                        let line = dst + iy * w, src = src0 + oy * wo
                        for ox in 0..<wo {
                            let ix = ox * s - p + kx
                            if ix >= 0 && ix < w { line[ix] += src[ox] }
                        }
                    }
                }
            }
        }
    }
}
