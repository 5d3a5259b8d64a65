import Foundation
import TxnFiles
import TxnNotebook

/// What `--data` holds, kept within `ServerSettings.Limits.storedFiles` and `storedBytes`: uploads
/// (`sources/u….png|jpg`) and job outputs (a GAN job's `job-ID-generator.pth`), counted together. A new file makes
/// room by removing the oldest first, never one that a queued or running job uses (its source, the generator it
/// starts from). A GAN's resume file (`G.resume.pth`, never served) is removed when its job ends, and any left by
/// an earlier run at the start.
final class DataStore: @unchecked Sendable {
    enum Kind: String, CaseIterable, Sendable {
        case upload, generator
        var plural: String { self == .upload ? "uploads" : "generators" }
    }

    struct Entry: Sendable {
        var kind: Kind
        /// The upload's source id, or the job id whose output it is.
        var key: String
        var path: String
        var bytes: Int
    }

    let directory: String
    let maxFiles: Int
    let maxBytes: Int
    private let lock = NSLock()
    /// Oldest first.
    private var entries: [Entry] = []
    /// Resume files of ended jobs removed at the start: (count, bytes).
    private(set) var removedAtStart = (count: 0, bytes: 0)

    /// Whether a queued or running job uses the file; set by the server before it serves.
    var isInUse: @Sendable (Entry) -> Bool = { _ in false }
    /// Called for each file removed to make room, so the source list or the job forgets it; set by the server.
    var onEvict: @Sendable (Entry) -> Void = { _ in }

