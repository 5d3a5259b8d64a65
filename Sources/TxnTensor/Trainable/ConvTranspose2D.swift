/// A transposed convolution ("deconvolution", PyTorch's `ConvTranspose2d`, weight [in, out, k, k]) over a
/// channel-major batch, as the generator uses it: the adjoint of `StridedConv2D`'s data path, so forward here is
/// that layer's backward and vice versa.
///
/// forward:          y = fold(Wᵀ · x) + b                  (each input pixel scatters a k×k stamp)
/// backward data:    dx = W · unfold(dy)
/// backward weights: dW += x · unfold(dy)ᵀ,  db += Σ dy
public struct ConvTranspose2D: Sendable {
    public let weight: Parameter
    public let bias: Parameter
    public let geometry: PatchGeometry

    public var inChannels: Int { weight.shape[0] }
    public var outChannels: Int { weight.shape[1] }
    var stampRows: Int { outChannels * geometry.kernel * geometry.kernel }

    public init(weight: Parameter, bias: Parameter, geometry: PatchGeometry) throws {
        guard weight.shape.count == 4, weight.shape[2] == geometry.kernel, weight.shape[3] == geometry.kernel else {
            throw TensorError.invalidShape("transposed convolution weight must be [in, out, \(geometry.kernel), \(geometry.kernel)], got \(weight.shape)")
        }
        guard bias.shape == [weight.shape[1]] else {
            throw TensorError.invalidShape("transposed convolution bias must be [\(weight.shape[1])], got \(bias.shape)")
        }
        (self.weight, self.bias, self.geometry) = (weight, bias, geometry)
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        (geometry.transposedSize(height), geometry.transposedSize(width))
    }

    public func forward(_ x: ChannelMajor) throws -> ChannelMajor {
        guard x.channels == inChannels else {
            throw TensorError.shapeMismatch("transposed convolution expects \(inChannels) channels, got \(x.channels)")
        }
        let (ho, wo) = outputSize(height: x.height, width: x.width)
        // The fold below assumes the output's convolution maps back onto exactly the input grid.
        guard ho > 0, wo > 0, geometry.convolvedSize(ho) == x.height, geometry.convolvedSize(wo) == x.width else {
            throw TensorError.invalidArgument("transposed convolution cannot map \(x.height)x\(x.width)")
        }
        let n = x.rowLength
        var col = [Float](repeating: 0, count: stampRows * n)
        var y = ChannelMajor(zeros: outChannels, batch: x.batch, height: ho, width: wo)
        weight.value.withUnsafeBufferPointer { w in
            x.data.withUnsafeBufferPointer { xs in
                col.withUnsafeMutableBufferPointer { c in
                    sgemm(transA: true, m: stampRows, n: n, k: inChannels, w.baseAddress!, lda: stampRows,
                          xs.baseAddress!, ldb: n, c.baseAddress!, ldc: n)
                    y.data.withUnsafeMutableBufferPointer { out in
                        geometry.fold(c.baseAddress!, channels: outChannels, batch: x.batch, height: ho, width: wo,
                                      into: out.baseAddress!)
                    }
                }
            }
        }
        y.addChannelBias(bias.value)
        return y
    }

    /// unfold(dy): [O·k·k, N·Hi·Wi], shared by both backward products.
    public func gradientColumns(_ dy: ChannelMajor) throws -> [Float] {
        guard dy.channels == outChannels else {
            throw TensorError.shapeMismatch("transposed convolution backward: gradient has \(dy.channels) channels, expected \(outChannels)")
        }
        let hi = geometry.convolvedSize(dy.height), wi = geometry.convolvedSize(dy.width)
        var col = [Float](repeating: 0, count: stampRows * dy.batch * hi * wi)
        dy.data.withUnsafeBufferPointer { g in
            col.withUnsafeMutableBufferPointer { c in
                geometry.unfold(g.baseAddress!, channels: outChannels, batch: dy.batch, height: dy.height,
                                width: dy.width, into: c.baseAddress!)
            }
        }
        return col
    }

    /// dL/dx from the gradient columns of dL/dy.
    public func backwardData(columns col: [Float], batch: Int, inputHeight h: Int, inputWidth w: Int) -> ChannelMajor {
        var dx = ChannelMajor(zeros: inChannels, batch: batch, height: h, width: w)
        let n = dx.rowLength
        precondition(col.count == stampRows * n, "gradient columns do not fit a \(h)x\(w) input")
        weight.value.withUnsafeBufferPointer { wv in
            col.withUnsafeBufferPointer { c in
                dx.data.withUnsafeMutableBufferPointer { d in
                    sgemm(m: inChannels, n: n, k: stampRows, wv.baseAddress!, lda: stampRows, c.baseAddress!, ldb: n,
                          d.baseAddress!, ldc: n)
                }
            }
        }
        return dx
    }

    /// Accumulates dL/dW (from the input and the gradient columns) and dL/db.
    public func backwardWeights(input x: ChannelMajor, columns col: [Float], gradOutput dy: ChannelMajor) {
        let n = x.rowLength
        precondition(x.channels == inChannels && col.count == stampRows * n)
        x.data.withUnsafeBufferPointer { xs in
            col.withUnsafeBufferPointer { c in
                weight.gradient.withUnsafeMutableBufferPointer { dw in
                    sgemm(transB: true, m: inChannels, n: stampRows, k: n, xs.baseAddress!, lda: n, c.baseAddress!,
                          ldb: n, beta: 1, dw.baseAddress!, ldc: stampRows)
                }
            }
        }
        bias.accumulate(dy.channelSums())
    }
}
