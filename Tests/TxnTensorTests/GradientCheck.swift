import XCTest
@testable import TxnTensor

/// Deterministic "random" tensors, so every test sees the same ones.
struct TestRNG {
    var generator: SplitMix64
    init(_ seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { generator.next() }
    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * generator.nextUnit()
    }
    mutating func tensor(_ shape: [Int], _ lo: Float = -1, _ hi: Float = 1) -> Tensor {
        Tensor(shape: shape) { _ in uniform(lo, hi) }
    }
}

/// L(x) = Σ r ⊙ f(x) in Double, so that dL/dy = r and the analytic gradient is backward(r).
func dot(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.shape == b.shape)
    var s = 0.0
    for i in a.data.indices { s += Double(a.data[i]) * Double(b.data[i]) }
    return s
}

/// Central differences of `loss` at every element of `values`, against `analytic` (relative to its largest entry,
/// which must not vanish: a gradient of zeros would match a flat loss).
func assertGradient(_ analytic: [Float], _ values: [Float], eps: Float = 1e-2, tolerance: Double = 2e-3,
                    file: StaticString = #filePath, line: UInt = #line, _ loss: ([Float]) throws -> Double) rethrows {
    XCTAssertEqual(analytic.count, values.count, file: file, line: line)
    let scale = max(analytic.reduce(0.0) { max($0, Double(abs($1))) }, 1e-6)
    XCTAssertGreaterThan(scale, 1e-3, "the gradient should not vanish", file: file, line: line)
    var worst = 0.0
    for i in values.indices {
        var plus = values, minus = values
        plus[i] += eps
        minus[i] -= eps
        let numeric = (try loss(plus) - loss(minus)) / (Double(plus[i]) - Double(minus[i]))
        worst = max(worst, abs(numeric - Double(analytic[i])) / scale)
    }
    XCTAssertLessThan(worst, tolerance, "worst gradient error \(worst) of max \(scale)", file: file, line: line)
}

/// The gradient a layer accumulated in `parameter`, against central differences of `loss` with the parameter's
/// values moved (and put back).
func assertGradient(of parameter: Parameter, eps: Float = 1e-2, tolerance: Double = 2e-3,
                    file: StaticString = #filePath, line: UInt = #line, _ loss: () throws -> Double) rethrows {
    let saved = parameter.value
    try assertGradient(parameter.gradient, saved, eps: eps, tolerance: tolerance, file: file, line: line) { v in
        parameter.value = v
        defer { parameter.value = saved }
        return try loss()
    }
}

/// Compares an analytic gradient with central differences at every element (or `samples` of them).
func assertGradientMatches(
    _ analytic: Tensor, at x: Tensor, eps: Float = 1e-2, tolerance: Double = 2e-3,
    samples: Int? = nil, file: StaticString = #filePath, line: UInt = #line,
    _ loss: (Tensor) throws -> Double
) rethrows {
    XCTAssertEqual(analytic.shape, x.shape, file: file, line: line)
    var rng = TestRNG(99)
    let indices = samples.map { k in (0..<k).map { _ in Int(rng.next() % UInt64(x.count)) } } ?? Array(0..<x.count)
    var scale = 0.0
    for v in analytic.data { scale = max(scale, Double(abs(v))) }
    var worst = 0.0, worstIndex = -1, worstNumeric = 0.0, largestNumeric = 0.0
    for i in indices {
        var xp = x, xm = x
        xp.data[i] += eps
        xm.data[i] -= eps
        // The step actually taken in Float, not the nominal eps.
        let step = Double(xp.data[i]) - Double(xm.data[i])
        let numeric = (try loss(xp) - loss(xm)) / step
        let err = abs(numeric - Double(analytic.data[i])) / max(scale, 1e-6)
        largestNumeric = max(largestNumeric, abs(numeric))
        if err > worst { (worst, worstIndex, worstNumeric) = (err, i, numeric) }
    }
    // Every sampled element is compared and the worst is reported (failing at the first one made the final
    // check unreachable). A gradient of zeros would match a flat loss at any tolerance: the loss must move.
    XCTAssertGreaterThan(largestNumeric, 1e-4, "the loss does not change at the sampled elements", file: file, line: line)
    XCTAssertLessThanOrEqual(worst, tolerance, worstIndex < 0 ? "" :
        "gradient at \(worstIndex): analytic \(analytic.data[worstIndex]) vs numeric \(worstNumeric) (error \(worst) of max \(scale))",
        file: file, line: line)
}
