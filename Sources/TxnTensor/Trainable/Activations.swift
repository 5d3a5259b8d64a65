import Foundation

/// The activation that follows a batch norm in the GAN's networks, applied inside the batch norm's own passes
/// (forward and backward) instead of a pass of its own over memory.
public enum PointwiseActivation: Sendable, Equatable {
    case relu
    case leakyReLU(slope: Float)

    @inline(__always) public func apply(_ v: Float) -> Float {
        switch self {
        case .relu: return max(v, 0)
        case .leakyReLU(let slope): return v > 0 ? v : v * slope
        }
    }

    /// dL/dx from dL/dy and the output y (its sign is the input's, so the output decides the slope).
    @inline(__always) public func gradient(_ g: Float, output y: Float) -> Float {
        switch self {
        case .relu: return y > 0 ? g : 0
        case .leakyReLU(let slope): return y > 0 ? g : g * slope
        }
    }
}

/// Elementwise activations of the trainable networks, in place on channel-major batches. Each backward needs only
/// the forward's output, so nothing else is kept.
public enum Activation {
    public static func tanh(_ x: inout ChannelMajor) {
        map(&x) { Foundation.tanh($0) }
    }

    /// `activation` in place (the case is chosen outside the loop, so that the loop vectorises).
    public static func apply(_ activation: PointwiseActivation, _ x: inout ChannelMajor) {
        switch activation {
        case .relu: map(&x) { max($0, 0) }
        case .leakyReLU(let slope): map(&x) { $0 > 0 ? $0 : $0 * slope }
        }
    }

    /// dL/dx of `activation` in place, given its output.
    public static func applyGradient(_ activation: PointwiseActivation, _ grad: inout ChannelMajor, output y: ChannelMajor) {
        switch activation {
        case .relu: zip(&grad, y) { g, y in y > 0 ? g : 0 }
        case .leakyReLU(let slope): zip(&grad, y) { g, y in y > 0 ? g : g * slope }
        }
    }

    /// d tanh = 1 − tanh².
    public static func tanhBackward(_ grad: inout ChannelMajor, output y: ChannelMajor) {
        zip(&grad, y) { g, y in g * (1 - y * y) }
    }

    @inline(__always)
    static func map(_ x: inout ChannelMajor, _ f: (Float) -> Float) {
        let count = x.count
        x.data.withUnsafeMutableBufferPointer { p in
            let b = p.baseAddress!
            parallelRanges(count, minChunk: 1 << 15) { r in for i in r { b[i] = f(b[i]) } }
        }
    }

    @inline(__always)
    static func zip(_ g: inout ChannelMajor, _ y: ChannelMajor, _ f: (Float, Float) -> Float) {
        precondition(g.count == y.count)
        let count = g.count
        g.data.withUnsafeMutableBufferPointer { gp in
            y.data.withUnsafeBufferPointer { yp in
                let gb = gp.baseAddress!, yb = yp.baseAddress!
                parallelRanges(count, minChunk: 1 << 15) { r in for i in r { gb[i] = f(gb[i], yb[i]) } }
            }
        }
    }
}

/// Binary cross-entropy of sigmoid(z) against a constant label, computed from the logits z so that it never takes
/// log 0: per element softplus(z) − label·z = −[label·log σ(z) + (1−label)·log(1−σ(z))]; the mean over all
/// elements, as PyTorch's `binary_cross_entropy(sigmoid(z), label)`. Gradient: (σ(z) − label)/count.
public enum SigmoidBCE {
    public static func sigmoid(_ z: Float) -> Float {
        z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
    }

    /// log(1 + eᶻ) without overflow.
    static func softplus(_ z: Double) -> Double {
        z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))
    }

    public static func loss(logits z: [Float], label: Float) -> Double {
        guard !z.isEmpty else { return 0 }
        var s = 0.0
        for v in z { s += softplus(Double(v)) - Double(label) * Double(v) }
        return s / Double(z.count)
    }

    public static func gradient(logits z: [Float], label: Float) -> [Float] {
        let scale = 1 / Float(z.count)
        return z.map { (sigmoid($0) - label) * scale }
    }
}
