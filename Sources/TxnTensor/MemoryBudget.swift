import Foundation

/// One memory budget for everything a user's numbers can make txn allocate: image and tensor sizes, file reads,
/// tiles, montages, networks planned for an image size.
///
/// Every user-given size goes through `require` (or `requireFloats`) before the allocation it causes, so a typo
/// such as `noise size=30000` is an error that says what was asked, instead of an abort in the allocator or a
/// machine that swaps. Size products are computed with overflow checks: a product that does not fit in an `Int`
/// is over any budget.
public enum MemoryBudget {
    /// The most one request may ask for, in bytes. Defaults to `defaultLimitBytes`; `txn --max-memory MiB`
    /// and the notebook's `set memory=MiB` change it.
    public static var limitBytes: Int {
        get { lock.lock(); defer { lock.unlock() }; return current ?? defaultLimitBytes }
        set { lock.lock(); defer { lock.unlock() }; current = max(0, newValue) }
    }

    /// The limit in whole MiB (for messages and `set memory=`).
    public static var limitMiB: Int { limitBytes / mebibyte }

    /// Sets the limit in MiB; an amount that would overflow bytes is an error, not a wrap-around.
    public static func setLimit(mebibytes: Int) throws {
        guard mebibytes > 0 else {
            throw MemoryBudgetError.invalidLimit("the memory limit must be a positive number of MiB, got \(mebibytes)")
        }
        let (bytes, overflow) = mebibytes.multipliedReportingOverflow(by: mebibyte)
        guard !overflow else {
            throw MemoryBudgetError.invalidLimit("a memory limit of \(mebibytes) MiB is beyond any machine")
        }
        limitBytes = bytes
    }

    /// Three quarters of physical memory, and no more than is available now (MemAvailable) or allowed by the
    /// cgroup (containers): the rest is for the system, the libraries' own buffers and the other processes.
    /// `EnvironmentSettings.maxMemory` (TXN_MAX_MEMORY, MiB) overrides it.
    public static let defaultLimitBytes: Int = {
        if let text = EnvironmentSettings.maxMemory.value, let mib = Int(text), mib > 0 {
            let (bytes, overflow) = mib.multipliedReportingOverflow(by: mebibyte)
            if !overflow { return bytes }
        }
        let info = meminfo()
        let physical = info["MemTotal"] ?? Int(clamping: ProcessInfo.processInfo.physicalMemory)
        var limit = physical / 4 * 3
        if let available = info["MemAvailable"] { limit = min(limit, available) }
        if let cgroup = cgroupLimit() { limit = min(limit, cgroup / 4 * 3) }
        return max(limit, 64 * mebibyte)
    }()

    /// Throws unless `bytes` fits in the budget. `what` names the request in the user's terms
    /// ("noise 30000x30000", "reading /dev/zero").
    public static func require(_ bytes: Int, for what: @autoclosure () -> String) throws {
        let limit = limitBytes
        guard bytes >= 0, bytes <= limit else {
            throw MemoryBudgetError.overBudget(what: what(), bytes: bytes, limit: limit)
        }
    }

    /// The bytes of `count` elements of `elementSize` bytes each, or an error when the product overflows.
    public static func bytes(count: Int, elementSize: Int = MemoryLayout<Float>.stride,
                             for what: @autoclosure () -> String) throws -> Int {
        try product([count, elementSize], for: what())
    }

    /// The product of `factors`, overflow-checked; a negative factor is an error too.
    public static func product(_ factors: [Int], for what: @autoclosure () -> String) throws -> Int {
        var result = 1
        for f in factors {
            guard f >= 0 else {
                throw MemoryBudgetError.invalidSize("\(what()): negative size \(f)")
            }
            let (p, overflow) = result.multipliedReportingOverflow(by: f)
            guard !overflow else { throw MemoryBudgetError.overBudget(what: what(), bytes: Int.max, limit: limitBytes) }
            result = p
        }
        return result
    }

    /// The sum of `terms`, overflow-checked; a negative term is an error too.
    public static func sum(_ terms: [Int], for what: @autoclosure () -> String) throws -> Int {
        var result = 0
        for t in terms {
            guard t >= 0 else { throw MemoryBudgetError.invalidSize("\(what()): negative size \(t)") }
            let (s, overflow) = result.addingReportingOverflow(t)
            guard !overflow else { throw MemoryBudgetError.overBudget(what: what(), bytes: Int.max, limit: limitBytes) }
            result = s
        }
        return result
    }

    /// Checks `copies` Float buffers of shape `dims` against the budget and returns the element count of one.
    @discardableResult
    public static func requireFloats(_ dims: [Int], copies: Int = 1, for what: @autoclosure () -> String) throws -> Int {
        let label = what()
        let count = try product(dims, for: label)
        let bytes = try product([count, MemoryLayout<Float>.stride, max(1, copies)], for: label)
        try require(bytes, for: label)
        return count
    }

    public static let mebibyte = 1 << 20

    nonisolated(unsafe) private static var current: Int?
    private static let lock = NSLock()

    /// /proc/meminfo in bytes, keyed by field name ("MemTotal"); empty where there is no /proc.
    private static func meminfo() -> [String: Int] {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return [:] }
        var fields: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " })
            guard parts.count >= 2, let kib = Int(parts[1]) else { continue }
            fields[String(parts[0])] = kib.multipliedReportingOverflow(by: 1024).overflow ? Int.max : kib * 1024
        }
        return fields
    }

    /// cgroup v2 `memory.max` of this process's group, if it sets a number (not "max").
    private static func cgroupLimit() -> Int? {
        guard let text = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// An error that may say a request is over the memory limit. The layer that finds it says what and by how much; each
/// front end adds how to raise the limit in its own terms (`--max-memory MiB`, `set memory=MiB`).
public protocol MemoryLimitError: Error {
    var isOverMemoryLimit: Bool { get }
}

/// A request over the memory budget, or an invalid limit.
public enum MemoryBudgetError: MemoryLimitError, CustomStringConvertible, Equatable {
    public var isOverMemoryLimit: Bool {
        if case .overBudget = self { return true } else { return false }
    }

    case overBudget(what: String, bytes: Int, limit: Int)
    case invalidLimit(String)
    case invalidSize(String)

    public var description: String {
        switch self {
        case let .overBudget(what, bytes, limit):
            let needs = bytes == Int.max ? "more memory than can be counted"
                : "\(MemoryBudgetError.mib(bytes)) MiB"
            return "\(what) needs \(needs), over the memory limit of \(MemoryBudgetError.mib(limit)) MiB"
        case let .invalidLimit(message), let .invalidSize(message):
            return message
        }
    }

    /// Rounded up, so a request just over the limit never prints as equal to it.
    public static func mib(_ bytes: Int) -> Int {
        bytes / MemoryBudget.mebibyte + (bytes % MemoryBudget.mebibyte == 0 ? 0 : 1)
    }
}
