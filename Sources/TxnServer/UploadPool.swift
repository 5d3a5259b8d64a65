import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where uploads are worked on: never on the event loops or Swift's concurrency pool (both as many threads as
/// cores, so two expensive decodes there would leave no thread to answer the page), but on at most
/// `limits.decodeThreads` threads of their own at nice 10, so that the event loops always win the CPU.
///
/// An upload takes a place (`admit`) before its body is read and holds it to its answer: at most `threads + waiting`
/// uploads are in the server at once, their bodies included, and one more is answered 503 at once instead of being
/// queued. Threads are started as work comes and end when there is none, so an idle server holds none.
final class UploadPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [() -> Void] = []
    private var running = 0
    private let places = PlaceCounter()
    let threads: Int
    let capacity: Int

    init(threads: Int, waiting: Int) {
        self.threads = max(1, threads)
        capacity = self.threads + max(0, waiting)
    }

    /// A place for one upload, or nil when `capacity` uploads are in the server.
    func admit() -> HeldPlace? { places.acquire(limit: capacity) }

    var inServer: Int { places.count }

    /// Runs `work` on a pool thread and returns what it returns. Only admitted uploads call this, so at most
    /// `capacity - threads` items ever wait.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            enqueue { continuation.resume(with: Result { try work() }) }
        }
    }

    private func enqueue(_ item: @escaping () -> Void) {
        condition.lock()
        guard running < threads else {
            pending.append(item)
            condition.unlock()
            return
        }
        running += 1
        condition.unlock()
        let thread = Thread { [self] in drain(first: item) }
        thread.name = "txn-upload"
        thread.start()
    }

    private func drain(first: @escaping () -> Void) {
        #if canImport(Glibc)
        // PRIO_PROCESS with 0 is the calling thread only on Linux (threads are tasks).
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
        var next: (() -> Void)? = first
        while let item = next {
            item()
            condition.lock()
            next = pending.isEmpty ? nil : pending.removeFirst()
            if next == nil { running -= 1 }
            condition.unlock()
        }
    }
}

/// Freed memory back to the system. glibc keeps freed heap memory for reuse, and after a large block is freed it
/// raises its threshold for serving blocks from mmap, so that the next uploads' bodies and pixels come from the heap
/// and stay there: 120 uploads of 19 MB left 1.5 GB resident. `malloc_trim` gives the free pages back.
enum Memory {
    static func returnFreed() { trim?(0) }

    /// glibc's `malloc_trim` (in malloc.h, which no Swift module imports), looked up once; nil elsewhere.
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()
}
