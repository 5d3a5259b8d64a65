import TxnTensor

/// The texture network's evaluation mode on txn's blocked maps (`BlockedMap`): how `TexNetGeneration` makes large
/// images. The same function as `TextureNetwork.generate` (the channel-major reference, which the tests hold this
/// to), computed so that a 2048² texture fits in far less memory and time: 3x3 convolutions by Winograd, in place
/// in bands of rows; 1x1 convolutions in place; each normalisation as one statistics pass, its affine map and
/// LeakyReLU applied by the next convolution as it reads; the coarse path's join normalisation applied before its
/// upsampling (nearest x2 copies each pixel four times, so its per-channel mean and variance are those of the small
/// map); the noise path's last convolution written straight into its channels of the joined map, so joining copies
/// nothing.
enum MapGeneration {
    /// Whether the blocked path computes this architecture: each scale's channels are whole blocks, so that the
    /// join puts them side by side without moving channels within a block.
    static func supports(_ a: TexNetArchitecture) -> Bool { a.width % BlockedMap.block == 0 }

    /// The images of `noise` (coarse to fine), [3][N][H][W], not clamped; image by image.
    static func generate(_ network: TextureNetwork, noise: [ChannelMajor], padding: PaddingMode) throws -> ChannelMajor {
        let a = network.architecture
        precondition(supports(a))
        try network.checkNoise(noise)
        let finest = noise[a.scales - 1], pixels = finest.height * finest.width
        var out = ChannelMajor(zeros: 3, batch: finest.batch, height: finest.height, width: finest.width)
        for sample in 0..<finest.batch {
            try out.data.withUnsafeMutableBufferPointer { o in
                try image(network, noise: noise, sample: sample, padding: padding, into: o.baseAddress! + sample * pixels,
                          stride: finest.batch * pixels)
            }
        }
        guard out.data.allSatisfy({ $0.isFinite }) else {
            throw TexNetError("the texture network makes values that are not finite (NaN or infinite): its weights are out of any sensible range")
        }
        return out
    }

    /// One image, into its 3 planes `stride` floats apart (the last convolution writes them). Each normalisation is
    /// left as a `ChannelAffine` for the next convolution to apply as it reads (so the 40-channel maps of the finest
    /// scale are not rewritten once per normalisation), except where the next layer is one whose statistics need the
    /// values themselves (a join normalisation).
    private static func image(_ network: TextureNetwork, noise: [ChannelMajor], sample: Int, padding: PaddingMode,
                              into planes: UnsafeMutablePointer<Float>, stride: Int) throws {
        let a = network.architecture
        var (deep, pending) = try noiseBlock(network.noiseBlocks[0], noise[0], sample: sample, into: nil, padding: padding)
        for k in 1..<a.scales {
            let z = noise[k], deepBlocks = deep.blocks
            // On the coarse map, before upsampling: its statistics are those of its nearest-neighbour x2 copy.
            MapPasses.apply(pending, to: deep.whole)
            MapPasses.apply(try evaluation(network.joinDeep[k - 1], of: deep.whole, leakySlope: 1), to: deep.whole)
            let joined = try BlockedMap(channels: a.joinedChannels(k), height: z.height, width: z.width)
            try MapPasses.upsample2(deep.whole, into: joined.blocks(0..<deepBlocks))
            deep = joined  // the coarse map is freed here, before the noise block's maps are made
            let fresh = joined.blocks(deepBlocks..<joined.blocks)
            let freshPending = try noiseBlock(network.noiseBlocks[k], z, sample: sample, into: fresh, padding: padding).pending
            MapPasses.apply(freshPending, to: fresh)
            pending = ChannelAffine.identity(channels: deepBlocks * BlockedMap.block)
                .joined(try evaluation(network.joinNoise[k - 1], of: fresh, leakySlope: 1))
            for unit in network.mergeBlocks[k - 1].units {
                pending = try run(unit, joined.whole, into: joined.whole, reading: pending, padding: padding)!
            }
        }
        let toRGB = network.toRGB.conv
        precondition(network.toRGB.kernel == 1 && network.toRGB.norm == nil, "the final unit is a 1x1 convolution to RGB")
        try MapConvolution1x1(weight: toRGB.weight.value, bias: toRGB.bias.value, inChannels: toRGB.inChannels, outChannels: toRGB.outChannels)
            .run(deep.whole, intoPlanes: planes, stride: stride, sourceAffine: pending)
    }

    /// Scale k's noise through its block; the last unit writes into `destination` when given (the noise path's
    /// channels of the joined map), else into a map of its own. Returns the map it made and the last unit's
    /// normalisation, not yet applied to it.
    private static func noiseBlock(_ block: ConvBlock, _ z: ChannelMajor, sample: Int, into destination: MapView?,
                                   padding: PaddingMode) throws -> (map: BlockedMap, pending: ChannelAffine) {
        var x = try BlockedMap(z, sample: sample)
        var pending: ChannelAffine? = nil
        for (i, unit) in block.units.enumerated() {
            let out = unit.conv.outChannels
            if i == block.units.count - 1, let destination {
                return (x, try run(unit, x.whole, into: destination, reading: pending, padding: padding)!)
            }
            if BlockedMap.blocks(out) == x.blocks {
                pending = try run(unit, x.whole, into: x.whole(asChannels: out), reading: pending, padding: padding)
                x.relabel(channels: out)
            } else {
                let y = try BlockedMap(channels: out, height: x.height, width: x.width)
                pending = try run(unit, x.whole, into: y.whole, reading: pending, padding: padding)
                x = y
            }
        }
        return (x, pending!)
    }

