import ArgumentParser
import Foundation
import TxnImage
import TxnTensor
import TxnTexNet

/// Times texture-network generation: one image of --size from a preset's generator (fresh weights: the work does
/// not depend on their values), as `txn texnet generate` makes it, and its PNG encoding apart.
struct BenchTexNet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "texnet",
        abstract: "Benchmark texture-network generation at one size (use a release build).",
        discussion: "Times are medians of --repeats runs after one warm-up; peak RSS is the whole process's. "
            + "Generation is the noise, the network and the clamped image; PNG is the encoding of that image.")

    @OptionGroup var numeric: NumericOptions

    @Option(help: "Preset: small or paper.")
    var preset: TexNetPreset = .small

    @Option(help: "Normalisation: instance or batch.")
    var norm: TexNetNormalisation = .instance

    @Option(help: "Side of the generated image.")
    var size: Int = 2048

    @Flag(help: "Circular padding (a tileable image).")
    var tile = false

    @OptionGroup var reporting: BenchmarkReporting

    func run() throws {
        numeric.apply()
        let a = preset.architecture(norm)
        if let problem = a.sizeProblem(width: size, height: size) { throw ValidationError("--size: " + problem) }
        var rng = SplitMix64(seed: 1)
        let network = TextureNetwork(a, rng: &rng)
        var image = try TexNetGeneration.generate(network, width: size, height: size, seed: 0, tile: tile)
        let generation = try Machine.median(reporting.repeats) { i in
            image = try TexNetGeneration.generate(network, width: size, height: size, seed: UInt64(i), tile: tile)
        }
        let png = try Machine.median(reporting.repeats) { _ in _ = try image.encoded(as: .png) }
        let peak = Machine.peakRSSMiB()
        if reporting.json {
            print("{\"threads\":\(Threads.count),\"size\":\(size),\"generate_s\":\(String(format: "%.4f", generation)),"
                + "\"png_s\":\(String(format: "%.4f", png)),\"peak_rss_mib\":\(String(format: "%.1f", peak))}")
        } else {
            print("txn bench texnet: \(preset) preset (\(a)), \(size)x\(size)\(tile ? ", tiled" : ""), \(Threads.count) threads, median of \(reporting.repeats)")
            print(String(format: "generate %.3f s   PNG encoding %.3f s   peak RSS %.0f MiB", generation, png, peak))
        }
    }
}
