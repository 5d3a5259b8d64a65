import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs one heavy job at a time on a thread of its own; the rest wait in order.
///
/// The numeric code keeps both cores busy with its own thread pools (txn's loops, OpenBLAS, oneDNN's
/// OpenMP). None of that runs on the server's event loops, which only move bytes, so the page and
/// the event streams stay responsive during a job. The worker thread runs at a lower priority
/// (nice 5); threads it starts inherit that.
final class JobQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [Job] = []
    private var jobs: [String: Job] = [:]
    private var order: [String] = []
    private let settings: ServerSettings
    private let data: DataStore
    private var thread: Thread?

    init(settings: ServerSettings, data: DataStore) {
        self.settings = settings
        self.data = data
        // The thread keeps the queue alive: it serves for the life of the process.
        let thread = Thread { self.work() }
        thread.name = "txn-jobs"
        thread.stackSize = 64 << 20
        self.thread = thread
        thread.start()
    }

    func job(_ id: String) -> Job? {
        condition.lock(); defer { condition.unlock() }
        return jobs[id]
    }

    var all: [Job] {
        condition.lock(); defer { condition.unlock() }
        return order.compactMap { jobs[$0] }
    }

    /// Queues a job, or refuses with 429 when the queue is full.
    func submit(_ kind: any JobKind) throws -> Job {
        condition.lock(); defer { condition.unlock() }
        guard pending.count < settings.limits.queuedJobs else {
            throw APIError(.tooManyRequests, "the queue is full (\(settings.limits.queuedJobs) jobs waiting); try again later")
        }
        var id = JobID.make()
        while jobs[id] != nil { id = JobID.make() }
        let job = Job(id: id, kind: kind)
        jobs[job.id] = job
        order.append(job.id)
        pending.append(job)
        forgetOldJobsLocked()
        updatePositionsLocked()
        condition.signal()
        return job
    }

    /// Stops a job at any moment: a queued one leaves the queue; one that left the queue but has not started never
    /// starts; one before its first iteration ends there (nothing to keep); a running one stops at its next iteration
    /// and keeps its best result.
    func stop(_ job: Job) -> Bool {
        condition.lock(); defer { condition.unlock() }
        guard job.requestStop() else { return false }
        if let i = pending.firstIndex(where: { $0 === job }) {
            pending.remove(at: i)
            job.finish(.stopped, result: ["iterations": 0, "message": "stopped before it started"])
            updatePositionsLocked()
        }
        return true
    }

    /// Whether a job that has not finished uses a stored file: an upload as its source, a generator it starts from
    /// (`from`), or its own output.
    func uses(_ entry: DataStore.Entry) -> Bool {
        condition.lock(); defer { condition.unlock() }
        return jobs.values.contains { job in
            guard !job.currentStatus.isFinished else { return false }
            switch entry.kind {
            case .upload: return job.kind.parameters["source"] as? String == entry.key
            case .generator: return job.id == entry.key || job.kind.parameters["from"] as? String == entry.key
            }
        }
    }

    /// Forgets a finished job (`DELETE /api/jobs/ID`); false if it has not finished.
    func forget(_ job: Job) -> Bool {
        condition.lock(); defer { condition.unlock() }
        guard job.currentStatus.isFinished else { return false }
        jobs[job.id] = nil
        order.removeAll { $0 == job.id }
        return true
    }

    private func updatePositionsLocked() {
        for (i, job) in pending.enumerated() { job.setQueuePosition(i + 1) }
    }

    private func forgetOldJobsLocked() {
        let finished = order.filter { jobs[$0]?.currentStatus.isFinished == true }
        for id in finished.dropLast(settings.limits.finishedJobs) {
            jobs[id] = nil
            order.removeAll { $0 == id }
        }
    }

    private func work() {
        #if canImport(Glibc)
        // On Linux, PRIO_PROCESS with 0 is the calling thread only (threads are tasks).
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 5)
        #endif
        while true {
            condition.lock()
            while pending.isEmpty { condition.wait() }
            let job = pending.removeFirst()
            updatePositionsLocked()
            condition.unlock()
            run(job)
        }
    }

    /// Runs one job to its end; whatever it throws becomes its `error` event, never the server's.
    private func run(_ job: Job) {
        guard job.markRunning() else {
            job.finish(.stopped, result: ["iterations": 0, "message": "stopped before it started"])
            return
        }
        let context = JobContext(job: job, settings: settings)
        let ran = Result { try job.kind.run(context) }
        // However it ended, before that is announced: its resume files go, its output is counted in the quota.
        data.jobEnded(job.id)
        do {
            let outcome = try ran.get()
            context.image(outcome.image, caption: "result", force: true)
            var fields = outcome.fields
            if let log = fields["log"] as? String { fields["log"] = settings.relativePaths(log) }
            fields["notebook"] = "/api/jobs/\(job.id)/notebook"
            if let k = outcome.stoppedAfter { fields["stoppedAfter"] = k }
            fields["files"] = outcome.files.keys.sorted()
            job.finish(outcome.stoppedAfter == nil ? .done : .stopped, result: fields,
                       notebook: job.kind.notebook(jobID: job.id, completedSteps: outcome.stoppedAfter), files: outcome.files)
        } catch is JobStoppedEarly {
            job.finish(.stopped, result: ["iterations": 0, "message": "stopped before its first iteration"])
        } catch let failure as JobFailure {
            job.finish(.error, result: ["error": settings.relativePaths(failure.message), "log": settings.relativePaths(failure.log)])
        } catch {
            job.finish(.error, result: ["error": settings.relativePaths("\(error)")])
        }
    }
}
