import TxnCheckpoint
import TxnTensor

extension BatchNorm2D {
    /// PyTorch's buffers of a batch norm under `prefix`: weight, bias, running_mean, running_var, num_batches_tracked.
    func stateEntries(_ prefix: String) -> [CheckpointEntry] {
        [CheckpointEntry(prefix + ".weight", shape: [channels], floats: weight.value),
         CheckpointEntry(prefix + ".bias", shape: [channels], floats: bias.value),
         CheckpointEntry(prefix + ".running_mean", shape: [channels], floats: runningMean),
         CheckpointEntry(prefix + ".running_var", shape: [channels], floats: runningVar),
         CheckpointEntry(prefix + ".num_batches_tracked", shape: [], integers: [batchesTracked])]
    }
}

extension Generator {
    /// The state dict in `state_dict()` order: each layer's parameters, then its buffers.
    public var stateEntries: [CheckpointEntry] {
        var out: [CheckpointEntry] = []
        for (i, conv) in convolutions.enumerated() {
            out.append(CheckpointEntry("generate.\(3 * i).weight", shape: conv.weight.shape, floats: conv.weight.value))
            out.append(CheckpointEntry("generate.\(3 * i).bias", shape: conv.bias.shape, floats: conv.bias.value))
            if i < norms.count { out += norms[i].stateEntries("generate.\(3 * i + 1)") }
        }
        return out + (periodic?.stateEntries ?? [])
    }

    /// A generator from a state dict with the seed's keys (and `periodic.*` for PSGAN's periodic noise); the
    /// widths and the noise layout come from the tensor shapes.
    public convenience init(stateDict dict: StateDict, path: String) throws {
        let reader = StateDictReader(gan: dict, path: path)
        var layers = 0
        while dict.shape(of: "generate.\(3 * layers).weight") != nil { layers += 1 }
        guard layers >= 1 else {
            throw reader.error("no generator here: expected keys generate.0.weight, generate.3.weight, … (the seed's PSGenerator); found \(reader.keySummary)")
        }
        let keys = (0..<layers).map { "generate.\(3 * $0)" }
        let channels = try reader.convolutionChain(keys, in: dict, transposed: true, role: "a generator layer")
        let convs = try keys.enumerated().map { i, key in
            try ConvTranspose2D(weight: try reader.parameter(key + ".weight", shape: [channels[i], channels[i + 1], 4, 4]),
                                bias: try reader.parameter(key + ".bias", shape: [channels[i + 1]]),
                                geometry: GANArchitecture.geometry)
        }
        do { try GANArchitecture.validate(generator: channels) } catch let e as GANError { throw reader.error(e.message) }
        let norms = try (0..<(layers - 1)).map { i in try reader.batchNorm("generate.\(3 * i + 1)", channels: channels[i + 1]) }
        try reader.requireNoOtherKeys(prefix: "generate.", known: Set(Self.keys(layers: layers)))
        let periodic = try PeriodicNoise.load(reader, noiseChannels: channels[0])
        self.init(channels: channels, convolutions: convs, norms: norms, periodic: periodic)
    }

    static func keys(layers: Int) -> [String] {
        (0..<layers).flatMap { i -> [String] in
            var k = ["generate.\(3 * i).weight", "generate.\(3 * i).bias"]
            if i < layers - 1 { k += normKeys("generate.\(3 * i + 1)") }
            return k
        }
    }
}

extension Discriminator {
    public var stateEntries: [CheckpointEntry] {
        var out: [CheckpointEntry] = []
        for (i, conv) in convolutions.enumerated() {
            out.append(CheckpointEntry(Self.convolutionKey(i) + ".weight", shape: conv.weight.shape, floats: conv.weight.value))
            out.append(CheckpointEntry(Self.convolutionKey(i) + ".bias", shape: conv.bias.shape, floats: conv.bias.value))
            if i >= 1 && i - 1 < norms.count { out += norms[i - 1].stateEntries(Self.normKey(i - 1)) }
        }
        return out
    }

