import TxnCheckpoint
import TxnTensor

extension TextureNetwork {
    /// The state dict (`scripts/texnet.py`'s `TextureNetwork.state_dict()` keys): each layer's parameters, then its
    /// buffers.
    public var stateEntries: [CheckpointEntry] {
        var out: [CheckpointEntry] = []
        for (k, b) in noiseBlocks.enumerated() { out += b.stateEntries("noise.\(k)") }
        for k in joinDeep.indices {
            out += joinDeep[k].stateEntries("join.\(k).deep") + joinNoise[k].stateEntries("join.\(k).noise")
        }
        for (k, b) in mergeBlocks.enumerated() { out += b.stateEntries("merge.\(k)") }
        return out + [CheckpointEntry("to_rgb.weight", shape: toRGB.conv.weight.shape, floats: toRGB.conv.weight.value),
                      CheckpointEntry("to_rgb.bias", shape: toRGB.conv.bias.shape, floats: toRGB.conv.bias.value)]
    }

    /// Writes the generator as a PyTorch state dict.
    public func save(_ path: String) throws {
        try Checkpoint.write(stateEntries, to: path)
    }

    /// Reads a texture network file; the shape (scales, width, noise channels, normalisation) comes from the
    /// tensors. Anything else (a GAN generator, VGG weights, a file with extra or missing keys) is an error that
    /// names the file and says what it holds.
    public static func load(_ path: String) throws -> TextureNetwork {
        try TextureNetwork(stateDict: Checkpoint.load(path), path: path)
    }

    public convenience init(stateDict dict: StateDict, path: String) throws {
        let reader = StateDictReader(texNet: dict, path: path)
        var scales = 0
        while dict.shape(of: "noise.\(scales).conv1.weight") != nil { scales += 1 }
        guard scales >= 1, let first = dict.shape(of: "noise.0.conv1.weight") else {
            if dict.keys.contains(where: { $0.hasPrefix("generate.") }) {
                throw reader.error("this is a GAN generator (keys generate.0.weight, …), not a texture network: "
                    + "load it as a GAN generator, or give a texture network's checkpoint")
            }
            throw reader.error("no texture network here: expected keys noise.0.conv1.weight, …, to_rgb.weight (written by a "
                + "texture network's training or save); found \(reader.keySummary)")
        }
        guard first.count == 4, first[2] == 3, first[3] == 3 else {
            throw reader.error("noise.0.conv1.weight has shape \(first); the first convolution is [width, noise channels, 3, 3]")
        }
        let normalisation: TexNetNormalisation = dict.shape(of: "noise.0.norm1.running_mean") != nil ? .batch : .instance
        let a: TexNetArchitecture
        do { a = try TexNetArchitecture(scales: scales, width: first[0], noiseChannels: first[1], normalisation: normalisation) }
        catch let e as TexNetError { throw reader.error(e.reason) }
        func block(_ prefix: String, _ cin: Int, _ cout: Int) throws -> ConvBlock {
            try ConvBlock(units: zip(ConvBlock.kernels.enumerated(), ConvBlock.unitPrefixes(prefix)).map { ik, p in
                let (i, k) = ik
                return ConvUnit(conv: try reader.convolution(p.conv, cin: i == 0 ? cin : cout, cout: cout, kernel: k),
                                norm: try reader.norm(p.norm, normalisation, channels: cout))
            })
        }
        var noise: [ConvBlock] = [], deep: [NormLayer] = [], fresh: [NormLayer] = [], merge: [ConvBlock] = []
        for k in 0..<scales {
            noise.append(try block("noise.\(k)", a.noiseChannels, a.width))
            if k > 0 {
                deep.append(try reader.norm("join.\(k - 1).deep", normalisation, channels: a.joinedChannels(k - 1)))
                fresh.append(try reader.norm("join.\(k - 1).noise", normalisation, channels: a.width))
                merge.append(try block("merge.\(k - 1)", a.joinedChannels(k), a.joinedChannels(k)))
            }
        }
        let rgb = ConvUnit(conv: try reader.convolution("to_rgb", cin: a.joinedChannels(scales - 1), cout: 3, kernel: 1), norm: nil)
        self.init(architecture: a, noiseBlocks: noise, joinDeep: deep, joinNoise: fresh, mergeBlocks: merge, toRGB: rgb)
        let known = Set(stateEntries.map(\.key))
        let unknown = dict.keys.filter { !known.contains($0) }
        guard unknown.isEmpty else {
            throw reader.error("unexpected keys for a texture network of \(a): \(unknown.prefix(5).joined(separator: ", "))")
        }
    }
}

extension StateDictReader {
    /// A reader whose errors are `TexNetError`s.
    init(texNet dict: StateDict, path: String) { self.init(dict, path: path, error: { TexNetError($0) }) }

    /// Finite floats of `key`, of this shape, stored as floating point.
    func floats(_ key: String, shape: [Int]) throws -> [Float] {
        guard try tensor(key, shape: shape).integers == nil else { throw error("\(key) must be floating point") }
        return try finiteValues(key, shape: shape)
    }

    func parameter(_ key: String, shape: [Int]) throws -> Parameter {
        Parameter(shape: shape, value: try floats(key, shape: shape))
    }

    func convolution(_ prefix: String, cin: Int, cout: Int, kernel: Int) throws -> StridedConv2D {
        try StridedConv2D(weight: try parameter(prefix + ".weight", shape: [cout, cin, kernel, kernel]),
                          bias: try parameter(prefix + ".bias", shape: [cout]),
                          geometry: PatchGeometry(kernel: kernel, stride: 1, padding: 0))
    }

    func norm(_ prefix: String, _ kind: TexNetNormalisation, channels c: Int) throws -> NormLayer {
        let weight = try parameter(prefix + ".weight", shape: [c]), bias = try parameter(prefix + ".bias", shape: [c])
        switch kind {
        case .instance:
            return .instance(try InstanceNorm2D(weight: weight, bias: bias))
        case .batch:
            let runningVar = try floats(prefix + ".running_var", shape: [c])
            guard runningVar.allSatisfy({ $0 >= 0 }) else { throw error("\(prefix).running_var has negative values") }
            let n = try BatchNorm2D(weight: weight, bias: bias, runningMean: try floats(prefix + ".running_mean", shape: [c]),
                                    runningVar: runningVar)
            n.batchesTracked = try integers(prefix + ".num_batches_tracked", 0)[0]
            return .batch(n)
        }
    }
}
