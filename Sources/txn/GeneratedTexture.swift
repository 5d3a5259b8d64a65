import ArgumentParser
import Foundation
import TxnFiles
import TxnGAN
import TxnImage
import TxnTensor
import TxnTexNet

/// What `txn gan generate` and `txn texnet generate` share: a network makes a texture of a given size from a seeded
/// noise, written to -o. Each network says what its --size and --tile mean (what sizes are exact, what tiling does:
/// `CommandLineGenerating`); the output, the seed and the steps around the network are these.
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

/// A network `txn gan generate` or `txn texnet generate` makes textures with: what its command says of it (each
/// declares what sizes are exact and what tiling means for it), how it loads and how it generates.
protocol CommandLineGenerating: AnyObject {
    /// The command's abstract.
    static var generateAbstract: String { get }
    /// The checkpoint argument's help, and its name in the usage line and errors (`<generator>`).
    static var checkpointHelp: String { get }
    static var checkpointName: String { get }
    static var sizeHelp: String { get }
    static var tileHelp: String { get }
    static func loadCheckpoint(_ path: String) throws -> Self
    func generate(width: Int, height: Int, seed: UInt64, tile: Bool) throws -> Image
}

/// `txn gan generate` and `txn texnet generate`: one command, over the network it generates with.
struct GenerateCommand<Network: CommandLineGenerating>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "generate", abstract: Network.generateAbstract)
    }

    @OptionGroup var numeric: NumericOptions

    @Argument(help: ArgumentHelp(Network.checkpointHelp, valueName: Network.checkpointName))
    var network: String

    @OptionGroup var generated: GeneratedTextureOptions

    @Option(parsing: .unconditional, help: ArgumentHelp(Network.sizeHelp))
    var size: String = "256"

    @Flag(help: ArgumentHelp(Network.tileHelp))
    var tile = false

    func run() throws {
        numeric.apply()
        try generated.write(size: size, tile: tile, network: network, load: { try Network.loadCheckpoint(network) }) { net, w, h in
            try net.generate(width: w, height: h, seed: generated.seed, tile: tile)
        }
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
