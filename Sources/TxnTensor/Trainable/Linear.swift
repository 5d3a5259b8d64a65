/// A fully connected layer, PyTorch's `nn.Linear` (weight [out, in], bias [out]), on a batch of row vectors
/// stored row-major, [N][in] → [N][out]. The GAN uses it for PSGAN's small MLP from the global noise code to the
/// periodic channels' wave vectors.
///
/// forward:          y = x · Wᵀ + b
/// backward data:    dx = dy · W
/// backward weights: dW += dyᵀ · x,  db += Σₙ dy
public struct Linear: Sendable {
    public let weight: Parameter
    public let bias: Parameter

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public init(weight: Parameter, bias: Parameter) throws {
        guard weight.shape.count == 2, weight.shape[0] > 0, weight.shape[1] > 0 else {
            throw TensorError.invalidShape("linear weight must be [out, in] with both at least 1, got \(weight.shape)")
        }
        guard bias.shape == [weight.shape[0]] else {
            throw TensorError.invalidShape("linear bias must be [\(weight.shape[0])], got \(bias.shape)")
        }
        (self.weight, self.bias) = (weight, bias)
    }

    /// PyTorch's default initialisation: weight and bias uniform in ±1/√in.
    public init(inFeatures: Int, outFeatures: Int, rng: inout SplitMix64) {
        let bound = 1 / Float(inFeatures).squareRoot()
        func draw(_ n: Int) -> [Float] { (0..<n).map { _ in (rng.nextUnit() * 2 - 1) * bound } }
        try! self.init(weight: Parameter(shape: [outFeatures, inFeatures], value: draw(outFeatures * inFeatures)),
                       bias: Parameter(shape: [outFeatures], value: draw(outFeatures)))
    }

    /// x: [batch][in] → [batch][out].
    public func forward(_ x: [Float], batch: Int) -> [Float] {
        precondition(x.count == batch * inFeatures, "linear: \(x.count) inputs for a batch of \(batch) × \(inFeatures)")
        var y = [Float](repeating: 0, count: batch * outFeatures)
        guard batch > 0 else { return y }
        for n in 0..<batch { for o in 0..<outFeatures { y[n * outFeatures + o] = bias.value[o] } }
        x.withUnsafeBufferPointer { xs in
            weight.value.withUnsafeBufferPointer { w in
                y.withUnsafeMutableBufferPointer { out in
                    sgemm(transB: true, m: batch, n: outFeatures, k: inFeatures, xs.baseAddress!, lda: inFeatures,
                          w.baseAddress!, ldb: inFeatures, beta: 1, out.baseAddress!, ldc: outFeatures)
                }
            }
        }
        return y
    }

    /// dL/dx [batch][in] from dL/dy [batch][out].
    public func backwardData(_ dy: [Float], batch: Int) -> [Float] {
        precondition(dy.count == batch * outFeatures)
        var dx = [Float](repeating: 0, count: batch * inFeatures)
        guard batch > 0 else { return dx }
        dy.withUnsafeBufferPointer { g in
            weight.value.withUnsafeBufferPointer { w in
                dx.withUnsafeMutableBufferPointer { out in
                    sgemm(m: batch, n: inFeatures, k: outFeatures, g.baseAddress!, lda: outFeatures, w.baseAddress!,
                          ldb: inFeatures, out.baseAddress!, ldc: inFeatures)
                }
            }
        }
        return dx
    }

    /// Accumulates dL/dW and dL/db from the input and dL/dy.
    public func backwardWeights(input x: [Float], gradOutput dy: [Float], batch: Int) {
        precondition(x.count == batch * inFeatures && dy.count == batch * outFeatures)
        guard batch > 0 else { return }
        dy.withUnsafeBufferPointer { g in
            x.withUnsafeBufferPointer { xs in
                weight.gradient.withUnsafeMutableBufferPointer { dw in
                    sgemm(transA: true, m: outFeatures, n: inFeatures, k: batch, g.baseAddress!, lda: outFeatures,
                          xs.baseAddress!, ldb: inFeatures, beta: 1, dw.baseAddress!, ldc: inFeatures)
                }
            }
        }
        var db = [Float](repeating: 0, count: outFeatures)
        for n in 0..<batch { for o in 0..<outFeatures { db[o] += dy[n * outFeatures + o] } }
        bias.accumulate(db)
    }
}
