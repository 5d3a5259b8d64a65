import Foundation
import TxnCheckpoint
import TxnFiles
import TxnImage
import TxnSynthesis
import TxnTensor
import TxnVGG

/// Checkpoints of a training run: the generator as a PyTorch state dict (`T.pth`, which `scripts/texnet.py` loads),
/// and beside it everything else a resumed run needs (`T.resume.pth`): Adam's moments, the iteration, the random
/// stream, the options and the history. A resumed run computes exactly what the uninterrupted one would have.
/// (`T.pth` → `T.resume.pth`, its paths and checks: `PairCheckpointed`.)
extension TexNetTraining: PairCheckpointed {
    public static let checkpointKind = "a texture network checkpoint"

    /// Writes both files, each to a temporary first and renamed into place one right after the other
    /// (`Checkpoint.writePair`); the resume file records the SHA-256 of the generator file written with it, so a
    /// pair mixed by a kill between the two renames is recognised on resuming, never continued.
    public func save(to path: String) throws {
        var entries: [CheckpointEntry] = []
        for (i, (name, p)) in network.namedParameters.enumerated() {
            entries += ResumeState.adamEntries(name, shape: p.shape, m: moments[i].m, v: moments[i].v)
        }
        let o = options
        entries += ResumeState.runEntries(iteration: iteration, rng: rng.state, seed: o.seed)
        entries += [
            CheckpointEntry("train.size_batch_tile_loss", shape: [4], integers: [
                Int64(o.resolvedSize), Int64(o.resolvedBatch), o.tile ? 1 : 0,
                Int64(SynthesisOptions.Loss.allCases.firstIndex(of: o.loss)!)]),
            CheckpointEntry("train.lr", shape: [1], floats: [o.resolvedLearningRate]),
            ResumeState.historyEntry(history.map { [Float($0.iteration), Float($0.loss), Float($0.seconds)] }, columns: 3),
        ]
        try Checkpoint.writePair(network.stateEntries, to: path, then: { hash in
            entries + [CheckpointPair.hashEntry(hash)]
        }, to: Self.resumePath(for: path))
    }

    /// Continues the run saved at `path` (and its resume file) on `source`. Every number read from the files is
    /// checked (the options as a fresh run's are, the iteration, the moments, the history row by row).
    public convenience init(resuming path: String, source: Image, model: VGG19) throws {
        let statePath = Self.resumePath(for: path)
        do { try SafeFile.checkReadable(statePath) } catch let f as SafeFile.Failure where f.kind == .notFound {
            throw TexNetError("\(statePath): no resume state beside \(path) (it is written with every checkpoint of a training run)")
        }
        let network = try TextureNetwork.load(path)
        let reader = StateDictReader(texNet: try Checkpoint.load(statePath), path: statePath)
        let iteration = try ResumeState.iteration(reader)
        try CheckpointPair.checkBelongs(reader, networkFile: path, iteration: iteration)
        let options = try Self.savedOptions(reader, network.architecture)
        // A saved option named as the file stores it (`size: …`), in no front end's spelling.
        do { try options.validate(source: source) } catch let e as TexNetError {
            throw reader.error(e.option.map { "\($0): \(e.reason)" } ?? e.reason)
        }
        let moments = try network.namedParameters.map { name, p -> AdamMoments in
            var m = AdamMoments(count: p.count)
            (m.m, m.v) = try ResumeState.adamMoments(reader, name, shape: p.shape)
            return m
        }
        var rng = SplitMix64(seed: 0)
        rng.state = try ResumeState.rngState(reader)
        let objective = try TextureObjective(model: model, source: source, options: options.synthesisOptions)
        self.init(network: network, options: options, objective: objective, rng: rng, moments: moments,
                  iteration: iteration, history: try Self.savedHistory(reader, iteration: iteration))
    }

    private static func savedOptions(_ reader: StateDictReader, _ a: TexNetArchitecture) throws -> TexNetTrainingOptions {
        let v = try reader.integers("train.size_batch_tile_loss", 4)
        guard v[0] > 0, v[0] <= 1 << 16, v[1] > 0, v[1] <= 1 << 16, v[2] == 0 || v[2] == 1,
              v[3] >= 0, v[3] < Int64(SynthesisOptions.Loss.allCases.count) else {
            throw reader.error("train.size_batch_tile_loss \(v) is out of range")
        }
        var o = TexNetTrainingOptions()
        guard let preset = TexNetPreset.allCases.first(where: { $0.architecture(a.normalisation) == a }) else {
            throw reader.error("the generator (\(a)) is not one of the presets' networks")
        }
        (o.preset, o.normalisation) = (preset, a.normalisation)
        // A value equal to the preset's is left to it, as a fresh run's options leave it.
        let (size, batch, lr) = (Int(v[0]), Int(v[1]), try reader.floats("train.lr", shape: [1])[0])
        o.size = size == preset.size ? nil : size
        o.batch = batch == preset.batch ? nil : batch
        o.learningRate = lr == preset.learningRate ? nil : lr
        (o.tile, o.loss) = (v[2] == 1, SynthesisOptions.Loss.allCases[Int(v[3])])
        o.seed = try ResumeState.seed(reader)
        return o
    }

    private static func savedHistory(_ reader: StateDictReader, iteration: Int) throws -> [TexNetRecord] {
        try ResumeState.history(reader, columns: 3, iteration: iteration, expected: "a loss and seconds that are not negative")
            .map { TexNetRecord(iteration: Int($0[0]), loss: $0[1], seconds: $0[2]) }
    }
}
