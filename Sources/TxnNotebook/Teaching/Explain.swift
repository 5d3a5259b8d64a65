import Foundation
import TxnGAN
import TxnImage
import TxnSynthesis
import TxnTensor
import TxnVGG

/// The mathematics of each step, for `explain COMMAND args…` and `help COMMAND --math`.
///
/// This table is the one place the formulas are written: `help --math` prints an entry's formulas, `explain` prints
/// them and then the same quantities with the sizes of the call's arguments filled in. Constants come from the code
/// that uses them (L-BFGS's Wolfe constants, Adam's betas, the GAN's settings, VGG-19's channel counts), never retyped.
struct StepMath {
    /// The formulas in symbols, with where they come from.
    let formulas: (CommandContext) -> String
    /// The sizes for one call (its arguments already checked against the command's spec).
    let shapes: ((Arguments, CommandContext) throws -> String)?

    static let paper = "Gatys, Ecker and Bethge 2015"

    /// Commands with mathematics, keyed by command name.
    static let table: [String: StepMath] = [
        "extract": StepMath(formulas: { _ in """
            extract — VGG-19 features (\(paper), section 2)
              F_l = ReLU(W_l ∗ F_{l−1} + b_l)      3 × 3 convolution, stride 1; padding keeps H × W
              pool_b: 2 × 2 pooling (average by default), stride 2:  H × W → ⌈H/2⌉ × ⌈W/2⌉
              F_l as a matrix: N_l × M_l          N_l channels (rows), M_l = H_l · W_l positions (columns)
            """ }, shapes: { args, interp in
                let image = try args.image("image")
                let layers = try args.layers("layers")
                return "with \(args.label(0, "the image")) \(image.width) × \(image.height):\n"
                    + (try LayerShapes.table(layers, height: image.height, width: image.width, interp: interp))
            }),

        "gram": StepMath(formulas: { _ in """
            gram — the texture model (\(paper), eq. 1)
              G = F Fᵀ / M          G_ij = (1/M) Σ_k F_ik F_jk
              F  N × M   one layer's features: N feature maps of M = H · W positions, one map per row
              G  N × N   symmetric: how strongly maps i and j fire together, averaged over all positions;
                         where things are is gone, what occurs with what stays
              norm=pixels (default): / M;  norm=pixels-channels: / (N M);  norm=none: F Fᵀ (the paper's eq. 1, grows with M)
            """ }, shapes: { args, interp in
                var layers: [(name: String, c: Int, h: Int, w: Int)] = []
                let label = args.label(0, "the features")
                switch args.raw("features") {
                case .tensor(let t)?:
                    guard t.rank == 4 else { throw CommandError("features: a layer's features are 1 × N × H × W, this tensor is \(t.shape)", at: args.ref("features")) }
                    layers = [(label, t.c, t.h, t.w)]
                case .features(let f)?:
                    let wanted = args.has("layers") ? try args.layers("layers") : f.layers
                    layers = try wanted.map { l in
                        guard let i = f.layers.firstIndex(of: l) else {
                            throw CommandError("layers: '\(l)' is not among the extracted layers (\(f.layers.joined(separator: ", ")))", at: args.ref("layers"))
                        }
                        let t = f.tensors[i]
                        return ("\(label).\(l)", t.c, t.h, t.w)
                    }
                default:
                    let image = try args.image("features")
                    layers = try args.layers("layers", default: VGG19.gatysLayers).map { l in
                        let s = try LayerShapes.shape(l, height: image.height, width: image.width)
                        return ("\(l) of \(label) (\(image.width) × \(image.height))", s.c, s.h, s.w)
                    }
                }
                let norm = try args.choice("norm")
                let divisor = norm == GramNormalisation.pixels.rawValue ? "/ M" : norm == GramNormalisation.none.rawValue ? "(no division)" : "/ (N M)"
                return layers.map { l in
                    let m = l.h * l.w
                    return "with \(l.name): F \(l.c) × \(m) (\(l.c) maps of \(l.h) × \(l.w)), M = \(m), N = \(l.c), G \(l.c) × \(l.c) \(divisor)"
                }.joined(separator: "\n")
            }),

        "optimize": StepMath(formulas: { _ in """
            optimize — synthesis by descent on the pixels (\(paper), section 4)
              x: the source, x̂: the image being made (n = 3 · H · W unknowns); at layer l, F_l, F̂_l are their
              features (N_l × M_l) and G_l, Ĝ_l their Gram matrices (N_l × N_l, G = F Fᵀ / M, eq. 1)
              E_l = 1/(4 N_l²) Σ_ij (Ĝ_l − G_l)²_ij  = ¼ mean((Ĝ_l − G_l)²)          eq. 2 (the paper's 1/(4 N_l² M_l²) with G / M_l)
              L(x̂) = Σ_l w_l E_l                                                   eq. 3
              ∂E_l/∂F̂_l = (Ĝ_l − G_l) F̂_l / (N_l² M_l),  0 where F̂_l = 0 (ReLU off)    eq. 4
              ∂L/∂x̂ = Σ_l w_l (∂F̂_l/∂x̂)ᵀ ∂E_l/∂F̂_l                                back-propagation through VGG-19 to the pixels
            optimizer=lbfgs (the paper's), memory m = history:
              g_k = ∇L(x̂_k);  s_i = x̂_{i+1} − x̂_i,  y_i = g_{i+1} − g_i,  ρ_i = 1 / (y_iᵀ s_i)   for the last m steps
              d_k = −H_k g_k   by the two-loop recursion; H_k ≈ the inverse Hessian, starting from (sᵀy / yᵀy) I
              x̂_{k+1} = P(x̂_k + t d_k), t from a strong-Wolfe line search:
                L(x̂_k + t d_k) ≤ L(x̂_k) + c₁ t g_kᵀ d_k   and   |∇L(x̂_k + t d_k)ᵀ d_k| ≤ c₂ |g_kᵀ d_k|,   c₁ = \(compact(LBFGS.sufficientDecrease)), c₂ = \(compact(LBFGS.curvature))
              P: projection onto the bounds (bounds=source: each channel within the source's range); pixels held at a
              bound are left out of d (L-BFGS-B's free-variable mask)
            optimizer=adam:
              m ← β₁ m + (1 − β₁) g,  v ← β₂ v + (1 − β₂) g²,  x̂ ← P(x̂ − lr m̂ / (√v̂ + ε)),  m̂, v̂ bias-corrected;  β₁ = \(compact(Adam().beta1)), β₂ = \(compact(Adam().beta2)), ε = \(compact(Adam().epsilon))
            """ }, shapes: { args, interp in
                let source = try args.image("source")
                let (w, h) = try args.size("size")
                let layers = try args.layers("layers")
                let given = try args.numbers("weights")
                guard given.count == 1 || given.count == layers.count else {
                    throw CommandError("weights: \(given.count) weights for \(layers.count) layers", at: args.ref("weights"))
                }
                let weights = SynthesisOptions.layerWeights(given, layerCount: layers.count)
                var rows: [[String]] = []
                for (l, wl) in zip(layers, weights) {
                    let s = try LayerShapes.shape(l, height: source.height, width: source.width)
                    let o = try LayerShapes.shape(l, height: h, width: w)
                    rows.append([l, "\(s.c)", "\(s.h * s.w)", "\(o.h * o.w)", "\(s.c) × \(s.c)", compact(wl)])
                }
                let n = 3 * w * h
                var out = "with \(args.label(0, "the source")) \(source.width) × \(source.height) and x̂ \(w) × \(h): n = 3 · \(h) · \(w) = \(n) unknowns\n"
                out += interp.table(["layer", "N_l", "M_l (x)", "M_l (x̂)", "G_l, Ĝ_l", "w_l"], rows) + "\n"
                let optimizer: SynthesisOptions.Optimizer.Name = try args.choice("optimizer")
                if optimizer == .adam {
                    let lr = try args.number("lr")
                    out += "Adam, lr = \(compact(lr)): m and v hold 2 · n = \(2 * n) numbers (\(LayerShapes.mebibytes(2 * n)) MiB)"
                } else {
                    let m = try args.int("history")
                    out += "L-BFGS, m = \(m): the pairs (s_i, y_i) hold 2 · m · n = \(2 * m * n) numbers (\(LayerShapes.mebibytes(2 * m * n)) MiB)"
                }
                return out
            }),

        "compare": StepMath(formulas: { _ in """
            compare — how far apart two textures a and b are, whatever their sizes
              Gram loss:  Σ_l w_l ¼ mean((G_l(a) − G_l(b))²)                            the synthesis loss (\(paper), eq. 2–3)
              sliced Wasserstein:  SW_l = √( 1/(K q) Σ_k Σ_i (A_k,(i) − B_k,(i))² )
                A_k = θ_kᵀ F_l(a): a's M_l feature vectors projected on a fixed random unit direction θ_k ∈ ℝ^{N_l},
                sorted (A_k,(i)) and read at q evenly spaced quantiles; K = \(TextureStatistics.defaultProjections) directions per layer
              SW = mean_l SW_l: every order of the feature distribution along each direction, not only the second
            """ }, shapes: { args, interp in
                let a = try args.image("a"), b = try args.image("b")
                let layers = try args.layers("layers")
                var rows: [[String]] = []
                for l in layers {
                    let sa = try LayerShapes.shape(l, height: a.height, width: a.width)
                    let sb = try LayerShapes.shape(l, height: b.height, width: b.width)
                    rows.append([l, "\(sa.c)", "\(sa.h * sa.w)", "\(sb.h * sb.w)", "\(sa.c) × \(sa.c)"])
                }
                return "with a \(a.width) × \(a.height) and b \(b.width) × \(b.height):\n"
                    + interp.table(["layer", "N_l", "M_l (a)", "M_l (b)", "G_l"], rows)
            }),

        "gan": StepMath(formulas: { _ in """
            gan — a spatial GAN (PSGAN family: Jetchev, Bergmann and Vollgraf 2016; Bergmann et al. 2017)
              z ~ U[−1, 1) on a grid: one noise vector per cell of \(GANPreset.small.architecture.scale) × \(GANPreset.small.architecture.scale) pixels
              G: transposed convolutions 4 × 4, stride 2, padding 1 (each doubles H and W); batch norm + ReLU between, tanh last
              D: convolutions 4 × 4, stride 2, padding 1 (each halves H and W); LeakyReLU \(compact(GANArchitecture.leakySlope)), batch norm
                 on the middle layers; one logit ℓ per patch: D(x) = σ(ℓ), the probability that the patch is real
              weights ~ N(0, \(compact(GANArchitecture.initialStd))²), biases 0; both networks are fully convolutional: any size
            """ }, shapes: { args, interp in
                let source = try args.image("source")
                let o = try ganOptions(args, sessionSeed: interp.seed)
                return GANShapes.networks(o.preset.architecture, crop: o.resolvedCrop, batch: o.resolvedBatch,
                                          source: "\(args.label(0, "the source")) \(source.width) × \(source.height)")
            }),

        "train": StepMath(formulas: { _ in """
            train — one iteration of the seed's train_gan, on B real crops x and B noise grids z
              σ(ℓ) = 1 / (1 + e^{−ℓ}): D's probability that a patch is real, from its logit ℓ
              BCE(ℓ, y) = −[y log σ(ℓ) + (1 − y) log(1 − σ(ℓ))] = max(ℓ, 0) − ℓ y + log(1 + e^{−|ℓ|})   (from logits: never log 0)
              D's loss:  L_D = mean_p BCE(D(x)_p, 1) + mean_p BCE(D(G(z))_p, 0)    real crops called real, fakes fake; G fixed
                         then one Adam step on D's weights
              G's loss:  L_G = mean_p BCE(D(G(z))_p, 1) = −mean_p log σ(D(G(z))_p)   through the updated D, fakes called real
                         then one Adam step on G's weights (Goodfellow et al. 2014's non-saturating loss)
              the means run over every patch logit of the batch; D(real), D(fake): mean σ on the real crops and the fakes
              Adam: m ← β₁ m + (1 − β₁) g,  v ← β₂ v + (1 − β₂) g²,  θ ← θ − lr m̂ / (√v̂ + ε), g including weight decay · θ
            \(trainFormulas)
            """ }, shapes: { args, interp in
                try args.withGenerator("network", gan: { try GANShapes.train($0, args) }, texnet: { try TexNetShapes.train($0, args) })
            }),

        "generate": StepMath(formulas: { _ in """
            generate — a texture from noise: x = G(z), G in evaluation mode (batch norm with its running statistics)
              z ~ U[−1, 1) on a grid of ⌈H/s⌉ × ⌈W/s⌉ cells, s pixels per cell; a size that is not a multiple of s is
              generated larger and centre-cropped
              tile=true: z repeated 2 × 2, G on the doubled grid, one period cut from the middle: it tiles without a seam
            a texture network: x = G_θ(z) for a noise pyramid z of the size asked (each side a multiple of the coarsest
              noise period 2^{K−1}), one forward pass; tile=true: circular padding, so x tiles (`explain texnet`)
            """ }, shapes: { args, interp in
                try args.withGenerator("network", gan: { try GANShapes.generate($0, args) }, texnet: { try TexNetShapes.generate($0, args) })
            }),

        "texnet": .texnet,

        "noise": StepMath(formulas: { _ in """
            noise — a starting image
              kind=meannoise: x₀ = μ + σ ε, ε ~ N(0, 1) for every pixel and channel; μ the mean colour of like= (else 0.5)
              kind=uniform:   x₀ ~ U[0, 1)
            """ }, shapes: { args, interp in
                let (w, h) = try args.size("size")
                return "with size \(w) × \(h): x₀ 3 × \(h) × \(w) = \(3 * w * h) numbers"
            }),

        "histmatch": StepMath(formulas: { _ in """
            histmatch — each channel c of x gets the reference's distribution:
              y_c = Q_ref,c(F_x,c(x_c))     F: x's cumulative distribution, Q: the reference's quantile function
            """ }, shapes: nil),

        "animate": StepMath(formulas: { _ in """
            animate — a walk through noise space, x_f = G(z_f)
              walk=sine: z_f = sin(z₀ + 2π (f + 1) / n), f = 0 … n − 1: a loop (the seed's animate.py)
              walk=keyframes: z along straight lines between random key grids
            """ }, shapes: nil),
    ]

