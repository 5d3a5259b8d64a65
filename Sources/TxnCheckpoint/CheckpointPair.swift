import TxnFiles

/// A kind of training run whose checkpoint is a `CheckpointPair` (the GAN's, the texture network's): it names its
/// network file, and gets the pair's paths and checks from here, which every front end's train and save use.
public protocol PairCheckpointed {
    /// The network file in messages: "a generator checkpoint".
    static var checkpointKind: String { get }
}

extension PairCheckpointed {
    /// Where the resume state of the network file `path` lives: `N.pth` → `N.resume.pth`.
    public static func resumePath(for path: String) -> String { CheckpointPair.resumePath(for: path) }

    /// The one check of the output paths, before any work (`CheckpointPair.checkOutputs`); `resumeFile: false` for a
    /// network saved without its training state (the notebook's `save` of a loaded network).
    public static func checkOutputs(_ path: String, resumeFile: Bool = true) throws {
        try CheckpointPair.checkOutputs(path, kind: checkpointKind, resumeFile: resumeFile)
    }

    @discardableResult
    public static func removeStaleTemporaries(of path: String) -> [String] { CheckpointPair.removeStaleTemporaries(of: path) }
}

/// A training run's checkpoint is a pair of files: the network (`N.pth`, a PyTorch state dict other tools load) and,
/// beside it, everything else a resumed run needs (`N.resume.pth`), written together by `Checkpoint.writePair`. Their
/// names and checks, for every kind of training (the GAN, the texture network).
public enum CheckpointPair {
    /// `N.pth` → `N.resume.pth`.
    public static func resumePath(for path: String) -> String {
        (path.hasSuffix(".pth") ? String(path.dropLast(4)) : path) + ".resume.pth"
    }

    /// The one check of a pair's output paths, made before any work: a `.pth` name (never a checkpoint in `x.png`),
    /// and the network file and, with `resumeFile`, its resume file new or regular files in a writable folder (a
    /// symlink at N.resume.pth must not cost a whole run at its end). `kind` names the file in the message.
    public static func checkOutputs(_ path: String, kind: String, resumeFile: Bool = true) throws {
        try SafeFile.checkExtension(path, ["pth"], kind: kind)
        try SafeFile.checkWritable(path, createFolders: true)
        if resumeFile { try SafeFile.checkWritable(resumePath(for: path), createFolders: true) }
    }

    /// Removes what checkpoints of `path` left behind when a process writing them was killed (their temporary files).
    @discardableResult
    public static func removeStaleTemporaries(of path: String) -> [String] {
        SafeFile.removeStaleTemporaries(of: path) + SafeFile.removeStaleTemporaries(of: resumePath(for: path))
    }

    /// Where a resume file records the SHA-256 of the network file written with it (four int64 words), so that a pair
    /// mixed by a kill between the two renames of `Checkpoint.writePair` is recognised on resuming, never continued.
    public static let networkHashKey = "train.generator_sha256"

    /// The resume file's record of the network file written with it; `hex` is that file's SHA-256.
    public static func hashEntry(_ hex: String) -> CheckpointEntry {
        CheckpointEntry(networkHashKey, shape: [4], integers: hashWords(hex))
    }

    /// Throws (in the reader's error type) unless the resume file `reader` reads was written with the network file at
    /// `path` as it is now; `iteration` is the resume file's. Says what to do in no front end's terms.
    public static func checkBelongs(_ reader: StateDictReader, networkFile path: String, iteration: Int) throws {
        guard reader.dict.shape(of: networkHashKey) != nil else {
            throw reader.error("records no hash of its network file (written by an older txn?), so nothing shows that it "
                + "belongs to \(path); train afresh")
        }
        let recorded = try reader.integers(networkHashKey, 4)
        let actual = try Checkpoint.sha256(ofFileAt: path)
        guard hashWords(actual) == recorded else {
            throw reader.error("the checkpoint of iteration \(iteration) was written with another \(path) (SHA-256 "
                + "\(hashHex(recorded).prefix(12))…, the file's is \(actual.prefix(12))…): the two files are from different "
                + "checkpoints (a run killed between writing them, or a file replaced), and resuming would mix them. "
                + "Train afresh, or put back the \(path) of that checkpoint")
        }
    }

    /// A SHA-256 in hex as the four int64 words a checkpoint stores exactly.
    static func hashWords(_ hex: String) -> [Int64] {
        let digits = Array(hex)
        return (0..<4).map { i in
            Int64(bitPattern: UInt64(String(digits[min(16 * i, digits.count)..<min(16 * i + 16, digits.count)]), radix: 16) ?? 0)
        }
    }

    static func hashHex(_ words: [Int64]) -> String {
        words.map { w in
            let h = String(UInt64(bitPattern: w), radix: 16)
            return String(repeating: "0", count: 16 - h.count) + h
        }.joined()
    }
}
