import Foundation
import TxnCheckpoint
import TxnTensor

/// How PSGAN (Bergmann, Jetchev and Vollgraf 2017, arXiv 1705.06566) splits the generator's noise channels, in its
/// order [global | local | periodic]:
///  - global: one uniform vector per sample, the same at every position (what kind of texture);
///  - local: uniform, independent at every position (the seed's noise: variation within the texture);
///  - periodic: sin(kᵢ · (x, y) + φᵢ) over the noise grid's cell positions, with wave vectors kᵢ made from the
///    global code by a small learnt MLP (one hidden ReLU layer) and phases φᵢ random per sample. They give the
///    generator a coordinate system that stays coherent over any distance, so regular textures stay regular.
public struct NoiseLayout: Equatable, Sendable, CustomStringConvertible {
    public let global: Int, local: Int, periodic: Int
    /// Hidden units of the MLP from the global code to the wave vectors.
    public let hidden: Int

    public init(global: Int, local: Int, periodic: Int, hidden: Int) throws {
        let limit = GANArchitecture.maxChannels
        // Each part is bounded before they are added: split=9223372036854775807,1,1 must not overflow the sum.
        guard global >= 1, local >= 0, periodic >= 1, hidden >= 1, global <= limit, local <= limit, periodic <= limit,
              global + local + periodic <= limit, hidden <= limit else {
            throw GANError("a periodic noise layout needs at least 1 global and 1 periodic channel, 0 or more local ones, "
                + "at most \(limit) in all, and 1 to \(limit) hidden units; got global \(global), local \(local), periodic \(periodic), hidden \(hidden)")
        }
        (self.global, self.local, self.periodic, self.hidden) = (global, local, periodic, hidden)
    }

    /// `G,L,P` or `G,L,P,H` (hidden units default to `defaultHidden`), as the command line and notebook take it.
    public init(parsing text: String, defaultHidden: Int) throws {
        // Decimal digits only: no sign, no empty part; a part too large for an Int is no integer either.
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { part -> Int? in
            let digits = part.trimmingCharacters(in: .whitespaces)
            return !digits.isEmpty && digits.allSatisfy({ $0.isASCII && $0.isNumber }) ? Int(digits) : nil
        }
        guard parts.count == 3 || parts.count == 4, parts.allSatisfy({ $0 != nil }) else {
            throw GANError("a noise split is GLOBAL,LOCAL,PERIODIC or GLOBAL,LOCAL,PERIODIC,HIDDEN (integers), got '\(text)'")
        }
        try self.init(global: parts[0]!, local: parts[1]!, periodic: parts[2]!, hidden: parts.count == 4 ? parts[3]! : defaultHidden)
    }

    public var channels: Int { global + local + periodic }
    public var globalChannels: Range<Int> { 0..<global }
    public var localChannels: Range<Int> { global..<(global + local) }
    public var periodicChannels: Range<Int> { (global + local)..<channels }

    public var description: String { "global \(global), local \(local), periodic \(periodic), MLP \(hidden)" }
}

/// PSGAN's periodic noise: the MLP from the global code to the wave vectors, and the noise grids it makes. It is
/// part of the generator (trained with it, saved in its file under `periodic.*`).
///
/// Wave vectors are in radians per noise cell (a cell is `scale` pixels of output, 32 for the presets). A grid
/// samples the sines only at whole cells, so wave numbers above π alias; the initial ones lie between π/2 and π
/// (periods of 2 to 4 cells) in evenly spread directions, and the generator's filters draw finer structure on them.
public final class PeriodicNoise: @unchecked Sendable {
    public let layout: NoiseLayout
    /// global code → hidden (ReLU) → wave vectors, row 2i being kᵢ's x and row 2i+1 its y component. As a
    /// PyTorch `nn.Sequential(Linear, ReLU, Linear)` named `periodic`: keys periodic.0.* and periodic.2.*.
    let hiddenLayer: Linear, waveLayer: Linear

    static let prefix = "periodic"

    /// Fresh weights: the hidden layer as PyTorch's default `nn.Linear`; the output layer's weights N(0, 0.02)
    /// so that every sample starts near the same wave vectors, its biases, which are those wave vectors.
    public init(layout: NoiseLayout, rng: inout SplitMix64) {
        self.layout = layout
        hiddenLayer = Linear(inFeatures: layout.global, outFeatures: layout.hidden, rng: &rng)
        let p = layout.periodic
        let weights = (0..<(2 * p * layout.hidden)).map { _ in rng.nextGaussian() * GANArchitecture.initialStd }
        var waves = [Float](repeating: 0, count: 2 * p)
        for i in 0..<p {
            let angle = Float.pi * Float(i) / Float(p), length = Float.pi / 2 * (1 + Float(i + 1) / Float(p))
            (waves[2 * i], waves[2 * i + 1]) = (length * cos(angle), length * sin(angle))
        }
        waveLayer = try! Linear(weight: Parameter(shape: [2 * p, layout.hidden], value: weights),
                                bias: Parameter(shape: [2 * p], value: waves))
    }

