import Foundation
import TxnTensor

/// The widths of the seed project's spatial GAN (PSGAN family, Bergmann, Jetchev and Vollgraf 2017): a generator
/// of transposed 4×4 stride-2 convolutions from a noise grid to an image, and a discriminator of 4×4 stride-2
/// convolutions from an image to a grid of patch logits. Every layer doubles (G) or halves (D) the size, so a
/// noise cell is `scale` pixels wide and the networks take any size that is a multiple of `scale`.
public struct GANArchitecture: Equatable, Sendable, CustomStringConvertible {
    /// Channels from the noise to the image: [noise, hidden…, 3].
    public var generatorChannels: [Int]
    /// Channels from the image to the logits: [3, hidden…, 1].
    public var discriminatorChannels: [Int]

    /// Every layer of both networks: kernel 4, stride 2, padding 1.
    public static let geometry = PatchGeometry(kernel: 4, stride: 2, padding: 1)
    /// LeakyReLU slope of the discriminator.
    public static let leakySlope: Float = 0.2
    /// Standard deviation of the initial convolution weights (biases start at 0), as in the seed and DCGAN.
    public static let initialStd: Float = 0.02

    public init(generatorChannels: [Int], discriminatorChannels: [Int]) throws {
        try Self.validate(generator: generatorChannels)
        try Self.validate(discriminator: discriminatorChannels)
        self.generatorChannels = generatorChannels
        self.discriminatorChannels = discriminatorChannels
    }

    /// Largest width and depth txn accepts, so that a checkpoint or a notebook cannot ask for absurd networks.
    static let maxChannels = 8192, maxLayers = 11

    static func validate(generator c: [Int]) throws {
        guard c.count >= 2, c.count <= maxLayers + 1, c.last == 3, c.allSatisfy({ $0 > 0 && $0 <= maxChannels }) else {
            throw GANError("generator channels must be 2 to \(maxLayers + 1) widths of 1 to \(maxChannels), ending in 3 (RGB); got \(c)")
        }
    }

    static func validate(discriminator c: [Int]) throws {
        guard c.count >= 3, c.count <= maxLayers + 1, c.first == 3, c.last == 1, c.allSatisfy({ $0 > 0 && $0 <= maxChannels }) else {
            throw GANError("discriminator channels must be 3 to \(maxLayers + 1) widths of 1 to \(maxChannels), from 3 (RGB) to 1; got \(c)")
        }
    }

    /// Noise channels per cell.
    public var noiseChannels: Int { generatorChannels[0] }
    /// Pixels per noise cell: 2 to the number of generator layers.
    public var scale: Int { 1 << (generatorChannels.count - 1) }
    /// Pixels per discriminator logit.
    public var discriminatorScale: Int { 1 << (discriminatorChannels.count - 1) }

    public var description: String {
        "G \(generatorChannels.map(String.init).joined(separator: "→")), D \(discriminatorChannels.map(String.init).joined(separator: "→"))"
    }
}

/// Named settings: the architecture and the training defaults that go with it.
public enum GANPreset: String, CaseIterable, Sendable {
    /// The seed project's networks and training (crop 256, batch 8).
    case seed
    /// Narrower networks on smaller crops: trains on 2 cores in minutes to recognisable samples.
    case small

    public var architecture: GANArchitecture {
        switch self {
        case .seed:
            return try! GANArchitecture(generatorChannels: [64, 512, 256, 128, 64, 3],
                                        discriminatorChannels: [3, 64, 128, 256, 512, 1])
        case .small:
            return try! GANArchitecture(generatorChannels: [32, 256, 128, 64, 32, 3],
                                        discriminatorChannels: [3, 32, 64, 128, 256, 1])
        }
    }

    public var crop: Int {
        switch self {
        case .seed: return 256
        case .small: return 128
        }
    }

    /// Adam's learning rate. The seed's 5e-5 for its own networks; the small preset takes DCGAN's 2e-4 (Radford et
    /// al. 2016), which on gravel gave recognisable stones after 1000 iterations (about 6 minutes on 2 cores).
    public var learningRate: Float {
        switch self {
        case .seed: return GANTrainer.seedSettings.learningRate
        case .small: return 2e-4
        }
    }

    public var batch: Int {
        switch self {
        case .seed: return 8
        case .small: return 8
        }
    }

    /// The preset for help texts, read from the declarations above: "small: G 32→256→128→64→32→3, crop 128, batch 8, lr 2e-4".
    public var summary: String {
        "\(rawValue): G \(architecture.generatorChannels.map(String.init).joined(separator: "→")), crop \(crop), batch \(batch), "
            + "lr \(Self.written(learningRate))"
    }

    /// Each preset's learning rate for help texts: "2e-4 small, 5e-5 seed".
    public static var learningRates: String {
        allCases.map { "\(written($0.learningRate)) \($0.rawValue)" }.joined(separator: ", ")
    }

    /// A small rate as it is written by hand (2e-4, not 0.0002 or 2e-04).
    static func written(_ x: Float) -> String {
        let exponent = Int(log10(Double(x)).rounded(.down))
        let mantissa = Double(x) / pow(10, Double(exponent))
        guard x > 0, x < 1e-2, abs(mantissa - mantissa.rounded()) < 1e-4 else { return "\(x)" }
        return "\(Int(mantissa.rounded()))e\(exponent)"
    }

    /// The noise split with `--periodic`: PSGAN's defaults (60 global, 30 local, 3×2 periodic channels, an MLP of
    /// 50) scaled to this preset's noise width, so the networks keep their shapes. The 6 periodic channels stay (a
    /// texture's regularity needs a few directions and frequencies); the rest is split about 2:1 global:local.
    public var periodicLayout: NoiseLayout {
        switch self {
        case .seed: return try! NoiseLayout(global: 38, local: 20, periodic: 6, hidden: 50)
        case .small: return try! NoiseLayout(global: 16, local: 10, periodic: 6, hidden: 32)
        }
    }
}

public struct GANError: Error, CustomStringConvertible, Equatable {
    public let message: String
    /// The error is about the generator's weights (its file), not about the request's numbers.
    public let concernsWeights: Bool
    public init(_ message: String, concernsWeights: Bool = false) { (self.message, self.concernsWeights) = (message, concernsWeights) }
    public var description: String { message }
}
