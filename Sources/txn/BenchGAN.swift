import ArgumentParser
import Foundation
import TxnGAN
import TxnTensor

/// Times the spatial GAN: one full training iteration and one generation of 1024x1024, as the PyTorch side
/// (scripts/bench_pytorch_gan.py) does, with the same networks, crop and batch.
struct BenchGAN: ParsableCommand, PeerBenchmarked {
    static let peerScriptName = "bench_pytorch_gan.py"

    static let configuration = CommandConfiguration(
        commandName: "gan",
        abstract: "Benchmark a GAN training iteration and 1024x1024 generation (use a release build).",
        discussion: "Times are medians of --repeats runs after one warm-up; peak RSS is the whole process's. "
            + "--peer also runs scripts/bench_pytorch_gan.py (python3 with torch) after txn, in its own process, and "
            + "prints both and the ratios txn/PyTorch.")

    @OptionGroup var numeric: NumericOptions

    @Option(help: "Preset: seed or small.")
    var preset: GANPreset = .seed

    @Option(help: "Crop size (default: the preset's).")
    var crop: Int?

    @Option(help: "Batch size (default: the preset's).")
    var batch: Int?

    @Option(help: "Side of the generated image.")
    var generate: Int = 1024

    @OptionGroup var reporting: BenchmarkReporting

    @OptionGroup var pytorch: PeerBenchmarkOptions<BenchGAN>

    func validate() throws {
        guard generate >= 32, generate <= 8192, generate % 32 == 0 else {
            throw ValidationError("--generate must be a multiple of 32 between 32 and 8192")
        }
    }

    func run() throws {
        numeric.apply()
        let arch = preset.architecture
        let crop = self.crop ?? preset.crop, batch = self.batch ?? preset.batch
        guard crop % arch.scale == 0, crop >= arch.discriminatorScale else {
            throw ValidationError("--crop must be a multiple of \(arch.scale), at least \(arch.discriminatorScale)")
        }
        var rng = SplitMix64(seed: 1)
        let trainer = GANTrainer(generator: Generator(channels: arch.generatorChannels, rng: &rng),
                                 discriminator: Discriminator(channels: arch.discriminatorChannels, rng: &rng))
        // A texture-like batch: no file needed.
        var real = ChannelMajor(zeros: 3, batch: batch, height: crop, width: crop)
        for i in 0..<real.count { real.data[i] = Float((i * 7919) % 256) / 127.5 - 1 }
        let cells = crop / arch.scale
        func noise() -> ChannelMajor {
            GANNoise.uniform(channels: arch.noiseChannels, batch: batch, height: cells, width: cells, rng: &rng)
        }
        try trainer.step(real: real, noise: noise())
        let step = try Machine.median(reporting.repeats) { _ in try trainer.step(real: real, noise: noise()) }
        let z = GANNoise.uniform(channels: arch.noiseChannels, batch: 1, height: generate / arch.scale,
                                 width: generate / arch.scale, rng: &rng)
        _ = try trainer.generator.generate(z)
        let gen = try Machine.median(reporting.repeats) { _ in _ = try trainer.generator.generate(z) }
        let peak = Machine.peakRSSMiB()
        let mine: [String: Double] = ["train_step_s": step, "generate_\(generate)_s": gen, "peak_rss_mib": peak]
        var theirs: [String: Double]? = nil, peerNote: String? = nil
        if pytorch.peer {
            do { theirs = try runPeer(crop: crop, batch: batch) } catch { peerNote = "\(error)" }
        }
        let genKey = "generate_\(generate)_s"
        if reporting.json {
            func object(_ r: [String: Double]) -> String {
                "{\"threads\":\(Threads.count),\"train_step_s\":\(String(format: "%.4f", r["train_step_s"] ?? .nan)),"
                    + "\"\(genKey)\":\(String(format: "%.4f", r[genKey] ?? .nan)),\"peak_rss_mib\":\(String(format: "%.1f", r["peak_rss_mib"] ?? .nan))}"
            }
            guard pytorch.peer else { print(object(mine)); return }
            let other = theirs.map(object) ?? "null"
            let note = peerNote.map { ",\"pytorch_error\":\"\($0.replacingOccurrences(of: "\"", with: "'"))\"" } ?? ""
            print("{\"txn\":\(object(mine)),\"pytorch\":\(other)\(note)}")
        } else {
            print("txn bench gan: \(preset) preset (\(arch)), crop \(crop), batch \(batch), \(Threads.count) threads, median of \(reporting.repeats)")
            print(String(format: "txn      training iteration %.3f s   generate %dx%d %.3f s   peak RSS %.0f MiB", step, generate, generate, gen, peak))
            guard pytorch.peer else { return }
            guard let t = theirs, let ts = t["train_step_s"], let tg = t[genKey], let tp = t["peak_rss_mib"] else {
                print("PyTorch  not measured: \(peerNote ?? "no numbers")")
                return
            }
            print(String(format: "PyTorch  training iteration %.3f s   generate %dx%d %.3f s   peak RSS %.0f MiB", ts, generate, generate, tg, tp))
            print(String(format: "txn/PyTorch  training %.2fx   generation %.2fx   peak RSS %.2fx", step / ts, gen / tg, peak / tp))
        }
    }

    /// Runs the PyTorch benchmark after txn's and reads its numbers.
    func runPeer(crop: Int, batch: Int) throws -> [String: Double] {
        let script = try pytorch.script()
        return try PeerBenchmark.run(script, ["--threads", "\(Threads.count)", "--crop", "\(crop)", "--batch", "\(batch)",
                                              "--generate", "\(generate)", "--repeats", "\(reporting.repeats)"])
            .compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }
}

extension GANPreset: ExpressibleByArgument {}
