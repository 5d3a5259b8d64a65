extension ConvTranspose2D {
    /// dL/dx for the input channels `channels` only: those rows of W · unfold(dy). The GAN's generator needs the
    /// gradient of its noise input only on PSGAN's periodic channels (the rest is random noise, not learnt), so
    /// it multiplies a few rows of W instead of all of them.
    public func backwardData(columns col: [Float], batch: Int, inputHeight h: Int, inputWidth w: Int,
                             channels: Range<Int>) -> ChannelMajor {
        precondition(channels.lowerBound >= 0 && channels.upperBound <= inChannels, "input channels \(channels) of \(inChannels)")
        var dx = ChannelMajor(unfilled: channels.count, batch: batch, height: h, width: w)  // β = 0
        let n = dx.rowLength
        precondition(col.count == stampRows * n, "gradient columns do not fit a \(h)x\(w) input")
        guard !channels.isEmpty, n > 0 else { return dx }
        weight.value.withUnsafeBufferPointer { wv in
            col.withUnsafeBufferPointer { c in
                dx.data.withUnsafeMutableBufferPointer { d in
                    sgemm(m: channels.count, n: n, k: stampRows, wv.baseAddress! + channels.lowerBound * stampRows,
                          lda: stampRows, c.baseAddress!, ldb: n, d.baseAddress!, ldc: n)
                }
            }
        }
        return dx
    }
}