    public convenience init(stateDict dict: StateDict, path: String) throws {
        let reader = StateDictReader(gan: dict, path: path)
        var layers = 0
        while dict.shape(of: Self.convolutionKey(layers) + ".weight") != nil { layers += 1 }
        guard layers >= 2 else {
            throw reader.error("no discriminator here: expected keys discriminate.0.weight, discriminate.2.weight, …; found \(reader.keySummary)")
        }
        let keys = (0..<layers).map(Self.convolutionKey)
        let channels = try reader.convolutionChain(keys, in: dict, transposed: false, role: "a discriminator layer")
        let convs = try keys.enumerated().map { i, key in
            try StridedConv2D(weight: try reader.parameter(key + ".weight", shape: [channels[i + 1], channels[i], 4, 4]),
                              bias: try reader.parameter(key + ".bias", shape: [channels[i + 1]]),
                              geometry: GANArchitecture.geometry)
        }
        do { try GANArchitecture.validate(discriminator: channels) } catch let e as GANError { throw reader.error(e.message) }
        let norms = try (0..<(layers - 2)).map { i in try reader.batchNorm(Self.normKey(i), channels: channels[i + 2]) }
        var known: [String] = []
        for i in 0..<layers {
            known += [Self.convolutionKey(i) + ".weight", Self.convolutionKey(i) + ".bias"]
            if i >= 1 && i < layers - 1 { known += normKeys(Self.normKey(i - 1)) }
        }
        try reader.requireNoOtherKeys(prefix: "discriminate.", known: Set(known))
        self.init(channels: channels, convolutions: convs, norms: norms)
    }
}

func normKeys(_ prefix: String) -> [String] {
    ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"].map { prefix + "." + $0 }
}

extension StateDictReader {
    /// A reader whose errors are `GANError`s.
    init(gan dict: StateDict, path: String) { self.init(dict, path: path, error: { GANError($0) }) }

    func parameter(_ key: String, shape: [Int]) throws -> Parameter {
        Parameter(shape: shape, value: try finiteValues(key, shape: shape))
    }

    func batchNorm(_ prefix: String, channels c: Int) throws -> BatchNorm2D {
        let runningVar = try tensor(prefix + ".running_var", shape: [c]).values
        guard runningVar.allSatisfy({ $0 >= 0 }) else { throw error("\(prefix).running_var has negative values") }
        let norm = try BatchNorm2D(weight: parameter(prefix + ".weight", shape: [c]),
                                   bias: parameter(prefix + ".bias", shape: [c]),
                                   runningMean: parameter(prefix + ".running_mean", shape: [c]).value,
                                   runningVar: runningVar)
        // Older PyTorch files have no num_batches_tracked; it only counts forwards, nothing reads it.
        if let tracked = dict[prefix + ".num_batches_tracked"] {
            guard tracked.shape.reduce(1, *) == 1 else { throw error("\(prefix).num_batches_tracked is not a scalar") }
            norm.batchesTracked = tracked.integers?.first ?? Int64(tracked.values.first ?? 0)
        }
        return norm
    }
}

extension Generator {
    /// Reads a generator file (txn's, or the seed project's `torch.save(G.state_dict())`).
    public static func load(_ path: String) throws -> Generator {
        try Generator(stateDict: Checkpoint.load(path), path: path)
    }

    /// Writes the generator as a PyTorch state dict with the seed's keys.
    public func save(_ path: String) throws {
        try Checkpoint.write(stateEntries, to: path)
    }
}

extension StateDictReader {
    /// The channels of a chain of 4×4 convolutions (the GAN's layers) whose weights are under `keys`, input first,
    /// each layer taking what the one before gives. PyTorch keeps a transposed convolution's weight as
    /// [in, out, 4, 4] and any other as [out, in, 4, 4]; `role` names a layer in the messages.
    func convolutionChain(_ keys: [String], in dict: StateDict, transposed: Bool, role: String) throws -> [Int] {
        let (inAxis, outAxis) = transposed ? (0, 1) : (1, 0)
        var channels: [Int] = []
        for (i, key) in keys.enumerated() {
            guard let shape = dict.shape(of: key + ".weight") else { throw error("\(key).weight is missing") }
            guard shape.count == 4, shape[2] == 4, shape[3] == 4, shape[0] > 0, shape[1] > 0 else {
                throw error("\(key).weight has shape \(shape); \(role) is \(transposed ? "[in, out, 4, 4]" : "[out, in, 4, 4]")")
            }
            if i == 0 { channels.append(shape[inAxis]) }
            guard shape[inAxis] == channels.last! else {
                throw error("\(key).weight takes \(shape[inAxis]) channels but the layer before gives \(channels.last!)")
            }
            channels.append(shape[outAxis])
        }
        return channels
    }
}
