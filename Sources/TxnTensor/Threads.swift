import Dispatch
import Foundation
import COpenBLAS

/// The number of threads txn's numeric code uses: our own loops, OpenBLAS and oneDNN.
///
/// One setting for all three, because on a 2-core machine two pools that each think they own every
/// core make each other slower, not faster.
public enum Threads {
    nonisolated(unsafe) private static var current = defaultCount

    /// What `--threads` and `set threads=` accept. More threads than this only cost: each is a stack and a
    /// share of every parallel loop (5000 threads made a tiny run take 21 s).
    public static let allowedRange = 1...1024

    /// Every core the process may use.
    public static var defaultCount: Int { max(1, System.coreCount) }

    public static var count: Int {
        get { current }
        set {
            current = min(max(allowedRange.lowerBound, newValue), allowedRange.upperBound)
            openblas_set_num_threads(Int32(current))
            for hook in hooks { hook(current) }
        }
    }

    nonisolated(unsafe) private static var hooks: [(Int) -> Void] = []

    /// Lets a backend (oneDNN) follow changes of the thread count.
    public static func onChange(_ hook: @escaping (Int) -> Void) {
        hooks.append(hook)
        hook(current)
    }
}

enum System {
    /// swift-corelibs-foundation counts the CPUs in the affinity mask (taskset, container CPU sets).
    static var coreCount: Int { ProcessInfo.processInfo.activeProcessorCount }
}

/// Runs `body(range)` over 0..<count split into at most `Threads.count` contiguous ranges of at
/// least `minChunk` elements, so tight loops stay tight inside each range.
public func parallelRanges(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let threads = min(Threads.count, max(1, count / max(1, minChunk)))
    if threads <= 1 {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            body(count * t / threads ..< count * (t + 1) / threads)
        }
    }
}

/// Runs `body(i)` for i in 0..<count, for loops whose iterations are each a good amount of work.
public func parallelFor(_ count: Int, minChunk: Int = 1, _ body: (Int) -> Void) {
    parallelRanges(count, minChunk: minChunk) { r in for i in r { body(i) } }
}

/// `items` split into calls of at most `most` items for `threads` workers, each worker taking every `threads`-th
/// call: as many calls per worker as its items need, all of one size, so that no worker waits for another.
func evenCalls(items: Int, atMost most: Int, threads: Int) -> (calls: Int, perCall: Int) {
    let calls = threads * ((items + threads * most - 1) / (threads * most))
    return (calls, (items + calls - 1) / calls)
}
