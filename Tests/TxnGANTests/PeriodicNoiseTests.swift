import Foundation
import TxnCheckpoint
@testable import TxnImage
import TxnTensor
import TxnTestSupport
import XCTest
@testable import TxnGAN

/// PSGAN's periodic noise: its layout, its gradients (the MLP's, and G's with respect to its input) against
/// central differences, checkpoints and resume, and seamless tiling. In an extension of `GANTests` for its source
/// texture, options and seam measurement.
extension GANTests {
    func periodicOptions(crop: Int = 64) -> GANTrainingOptions {
        var o = options()
        (o.periodic, o.crop) = (true, crop)
        return o
    }

    func uniform(_ rng: inout SplitMix64, _ n: Int) -> [Float] { (0..<n).map { _ in rng.nextUnit() * 2 - 1 } }

    func inner(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }

    /// Central differences of `loss` in each value of `p`, against p's accumulated gradient.
    func assertParameterGradient(_ p: Parameter, _ name: String, eps: Float = 1e-2, tolerance: Double = 3e-3,
                                 file: StaticString = #filePath, line: UInt = #line, _ loss: () throws -> Double) rethrows {
        let scale = max(p.gradient.reduce(0.0) { max($0, Double(abs($1))) }, 1e-9)
        XCTAssertGreaterThan(scale, 1e-4, "\(name): the gradient should not vanish", file: file, line: line)
        var worst = 0.0
        for i in p.value.indices {
            let v = p.value[i]
            p.value[i] = v + eps
            let plus = try loss()
            p.value[i] = v - eps
            let minus = try loss()
            p.value[i] = v
            let numeric = (plus - minus) / (Double(v + eps) - Double(v - eps))
            worst = max(worst, abs(numeric - Double(p.gradient[i])) / scale)
        }
        XCTAssertLessThan(worst, tolerance, "\(name): worst gradient error \(worst) of max \(scale)", file: file, line: line)
    }

    func testPeriodicNoiseHasGlobalLocalAndSineChannels() throws {
        var rng = SplitMix64(seed: 21)
        let layout = try NoiseLayout(global: 3, local: 2, periodic: 2, hidden: 5)
        let noise = PeriodicNoise(layout: layout, rng: &rng)
        let d = noise.draw(batch: 2, height: 3, width: 4, rng: &rng)
        let z = d.noise, plane = 12
        XCTAssertEqual([z.channels, z.batch, z.height, z.width], [7, 2, 3, 4])
        func at(_ c: Int, _ n: Int, _ y: Int, _ x: Int) -> Float { z.data[((c * 2 + n) * 3 + y) * 4 + x] }
        for c in layout.globalChannels {
            for n in 0..<2 { XCTAssertEqual(Set(z.data[((c * 2 + n) * plane)..<((c * 2 + n + 1) * plane)]).count, 1, "global: one value per sample") }
            XCTAssertNotEqual(at(c, 0, 0, 0), at(c, 1, 0, 0))
        }
        for c in layout.localChannels { XCTAssertEqual(Set(z.data[(c * 2 * plane)..<((c + 1) * 2 * plane)]).count, 2 * plane) }
        // The wave vectors are the MLP of each sample's global code, and each sine channel is sin(k·(x, y) + φ).
        let codes = (0..<2).flatMap { n in layout.globalChannels.map { at($0, n, 0, 0) } }
        let hidden = noise.hiddenLayer.forward(codes, batch: 2).map { max($0, 0) }
        let waves = noise.waveLayer.forward(hidden, batch: 2)
        XCTAssertEqual(noise.waves(of: d), waves)
        XCTAssertNotEqual(waves[0], waves[2], "samples with different codes get different wave vectors")
        for (i, c) in layout.periodicChannels.enumerated() {
            for n in 0..<2 { for y in 0..<3 { for x in 0..<4 {
                let expected = sin(Double(waves[n * 4 + 2 * i]) * Double(x) + Double(waves[n * 4 + 2 * i + 1]) * Double(y) + Double(d.phases[n * 2 + i]))
                XCTAssertEqual(Double(at(c, n, y, x)), expected, accuracy: 1e-5)
            }}}
        }
        XCTAssertTrue(d.phases.allSatisfy { $0 >= 0 && $0 < 2 * Float.pi })
    }

    /// Output weights of ±0.5 instead of the initial N(0, 0.02), so that the first layer's gradients stand well
    /// above Float rounding in central differences.
    func widenWaveLayer(_ noise: PeriodicNoise, _ rng: inout SplitMix64) {
        noise.waveLayer.weight.value = noise.waveLayer.weight.value.map { _ in rng.nextUnit() - 0.5 }
    }