    /// `help NAME --math`: the formulas, or a note that the command has none.
    static func formulas(of name: String, _ interp: CommandContext) -> String {
        guard let entry = table[name] else {
            return "\(name) has no mathematics to explain; these do: \(table.keys.sorted().joined(separator: ", "))\n"
        }
        var out = entry.formulas(interp) + "\n"
        if entry.shapes != nil, let spec = interp.commandsByName[name] {
            // The command's example without its assignment: `g = gram f` → `explain gram f`.
            var example = spec.example
            if let r = example.range(of: " = "), !example[..<r.lowerBound].contains(" ") { example = String(example[r.upperBound...]) }
            out += "(`explain \(example)` fills in the sizes)\n"
        }
        return out
    }
}

extension Arguments {
    /// How positional argument `i` was written (`f.pool2`), for the explanation's text.
    func label(_ i: Int, _ fallback: String) -> String {
        (i < positionalNames.count ? positionalNames[i] : nil) ?? fallback
    }
}

extension ParamType {
    static func words<E: RawRepresentable & CaseIterable>(of _: E.Type) -> [String] where E.RawValue == String {
        E.allCases.map(\.rawValue)
    }
}

/// The sizes of VGG-19's layers for an input size, without running the network.
enum LayerShapes {
    static func shape(_ layer: String, height: Int, width: Int) throws -> (c: Int, h: Int, w: Int) {
        let index = try VGG19.stageIndex(of: layer)
        let (h, w) = VGG19.mapSize(height: height, width: width, stage: index)
        return (try VGG19.channels(of: layer), h, w)
    }

