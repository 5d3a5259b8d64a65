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

    private static let budgetHint = " (the memory limit: raise it with --max-memory MiB or `set memory=MiB`)"
}