    /// dL/d(MLP weights) for L = ⟨r, sines⟩, against central differences.
    func testPeriodicMLPGradientMatchesFiniteDifferences() throws {
        var rng = SplitMix64(seed: 22)
        let noise = PeriodicNoise(layout: try NoiseLayout(global: 3, local: 1, periodic: 2, hidden: 4), rng: &rng)
        widenWaveLayer(noise, &rng)
        var d = noise.draw(batch: 3, height: 3, width: 4, rng: &rng)
        let periodic = noise.layout.periodicChannels, plane = 3 * 3 * 4
        let r = try ChannelMajor(channels: 2, batch: 3, height: 3, width: 4, data: uniform(&rng, 2 * plane))
        func loss() -> Double {
            noise.refresh(&d)
            return inner(Array(d.noise.data[(periodic.lowerBound * plane)...]), r.data)
        }
        _ = loss()
        noise.backward(r, draw: d)
        for (name, p) in noise.namedParameters { assertParameterGradient(p, name, eps: 3e-3, loss) }
    }

    /// G's gradient with respect to its noise input (training mode, through batch norm), against central differences.
    func testGeneratorInputGradientMatchesFiniteDifferences() throws {
        var rng = SplitMix64(seed: 23)
        let g = Generator(channels: [5, 6, 3], rng: &rng, noise: try NoiseLayout(global: 2, local: 1, periodic: 2, hidden: 4))
        let z = try ChannelMajor(channels: 5, batch: 2, height: 3, width: 2, data: uniform(&rng, 5 * 2 * 3 * 2))
        let r = try ChannelMajor(channels: 3, batch: 2, height: 12, width: 8, data: uniform(&rng, 3 * 2 * 12 * 8))
        let dz = try g.backward(r, trace: try g.forwardTraining(z), inputChannels: 0..<5)!
        let dPeriodic = try g.backward(r, trace: try g.forwardTraining(z), inputChannels: 3..<5)!
        for (a, b) in zip(dPeriodic.data, dz.data[(3 * 12)...]) { XCTAssertEqual(a, b, accuracy: 1e-6, "a channel range is those channels of the whole") }
        let x = Parameter(shape: [z.count], value: z.data)
        x.gradient = dz.data
        try assertParameterGradient(x, "noise input", eps: 1e-3, tolerance: 5e-3) {
            inner(try g.forwardTraining(try ChannelMajor(channels: 5, batch: 2, height: 3, width: 2, data: x.value)).output.data, r.data)
        }
    }

    /// The whole path the trainer takes: MLP → sines → G → image, for every MLP weight, against central differences.
    func testWaveVectorGradientThroughTheGeneratorMatchesFiniteDifferences() throws {
        var rng = SplitMix64(seed: 24)
        let g = Generator(channels: [5, 6, 3], rng: &rng, noise: try NoiseLayout(global: 2, local: 1, periodic: 2, hidden: 4))
        let periodic = g.periodic!
        widenWaveLayer(periodic, &rng)
        var d = periodic.draw(batch: 2, height: 3, width: 2, rng: &rng)
        let r = try ChannelMajor(channels: 3, batch: 2, height: 12, width: 8, data: uniform(&rng, 3 * 2 * 12 * 8))
        for (_, p) in g.namedParameters { p.zeroGradient() }
        let trace = try g.forwardTraining(d.noise)
        periodic.backward(try g.backward(r, trace: trace, inputChannels: periodic.layout.periodicChannels)!, draw: d)
        for (name, p) in periodic.namedParameters {
            // Float rounding in the 576-term loss through batch norm is ~1e-3 of these gradients at this step; a
            // wrong term (a missing coordinate, x and y swapped, a sign) is off by far more.
            try assertParameterGradient(p, name, eps: 1e-3, tolerance: 1e-2) {
                periodic.refresh(&d)
                return inner(try g.forwardTraining(d.noise).output.data, r.data)
            }
        }
    }

