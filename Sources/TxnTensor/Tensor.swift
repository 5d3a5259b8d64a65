/// A dense Float32 tensor in row-major order; images and feature maps are NCHW.
///
/// A value type over one contiguous `[Float]`: copies are cheap until written (copy-on-write), and hot
/// loops reach the storage through `withUnsafe…BufferPointer` so they never pay for a uniqueness check
/// per element.
public struct Tensor: Equatable, Sendable {
    public private(set) var shape: [Int]
    public var data: [Float]

    /// Wraps `data`; its count must equal the product of `shape`.
    public init(shape: [Int], data: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidShape("shape \(shape) has a negative dimension")
        }
        let count = shape.reduce(1, *)
        guard data.count == count else {
            throw TensorError.invalidShape("shape \(shape) needs \(count) values, got \(data.count)")
        }
        self.shape = shape
        self.data = data
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// A tensor whose element at flat index `i` is `value(i)`.
    public init(shape: [Int], _ value: (Int) -> Float) {
        self.init(zeros: shape)
        for i in data.indices { data[i] = value(i) }
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// NCHW accessors; only meaningful for rank-4 tensors.
    public var n: Int { shape[0] }
    public var c: Int { shape[1] }
    public var h: Int { shape[2] }
    public var w: Int { shape[3] }

    /// Checks that the tensor is NCHW with the given channel count (nil: any), for layer entry points.
    public func requireNCHW(channels: Int? = nil, _ layer: @autoclosure () -> String) throws {
        guard rank == 4 else {
            throw TensorError.shapeMismatch("\(layer()) expects an NCHW tensor, got shape \(shape)")
        }
        if let channels, c != channels {
            throw TensorError.shapeMismatch(
                "\(layer()) expects \(channels) input channels, got \(c) (shape \(shape))")
        }
    }
}

/// What went wrong with a tensor's shape or an argument of a tensor operation.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    case invalidShape(String)
    case shapeMismatch(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .invalidShape(let m), .shapeMismatch(let m), .invalidArgument(let m): return m
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let dims = shape.map(String.init).joined(separator: "x")
        return "Tensor(\(dims))"
    }
}

// MARK: - Elementwise helpers used by losses and optimisers

extension Tensor {
    /// Sum of all elements, accumulated in Double so the order of summation barely matters.
    public func sum() -> Double {
        data.withUnsafeBufferPointer { p in
            var s = 0.0
            for v in p { s += Double(v) }
            return s
        }
    }

    /// Mean and population standard deviation, in Double.
    public func meanAndStd() -> (mean: Double, std: Double) {
        guard count > 0 else { return (0, 0) }
        let mean = sum() / Double(count)
        var sq = 0.0
        data.withUnsafeBufferPointer { p in
            for v in p { let d = Double(v) - mean; sq += d * d }
        }
        return (mean, (sq / Double(count)).squareRoot())
    }
}

extension Tensor {
    /// Elementwise a += b; shapes must match.
    public static func += (a: inout Tensor, b: Tensor) {
        precondition(a.shape == b.shape, "adding \(b.shape) to \(a.shape)")
        let count = a.count
        a.data.withUnsafeMutableBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                let x = ap.baseAddress!, y = bp.baseAddress!
                parallelRanges(count, minChunk: 1 << 16) { r in for i in r { x[i] += y[i] } }
            }
        }
    }
}
