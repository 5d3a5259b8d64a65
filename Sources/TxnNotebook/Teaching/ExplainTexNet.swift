import TxnImage
import TxnSynthesis
import TxnTensor
import TxnTexNet

/// The mathematics of texture networks for `explain`: the generator, the loss it is trained with (optimize's, over
/// the weights instead of the pixels) and its gradient. Constants are read from TxnTexNet and TxnTensor.
extension StepMath {
    static let texnetPaper = "Ulyanov, Lebedev, Vedaldi and Lempitsky 2016"

    static let texnet = StepMath(formulas: { _ in """
        texnet — a texture network (\(texnetPaper), *Texture Networks*): the Gatys loss, optimised over the
        weights θ of one generator instead of over the pixels of one image
          z = (z_0 … z_{K−1}),  z_k ~ U[0, 1) with C_z channels at H/2^{K−1−k} × W/2^{K−1−k}   (k = 0 the coarsest)
          block(·): 3 × 3, 3 × 3 and 1 × 1 convolutions, each followed by N and LeakyReLU (slope \(compact(TexNetArchitecture.leakySlope)))
          a_0 = block(z_0);   a_k = block([N(up₂(a_{k−1})), N(block(z_k))])     up₂: nearest × 2, [·, ·]: channels joined
          x = G_θ(z) = W_rgb a_{K−1} + b_rgb                                      a 1 × 1 convolution to RGB
          norm=instance (Ulyanov, Vedaldi and Lempitsky 2017): N(a)_c = γ_c (a_c − μ_c) / √(σ_c² + ε) + β_c, μ_c and σ_c²
            over each image's own channel c;  norm=batch: over the batch in training, running averages when generating
          tile=true: circular padding in every convolution of G and of VGG-19: x lives on a torus and tiles
        \(trainFormulas)
        """ }, shapes: { args, interp in
            let source = try args.image("source")
            let o = try texnetOptions(args, sessionSeed: interp.seed)
            // The sizes of a run `texnet` would refuse are not explained: the same refusal, at the same argument.
            do { try o.validate(source: source) } catch let e as TexNetError {
                throw args.texnetError(e, fallback: "source")
            } catch let e as MemoryLimitError {
                throw args.memoryError(e, fallback: "source")
            }
            return TexNetShapes.training(o, source: "\(args.label(0, "the source")) \(source.width) × \(source.height)")
        })

    /// The loss and gradient of one training iteration (also `train`'s, for a texture network).
    static var trainFormulas: String {
        let adam = AdamSettings(learningRate: TexNetPreset.small.learningRate)
        return """
        train, a texture network — one iteration on B fresh noise pyramids z_1 … z_B
          L(θ) = (1/B) Σ_b L_tex(G_θ(z_b))       L_tex: optimize's loss on VGG-19, the same layers and weights
            loss=gram: L_tex(x) = Σ_l w_l ¼ mean((G_l(x) − Ĝ_l)²), Ĝ_l the source's Gram matrices; sw, gram+sw as optimize's
          ∂L/∂θ = (1/B) Σ_b (∂G_θ(z_b)/∂θ)ᵀ ∂L_tex/∂x |_{x = G_θ(z_b)}
            ∂L_tex/∂x: back through VGG-19 exactly as optimize's gradient to the pixels (\(paper), eq. 4);
            then back through G (1 × 1, N, LeakyReLU, 3 × 3, the joins, up₂) to every weight and normalisation γ, β
          Adam on θ: m ← β₁ m + (1 − β₁) g,  v ← β₂ v + (1 − β₂) g²,  θ ← θ − lr m̂ / (√v̂ + ε);  β₁ = \(compact(adam.beta1)), β₂ = \(compact(adam.beta2)), ε = \(compact(adam.epsilon))
          unlike optimize, nothing is specific to one image: every z gives a new texture, and generating is one forward pass
        """
    }
}

/// The sizes through a texture network's training iteration and generation.
enum TexNetShapes {
    /// The noise pyramid of one image, coarse to fine: `3 × 4 × 4, 3 × 8 × 8, …`.
    static func noise(_ a: TexNetArchitecture, height: Int, width: Int) -> String {
        (0..<a.scales).map { "\(a.noiseChannels) × \(a.noiseSide(height, scale: $0)) × \(a.noiseSide(width, scale: $0))" }
            .joined(separator: ", ")
    }

    static func training(_ o: TexNetTrainingOptions, source: String) -> String {
        let a = o.architecture, (size, batch) = (o.resolvedSize, o.resolvedBatch)
        var rng = SplitMix64(seed: 0)
        let parameters = TextureNetwork(a, rng: &rng).parameterCount
        let layers = o.synthesisOptions.layers
        return """
            with \(source), \(o.preset) preset (\(a)), size \(size), batch B = \(batch):
              z_k per image: \(noise(a, height: size, width: size))   (period \(a.period): sizes are multiples of it)
              channels after each join: \((1..<a.scales).map { "\(a.joinedChannels($0))" }.joined(separator: " → ")), then x 3 × \(size) × \(size)
              θ: \(parameters) numbers; Adam's m and v hold \(2 * parameters)
              each iteration: B = \(batch) images, each through VGG-19 and back (\(o.loss.rawValue) at \(layers.joined(separator: ", "))), lr = \(compact(o.resolvedLearningRate))
            """
    }

    /// `explain train t`: the run's shapes and the iterations it would add.
    static func train(_ t: TexNetValue, _ args: Arguments) throws -> String {
        guard let training = t.training else {
            throw CommandError("network: \(t.label) holds no training state, so there is nothing to train", at: args.ref("network"))
        }
        let steps = try args.int("steps")
        return self.training(training.options, source: args.label(0, "the texture network") + "'s source")
            + "\niterations \(training.iteration + 1) to \(training.iteration + steps)"
    }

    /// `explain generate t size=…`: the noise pyramid and the image, or why the size cannot be made.
    static func generate(_ t: TexNetValue, _ args: Arguments) throws -> String {
        let (w, h) = try args.size("size")
        return generation(t.network.architecture, width: w, height: h, tile: try args.bool("tile"))
    }

    static func generation(_ a: TexNetArchitecture, width: Int, height: Int, tile: Bool) -> String {
        if let problem = a.sizeProblem(width: width, height: height) { return "generate refuses \(width) × \(height): \(problem)" }
        return "with a texture network of \(a.scales) scales (period \(a.period)) and size \(width) × \(height): z \(noise(a, height: height, width: width))"
            + " → x 3 × \(height) × \(width)" + (tile ? ", circular padding: it tiles" : "")
    }
}
