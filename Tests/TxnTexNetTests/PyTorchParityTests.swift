import XCTest
import TxnCheckpoint
import TxnImage
import TxnSynthesis
import TxnTensor
import TxnTestSupport
import TxnVGG
@testable import TxnTexNet

/// txn's texture networks against PyTorch (scripts/texnet.py, scripts/texnet_step.py): the same image from the same
/// file and noise, and the same loss and generator gradients for one training iteration on the real VGG. Whole
/// tensors are compared. Skipped, saying why, when torch cannot be imported.
final class PyTorchParityTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("texnet-py-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func writeNoise(_ z: [ChannelMajor], to path: String) throws {
        try Checkpoint.write(z.enumerated().map { k, zk in
            CheckpointEntry("noise.\(k)", shape: [zk.batch, zk.channels, zk.height, zk.width], floats: zk.nchw().data)
        }, to: path)
    }

    func python(_ script: String, _ arguments: [String]) throws {
        let (status, out, err) = try Python.run([Paths.repoRoot + "/scripts/" + script] + arguments)
        XCTAssertEqual(status, 0, "\(script) failed:\n\(out)\n\(err)")
        if status != 0 { throw CocoaError(.executableLoad) }
    }

    /// max |a − b| / max(|b|, 1e-3-floor) over whole tensors.
    func assertClose(_ a: [Float], _ b: [Float], relative: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = max(b.map { Double(abs($0)) }.max() ?? 0, 1e-12)
        let worst = zip(a, b).map { abs(Double($0) - Double($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst / scale, relative, "\(what): worst difference \(worst) of max \(scale)", file: file, line: line)
    }

    func testPyTorchLoadsTheFileStrictlyAndMakesTheSameImage() throws {
        try Python.requireTorch()
        for norm in TexNetNormalisation.allCases {
            for padding in [PaddingMode.reflect, .circular] {
                let a = try TexNetArchitecture(scales: 4, width: 8, noiseChannels: 3, normalisation: norm)
                var rng = SplitMix64(seed: 31)
                let net = TextureNetwork(a, rng: &rng)
                // Parameters and running statistics away from their initial values, as after training.
                for (_, p) in net.namedParameters { for i in p.value.indices { p.value[i] += 0.3 * (rng.nextUnit() - 0.5) } }
                let warm = try NoisePyramid.draw(a, batch: 2, height: 32, width: 32, rng: &rng)
                if norm == .batch { for _ in 0..<3 { _ = try net.forwardTraining(warm, padding: padding) } }
                let z = try NoisePyramid.draw(a, batch: 2, height: 32, width: 48, rng: &rng)
                let (tPath, zPath, oPath) = (folder + "/t.pth", folder + "/z.pth", folder + "/o.pth")
                try net.save(tPath)
                try writeNoise(z, to: zPath)
                try python("texnet.py", ["generate", tPath, zPath, oPath, padding.rawValue])
                let theirs = try XCTUnwrap(Checkpoint.load(oPath)["image"])
                // Both of txn's paths: the channel-major reference and the blocked maps that generation takes.
                XCTAssertTrue(MapGeneration.supports(a))
                for (path, ours) in [("reference", try net.generate(z, padding: padding).nchw()),
                                     ("blocked maps", try MapGeneration.generate(net, noise: z, padding: padding).nchw())] {
                    XCTAssertEqual(theirs.shape, ours.shape)
                    let worst = zip(theirs.values, ours.data).map { abs($0 - $1) }.max() ?? .infinity
                    XCTAssertLessThanOrEqual(worst, 1e-4, "\(path), \(norm) \(padding)")
                }
            }
        }
    }

    func testOneTrainingIterationMatchesPyTorchOnTheRealVGG() throws {
        try Python.requireTorch()
        let model = try VGG19.load(try Paths.weights(), upTo: VGG19.gatysDeepestLayer)
        // A source with structure at several scales (not constant: its Gram matrices must differ from the images').
        let (sw, sh) = (48, 40)
        var pixels = [Float](repeating: 0, count: 3 * sw * sh)
        for c in 0..<3 { for y in 0..<sh { for x in 0..<sw {
            pixels[(c * sh + y) * sw + x] = 0.5 + 0.4 * sin(Float(x * (c + 1)) * 0.37 + Float(y) * 0.23 * Float(c + 2))
        }}}
        let source = Image(width: sw, height: sh, pixels: pixels)
        for (norm, tile) in [(TexNetNormalisation.instance, false), (.batch, true)] {
            var options = TexNetTrainingOptions()
            (options.normalisation, options.size, options.batch, options.tile, options.seed) = (norm, 32, 2, tile, 3)
            let training = try TexNetTraining(source: source, model: model, options: options)
            // A tiny generator in place of the preset's, for a quick reference run: same code path.
            var rng = SplitMix64(seed: 8)
            let a = try TexNetArchitecture(scales: 3, width: 4, noiseChannels: 3, normalisation: norm)
            let net = TextureNetwork(a, rng: &rng, outputMean: [0.4, 0.5, 0.6])
            let tiny = TexNetTraining(network: net, options: options, objective: training.objective, rng: rng,
                                      moments: net.namedParameters.map { AdamMoments(count: $0.parameter.count) },
                                      iteration: 0, history: [])
            let z = try NoisePyramid.draw(a, batch: 2, height: 32, width: 32, rng: &rng)
            let (tPath, zPath, sPath, oPath) = (folder + "/t.pth", folder + "/z.pth", folder + "/s.pth", folder + "/o.pth")
            try net.save(tPath)
            try writeNoise(z, to: zPath)
            try Checkpoint.write([CheckpointEntry("source", shape: [1, 3, sh, sw], floats: pixels)], to: sPath)
            try python("texnet_step.py", [tPath, zPath, sPath, oPath, options.padding.rawValue])
            let result = try tiny.lossAndGradients(z)
            let theirs = try Checkpoint.load(oPath)
            let loss = try XCTUnwrap(theirs["loss"]).values[0]
            XCTAssertEqual(result.loss, Double(loss), accuracy: 1e-3 * Double(loss), "\(norm) loss")
            XCTAssertGreaterThan(result.loss, 0)
            assertClose(result.images.nchw().data, try XCTUnwrap(theirs["image"]).values, relative: 1e-5, "\(norm) images")
            // Each gradient tensor within 1% of its largest entry; the gradients that are zero in exact arithmetic
            // (a convolution's bias before a normalisation) are Float noise of the loss's scale on both sides, so
            // they are held to 1e-4 of the largest gradient of the network instead.
            let largest = try net.namedParameters.map { name, _ in
                try XCTUnwrap(theirs["grad." + name], name).values.map { Double(abs($0)) }.max() ?? 0
            }.max() ?? 0
            XCTAssertGreaterThan(largest, 0)
            for (name, p) in net.namedParameters {
                let reference = try XCTUnwrap(theirs["grad." + name], name).values
                let scale = max(reference.map { Double(abs($0)) }.max() ?? 0, 1e-2 * largest)
                let worst = zip(p.gradient, reference).map { abs(Double($0) - Double($1)) }.max() ?? .infinity
                XCTAssertLessThanOrEqual(worst, 1e-2 * scale, "\(norm) grad.\(name): worst difference \(worst) of max \(scale)")
            }
        }
    }
}
