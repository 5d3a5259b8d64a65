import XCTest
@testable import TxnSynthesis

final class OptimizerTests: XCTestCase {
    /// Rosenbrock in 2-D: minimum 0 at (1, 1), a curved valley that plain gradient descent crawls along.
    static func rosenbrock(_ x: [Float]) -> (Double, [Float]) {
        let a = Double(x[0]), b = Double(x[1])
        let f = (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a)
        let ga = -2 * (1 - a) - 400 * a * (b - a * a), gb = 200 * (b - a * a)
        return (f, [Float(ga), Float(gb)])
    }

    func testLBFGSSolvesRosenbrock() throws {
        var x: [Float] = [-1.2, 1]
        var lbfgs = LBFGS(history: 10)
        let objective = Objective { Self.rosenbrock($0) }
        var value = 0.0
        for _ in 0..<100 {
            let step = try lbfgs.step(&x, objective)
            value = step.value
            if step.converged { break }
        }
        XCTAssertLessThan(value, 1e-6)
        XCTAssertEqual(x[0], 1, accuracy: 1e-3)
        XCTAssertEqual(x[1], 1, accuracy: 1e-3)
    }

    func testLBFGSRespectsBoundsAndFindsTheConstrainedMinimum() throws {
        // min Σ (x_i - c_i)² over [0, 1]: the answer is c clipped to the box.
        let c: [Float] = [-0.5, 0.3, 1.7, 0.9, 2, -3]
        let objective = Objective(lower: [Float](repeating: 0, count: 6), upper: [Float](repeating: 1, count: 6)) { x in
            var f = 0.0
            var g = [Float](repeating: 0, count: x.count)
            for i in x.indices { let d = x[i] - c[i]; f += Double(d * d); g[i] = 2 * d }
            return (f, g)
        }
        var x = [Float](repeating: 0.5, count: 6)
        var lbfgs = LBFGS(history: 5)
        for _ in 0..<20 { if try lbfgs.step(&x, objective).converged { break } }
        for i in x.indices {
            XCTAssertEqual(x[i], min(max(c[i], 0), 1), accuracy: 1e-4)
            XCTAssertTrue(x[i] >= 0 && x[i] <= 1)
        }
    }

    func testAdamConvergesOnAQuadratic() throws {
        let objective = Objective { x in
            (Double(x[0] * x[0] + 10 * x[1] * x[1]), [2 * x[0], 20 * x[1]])
        }
        var x: [Float] = [1, -1]
        var adam = Adam(learningRate: 0.05)
        for _ in 0..<500 { _ = try adam.step(&x, objective) }
        XCTAssertEqual(x[0], 0, accuracy: 0.02)
        XCTAssertEqual(x[1], 0, accuracy: 0.02)
    }

    func testCubicInterpolationFindsTheMinimumOfACubic() {
        // f(t) = (t - 2)² has f(0)=4, f'(0)=-4, f(3)=1, f'(3)=2: the fitted cubic's minimum is 2.
        XCTAssertEqual(StrongWolfe.cubicInterpolate(0, 4, -4, 3, 1, 2), 2, accuracy: 1e-9)
    }
}
