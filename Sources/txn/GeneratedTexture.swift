import ArgumentParser
import Foundation
import TxnFiles
import TxnImage

/// What `txn gan generate` and `txn texnet generate` share: a network makes a texture of a given size from a seeded
/// noise, written to -o. Each command declares its own --size and --tile (what sizes are exact, what tiling means for
/// its network); the output, the seed and the steps around the network are these.
struct GeneratedTextureOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Output image (.png or .jpg).")
    var output: String

    @Option(help: "Random seed of the noise.")
    var seed: UInt64 = 0

    /// Checks --size and -o before any work, loads the network, makes the texture with `generate`, writes it and
    /// says how long the network took (the load not counted).
    func write<Network>(size: String, tile: Bool, load: () throws -> Network,
                        generate: (Network, _ width: Int, _ height: Int) throws -> Image) throws {
        let (w, h) = try parseSize(size, "--size")
        do { try SafeFile.checkWritable(output, createFolders: true) } catch { throw ValidationError("-o \(error)") }
        let network = try load()
        let start = Date()
        let image = try generate(network, w, h)
        let seconds = Date().timeIntervalSince(start)
        try image.save(output, createFolders: true)
        print(String(format: "wrote %@ (%dx%d%@) in %.2f s", output, w, h, tile ? ", tileable" : "", seconds))
    }
}
