/// A strided convolution over patches (`StridedConv2D`) or its adjoint (`ConvTranspose2D`): what runs it, the
/// oneDNN primitives or the GEMM path, is chosen the same way for both, by this one rule.
public protocol PatchLayer {
    var inChannels: Int { get }
    var outChannels: Int { get }
    var geometry: PatchGeometry { get }
    /// The adjoint (oneDNN's deconvolution) rather than the convolution.
    static var isTransposed: Bool { get }
}

extension PatchLayer {
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
