@testable import TxnTensor

/// ReLU and leaky ReLU as passes of their own, which the product never makes (it fuses them into batch norm and the
/// convolutions): the reference the fused layers are compared with, and the layers the gradient checks take apart.
extension Activation {
    /// max(x, 0); the gradient passes where the output is positive.
    static func relu(_ x: inout ChannelMajor) {
        map(&x) { PointwiseActivation.relu.apply($0) }
    }

    /// x for x > 0, slope·x otherwise; the output's sign is the input's, so the output decides the slope.
    static func leakyReLU(_ x: inout ChannelMajor, slope: Float) {
        let f = PointwiseActivation.leakyReLU(slope: slope)
        map(&x) { f.apply($0) }
    }

    /// dL/dx of ReLU in place, given its output.
    static func reluBackward(_ grad: inout ChannelMajor, output y: ChannelMajor) {
        zip(&grad, y) { g, y in PointwiseActivation.relu.gradient(g, output: y) }
    }

    static func leakyReLUBackward(_ grad: inout ChannelMajor, output y: ChannelMajor, slope: Float) {
        let f = PointwiseActivation.leakyReLU(slope: slope)
        zip(&grad, y) { g, y in f.gradient(g, output: y) }
    }
}
