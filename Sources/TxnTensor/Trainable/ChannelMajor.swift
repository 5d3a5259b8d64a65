/// A batch of feature maps stored channel-major, [C][N][H][W]: each channel's N·H·W values are contiguous.
///
/// The trainable layers (the GAN's) work in this layout because it is what they compute in: a convolution
/// written as one matrix product W · columns yields [C_out, N·H·W] directly, for the whole batch at once, and
/// batch normalisation reduces over exactly one contiguous row per channel. Images enter and leave as NCHW.
public struct ChannelMajor: Sendable, Equatable {
    public var data: [Float]
    public let channels: Int, batch: Int, height: Int, width: Int

    /// Values per channel: N·H·W.
    public var rowLength: Int { batch * height * width }
    public var count: Int { data.count }

    public init(zeros channels: Int, batch: Int, height: Int, width: Int) {
        precondition(channels >= 0 && batch >= 0 && height >= 0 && width >= 0)
        (self.channels, self.batch, self.height, self.width) = (channels, batch, height, width)
        data = [Float](repeating: 0, count: channels * batch * height * width)
    }

    /// Same dimensions with unspecified values, for outputs that are written in full before they are read (a
    /// matrix product with β = 0, `fold`, `unfold`): the zero fill would cost a pass over memory (memset was 7%
    /// of a seed training iteration).
    init(unfilled channels: Int, batch: Int, height: Int, width: Int) {
        precondition(channels >= 0 && batch >= 0 && height >= 0 && width >= 0)
        (self.channels, self.batch, self.height, self.width) = (channels, batch, height, width)
        data = unfilledFloats(channels * batch * height * width)
    }

    public init(channels: Int, batch: Int, height: Int, width: Int, data: [Float]) throws {
        guard channels >= 0, batch >= 0, height >= 0, width >= 0,
              data.count == channels * batch * height * width else {
            throw TensorError.invalidShape(
                "channel-major batch \(channels)x\(batch)x\(height)x\(width) needs "
                + "\(channels * batch * height * width) values, got \(data.count)")
        }
        (self.channels, self.batch, self.height, self.width) = (channels, batch, height, width)
        self.data = data
    }

    /// Same dimensions, zero values.
    public init(zerosLike other: ChannelMajor) {
        self.init(zeros: other.channels, batch: other.batch, height: other.height, width: other.width)
    }

    /// From an NCHW tensor.
    public init(nchw x: Tensor) throws {
        try x.requireNCHW("channel-major conversion")
        self.init(zeros: x.c, batch: x.n, height: x.h, width: x.w)
        let (c, n, plane) = (x.c, x.n, x.h * x.w)
        x.data.withUnsafeBufferPointer { src in
            data.withUnsafeMutableBufferPointer { dst in
                for s in 0..<n {
                    for ch in 0..<c {
                        (dst.baseAddress! + (ch * n + s) * plane)
                            .update(from: src.baseAddress! + (s * c + ch) * plane, count: plane)
                    }
                }
            }
        }
    }

    /// As an NCHW tensor.
    public func nchw() -> Tensor {
        var t = Tensor(zeros: [batch, channels, height, width])
        let plane = height * width
        data.withUnsafeBufferPointer { src in
            t.data.withUnsafeMutableBufferPointer { dst in
                for s in 0..<batch {
                    for ch in 0..<channels {
                        (dst.baseAddress! + (s * channels + ch) * plane)
                            .update(from: src.baseAddress! + (ch * batch + s) * plane, count: plane)
                    }
                }
            }
        }
        return t
    }

    /// Sum of each channel's row, accumulated in Double (bias gradients).
    public func channelSums() -> [Float] {
        let len = rowLength
        var sums = [Float](repeating: 0, count: channels)
        data.withUnsafeBufferPointer { p in
            sums.withUnsafeMutableBufferPointer { out in
                let base = p.baseAddress!, o = out.baseAddress!
                parallelFor(channels) { c in
                    // Four independent sums, so that the Double adds overlap instead of waiting on each other.
                    var (a0, a1, a2, a3) = (0.0, 0.0, 0.0, 0.0)
                    let row = base + c * len
                    var j = 0
                    while j + 4 <= len {
                        a0 += Double(row[j]); a1 += Double(row[j + 1]); a2 += Double(row[j + 2]); a3 += Double(row[j + 3])
                        j += 4
                    }
                    while j < len { a0 += Double(row[j]); j += 1 }
                    o[c] = Float(a0 + a1 + a2 + a3)
                }
            }
        }
        return sums
    }

    /// Sets every value of channel c to `values[c]`.
    public mutating func fillChannels(_ values: [Float]) {
        precondition(values.count == channels)
        let len = rowLength
        data.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            parallelFor(channels) { c in (base + c * len).update(repeating: values[c], count: len) }
        }
    }

    /// Adds `bias[c]` to every value of channel c, then applies `activation` (if any) in the same pass.
    public mutating func addChannelBias(_ bias: [Float], then activation: PointwiseActivation? = nil) {
        precondition(bias.count == channels)
        let len = rowLength
        data.withUnsafeMutableBufferPointer { p in
            bias.withUnsafeBufferPointer { b in
                let base = p.baseAddress!, bb = b.baseAddress!
                // Contiguous ranges of the whole buffer, not whole channels: 3 channels on 2 threads would leave
                // one thread a third idle.
                parallelRanges(channels * len, minChunk: 1 << 15) { r in
                    var i = r.lowerBound
                    while i < r.upperBound {
                        let c = i / len, end = min(r.upperBound, (c + 1) * len), v = bb[c]
                        if let activation {
                            for j in i..<end { base[j] = activation.apply(base[j] + v) }
                        } else {
                            for j in i..<end { base[j] += v }
                        }
                        i = end
                    }
                }
            }
        }
    }
}

/// An array of `count` Floats whose values are unspecified: for buffers written in full before they are read.
func unfilledFloats(_ count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { _, initialised in initialised = count }
}