    /// Takes stock of `directory`: the uploads and generators found (oldest first, by modification time), and removes
    /// resume files, which only a running job needs.
    init(directory: String, maxFiles: Int, maxBytes: Int) {
        self.directory = directory
        self.maxFiles = maxFiles
        self.maxBytes = maxBytes
        var found: [(Entry, Date)] = []
        let listings: [(String, Kind)] = [(directory + "/sources", .upload), (directory, .generator)]
        for (folder, kind) in listings {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
                let path = folder + "/" + name
                guard let info = Self.regularFile(path) else { continue }
                if kind == .generator && Self.isResumeFile(name) {
                    if unlink(path) == 0 { removedAtStart = (removedAtStart.count + 1, removedAtStart.bytes + info.bytes) }
                    continue
                }
                guard let key = Self.key(of: name, kind: kind) else { continue }
                found.append((Entry(kind: kind, key: key, path: path, bytes: info.bytes), info.modified))
            }
        }
        // Modification times are as coarse as the kernel's clock tick: ties go by id, which for both kinds starts
        // with the time it was made.
        entries = found.sorted { ($0.1, $0.0.key) < ($1.1, $1.0.key) }.map(\.0)
    }

    /// `sources/u<16 hex>.png|jpg` → the id; `job-ID-generator.pth` → the job id.
    static func key(of name: String, kind: Kind) -> String? {
        switch kind {
        case .upload:
            guard let dot = name.lastIndex(of: "."), [".png", ".jpg"].contains(String(name[dot...])) else { return nil }
            let id = String(name[..<dot])
            return SourceStore.isUploadID(id) ? id : nil
        case .generator:
            guard name.hasPrefix("job-"), name.hasSuffix("-generator.pth") else { return nil }
            let id = String(name.dropFirst(4).dropLast("-generator.pth".count))
            return JobID.isWellFormed(id) ? id : nil
        }
    }

    /// A GAN's training state beside its generator: `Hosting.ganResumePath`: `G.pth` → `G.resume.pth`.
    static func isResumeFile(_ name: String) -> Bool {
        name.hasSuffix(Hosting.ganResumePath(for: ".pth"))
    }

    private static func regularFile(_ path: String) -> (bytes: Int, modified: Date)? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (Int(info.st_size), Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec) + TimeInterval(info.st_mtim.tv_nsec) / 1e9))
    }

    // MARK: Adding

    /// Makes room for a new file of `bytes` (removing the oldest files no job uses), then runs `write` and records
    /// the file; all under one lock, so that uploads side by side cannot both take the last room.
    /// 507 when no room can be made (the file alone is over the quota, or every older file is in use).
    func store(_ entry: Entry, write: () throws -> Void) throws {
        lock.lock(); defer { lock.unlock() }
        guard entry.bytes <= maxBytes else {
            throw APIError(.insufficientStorage, "the file (\(entry.bytes) bytes) is over this server's storage quota of \(maxBytes) bytes")
        }
        guard makeRoomLocked(bytes: entry.bytes, files: 1, keeping: nil) else {
            throw APIError(.insufficientStorage, "the storage quota (\(maxFiles) files, \(maxBytes) bytes) is full of files "
                           + "that queued or running jobs use; try again when they have finished", retryAfter: 60)
        }
        try write()
        entries.append(entry)
    }

    /// A job has ended: its resume files go (they are never served), its generator is recorded, and the oldest
    /// files make room for it (it is kept even if it alone is over the quota: it is the result just made).
    func jobEnded(_ jobID: String) {
        let prefix = "job-\(jobID)-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(prefix) {
            let path = directory + "/" + name
            guard let info = Self.regularFile(path) else { continue }
            if Self.isResumeFile(name) {
                _ = unlink(path)
            } else if let key = Self.key(of: name, kind: .generator), key == jobID {
                lock.lock()
                if !entries.contains(where: { $0.path == path }) {
                    entries.append(Entry(kind: .generator, key: key, path: path, bytes: info.bytes))
                }
                _ = makeRoomLocked(bytes: 0, files: 0, keeping: path)
                lock.unlock()
            }
        }
    }

    /// Removes the oldest files no job uses until `bytes` and `files` more fit; false if that is not possible.
    private func makeRoomLocked(bytes: Int, files: Int, keeping: String?) -> Bool {
        while totalBytesLocked + bytes > maxBytes || entries.count + files > maxFiles {
            guard let index = entries.firstIndex(where: { $0.path != keeping && !isInUse($0) }) else { return false }
            let evicted = entries.remove(at: index)
            _ = unlink(evicted.path)
            onEvict(evicted)
        }
        return true
    }

    private var totalBytesLocked: Int { entries.reduce(0) { $0 + $1.bytes } }

    // MARK: Deleting

    /// Removes a file on a client's request (`DELETE`): 409 if a queued or running job uses it. Returns whether there
    /// was one.
    @discardableResult
    func remove(kind: Kind, key: String) throws -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard let index = entries.firstIndex(where: { $0.kind == kind && $0.key == key }) else { return false }
        guard !isInUse(entries[index]) else {
            throw APIError(.conflict, "a queued or running job uses this \(kind.rawValue); stop it first")
        }
        _ = unlink(entries[index].path)
        entries.remove(at: index)
        return true
    }

    func contains(kind: Kind, key: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return entries.contains { $0.kind == kind && $0.key == key }
    }

    // MARK: Reporting

    /// Count and bytes of each kind.
    var usage: [Kind: (count: Int, bytes: Int)] {
        lock.lock(); defer { lock.unlock() }
        var usage: [Kind: (count: Int, bytes: Int)] = [:]
        for kind in Kind.allCases {
            let of = entries.filter { $0.kind == kind }
            usage[kind] = (of.count, of.reduce(0) { $0 + $1.bytes })
        }
        return usage
    }

    /// One line for the start: what the folder holds and its quota.
    var summary: String {
        let usage = self.usage
        let held = Kind.allCases.map { "\(usage[$0]?.count ?? 0) \($0.plural) (\(Self.mebibytes(usage[$0]?.bytes ?? 0)))" }
        var line = "data in \(directory): " + held.joined(separator: ", ")
            + "; quota \(maxFiles) files, \(Self.mebibytes(maxBytes)) (the oldest are removed first)"
        if removedAtStart.count > 0 {
            line += "; removed \(removedAtStart.count) resume files of ended jobs (\(Self.mebibytes(removedAtStart.bytes)))"
        }
        return line
    }

    static func mebibytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / Double(1 << 20)) }
}
