import TxnImage
import TxnTensor

/// Textures from a trained generator, in evaluation mode: any size, optionally tileable.
public enum GANGeneration {
    /// Noise cells for an output of `pixels`: enough to cover it (an odd size is generated larger, then cropped).
    /// Written so that no `Int` overflows.
    static func cells(_ pixels: Int, scale: Int) -> Int { pixels / scale + (pixels % scale == 0 ? 0 : 1) }

    /// Floats one generation holds at its widest layer (input, output and the patch matrix), for the memory budget.
    static func peakFloats(_ g: Generator, batch: Int, cellsHigh: Int, cellsWide: Int) throws -> Int {
        var peak = 0, (h, w) = (cellsHigh, cellsWide)
        for i in 0..<(g.channels.count - 1) {
            let input = try MemoryBudget.product([g.channels[i], batch, h, w], for: "generation")
            let columns = try MemoryBudget.product([g.channels[i + 1], 16, batch, h, w], for: "generation")
            (h, w) = (try MemoryBudget.product([2, h], for: "generation"), try MemoryBudget.product([2, w], for: "generation"))
            let output = try MemoryBudget.product([g.channels[i + 1], batch, h, w], for: "generation")
            peak = max(peak, try MemoryBudget.sum([input, columns, output], for: "generation"))
        }
        return peak
    }

    /// The one check of a generation request from outside (a command line, a notebook, a job): the size and the
    /// count are positive, and `count` images of `width`×`height` plus the generator's widest layer for `batch` of
    /// them fit the memory budget, all overflow-safe. Returns the noise grid (cells high, cells wide) of one image,
    /// before any 2×2 repetition for `tile`.
    static func checkRequest(_ g: Generator, width: Int, height: Int, batch: Int, images count: Int, tile: Bool,
                             what: String) throws -> (high: Int, wide: Int) {
        guard width >= 1, height >= 1, batch >= 1 else {
            throw GANError("the size must be at least 1x1 and the batch at least 1, got \(width)x\(height), batch \(batch)")
        }
        let scale = g.scale
        let (ch, cw) = (cells(height, scale: scale), cells(width, scale: scale))
        let (gh, gw) = tile ? (try MemoryBudget.product([2, ch], for: what), try MemoryBudget.product([2, cw], for: what)) : (ch, cw)
        let images = try MemoryBudget.product([count, 3, width, height], for: what)
        let floats = try MemoryBudget.sum([images, try peakFloats(g, batch: batch, cellsHigh: gh, cellsWide: gw)], for: what)
        try MemoryBudget.require(try MemoryBudget.bytes(count: floats, for: what), for: what)
        return (ch, cw)
    }

    /// `batch` textures of `width`×`height` from noise drawn with `seed`. With `tile`, each tiles seamlessly: its
    /// noise grid is repeated 2×2, the generator makes an image with that period, and the centre crop of one period
    /// is taken, away from the borders that the convolutions' zero padding changes (the seed project's method);
    /// the size must then be a multiple of the generator's scale. With PSGAN's periodic noise, the sines' wave
    /// vectors are rounded to fit the grid, so that the whole noise (local, global and periodic) repeats.
    public static func generate(_ g: Generator, width: Int, height: Int, batch: Int = 1, seed: UInt64, tile: Bool) throws -> [Image] {
        let (ch, cw) = try checkRequest(g, width: width, height: height, batch: batch, images: batch, tile: tile,
                                        what: "generating \(batch) texture\(batch == 1 ? "" : "s") of \(width)x\(height)" + (tile ? " (tileable)" : ""))
        if tile {
            guard width % g.scale == 0, height % g.scale == 0 else {
                throw GANError("a tileable texture's size must be a multiple of \(g.scale) (the generator's noise cell), got \(width)x\(height)")
            }
        }
        var rng = SplitMix64(seed: seed)
        var z = GANNoiseDraw(g, batch: batch, height: ch, width: cw, rng: &rng, tileable: tile).noise
        if tile { z = GANNoise.repeated2x2(z) }
        let x = try g.generate(z)
        return try (0..<batch).map { n in
            let full = try GANImages.image(x, sample: n)
            let (x0, y0) = tile ? (width / 2, height / 2) : ((full.width - width) / 2, (full.height - height) / 2)
            return (full.width, full.height) == (width, height) ? full : try full.cropped(x: x0, y: y0, width: width, height: height)
        }
    }

    /// Frames of the seed's animation: a sine walk through noise space (`sine`) that loops, or straight lines
    /// between random key frames (`keyframes`, every `framesPerKey` frames, back to the first at the end).
    public enum Walk: String, CaseIterable, Sendable {
        case sine, keyframes
        /// The seed's walk.
        public static let standard = Walk.sine
    }

    /// How many frames an animation may have, for every front end.
    public static let frameRange = 2...1000

    public static func animate(_ g: Generator, width: Int, height: Int, frames: Int, walk: Walk, seed: UInt64,
                               framesPerKey: Int = 20) throws -> [Image] {
        guard frameRange.contains(frames) else {
            throw GANError("an animation needs \(frameRange.lowerBound) to \(frameRange.upperBound) frames, got \(frames)")
        }
        guard width >= 1, height >= 1, width % g.scale == 0, height % g.scale == 0 else {
            throw GANError("an animation's size must be a multiple of \(g.scale), got \(width)x\(height)")
        }
        // The frames and, for each, the generator's widest layer (`gan animate` skipped the latter once).
        let (ch, cw) = try checkRequest(g, width: width, height: height, batch: 1, images: frames, tile: false,
                                        what: "\(frames) frames of \(width)x\(height)")
        var rng = SplitMix64(seed: seed)
        let start = GANNoiseDraw(g, batch: 1, height: ch, width: cw, rng: &rng)
        var keys = [start]
        if walk == .keyframes {
            for _ in 0..<max(1, (frames + framesPerKey - 1) / framesPerKey - 1) {
                keys.append(GANNoiseDraw(g, batch: 1, height: ch, width: cw, rng: &rng))
            }
            keys.append(start)
        }
        return try (0..<frames).map { f in
            var z: ChannelMajor, phases: [Float]? = nil
            switch walk {
            case .sine:
                z = GANNoise.sineWalk(start.noise, frame: f, frames: frames)
                // The waves travel one period along the loop.
                phases = start.periodic?.phases.map { $0 + 2 * Float.pi * Float(f + 1) / Float(frames) }
            case .keyframes:
                let position = Double(f) / Double(frames) * Double(keys.count - 1)
                let k = min(Int(position), keys.count - 2), t = Float(position - Double(k))
                z = GANNoise.interpolate(keys[k].noise, keys[k + 1].noise, t)
                if let a = keys[k].periodic?.phases, let b = keys[k + 1].periodic?.phases {
                    phases = zip(a, b).map { $0 + ($1 - $0) * t }
                }
            }
            // The walk moved the global code too: the sines follow from it (and the walked phases), not the walk.
            if let p = g.periodic, var d = start.periodic, let phases {
                (d.noise, d.phases) = (z, phases)
                p.refresh(&d)
                z = d.noise
            }
            return try GANImages.image(try g.generate(z))
        }
    }
}