    static func table(_ layers: [String], height: Int, width: Int, interp: CommandContext) throws -> String {
        let rows = try layers.map { l -> [String] in
            let s = try shape(l, height: height, width: width)
            return [l, "\(s.c)", "\(s.h) × \(s.w)", "\(s.h * s.w)", "\(s.c) × \(s.h * s.w)"]
        }
        return interp.table(["layer", "N_l", "H_l × W_l", "M_l", "F_l"], rows)
    }

    static func mebibytes(_ floats: Int) -> String {
        String(format: "%.1f", Double(floats) * 4 / 1_048_576)
    }
}

/// The shapes through a spatial GAN's two networks for one training batch.
enum GANShapes {
    /// `explain train g`: the networks' shapes, Adam's settings, the iterations.
    static func train(_ g: GANValue, _ args: Arguments) throws -> String {
        guard let t = g.training else {
            throw CommandError("network: \(g.label) holds no training state, so there is nothing to train", at: args.ref("network"))
        }
        let s = t.trainer.settings
        let steps = try args.int("steps")
        let architecture = try GANArchitecture(generatorChannels: g.generator.channels,
                                               discriminatorChannels: t.trainer.discriminator.channels)
        return networks(architecture, crop: t.options.resolvedCrop, batch: t.options.resolvedBatch,
                        source: args.label(0, "the GAN") + "'s source")
            + "\nAdam for each network: lr = \(compact(s.learningRate)), β₁ = \(compact(s.beta1)), β₂ = \(compact(s.beta2)), "
            + "ε = \(compact(s.epsilon)), weight decay = \(compact(s.weightDecay))\n"
            + "iterations \(t.iteration + 1) to \(t.iteration + steps)"
    }