    /// One unit's convolution of `x` read through `pending` (the previous normalisation). Returns its own
    /// normalisation with the LeakyReLU, for the next layer to apply (nil for the final unit to RGB, which has none).
    private static func run(_ unit: ConvUnit, _ x: MapView, into y: MapView, reading pending: ChannelAffine?,
                            padding: PaddingMode) throws -> ChannelAffine? {
        let conv = unit.conv
        // An instance normalisation's statistics are summed by the convolution as it writes its output.
        let wanted: Bool
        if case .instance? = unit.norm { wanted = true } else { wanted = false }
        let moments = unit.kernel == 3
            ? try MapConvolution3x3(weight: conv.weight.value, bias: conv.bias.value, inChannels: conv.inChannels,
                                    outChannels: conv.outChannels).run(x, into: y, padding: padding, sourceAffine: pending, moments: wanted)
            : try MapConvolution1x1(weight: conv.weight.value, bias: conv.bias.value, inChannels: conv.inChannels,
                                    outChannels: conv.outChannels).run(x, into: y, sourceAffine: pending, moments: wanted)
        return try unit.norm.map { try evaluation($0, of: y, leakySlope: TexNetArchitecture.leakySlope, moments: moments) }
    }

    /// A normalisation layer in evaluation mode on `x`, as a per-channel affine map followed by LeakyReLU of
    /// `leakySlope` (1: none): instance norm with the map's own statistics (`moments` when its maker kept them),
    /// batch norm with its running ones.
    private static func evaluation(_ norm: NormLayer, of x: MapView, leakySlope: Float,
                                   moments: (mean: [Double], variance: [Double])? = nil) throws -> ChannelAffine {
        let (gamma, beta) = (norm.weight.value, norm.bias.value)
        guard gamma.count == x.channels else {
            throw TensorError.shapeMismatch("normalisation of \(gamma.count) channels on a map of \(x.channels)")
        }
        let mean: [Double], variance: [Double], epsilon: Float
        switch norm {
        case .instance(let n):
            (mean, variance) = moments ?? MapPasses.moments(x)
            epsilon = n.epsilon
        case .batch(let n):
            (mean, variance) = (n.runningMean.map(Double.init), n.runningVar.map(Double.init))
            epsilon = n.epsilon
        }
        var scale = [Float](repeating: 0, count: x.channels), shift = scale
        for c in 0..<x.channels {
            scale[c] = Float(Double(gamma[c]) / (variance[c] + Double(epsilon)).squareRoot())
            shift[c] = Float(Double(beta[c]) - mean[c] * Double(scale[c]))
        }
        return ChannelAffine(scale: scale, shift: shift, slope: leakySlope)
    }

    /// What generating one `width` x `height` image holds at its peak, besides the noise: at each scale the joined
    /// map with either the coarse map it is upsampled from or the noise block's maps and a 3x3 convolution's bands;
    /// at the end the last map and the image's planes.
    static func peakBytes(_ a: TexNetArchitecture, width w: Int, height h: Int) throws -> Int {
        let what = "generating \(w)x\(h) with the texture network"
        func map(_ c: Int, _ k: Int) throws -> Int {
            try BlockedMap.bytes(channels: c, height: a.noiseSide(h, scale: k), width: a.noiseSide(w, scale: k), for: what)
        }
        func bands(_ c: Int, _ k: Int) throws -> Int {
            try MapConvolution3x3(weight: [Float](repeating: 0, count: c * c * 9), bias: [Float](repeating: 0, count: c),
                                  inChannels: c, outChannels: c).workBytes(height: a.noiseSide(h, scale: k), width: a.noiseSide(w, scale: k))
        }
        var peak = 0
        for k in 0..<a.scales {
            // The noise map becomes the block's first feature map in place when both fit the same blocks.
            let noiseMaps = BlockedMap.blocks(a.noiseChannels) == BlockedMap.blocks(a.width) ? try map(a.width, k)
                : try MemoryBudget.sum([try map(a.noiseChannels, k), try map(a.width, k)], for: what)
            let joined = k == 0 ? 0 : try map(a.joinedChannels(k), k)
            let coarse = k == 0 ? 0 : try BlockedMap.bytes(channels: a.joinedChannels(k - 1), height: a.noiseSide(h, scale: k - 1),
                                                          width: a.noiseSide(w, scale: k - 1), for: what)
            let work = try bands(max(a.joinedChannels(k), a.noiseChannels), k)
            peak = max(peak, try MemoryBudget.sum([joined, max(coarse, try MemoryBudget.sum([noiseMaps, work], for: what))], for: what))
        }
        let last = try map(a.joinedChannels(a.scales - 1), a.scales - 1)
        let planes = try MemoryBudget.bytes(count: try MemoryBudget.product([3, h, w], for: what), for: what)
        return max(peak, try MemoryBudget.sum([last, planes], for: what))
    }
}
