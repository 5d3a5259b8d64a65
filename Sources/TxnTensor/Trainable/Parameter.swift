/// A trainable tensor and its gradient, shared by reference between the layer that uses it, the optimiser that
/// moves it and the checkpoint code that names it.
public final class Parameter: @unchecked Sendable {
    public let shape: [Int]
    public var value: [Float]
    /// dL/dvalue, accumulated by backward passes until `zeroGradient()` (PyTorch's `.grad`).
    public var gradient: [Float]

    public init(shape: [Int], value: [Float]) {
        precondition(shape.reduce(1, *) == value.count, "parameter \(shape) with \(value.count) values")
        self.shape = shape
        self.value = value
        gradient = [Float](repeating: 0, count: value.count)
    }

    public convenience init(zeros shape: [Int]) {
        self.init(shape: shape, value: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { value.count }

    public func zeroGradient() {
        gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// gradient += g
    public func accumulate(_ g: [Float]) {
        precondition(g.count == gradient.count)
        gradient.withUnsafeMutableBufferPointer { d in
            g.withUnsafeBufferPointer { s in
                for i in 0..<d.count { d[i] += s[i] }
            }
        }
    }
}
