import XCTest
import TxnCheckpoint
import TxnTensor
@testable import TxnTexNet

/// The generator as a whole: its backward against central differences (every parameter, both normalisations, both
/// paddings), its size rules, and its state dict (round trip, and files of another kind refused with a message).
final class GeneratorTests: XCTestCase {
    static let tiny = try! TexNetArchitecture(scales: 3, width: 2, noiseChannels: 2, normalisation: .instance)

    func noise(_ a: TexNetArchitecture, batch: Int, side: Int, seed: UInt64) throws -> [ChannelMajor] {
        var rng = SplitMix64(seed: seed)
        return try NoisePyramid.draw(a, batch: batch, height: side, width: side, rng: &rng)
    }

    func dot(_ a: ChannelMajor, _ b: ChannelMajor) -> Double {
        zip(a.data, b.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Central differences of dot(output, r) for every entry of every parameter, compared per parameter as vectors:
    /// ‖numeric − analytic‖ ≤ 5% of ‖analytic‖ plus a floor of 2% of the largest gradient per entry, which covers
    /// the Float noise of the parameters whose gradient is exactly zero (a convolution's bias before a
    /// normalisation, a join's bias before the next block's normalisation). Step 1e-4: LeakyReLU's kinks after
    /// normalisations over 4×4 planes make larger steps mislead (measured on this network, worst error of a
    /// parameter with a real gradient: 15–50% at 1e-2, 2–15% at 1e-3, under 4% at 1e-4, falling with the step as a
    /// correct gradient's must; a five-point stencil does not help with kinks).
    func testBackwardMatchesFiniteDifferencesForEveryParameter() throws {
        for norm in TexNetNormalisation.allCases {
            for padding in [PaddingMode.reflect, .circular] {
                var a = Self.tiny
                a.normalisation = norm
                var rng = SplitMix64(seed: 7)
                let net = TextureNetwork(a, rng: &rng)
                let z = try noise(a, batch: 2, side: 16, seed: 3)
                var r = ChannelMajor(zeros: 3, batch: 2, height: 16, width: 16)
                for i in r.data.indices { r.data[i] = 2 * rng.nextUnit() - 1 }
                for (_, p) in net.namedParameters { p.zeroGradient() }
                let trace = try net.forwardTraining(z, padding: padding)
                try net.backward(r, trace: trace, padding: padding)
                func loss() throws -> Double { dot(try net.forwardTraining(z, padding: padding).output, r) }
                let largest = net.namedParameters.map { $0.parameter.gradient.map { Double(abs($0)) }.max()! }.max()!
                XCTAssertGreaterThan(largest, 0.1)
                for (name, p) in net.namedParameters {
                    let saved = p.value
                    let h: Float = 1e-4
                    var difference = 0.0, analytic = 0.0
                    for i in p.value.indices {
                        func at(_ step: Float) throws -> Double {
                            p.value[i] = saved[i] + step
                            defer { p.value = saved }
                            return try loss()
                        }
                        let numeric = (try at(h) - at(-h)) / Double(2 * h)
                        difference += (numeric - Double(p.gradient[i])) * (numeric - Double(p.gradient[i]))
                        analytic += Double(p.gradient[i]) * Double(p.gradient[i])
                    }
                    let relative = difference.squareRoot() / (analytic.squareRoot() + 2e-2 * largest * Double(p.count).squareRoot())
                    XCTAssertLessThan(relative, 5e-2, "\(norm) \(padding) \(name): relative error \(relative)")
                }
            }
        }
    }

    func testSizesThePyramidCannotMakeAreRefusedWithTheRule() throws {
        let a = try TexNetArchitecture(scales: 5, width: 8)
        XCTAssertNil(a.sizeProblem(width: 32, height: 48))
        for (w, h) in [(100, 128), (16, 64), (0, 32), (-32, 32)] {
            let problem = try XCTUnwrap(a.sizeProblem(width: w, height: h))
            XCTAssertTrue(problem.contains("multiple of 16") && problem.contains("at least 32"), problem)
        }
        var rng = SplitMix64(seed: 1)
        let net = TextureNetwork(a, rng: &rng)
        XCTAssertThrowsError(try TexNetGeneration.generate(net, width: 100, height: 128, seed: 0, tile: false)) { e in
            XCTAssertTrue("\(e)".contains("multiple of 16"), "\(e)")
        }
        // A size the pyramid can make but no machine can hold: a budget error, not an overflow or a crash.
        XCTAssertThrowsError(try TexNetGeneration.generate(net, width: 1 << 40, height: 1 << 40, seed: 0, tile: false)) { e in
            XCTAssertTrue(e is MemoryBudgetError, "\(e)")
        }
        XCTAssertThrowsError(try TexNetArchitecture(scales: 9, width: 8))
        XCTAssertThrowsError(try TexNetArchitecture(scales: 5, width: 0))
    }

    func testSameSeedSameBytesAndTileableOutputWraps() throws {
        var r1 = SplitMix64(seed: 5), r2 = SplitMix64(seed: 5)
        let a = Self.tiny
        let n1 = TextureNetwork(a, rng: &r1), n2 = TextureNetwork(a, rng: &r2)
        let i1 = try TexNetGeneration.generate(n1, width: 16, height: 8, seed: 9, tile: true)
        let i2 = try TexNetGeneration.generate(n2, width: 16, height: 8, seed: 9, tile: true)
        XCTAssertEqual(i1.pixels, i2.pixels)
        XCTAssertNotEqual(i1.pixels, try TexNetGeneration.generate(n1, width: 16, height: 8, seed: 10, tile: true).pixels)
    }

    /// The noise is filled in parallel pieces (each from the stream skipped ahead to its start): it must be exactly
    /// the one sequential stream, scale after scale, and leave the generator where that stream ends.
    func testNoiseFilledInPiecesIsTheOneSequentialStream() throws {
        let a = try TexNetArchitecture(scales: 3, width: 8, noiseChannels: 3)
        var rng = SplitMix64(seed: 11), sequential = SplitMix64(seed: 11)
        let noise = try NoisePyramid.draw(a, batch: 2, height: 512, width: 384, rng: &rng)
        XCTAssertGreaterThan(noise[2].data.count, 2 << 16, "large enough to be filled in more than one piece")
        for z in noise {
            let expected = (0..<z.data.count).map { _ in sequential.nextUnit() }
            XCTAssertEqual(z.data, expected)
        }
        XCTAssertEqual(rng.next(), sequential.next())
        var skipped = SplitMix64(seed: 3).skipped(1000), stepped = SplitMix64(seed: 3)
        for _ in 0..<1000 { _ = stepped.next() }
        XCTAssertEqual(skipped.next(), stepped.next())
    }

    func testCircularPaddingCommutesWithShiftingTheNoise() throws {
        // With circular padding every layer is shift-equivariant on the torus: noise rolled by one coarsest period
        // gives the image rolled by the same amount, so the texture has no seam anywhere.
        let a = Self.tiny
        var rng = SplitMix64(seed: 11)
        let net = TextureNetwork(a, rng: &rng)
        let z = try noise(a, batch: 1, side: 16, seed: 4)
        func roll(_ x: ChannelMajor, by s: Int) -> ChannelMajor {
            var y = x
            for p in 0..<(x.channels * x.batch) { for i in 0..<x.height { for j in 0..<x.width {
                y.data[(p * x.height + i) * x.width + (j + s) % x.width] = x.data[(p * x.height + i) * x.width + j]
            }}}
            return y
        }
        let period = a.period
        let rolled = z.enumerated().map { k, zk in roll(zk, by: a.noiseSide(period, scale: k)) }
        let y = try net.generate(z, padding: .circular), yr = try net.generate(rolled, padding: .circular)
        let expected = roll(y, by: period)
        for (u, v) in zip(yr.data, expected.data) { XCTAssertEqual(u, v, accuracy: 1e-5) }
    }

    func testStateDictRoundTripsAndOtherKindsAreRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("texnet-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for norm in TexNetNormalisation.allCases {
            var a = Self.tiny
            a.normalisation = norm
            var rng = SplitMix64(seed: 21)
            let net = TextureNetwork(a, rng: &rng)
            let path = folder + "/\(norm).pth"
            try net.save(path)
            let back = try TextureNetwork.load(path)
            XCTAssertEqual(back.architecture, a)
            XCTAssertEqual(back.stateEntries.map(\.key), net.stateEntries.map(\.key))
            let z = try noise(a, batch: 1, side: 8, seed: 2)
            XCTAssertEqual(try back.generate(z, padding: .reflect).data, try net.generate(z, padding: .reflect).data)
        }
        // A GAN generator (the seed's keys) given as a texture network.
        let gan = folder + "/gan.pth"
        try Checkpoint.write([CheckpointEntry("generate.0.weight", shape: [4, 3, 4, 4], floats: [Float](repeating: 0, count: 192)),
                              CheckpointEntry("generate.0.bias", shape: [3], floats: [0, 0, 0])], to: gan)
        XCTAssertThrowsError(try TextureNetwork.load(gan)) { e in
            XCTAssertTrue("\(e)".contains(gan) && "\(e)".contains("GAN generator"), "\(e)")
        }
        // A file with a key too many, and one with a key missing.
        var rng = SplitMix64(seed: 22)
        let entries = TextureNetwork(Self.tiny, rng: &rng).stateEntries
        let extra = folder + "/extra.pth", missing = folder + "/missing.pth"
        try Checkpoint.write(entries + [CheckpointEntry("merge.9.conv1.weight", shape: [1], floats: [0])], to: extra)
        try Checkpoint.write(entries.filter { $0.key != "join.1.noise.bias" }, to: missing)
        XCTAssertThrowsError(try TextureNetwork.load(extra)) { XCTAssertTrue("\($0)".contains("unexpected keys"), "\($0)") }
        XCTAssertThrowsError(try TextureNetwork.load(missing)) { XCTAssertTrue("\($0)".contains("missing key join.1.noise.bias"), "\($0)") }
    }
}