    /// Training moves the MLP (its gradients reach it), checkpoints name it `periodic.*` beside the seed's keys, a
    /// file gives back the layout, and a resumed run (with the MLP's Adam moments) equals an uninterrupted one.
    func testPeriodicTrainingSavesAndResumesExactly() throws {
        let straight = try GANTraining(source: source(), options: periodicOptions())
        let layout = try XCTUnwrap(straight.generator.periodic).layout
        XCTAssertEqual(layout, GANPreset.small.periodicLayout)
        let initial = straight.generator.periodic!.namedParameters.map { $0.parameter.value }
        for _ in 0..<4 { try straight.step() }
        for ((name, p), before) in zip(straight.generator.periodic!.namedParameters, initial) {
            XCTAssertNotEqual(p.value, before, "\(name) should learn")
        }

        let first = try GANTraining(source: source(), options: periodicOptions())
        for _ in 0..<2 { try first.step() }
        let path = tmp + "/G.pth"
        try first.save(generatorTo: path)
        let keys = try Checkpoint.load(path).keys.filter { $0.hasPrefix("periodic.") }
        XCTAssertEqual(keys.sorted(), ["periodic.0.bias", "periodic.0.weight", "periodic.2.bias", "periodic.2.weight"])
        let state = try Checkpoint.load(GANTraining.resumePath(for: path))
        XCTAssertEqual(state.shape(of: "adam.periodic.2.weight.exp_avg_sq"), [12, 32])
        let resumed = try GANTraining(resuming: path, source: source(), preset: .small)
        XCTAssertEqual(resumed.generator.periodic?.layout, layout)
        XCTAssertTrue(resumed.options.periodic)
        for _ in 0..<2 { try resumed.step() }
        XCTAssertEqual(resumed.history.suffix(2).map(\.generatorLoss), straight.history.suffix(2).map(\.generatorLoss))
        XCTAssertEqual(weights(resumed.generator), weights(straight.generator))

        let loaded = try Generator.load(path)
        XCTAssertEqual(loaded.periodic?.layout, layout)
        let a = try GANGeneration.generate(first.generator, width: 70, height: 50, seed: 4, tile: false)[0]
        XCTAssertEqual(a.pixels, try GANGeneration.generate(loaded, width: 70, height: 50, seed: 4, tile: false)[0].pixels)
        // The seed's files stay as they were: no periodic keys.
        let plain = tmp + "/plain.pth"
        try GANTraining(source: source(), options: options()).generator.save(plain)
        XCTAssertFalse(try Checkpoint.load(plain).keys.contains { $0.hasPrefix("periodic") })
        XCTAssertNil(try Generator.load(plain).periodic)
    }

    /// A tileable periodic texture: its wave vectors fit the grid, 2x2 copies equal the middle of a generation
    /// from the same noise repeated 3x3, and its wrap-around steps are like its inside steps.
    func testPeriodicTiledGenerationIsExactlyPeriodicWithoutASeam() throws {
        let training = try GANTraining(source: source(), options: periodicOptions())
        for _ in 0..<3 { try training.step() }
        let g = training.generator, periodic = g.periodic!
        let (w, h) = (96, 64), (cw, ch) = (3, 2)
        var rng = SplitMix64(seed: 2)
        let d = GANNoiseDraw(g, batch: 1, height: ch, width: cw, rng: &rng, tileable: true)
        let waves = periodic.waves(of: d.periodic!)
        for i in 0..<periodic.layout.periodic {
            let (mx, my) = (waves[2 * i] * Float(cw) / (2 * .pi), waves[2 * i + 1] * Float(ch) / (2 * .pi))
            XCTAssertEqual(mx, mx.rounded(), accuracy: 1e-4, "k_x fits \(cw) cells")
            XCTAssertEqual(my, my.rounded(), accuracy: 1e-4, "k_y fits \(ch) cells")
        }
        let tiled = try GANGeneration.generate(g, width: w, height: h, seed: 2, tile: true)[0]
        var z3 = ChannelMajor(zeros: d.noise.channels, batch: 1, height: 3 * ch, width: 3 * cw)
        for c in 0..<z3.channels { for y in 0..<z3.height { for x in 0..<z3.width {
            z3.data[(c * z3.height + y) * z3.width + x] = d.noise.data[(c * ch + y % ch) * cw + x % cw]
        }}}
        let big = try GANImages.image(try g.generate(z3))
        let window = try big.cropped(x: w / 2, y: h / 2, width: 2 * w, height: 2 * h)
        let copies = try tiled.tiled(columns: 2, rows: 2)
        let worst = zip(window.pixels, copies.pixels).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        XCTAssertLessThan(worst, 1e-4, "2x2 copies differ from the generator's own continuation by \(worst)")
        XCTAssertLessThan(abs(seamRatio(tiled) - 1), 0.15, "seam ratio \(seamRatio(tiled))")
        // Untiled, any size: the sines keep their learnt (unrounded) wave vectors.
        let free = GANNoiseDraw(g, batch: 1, height: ch, width: cw, rng: &rng)
        XCTAssertNotEqual(periodic.waves(of: free.periodic!), periodic.waves(of: free.periodic!).map { ($0 * Float(cw) / (2 * .pi)).rounded() * 2 * .pi / Float(cw) })
        XCTAssertEqual(try GANGeneration.generate(g, width: 50, height: 70, seed: 3, tile: false)[0].width, 50)
        XCTAssertEqual(try GANGeneration.animate(g, width: 32, height: 32, frames: 3, walk: .sine, seed: 1).count, 3)
    }