    init(layout: NoiseLayout, hiddenLayer: Linear, waveLayer: Linear) {
        (self.layout, self.hiddenLayer, self.waveLayer) = (layout, hiddenLayer, waveLayer)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        [("\(Self.prefix).0.weight", hiddenLayer.weight), ("\(Self.prefix).0.bias", hiddenLayer.bias),
         ("\(Self.prefix).2.weight", waveLayer.weight), ("\(Self.prefix).2.bias", waveLayer.bias)]
    }

    var stateEntries: [CheckpointEntry] {
        namedParameters.map { CheckpointEntry($0.name, shape: $0.parameter.shape, floats: $0.parameter.value) }
    }

    /// The MLP of a generator file, or nil if it has no `periodic.*` keys (the seed's all-local noise). The layout
    /// comes from the shapes: global = periodic.0's inputs, hidden = its outputs, periodic = half periodic.2's
    /// outputs, local = the rest of the generator's `noiseChannels`.
    static func load(_ reader: StateDictReader, noiseChannels: Int) throws -> PeriodicNoise? {
        let key0 = "\(prefix).0.weight", key2 = "\(prefix).2.weight"
        guard let s0 = reader.dict.shape(of: key0) else {
            try reader.requireNoOtherKeys(prefix: prefix + ".", known: [])
            return nil
        }
        // Bounded before the layout's arithmetic: a file's shapes can hold any Int (with a 0 beside it).
        let limit = GANArchitecture.maxChannels
        guard s0.count == 2, s0.allSatisfy({ $0 <= limit }), let s2 = reader.dict.shape(of: key2), s2.count == 2,
              s2[0] <= 2 * limit, s2[1] == s0[0], s2[0] % 2 == 0 else {
            throw reader.error("\(key0) \(s0) and \(key2) \(reader.dict.shape(of: key2).map { "\($0)" } ?? "(missing)") are not an MLP "
                + "[hidden, global] → [2·periodic, hidden]")
        }
        let layout: NoiseLayout
        do {
            layout = try NoiseLayout(global: s0[1], local: noiseChannels - s0[1] - s2[0] / 2, periodic: s2[0] / 2, hidden: s0[0])
        } catch let e as GANError {
            throw reader.error("the periodic MLP does not fit \(noiseChannels) noise channels: \(e.message)")
        }
        let hidden = try Linear(weight: reader.parameter(key0, shape: s0), bias: reader.parameter("\(prefix).0.bias", shape: [s0[0]]))
        let waves = try Linear(weight: reader.parameter(key2, shape: s2), bias: reader.parameter("\(prefix).2.bias", shape: [s2[0]]))
        let noise = PeriodicNoise(layout: layout, hiddenLayer: hidden, waveLayer: waves)
        try reader.requireNoOtherKeys(prefix: prefix + ".", known: Set(noise.namedParameters.map { $0.name }))
        return noise
    }

    /// A noise grid and what its backward pass needs.
    public struct Draw: Sendable {
        /// [channels][N][H][W], channels in the layout's order.
        public internal(set) var noise: ChannelMajor
        /// φ per sample and periodic channel, [N][P], in [0, 2π).
        public var phases: [Float]
        /// Set for a tileable grid: the wave vectors are rounded to fit this many cells (see `refresh`).
        public let period: (height: Int, width: Int)?
        /// The MLP's input (global code), hidden activations (after ReLU) and output (wave vectors), per sample.
        var codes: [Float] = [], hidden: [Float] = [], waves: [Float] = []
    }

    /// Fresh noise for `batch` samples on a `height`×`width` grid: global and local channels uniform in [−1, 1],
    /// phases uniform in [0, 2π), then the sines. With `tileable`, the grid is one period of noise that repeats:
    /// local noise wraps around by construction (the caller repeats the grid), and the wave vectors are rounded so
    /// that the sines wrap too.
    public func draw(batch: Int, height: Int, width: Int, rng: inout SplitMix64, tileable: Bool = false) -> Draw {
        var z = ChannelMajor(zeros: layout.channels, batch: batch, height: height, width: width)
        let plane = height * width
        for c in layout.globalChannels {
            for n in 0..<batch {
                let v = rng.nextUnit() * 2 - 1
                for i in 0..<plane { z.data[(c * batch + n) * plane + i] = v }
            }
        }
        for c in layout.localChannels {
            for i in 0..<(batch * plane) { z.data[c * batch * plane + i] = rng.nextUnit() * 2 - 1 }
        }
        let phases = (0..<(batch * layout.periodic)).map { _ in rng.nextUnit() * 2 * Float.pi }
        var d = Draw(noise: z, phases: phases, period: tileable ? (height, width) : nil)
        refresh(&d)
        return d
    }

