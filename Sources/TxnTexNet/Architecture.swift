import TxnTensor

/// How the generator normalises after each convolution.
public enum TexNetNormalisation: String, CaseIterable, Sendable {
    /// Batch statistics in training, running statistics when generating (the 2016 paper).
    case batch
    /// Each sample's own statistics, always (Ulyanov, Vedaldi and Lempitsky 2017): no running statistics, so
    /// training and generating compute the same function.
    case instance
}

/// The shape of a texture network (Ulyanov, Lebedev, Vedaldi and Lempitsky 2016, *Texture Networks*): noise at
/// `scales` resolutions, the coarsest 2^(scales−1) times smaller than the image. Each noise tensor goes through a
/// block of 3×3, 3×3 and 1×1 convolutions of `width` channels (each followed by normalisation and LeakyReLU); the
/// coarse path is upsampled ×2 (nearest), both paths are normalised and joined by channel concatenation, and the
/// join goes through another such block as wide as both; a final 1×1 convolution makes RGB. The finest join has
/// `width`·`scales` channels.
public struct TexNetArchitecture: Equatable, Sendable, CustomStringConvertible {
    public var scales: Int
    public var width: Int
    public var noiseChannels: Int
    public var normalisation: TexNetNormalisation

    /// Bounds on the shape, so that neither a checkpoint nor an option can ask for an absurd network.
    public static let scaleRange = 2...8, widthRange = 1...256, noiseChannelRange = 1...64
    /// LeakyReLU's slope after every normalisation (the paper's, as in its reference code).
    public static let leakySlope: Float = 0.01
    public static var activation: PointwiseActivation { .leakyReLU(slope: leakySlope) }

    public init(scales: Int, width: Int, noiseChannels: Int = 3, normalisation: TexNetNormalisation = .instance) throws {
        guard Self.scaleRange.contains(scales), Self.widthRange.contains(width), Self.noiseChannelRange.contains(noiseChannels) else {
            throw TexNetError("a texture network has \(Self.scaleRange.lowerBound) to \(Self.scaleRange.upperBound) scales, "
                + "\(Self.widthRange.lowerBound) to \(Self.widthRange.upperBound) channels a scale and "
                + "\(Self.noiseChannelRange.lowerBound) to \(Self.noiseChannelRange.upperBound) noise channels; "
                + "got \(scales) scales, width \(width), \(noiseChannels) noise channels")
        }
        (self.scales, self.width, self.noiseChannels, self.normalisation) = (scales, width, noiseChannels, normalisation)
    }

    /// Channels of the path after joining scale k (0 the coarsest): k + 1 blocks of `width`.
    public func joinedChannels(_ k: Int) -> Int { width * (k + 1) }

    /// Pixels per noise cell of the coarsest scale: every image side is a multiple of it.
    public var period: Int { 1 << (scales - 1) }

    /// The side of scale k's noise for an image side `side` (k = scales − 1 is the image's own).
    public func noiseSide(_ side: Int, scale k: Int) -> Int { side >> (scales - 1 - k) }

    /// Why the noise pyramid cannot make a `width` x `height` image, if it cannot: each side must be a multiple of
    /// the coarsest noise period and at least two periods (the coarsest maps must be 2×2 for padding and
    /// normalisation).
    public func sizeProblem(width w: Int, height h: Int) -> String? {
        let p = period
        guard w >= 2 * p, h >= 2 * p, w % p == 0, h % p == 0 else {
            return "\(w)x\(h) cannot be made by \(scales) noise scales: each side must be a multiple of \(p) "
                + "(the coarsest noise period) and at least \(2 * p)"
        }
        return nil
    }

    public var description: String {
        "\(scales) scales × \(width) channels (\(joinedChannels(scales - 1)) at the finest), \(normalisation) norm"
    }

    /// Floats of every activation one forward keeps at this size and batch, and of the largest unfolded-patch
    /// matrix of one convolution, overflow-checked (`what` names the request in errors).
    func activationFloats(height: Int, width imageWidth: Int, batch: Int, what: String) throws
        -> (kept: Int, largestColumns: Int, largestMap: Int) {
        func product(_ f: [Int]) throws -> Int { try MemoryBudget.product(f, for: what) }
        var kept = 0, columns = 0, largest = 0
        func block(cin: Int, cout: Int, side: (Int, Int)) throws {
            let plane = try product([batch, side.0 + 2, side.1 + 2])
            // Per unit: padded input, output, normalised copy; columns of 3×3 patches.
            for (i, k) in [(0, 3), (1, 3), (2, 1)] {
                let c = i == 0 ? cin : cout
                kept = try MemoryBudget.sum([kept, try product([c, plane]), try product([2, cout, plane])], for: what)
                columns = max(columns, try product([c, k * k, plane]))
                largest = max(largest, try product([max(c, cout), plane]))
            }
        }
        for k in 0..<scales {
            let side = (noiseSide(height, scale: k), noiseSide(imageWidth, scale: k))
            try block(cin: noiseChannels, cout: self.width, side: side)
            if k > 0 {
                let c = joinedChannels(k), plane = try product([batch, side.0, side.1])
                // The upsampled path, the two normalised copies and the join.
                kept = try MemoryBudget.sum([kept, try product([3, c, plane])], for: what)
                try block(cin: c, cout: c, side: side)
            }
        }
        let finest = try product([batch, height, imageWidth, joinedChannels(scales - 1)])
        kept = try MemoryBudget.sum([kept, try product([batch, height, imageWidth, 3]), finest], for: what)
        return (kept, max(columns, finest), largest)
    }