    /// PyTorch loads a periodic generator strictly (the seed's layers plus an nn.Sequential MLP under `periodic`)
    /// and its MLP computes the wave vectors txn computes.
    func testPyTorchLoadsThePeriodicGeneratorAndComputesTheSameWaves() throws {
        try Python.requireTorch()
        let training = try GANTraining(source: source(), options: periodicOptions())
        try training.step()
        let g = training.generator, layout = g.periodic!.layout
        let gPath = tmp + "/G.pth", codesPath = tmp + "/codes.pth"
        try g.save(gPath)
        var rng = SplitMix64(seed: 8)
        let d = try XCTUnwrap(GANNoiseDraw(g, batch: 3, height: 2, width: 2, rng: &rng).periodic)
        try Checkpoint.write([CheckpointEntry("codes", shape: [3, layout.global], floats: d.codes)], to: codesPath)
        let (status, out, err) = try Python.run([Paths.repoRoot + "/scripts/gan_periodic_interop.py", gPath, codesPath])
        XCTAssertEqual(status, 0, err)
        let json = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        XCTAssertEqual(json["layout"] as? [Int], [layout.global, layout.local, layout.periodic, layout.hidden])
        let theirs = try XCTUnwrap(json["waves"] as? [Double])
        let ours = g.periodic!.waves(of: d)
        XCTAssertEqual(theirs.count, ours.count)
        for (a, b) in zip(ours, theirs) { XCTAssertEqual(Double(a), b, accuracy: 1e-5) }
    }

    func testPeriodicNoiseErrorsAreClear() throws {
        var o = periodicOptions()
        o.noiseLayout = try NoiseLayout(global: 10, local: 10, periodic: 6, hidden: 8)
        XCTAssertThrowsError(try GANTraining(source: source(), options: o)) { XCTAssertTrue("\($0)".contains("has 26 channels"), "\($0)") }
        XCTAssertThrowsError(try NoiseLayout(parsing: "16,10", defaultHidden: 32)) { XCTAssertTrue("\($0)".contains("GLOBAL,LOCAL,PERIODIC"), "\($0)") }
        XCTAssertThrowsError(try NoiseLayout(parsing: "16,x,6", defaultHidden: 32))
        XCTAssertThrowsError(try NoiseLayout(parsing: "0,26,6", defaultHidden: 32)) { XCTAssertTrue("\($0)".contains("at least 1 global"), "\($0)") }
        XCTAssertEqual(try NoiseLayout(parsing: "16, 10, 6", defaultHidden: 32), GANPreset.small.periodicLayout)

        let g = try GANTraining(source: source(), options: periodicOptions()).generator
        var entries = g.stateEntries
        let bad = tmp + "/bad.pth"
        // An MLP wider than the noise it feeds.
        let i = entries.firstIndex { $0.key == "periodic.0.weight" }!
        entries[i] = CheckpointEntry("periodic.0.weight", shape: [32, 40], floats: [Float](repeating: 0, count: 32 * 40))
        try Checkpoint.write(entries, to: bad)
        XCTAssertThrowsError(try Generator.load(bad)) { XCTAssertTrue("\($0)".contains("does not fit 32 noise channels"), "\($0)") }
        entries = g.stateEntries.filter { $0.key != "periodic.2.bias" }
        try Checkpoint.write(entries, to: bad)
        XCTAssertThrowsError(try Generator.load(bad)) { XCTAssertTrue("\($0)".contains("missing key periodic.2.bias"), "\($0)") }
        entries = g.stateEntries.filter { $0.key != "periodic.0.weight" }
        try Checkpoint.write(entries, to: bad)
        XCTAssertThrowsError(try Generator.load(bad)) { XCTAssertTrue("\($0)".contains("unexpected keys"), "\($0)") }
    }
}
