import Foundation
import TxnTensor

/// The discriminator: 4×4 stride-2 convolutions; LeakyReLU(0.2) after the first, batch norm and LeakyReLU after
/// each hidden one, and the last gives one logit per patch (the seed applies a sigmoid there; txn keeps the logit
/// and takes the sigmoid inside the loss, so log 0 never happens). State-dict keys follow the seed's
/// `nn.Sequential`: conv 0 at `discriminate.0`, then conv i at `discriminate.{3i−1}` and its batch norm at
/// `discriminate.{3i}`.
public final class Discriminator: @unchecked Sendable {
    public let channels: [Int]
    let convolutions: [StridedConv2D]
    /// norms[i] follows convolution i+1.
    let norms: [BatchNorm2D]

    public init(channels: [Int], rng: inout SplitMix64) {
        self.channels = channels
        var convs: [StridedConv2D] = []
        for i in 0..<(channels.count - 1) {
            let shape = [channels[i + 1], channels[i], 4, 4]
            let w = Parameter(shape: shape, value: (0..<shape.reduce(1, *)).map { _ in rng.nextGaussian() * GANArchitecture.initialStd })
            convs.append(try! StridedConv2D(weight: w, bias: Parameter(zeros: [channels[i + 1]]), geometry: GANArchitecture.geometry))
        }
        convolutions = convs
        norms = channels[2..<(channels.count - 1)].map { BatchNorm2D(channels: $0) }
    }

    init(channels: [Int], convolutions: [StridedConv2D], norms: [BatchNorm2D]) {
        (self.channels, self.convolutions, self.norms) = (channels, convolutions, norms)
    }

    static func convolutionKey(_ i: Int) -> String { i == 0 ? "discriminate.0" : "discriminate.\(3 * i - 1)" }
    static func normKey(_ i: Int) -> String { "discriminate.\(3 * (i + 1))" }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        var out: [(String, Parameter)] = []
        for (i, conv) in convolutions.enumerated() {
            out.append((Self.convolutionKey(i) + ".weight", conv.weight))
            out.append((Self.convolutionKey(i) + ".bias", conv.bias))
            if i >= 1 && i - 1 < norms.count {
                out.append((Self.normKey(i - 1) + ".weight", norms[i - 1].weight))
                out.append((Self.normKey(i - 1) + ".bias", norms[i - 1].bias))
            }
        }
        return out
    }

    var namedNorms: [(prefix: String, norm: BatchNorm2D)] {
        norms.enumerated().map { (Self.normKey($0.offset), $0.element) }
    }

    public struct Trace: Sendable {
        /// Input of each convolution: the image, then each LeakyReLU output.
        var inputs: [ChannelMajor]
        /// unfold(inputs[i]) when the forward kept them for the weight gradients; backward releases each once used.
        let columns: ColumnStore
        var normalised: [BatchNorm2D.Saved]
        /// One logit per patch, [1][N][h][w].
        public var logits: ChannelMajor
    }

    /// The inputs of a forward as the weight gradients take them (unfolded on the GEMM path, 134 MB at most at
    /// the seed preset; in oneDNN's blocked layout on the primitive path, 16 times smaller). A reference, so that
    /// backward can free each as soon as its layer is done, while the trace lives on.
    final class ColumnStore: @unchecked Sendable {
        var columns: [StridedConv2D.KeptInput?]
        init(count: Int) { columns = Array(repeating: nil, count: count) }
    }

    /// Training mode (batch statistics; running statistics updated, as every PyTorch forward in train mode does).
    /// With `keepColumns`, each convolution's unfolded input is kept for `backward(weights: true)`, which then
    /// does not unfold the same input again.
    public func forwardTraining(_ x: ChannelMajor, keepColumns: Bool = false) throws -> Trace {
        guard x.channels == channels[0] else {
            throw GANError("the discriminator takes \(channels[0]) channels, got \(x.channels)")
        }
        var inputs: [ChannelMajor] = [x], saved: [BatchNorm2D.Saved] = []
        let store = ColumnStore(count: convolutions.count), keep = keepColumns
        var a = x
        for (i, conv) in convolutions.enumerated() {
            let leaky = PointwiseActivation.leakyReLU(slope: GANArchitecture.leakySlope)
            // The first convolution has no batch norm: its activation rides on the bias pass.
            let activation = i == 0 && convolutions.count > 1 ? leaky : nil
            var u: ChannelMajor
            if keep {
                let kept = try conv.forwardKeepingInput(a, then: activation)
                (u, store.columns[i]) = (kept.output, kept.kept)
            } else {
                u = try conv.forward(a, then: activation)
            }
            if i == convolutions.count - 1 { a = u; break }
            if i >= 1 { saved.append(try norms[i - 1].forwardTraining(&u, then: leaky)) }
            inputs.append(u)
            a = u
        }
        return Trace(inputs: inputs, columns: store, normalised: saved, logits: a)
    }

    /// Back-propagates dL/dlogits. With `weights`, accumulates the convolutions' weight gradients (batch-norm
    /// parameter gradients always accumulate: they cost nothing). Returns dL/d(image) when `inputGradient`.
    @discardableResult
    public func backward(_ dLogits: ChannelMajor, trace: Trace, weights: Bool, inputGradient: Bool) throws -> ChannelMajor? {
        var grad = dLogits
        for i in stride(from: convolutions.count - 1, through: 0, by: -1) {
            let conv = convolutions[i], input = trace.inputs[i]
            let kept = trace.columns.columns[i]
            trace.columns.columns[i] = nil  // `kept` holds the last reference: freed after this layer
            let data = i > 0 || inputGradient
            let leaky = PointwiseActivation.leakyReLU(slope: GANArchitecture.leakySlope)
            // Into the first convolution's output (no batch norm) the activation's backward rides on the fold.
            let dx = try conv.backward(grad, input: input, kept: kept, weights: weights, data: data,
                                       through: i == 1 ? leaky : nil, output: i == 1 ? input : nil)
            guard data, let dx else { return nil }
            grad = dx
            guard i > 0 else { return grad }
            if i >= 2 { norms[i - 2].backward(&grad, saved: trace.normalised[i - 2], after: leaky, output: input) }
        }
        return grad
    }
}
