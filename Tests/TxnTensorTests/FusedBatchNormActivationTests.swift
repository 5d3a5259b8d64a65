import XCTest
@testable import TxnTensor

/// Batch norm with its activation fused (the GAN's BN+ReLU and BN+leaky ReLU) must give what batch norm followed by
/// the separate activation gives, forward and backward, including the parameter gradients and running statistics.
final class FusedBatchNormActivationTests: XCTestCase {
    private func values(_ n: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 400  // [-2.5, 2.5]
        }
    }

    private func norm(seed: UInt64) throws -> BatchNorm2D {
        let c = 5
        return try BatchNorm2D(weight: Parameter(shape: [c], value: values(c, seed: seed).map { 1 + $0 / 4 }),
                               bias: Parameter(shape: [c], value: values(c, seed: seed + 1).map { $0 / 5 }),
                               runningMean: values(c, seed: seed + 2), runningVar: values(c, seed: seed + 3).map { 1 + abs($0) })
    }

    func testFusedMatchesSeparate() throws {
        for (activation, slope) in [(PointwiseActivation.relu, Float(0)), (.leakyReLU(slope: 0.2), 0.2)] {
            let x = try ChannelMajor(channels: 5, batch: 3, height: 7, width: 6, data: values(5 * 3 * 7 * 6, seed: 7))
            let dy = try ChannelMajor(channels: 5, batch: 3, height: 7, width: 6, data: values(5 * 3 * 7 * 6, seed: 8))
            let (a, b) = (try norm(seed: 1), try norm(seed: 1))
            var ya = x, yb = x
            let savedA = try a.forwardTraining(&ya, then: activation)
            let savedB = try b.forwardTraining(&yb)
            if slope == 0 { Activation.relu(&yb) } else { Activation.leakyReLU(&yb, slope: slope) }
            XCTAssertEqual(ya.data, yb.data)
            XCTAssertEqual(a.runningMean, b.runningMean)
            XCTAssertEqual(a.runningVar, b.runningVar)
            // The activation really acted: some outputs were negative before it.
            XCTAssertTrue(ya.data.contains { slope == 0 ? $0 == 0 : $0 < 0 })

            var ga = dy, gb = dy
            a.backward(&ga, saved: savedA, after: activation, output: ya)
            if slope == 0 { Activation.reluBackward(&gb, output: yb) } else { Activation.leakyReLUBackward(&gb, output: yb, slope: slope) }
            b.backward(&gb, saved: savedB)
            for (u, v) in zip(ga.data, gb.data) { XCTAssertEqual(u, v, accuracy: 1e-6) }
            for (u, v) in zip(a.weight.gradient, b.weight.gradient) { XCTAssertEqual(u, v, accuracy: 1e-5) }
            for (u, v) in zip(a.bias.gradient, b.bias.gradient) { XCTAssertEqual(u, v, accuracy: 1e-5) }
            XCTAssertGreaterThan(a.weight.gradient.map(abs).max()!, 0.01)
        }
    }
}
