import TxnFiles
import TxnTensor

/// Reads bounded by the memory budget: what `load`, `run` and notebooks read may be as large as the budget allows.
/// Here, in the lowest layer that reads files by that budget (images), so that TxnTensor does not depend on TxnFiles.

extension SafeFile {
    /// The whole content of a regular file that fits in the memory budget.
    public static func read(_ path: String) throws -> [UInt8] {
        try read(path, limit: MemoryBudget.limitBytes, limitHint: budgetHint)
    }

    /// UTF-8 text of a regular file that fits in the memory budget.
    public static func readText(_ path: String) throws -> String {
        try readText(path, limit: MemoryBudget.limitBytes, limitHint: budgetHint)
    }

    /// What the limit is, in no front end's words: a `tooLarge` failure of these reads is over the memory limit, and
    /// each front end adds how it raises the limit (`--max-memory MiB`, `set memory=MiB`).
    private static let budgetHint = " (the memory limit)"
}
