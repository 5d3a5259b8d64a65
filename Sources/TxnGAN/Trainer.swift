import TxnTensor

/// Adversarial training of a generator against a discriminator, one iteration exactly as the seed's `train_gan`:
///  1. D on a real batch, label 1; back-propagate.
///  2. G(z) in training mode; D on it, detached, label 0; back-propagate (D's gradients now hold both terms).
///  3. D's Adam step.
///  4. D (updated, still in training mode) on the same G(z), label 1; back-propagate through D into G.
///  5. G's Adam step.
/// Losses are binary cross-entropies of sigmoid(logits), taken from the logits.
public final class GANTrainer: @unchecked Sendable {
    public let generator: Generator
    public let discriminator: Discriminator
    public var settings: AdamSettings
    /// Adam steps taken so far (PyTorch's per-parameter `step`, the same for all).
    public internal(set) var iteration = 0
    var generatorMoments: [AdamMoments]
    var discriminatorMoments: [AdamMoments]

    /// The seed's optimiser: Adam, lr 5e-5, betas (0.5, 0.999), weight decay 1e-8.
    public static let seedSettings = AdamSettings(learningRate: 5e-5, beta1: 0.5, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-8)

    public init(generator: Generator, discriminator: Discriminator, settings: AdamSettings = GANTrainer.seedSettings) {
        (self.generator, self.discriminator, self.settings) = (generator, discriminator, settings)
        AllocationPolicy.reuseLargeBuffers()
        generatorMoments = generator.namedParameters.map { AdamMoments(count: $0.parameter.count) }
        discriminatorMoments = discriminator.namedParameters.map { AdamMoments(count: $0.parameter.count) }
    }

    /// What one iteration measured.
    public struct StepResult: Sendable, Equatable {
        /// BCE of D on the real batch (label 1), on the fakes (label 0), and of G through D (label 1).
        public var discriminatorReal: Double, discriminatorFake: Double, generator: Double
        /// D's probabilities per patch, [N][patches]: on the real batch, on the fakes before D's step, and on the
        /// fakes after it (the G step's).
        public var realScores: [Float], fakeScores: [Float], generatedScores: [Float]
        /// The fakes G made this iteration (training mode), [3][N][H][W] in [−1, 1].
        public var fakes: ChannelMajor
        public var discriminatorLoss: Double { discriminatorReal + discriminatorFake }
        /// Mean D(x) on the real batch and on the fakes: 1 is "real".
        public var meanReal: Double { Self.mean(realScores) }
        public var meanFake: Double { Self.mean(fakeScores) }
        static func mean(_ v: [Float]) -> Double { v.isEmpty ? 0 : v.reduce(0.0) { $0 + Double($1) } / Double(v.count) }
    }

    /// One iteration on a real batch [3][N][H][W] in [−1, 1] and a noise grid for N fakes of the same size.
    /// `beforeDiscriminatorStep` sees D's gradients just before D's Adam step (the parity test reads them there).
    /// With PSGAN's periodic noise, `periodicDraw` is the draw `noise` came from: G's step then also trains the
    /// MLP of the wave vectors, through G's gradient on the periodic channels.
    @discardableResult
    public func step(real: ChannelMajor, noise: ChannelMajor, periodicDraw: PeriodicNoise.Draw? = nil,
                     beforeDiscriminatorStep: (() -> Void)? = nil,
                     beforeGeneratorStep: (() -> Void)? = nil) throws -> StepResult {
        for (_, p) in discriminator.namedParameters { p.zeroGradient() }
        let realTrace = try discriminator.forwardTraining(real, keepColumns: true)
        let realLoss = SigmoidBCE.loss(logits: realTrace.logits.data, label: 1)
        try discriminator.backward(gradient(realTrace.logits, label: 1), trace: realTrace, weights: true, inputGradient: false)

        let fake = try generator.forwardTraining(noise)
        let fakeTrace = try discriminator.forwardTraining(fake.output, keepColumns: true)
        let fakeLoss = SigmoidBCE.loss(logits: fakeTrace.logits.data, label: 0)
        try discriminator.backward(gradient(fakeTrace.logits, label: 0), trace: fakeTrace, weights: true, inputGradient: false)
        beforeDiscriminatorStep?()
        iteration += 1
        Self.adam(discriminator.namedParameters, &discriminatorMoments, t: iteration, settings)

        for (_, p) in generator.namedParameters { p.zeroGradient() }
        let genTrace = try discriminator.forwardTraining(fake.output)
        let genLoss = SigmoidBCE.loss(logits: genTrace.logits.data, label: 1)
        let dImage = try discriminator.backward(gradient(genTrace.logits, label: 1), trace: genTrace, weights: false, inputGradient: true)!
        if let periodicDraw, let periodic = generator.periodic {
            let dPeriodic = try generator.backward(dImage, trace: fake, inputChannels: periodic.layout.periodicChannels)!
            periodic.backward(dPeriodic, draw: periodicDraw)
        } else {
            try generator.backward(dImage, trace: fake)
        }
        beforeGeneratorStep?()
        Self.adam(generator.namedParameters, &generatorMoments, t: iteration, settings)
        return StepResult(discriminatorReal: realLoss, discriminatorFake: fakeLoss, generator: genLoss,
                          realScores: realTrace.logits.data.map(SigmoidBCE.sigmoid),
                          fakeScores: fakeTrace.logits.data.map(SigmoidBCE.sigmoid),
                          generatedScores: genTrace.logits.data.map(SigmoidBCE.sigmoid), fakes: fake.output)
    }

    private func gradient(_ logits: ChannelMajor, label: Float) -> ChannelMajor {
        var g = logits
        g.data = SigmoidBCE.gradient(logits: logits.data, label: label)
        return g
    }

    static func adam(_ params: [(name: String, parameter: Parameter)], _ moments: inout [AdamMoments], t: Int, _ s: AdamSettings) {
        for (i, (_, p)) in params.enumerated() {
            moments[i].step(&p.value, gradient: p.gradient, t: t, s)
        }
    }
}

/// The progress line of training, one for every front end.
public enum GANProgressLine {
    /// `iter 20/1000  D 1.21 (real 0.61, fake 0.60)  G 0.83  D(x) 0.55  D(G(z)) 0.45  0.41 s/it  6m42s left`
    public static func line(_ r: GANRecord, total: Int, secondsPerIteration: Double) -> String {
        func f(_ v: Double) -> String { String(format: "%.3f", v) }
        return "iter \(r.iteration)/\(total)  D loss \(f(r.discriminatorLoss))  G loss \(f(r.generatorLoss))  "
            + "D(real) \(f(r.meanReal))  D(fake) \(f(r.meanFake))  "
            + ProgressTiming.text(secondsPerIteration: secondsPerIteration, iterationsLeft: total - r.iteration)
    }
}
