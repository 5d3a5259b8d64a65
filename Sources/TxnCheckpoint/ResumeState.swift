/// What every training run's resume file (`CheckpointPair`) holds besides its method's own state, under the same keys
/// and with the same checks, for every kind of training (the GAN, the texture network): Adam's two moments of each
/// parameter, the iteration, the random stream's state, the seed and the reported history.
public enum ResumeState {
    /// Adam's moments of the parameter `name` (PyTorch's names: `adam.NAME.exp_avg`, `adam.NAME.exp_avg_sq`).
    public static func adamEntries(_ name: String, shape: [Int], m: [Float], v: [Float]) -> [CheckpointEntry] {
        [CheckpointEntry("adam." + name + ".exp_avg", shape: shape, floats: m),
         CheckpointEntry("adam." + name + ".exp_avg_sq", shape: shape, floats: v)]
    }

    /// Where the run is: the iteration reached, the random stream's state and the seed it started from.
    public static func runEntries(iteration: Int, rng: UInt64, seed: UInt64) -> [CheckpointEntry] {
        [CheckpointEntry("train.iteration", shape: [], integers: [Int64(iteration)]),
         CheckpointEntry("train.rng", shape: [], integers: [Int64(bitPattern: rng)]),
         CheckpointEntry("train.seed", shape: [], integers: [Int64(bitPattern: seed)])]
    }

    /// The history as rows of `columns` numbers, the iteration first.
    public static func historyEntry(_ rows: [[Float]], columns: Int) -> CheckpointEntry {
        CheckpointEntry("train.history", shape: [rows.count, columns], floats: rows.flatMap { $0 })
    }

    /// The saved iteration: 0 to Int32.max − 1.
    public static func iteration(_ reader: StateDictReader) throws -> Int {
        let iteration = try reader.integers("train.iteration", 0)[0]
        guard iteration >= 0, iteration < Int64(Int32.max) else { throw reader.error("train.iteration \(iteration) is out of range") }
        return Int(iteration)
    }

    /// The random stream's saved state.
    public static func rngState(_ reader: StateDictReader) throws -> UInt64 {
        UInt64(bitPattern: try reader.integers("train.rng", 0)[0])
    }

    /// The seed the run started from.
    public static func seed(_ reader: StateDictReader) throws -> UInt64 {
        UInt64(bitPattern: try reader.integers("train.seed", 0)[0])
    }

    /// Adam's moments of the parameter `name`: finite, and the second ones not negative.
    public static func adamMoments(_ reader: StateDictReader, _ name: String, shape: [Int]) throws -> (m: [Float], v: [Float]) {
        let m = try reader.finiteValues("adam." + name + ".exp_avg", shape: shape)
        let v = try reader.finiteValues("adam." + name + ".exp_avg_sq", shape: shape)
        guard v.allSatisfy({ $0 >= 0 }) else { throw reader.error("adam.\(name).exp_avg_sq has negative values") }
        return (m, v)
    }

    /// The saved history's rows of `columns` numbers (none when the file has no history), each checked and named when
    /// wrong: finite and not negative, a whole iteration from 1 to `iteration` first, and `rowIsValid` (the method's own bounds, which `expected`
    /// words after the common ones: "losses and seconds that are finite and not negative, D's means from 0 to 1").
    public static func history(_ reader: StateDictReader, columns: Int, iteration: Int, expected: String,
                               rowIsValid: ([Double]) -> Bool = { _ in true }) throws -> [[Double]] {
        guard let shape = reader.dict.shape(of: "train.history") else { return [] }
        guard shape.count == 2, shape[1] == columns else {
            throw reader.error("train.history has shape \(shape), expected [rows, \(columns)]")
        }
        let values = try reader.tensor("train.history", shape: shape).values
        // The iteration as the file stores it (a float), so that the last one is never above the saved iteration.
        let last = Double(Float(iteration))
        return try stride(from: 0, to: values.count, by: columns).map { i in
            let v = values[i..<(i + columns)].map(Double.init)
            guard v.allSatisfy({ $0.isFinite && $0 >= 0 }), v[0] >= 1, v[0] <= last, v[0] == v[0].rounded(), rowIsValid(v) else {
                throw reader.error("train.history row \(i / columns + 1) holds \(v.map { "\($0)" }.joined(separator: ", ")): "
                    + "expected an iteration from 1 to \(iteration), \(expected)")
            }
            return v
        }
    }
}
