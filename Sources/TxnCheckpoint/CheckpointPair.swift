import TxnFiles

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
}