    /// Recomputes the periodic channels from the global code in `d.noise` (read at each sample's first cell),
    /// the phases and the MLP's current weights: after a training step has moved the MLP, or after an animation
    /// has moved the code or the phases.
    public func refresh(_ d: inout Draw) {
        let z = d.noise, (batch, plane) = (z.batch, z.height * z.width)
        let (g, p) = (layout.global, layout.periodic)
        var codes = [Float](repeating: 0, count: batch * g)
        for n in 0..<batch { for c in 0..<g { codes[n * g + c] = z.data[(c * batch + n) * plane] } }
        var hidden = hiddenLayer.forward(codes, batch: batch)
        for i in hidden.indices { hidden[i] = max(hidden[i], 0) }
        var waves = waveLayer.forward(hidden, batch: batch)
        if let period = d.period {
            let (ph, pw) = period
            // Tileable: sin(kx·x + ky·y + φ) repeats every pw cells across and ph cells down only if kx·pw and
            // ky·ph are whole multiples of 2π, so each component moves to the nearest frequency that fits the grid,
            // 2π·round(k·P/2π)/P. That changes a wave number by at most π/P per cell: little on a large canvas, a
            // visible change of period on a tile only a few cells wide (where a wave may round to 0, a constant).
            for n in 0..<batch {
                for i in 0..<p {
                    let (x, y) = (n * 2 * p + 2 * i, n * 2 * p + 2 * i + 1)
                    waves[x] = 2 * Float.pi * (waves[x] * Float(pw) / (2 * Float.pi)).rounded() / Float(pw)
                    waves[y] = 2 * Float.pi * (waves[y] * Float(ph) / (2 * Float.pi)).rounded() / Float(ph)
                }
            }
        }
        let first = layout.periodicChannels.lowerBound, (h, w) = (z.height, z.width), phases = d.phases
        d.noise.data.withUnsafeMutableBufferPointer { out in
            for i in 0..<p {
                for n in 0..<batch {
                    let (kx, ky, phase) = (waves[n * 2 * p + 2 * i], waves[n * 2 * p + 2 * i + 1], phases[n * p + i])
                    let base = ((first + i) * batch + n) * plane
                    for y in 0..<h { for x in 0..<w { out[base + y * w + x] = sin(kx * Float(x) + ky * Float(y) + phase) } }
                }
            }
        }
        (d.codes, d.hidden, d.waves) = (codes, hidden, waves)
    }

    /// Accumulates the MLP's weight gradients from dL/d(periodic channels) [P][N][H][W]:
    /// dL/dkᵢ = Σ_cells dL/dzᵢ · cos(kᵢ·(x, y) + φᵢ) · (x, y), then back through the MLP. The global code is noise,
    /// so nothing flows further.
    public func backward(_ dPeriodic: ChannelMajor, draw d: Draw) {
        precondition(d.period == nil, "a tileable draw rounds its wave vectors, which has no gradient")
        let (batch, h, w, p) = (d.noise.batch, d.noise.height, d.noise.width, layout.periodic)
        precondition(dPeriodic.channels == p && dPeriodic.batch == batch && dPeriodic.height == h && dPeriodic.width == w)
        var dWaves = [Float](repeating: 0, count: batch * 2 * p)
        for i in 0..<p {
            for n in 0..<batch {
                let (kx, ky, phase) = (d.waves[n * 2 * p + 2 * i], d.waves[n * 2 * p + 2 * i + 1], d.phases[n * p + i])
                let base = (i * batch + n) * h * w
                var (sx, sy) = (0.0, 0.0)
                for y in 0..<h {
                    for x in 0..<w {
                        let g = Double(dPeriodic.data[base + y * w + x]) * Double(cos(kx * Float(x) + ky * Float(y) + phase))
                        sx += g * Double(x)
                        sy += g * Double(y)
                    }
                }
                (dWaves[n * 2 * p + 2 * i], dWaves[n * 2 * p + 2 * i + 1]) = (Float(sx), Float(sy))
            }
        }
        waveLayer.backwardWeights(input: d.hidden, gradOutput: dWaves, batch: batch)
        var dHidden = waveLayer.backwardData(dWaves, batch: batch)
        for i in dHidden.indices where d.hidden[i] <= 0 { dHidden[i] = 0 }
        hiddenLayer.backwardWeights(input: d.codes, gradOutput: dHidden, batch: batch)
    }

    /// The wave vectors of a draw, [N][P][2] (radians per cell), for reports and tests.
    public func waves(of d: Draw) -> [Float] { d.waves }
}