    /// `explain generate g size=…`: the noise grid and the image.
    static func generate(_ g: GANValue, _ args: Arguments) throws -> String {
        let (w, h) = try args.size("size")
        let (scale, c0) = (g.generator.scale, g.generator.noiseChannels)
        let tile = try args.bool("tile")
        let (cw, ch) = ((w + scale - 1) / scale, (h + scale - 1) / scale)
        var out = "with \(args.label(0, "the GAN")) (s = \(scale)) and size \(w) × \(h): z \(c0) × \(ch) × \(cw)"
            + " → G(z) 3 × \(ch * scale) × \(cw * scale)"
        if tile && (w % scale != 0 || h % scale != 0) {
            out += "\ntile=true needs a multiple of \(scale) in both directions: generate refuses \(w) × \(h)"
        } else if tile {
            out += "; tiled: z \(c0) × \(2 * ch) × \(2 * cw) → 3 × \(2 * h) × \(2 * w), one period \(w) × \(h) cut from the middle"
        }
        return out
    }

    static func networks(_ a: GANArchitecture, crop: Int, batch: Int, source: String) -> String {
        let g = a.generatorChannels, d = a.discriminatorChannels
        let cells = crop / a.scale
        var lines = ["with \(source), crop c = \(crop), batch B = \(batch), \(a.description):"]
        var gShapes = ["z \(batch) × \(g[0]) × \(cells) × \(cells)"]
        for i in 1..<g.count { gShapes.append("\(g[i]) × \(cells << i) × \(cells << i)") }
        lines.append("  G: " + gShapes.joined(separator: " → ") + (g.count > 1 ? " (tanh)" : ""))
        var dShapes = ["x \(batch) × 3 × \(crop) × \(crop)"]
        for i in 1..<d.count { dShapes.append("\(d[i]) × \(crop >> i) × \(crop >> i)") }
        lines.append("  D: " + dShapes.joined(separator: " → "))
        let patches = crop >> (d.count - 1)
        lines.append("  D's logits: B × 1 × \(patches) × \(patches) = \(batch * patches * patches) patches per batch (each mean_p runs over them)")
        return lines.joined(separator: "\n")
    }
}

