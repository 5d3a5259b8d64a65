/// A strided convolution over patches (`StridedConv2D`) or its adjoint (`ConvTranspose2D`): what runs it, the
/// oneDNN primitives or the GEMM path, is chosen the same way for both, by this one rule.
public protocol PatchLayer {
    /// [out, in, k, k] for a convolution, [in, out, k, k] for a transposed one (PyTorch's orders).
    var weight: Parameter { get }
    /// One per output channel.
    var bias: Parameter { get }
    var geometry: PatchGeometry { get }
    /// The adjoint (oneDNN's deconvolution) rather than the convolution.
    static var isTransposed: Bool { get }
}

extension PatchLayer {
    public var inChannels: Int { weight.shape[Self.isTransposed ? 0 : 1] }
    public var outChannels: Int { weight.shape[Self.isTransposed ? 1 : 0] }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        Self.isTransposed ? (geometry.transposedSize(height), geometry.transposedSize(width))
            : (geometry.convolvedSize(height), geometry.convolvedSize(width))
    }

    /// Throws unless the weight is [a, b, k, k] in this kind's order for `geometry`'s kernel and the bias has one
    /// entry per output channel.
    static func checkParameters(weight: Parameter, bias: Parameter, geometry: PatchGeometry) throws {
        let (layer, layout) = isTransposed ? ("transposed convolution", "in, out") : ("convolution", "out, in")
        let k = geometry.kernel, outAxis = isTransposed ? 1 : 0
        guard weight.shape.count == 4, weight.shape[2] == k, weight.shape[3] == k else {
            throw TensorError.invalidShape("\(layer) weight must be [\(layout), \(k), \(k)], got \(weight.shape)")
        }
        guard bias.shape == [weight.shape[outAxis]] else {
            throw TensorError.invalidShape("\(layer) bias must be [\(weight.shape[outAxis])], got \(bias.shape)")
        }
    }

    /// What runs this layer on an input of this size (forward / backward-data / backward-weights), for `txn doctor`.
    public func implementations(batch: Int, height: Int, width: Int) -> String {
        primitives(batch: batch, height: height, width: width)?.implementations ?? "gemm (im2col + sgemm)"
    }

    /// oneDNN's primitives for this layer on an input of this size, or nil: the GEMM path.
    func primitives(batch: Int, height: Int, width: Int) -> DNNLStridedConv? {
        DNNLStridedConv.kernels(.init(kind: Self.isTransposed ? .deconvolution : .convolution, inChannels: inChannels,
                                      outChannels: outChannels, batch: batch, height: height, width: width,
                                      geometry: .init(kernel: geometry.kernel, stride: geometry.stride, padding: geometry.padding)))
    }
}
