import ArgumentParser
import Foundation
import TxnFiles
import TxnGAN
import TxnImage
import TxnTensor
import TxnTexNet

/// What `txn gan generate` and `txn texnet generate` share: a network makes a texture of a given size from a seeded
/// noise, written to -o. Each command declares its own --size and --tile (what sizes are exact, what tiling means for
/// its network); the output, the seed and the steps around the network are these.
struct GeneratedTextureOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Output image (.png or .jpg).")
    var output: String

    @Option(help: "Random seed of the noise.")
    var seed: UInt64 = 0

    /// Checks --size and -o before any work, loads the network (from the file `network`), makes the texture with
    /// `generate` (its refusals phrased by `generationRequest`), writes it and says how long the network took (the
    /// load not counted).
    func write<Network>(size: String, tile: Bool, network path: String, load: () throws -> Network,
                        generate: (Network, _ width: Int, _ height: Int) throws -> Image) throws {
        let (w, h) = try parseSize(size, "--size")
        do { try SafeFile.checkWritable(output, createFolders: true) } catch { throw ValidationError("-o \(error)") }
        let network = try load()
        let start = Date()
        let image = try generationRequest(path) { try generate(network, w, h) }
        let seconds = Date().timeIntervalSince(start)
        try image.save(output, createFolders: true)
        print(String(format: "wrote %@ (%dx%d%@) in %.2f s", output, w, h, tile ? ", tileable" : "", seconds))
    }
}

/// A network's refusal of a generation request (TxnGAN's, TxnTexNet's), in no front end's words.
protocol GenerationRefusal: Error {
    /// About the network's weights (its file), not about the request's numbers.
    var concernsNetworkFile: Bool { get }
    /// The option the refusal is about, when it names one (`size`).
    var option: String? { get }
    var reason: String { get }
}

extension GANError: GenerationRefusal {
    var concernsNetworkFile: Bool { concernsWeights }
    var option: String? { nil }
    var reason: String { message }
}

extension TexNetError: GenerationRefusal {
    var concernsNetworkFile: Bool { option == nil }
    /// The command line's wording: `--size: …`.
    var commandLineMessage: String { option.map { "--\($0): " + reason } ?? reason }
}

/// Runs a generation request of the network in the file `network`; its refusals are phrased for the command line,
/// at what they are about: the network file when its weights make no image, else the option (`--size` unless the
/// refusal names another).
func generationRequest<T>(_ network: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as GenerationRefusal {
        if e.concernsNetworkFile { throw CommandLineMessage(text: "\(network): \(e.reason)") }
        throw ValidationError("--\(e.option ?? "size"): \(e.reason)")
    } catch let e as MemoryBudgetError {
        throw ValidationError("--size: \(e)")
    }
}