    /// A bound on what generating one `width` x `height` image holds at once: the noise, and the peak of the blocked
    /// maps (`MapGeneration.peakBytes`), or, for widths the blocked path does not take, the input and output of the
    /// largest layer with its padded copy and its unfolded patches.
    public func generationBytes(width w: Int, height h: Int) throws -> Int {
        let what = "generating \(w)x\(h) with the texture network"
        if let problem = sizeProblem(width: w, height: h) { throw TexNetError(problem) }
        if MapGeneration.supports(self) {
            // The pyramid's finest scale holds 3/4 of its noise at most: twice the finest bounds the pyramid.
            let noise = try MemoryBudget.bytes(count: try MemoryBudget.product([2, noiseChannels, h, w], for: what), for: what)
            return try MemoryBudget.sum([noise, try MapGeneration.peakBytes(self, width: w, height: h)], for: what)
        }
        let f = try activationFloats(height: h, width: w, batch: 1, what: what)
        let floats = try MemoryBudget.sum([try MemoryBudget.product([4, f.largestMap], for: what), f.largestColumns,
                                           try MemoryBudget.product([2, noiseChannels, h, w], for: what)], for: what)
        return try MemoryBudget.bytes(count: floats, for: what)
    }

    /// A bound on what one training iteration holds in the generator: every kept activation with its gradient,
    /// the largest unfolded-patch matrix twice (forward and its gradient).
    public func trainingBytes(size: Int, batch: Int) throws -> Int {
        let what = "training the texture network at \(size)x\(size), batch \(batch)"
        if let problem = sizeProblem(width: size, height: size) { throw TexNetError(problem) }
        let f = try activationFloats(height: size, width: size, batch: batch, what: what)
        let floats = try MemoryBudget.sum([try MemoryBudget.product([2, f.kept], for: what),
                                           try MemoryBudget.product([2, f.largestColumns], for: what)], for: what)
        return try MemoryBudget.bytes(count: floats, for: what)
    }
}

/// Named settings: the architecture and the training defaults that go with it (declared here once; the command
/// line, the notebook and the resume file read them).
public enum TexNetPreset: String, CaseIterable, Sendable {
    /// Five scales of 8 channels on 128² images: trains on 2 cores in minutes.
    case small
    /// The paper's generator: six scales of 8 channels, trained on 256² images in batches of 16 (slow on a laptop).
    case paper

    public func architecture(_ normalisation: TexNetNormalisation = .instance) -> TexNetArchitecture {
        switch self {
        case .small: return try! TexNetArchitecture(scales: 5, width: 8, normalisation: normalisation)
        case .paper: return try! TexNetArchitecture(scales: 6, width: 8, normalisation: normalisation)
        }
    }

    /// The side of the training images.
    public var size: Int {
        switch self {
        case .small: return 128
        case .paper: return 256
        }
    }

    public var batch: Int {
        switch self {
        case .small: return 4
        case .paper: return 16
        }
    }

    /// Adam's learning rate.
    public var learningRate: Float {
        switch self {
        case .small: return 1e-2
        case .paper: return 1e-2
        }
    }

    /// The preset for help texts, read from the declarations above: "small: 5 scales × 8 channels, size 128, batch 4, lr 0.01".
    public var summary: String {
        let a = architecture()
        return "\(rawValue): \(a.scales) scales × \(a.width) channels, size \(size), batch \(batch), lr \(learningRate)"
    }
}

public struct TexNetError: Error, CustomStringConvertible, Equatable {
    /// The option the error is about (`size`, `batch`, `lr`), when it is about one: each front end points at its own
    /// spelling of it (`--size` on the command line, the `size=` key in a notebook).
    public let option: String?
    /// What is wrong, without the option's name.
    public let reason: String
    public init(_ message: String) { (option, reason) = (nil, message) }
    public init(option: String, _ reason: String) { (self.option, self.reason) = (option, reason) }
    /// Neutral wording, `size: …`; each front end names the option in its own spelling instead.
    public var description: String { option.map { "\($0): " + reason } ?? reason }
}
