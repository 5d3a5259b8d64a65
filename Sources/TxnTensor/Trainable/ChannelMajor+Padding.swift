extension ChannelMajor {
    /// Every (channel, sample) plane padded by `pad`: channel-major planes are contiguous, so `Pad2D`'s gather over
    /// C·N planes is the whole of it.
    public func padded(_ pad: Pad2D) throws -> ChannelMajor {
        try pad.check(height, width)
        var out = ChannelMajor(unfilled: channels, batch: batch, height: height + 2 * pad.pad, width: width + 2 * pad.pad)
        data.withUnsafeBufferPointer { s in
            out.data.withUnsafeMutableBufferPointer { d in
                pad.forward(s.baseAddress!, d.baseAddress!, planes: channels * batch, h: height, w: width)
            }
        }
        return out
    }

    /// The adjoint of `padded`: this gradient of the padded planes summed back onto the `height` x `width` planes
    /// they were read from (a circular or reflected border pixel adds into the pixel it copies).
    public func unpaddedGradient(_ pad: Pad2D, height h: Int, width w: Int) throws -> ChannelMajor {
        guard height == h + 2 * pad.pad, width == w + 2 * pad.pad else {
            throw TensorError.shapeMismatch("padding backward: a \(height)x\(width) gradient does not fit \(h)x\(w) padded by \(pad.pad)")
        }
        var dx = ChannelMajor(unfilled: channels, batch: batch, height: h, width: w)
        data.withUnsafeBufferPointer { g in
            dx.data.withUnsafeMutableBufferPointer { d in
                pad.backward(g.baseAddress!, d.baseAddress!, planes: channels * batch, h: h, w: w)
            }
        }
        return dx
    }
}