extension Interpreter {
    /// `explain COMMAND args…`: the step's mathematics, and with arguments the sizes they give. The arguments are the
    /// command's own, checked against its spec exactly as a real call would be; nothing is computed or assigned.
    func explain(_ call: CommandCall, file: String, lines: SourceLines) throws -> Value {
        guard let first = call.positional.first else {
            if let key = call.keywords.first {
                throw Diagnostic(file: file, location: key.location, message: "explain takes a command first, e.g. explain gram f.pool2",
                                 sourceLine: lines[key.location.line])
            }
            print("explain COMMAND [its arguments]: the step's mathematics, with the sizes of the arguments filled in")
            print("commands with mathematics: \(StepMath.table.keys.sorted().joined(separator: ", "))")
            return .none
        }
        guard case .name(let name, let path, let location) = first, path.isEmpty, commandsByName[name] != nil else {
            let written: String
            if case .name(let n, _, _) = first { written = n } else { written = "this" }
            let suggestion = nearest(written, in: commandNames).map { " (did you mean '\($0)'?)" } ?? ""
            throw Diagnostic(file: file, location: first.location, message: "explain: '\(written)' is not a command\(suggestion)",
                             sourceLine: lines[first.location.line], notes: ["e.g. explain gram f.pool2"])
        }
        guard let entry = StepMath.table[name] else {
            output.write(StepMath.formulas(of: name, self))
            return .none
        }
        let inner = CommandCall(name: name, location: location, positional: Array(call.positional.dropFirst()), keywords: call.keywords)
        var text = entry.formulas(self)
        if let shapes = entry.shapes, !(inner.positional.isEmpty && inner.keywords.isEmpty) {
            let arguments = try bind(inner, file: file, lines: lines)
            text += "\n" + (try located(inner, file: file, lines: lines) { try shapes(arguments, self) })
        }
        print(text)
        return .none
    }
}

/// A constant as written in papers and code: 0.0001, 1e-8, 1e9 (Floats by their shortest decimal form, so 1e-8 is not
/// 9.99999993922529e-09).
func compact(_ x: Float) -> String { compact(Double("\(x)") ?? Double(x)) }

func compact(_ x: Double) -> String {
    var s = String(format: "%g", x)
    if let e = s.firstIndex(of: "e") {
        var exponent = String(s[s.index(after: e)...])
        let sign = exponent.hasPrefix("-") ? "-" : ""
        exponent = String(exponent.drop(while: { $0 == "+" || $0 == "-" || $0 == "0" }))
        s = String(s[..<e]) + "e" + sign + exponent
    }
    return s
}
