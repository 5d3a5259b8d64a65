/// Nearest-neighbour ×2 upsampling of a channel-major batch (PyTorch's `Upsample(scale_factor=2, mode="nearest")`):
/// forward and backward side by side. Every pixel becomes a 2×2 block; there are no weights, so unlike a
/// transposed convolution it cannot make a checkerboard.
///
/// forward:  y[2i+a][2j+b] = x[i][j]   (a, b ∈ {0, 1})
/// backward: dx[i][j] = Σ_{a,b} dy[2i+a][2j+b]
public enum NearestUpsample {
    public static func forward(_ x: ChannelMajor) -> ChannelMajor {
        let (h, w) = (x.height, x.width), planes = x.channels * x.batch
        var y = ChannelMajor(unfilled: x.channels, batch: x.batch, height: 2 * h, width: 2 * w)
        x.data.withUnsafeBufferPointer { xs in
            y.data.withUnsafeMutableBufferPointer { ys in
                let xb = xs.baseAddress!, yb = ys.baseAddress!
                parallelFor(planes) { plane in
                    let src = xb + plane * h * w, dst = yb + plane * 4 * h * w
                    for i in 0..<h {
                        let line = src + i * w, top = dst + 2 * i * 2 * w, bottom = top + 2 * w
                        for j in 0..<w {
                            let v = line[j]
                            top[2 * j] = v; top[2 * j + 1] = v
                        }
                        bottom.update(from: top, count: 2 * w)
                    }
                }
            }
        }
        return y
    }

    /// dL/dx from dL/dy: each input pixel gathers the gradient of its 2×2 block.
    public static func backward(_ dy: ChannelMajor) throws -> ChannelMajor {
        guard dy.height % 2 == 0, dy.width % 2 == 0 else {
            throw TensorError.shapeMismatch("upsampling backward: a \(dy.height)x\(dy.width) gradient is not twice an input")
        }
        let (h, w) = (dy.height / 2, dy.width / 2), planes = dy.channels * dy.batch
        var dx = ChannelMajor(unfilled: dy.channels, batch: dy.batch, height: h, width: w)
        dy.data.withUnsafeBufferPointer { gs in
            dx.data.withUnsafeMutableBufferPointer { ds in
                let gb = gs.baseAddress!, db = ds.baseAddress!
                parallelFor(planes) { plane in
                    let src = gb + plane * 4 * h * w, dst = db + plane * h * w
                    for i in 0..<h {
                        let top = src + 2 * i * 2 * w, bottom = top + 2 * w, line = dst + i * w
                        for j in 0..<w {
                            line[j] = (top[2 * j] + top[2 * j + 1]) + (bottom[2 * j] + bottom[2 * j + 1])
                        }
                    }
                }
            }
        }
        return dx
    }
}
