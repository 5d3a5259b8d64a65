import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Everything `txn serve` is configured with: where it listens, where its files are, and the limits
/// that keep one client from exhausting the machine. The defaults live here and nowhere else.
public struct ServerSettings: Sendable {
    /// Loopback only unless asked (`txn serve --host`).
    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 5000
    public var host = defaultHost
    public var port = defaultPort
    /// Shipped textures (read-only; `Notebooks/data` of the checkout).
    public var shippedDirectory: String
    /// Uploaded sources are written here, under names the server makes.
    public var dataDirectory: String
    /// Where the notebooks' `model` finds `vgg_normalised.pth`.
    public var modelsDirectory: String
    public var limits = Limits()
    /// The secret a non-loopback server requires (as Jupyter does); made at random when nil.
    public var token: String?

    public struct Limits: Sendable {
        /// Bytes of one upload, counted as the body streams in.
        public var uploadBytes = 20 * 1024 * 1024
        /// Pixels of an uploaded image, checked against its header before decoding.
        public var uploadPixels = 16_000_000
        /// Seconds an upload's body may take to arrive (408 after).
        public var uploadSeconds = 60
        /// Uploads decoded at once, each on a thread of its own at nice 10, never on the event loops.
        public var decodeThreads = 2
        /// Uploads that may wait for a decode thread, their bodies held; past `decodeThreads` + this, an upload is
        /// answered 503 before its body is read.
        public var decodeWaiting = 2
        /// Seconds one upload's decode may run before it is stopped (422). A 16-megapixel progressive JPEG of
        /// ordinary scans decodes in about a second on one Zen 3 core; the JPEG scan limit is `DecodeLimits`'.
        public var decodeSeconds = 10.0
        /// Pixels of a job's source as it goes through the network (bigger ones need `sourceSize`).
        public var sourcePixels = 512 * 512
        /// Output pixels × batch of one job: 512x512 Gatys needs about 700 MiB.
        public var jobWork = 512 * 512
        public var steps = 5000
        /// Jobs waiting behind the running one.
        public var queuedJobs = 8
        /// Finished jobs kept in memory (the oldest are forgotten first).
        public var finishedJobs = 64
        /// Event streams open at once, over all jobs.
        public var eventStreams = 256
        /// What `--data` may hold, uploads and job outputs (GAN generators) together: files and bytes. A new file
        /// makes room by removing the oldest first, never one a queued or running job uses.
        public var storedFiles = 256
        public var storedBytes = 2 << 30
        /// Connections that have not yet sent a whole request head, held at once: past it a new connection closes the
        /// oldest of them (`HeadlessConnections`). Connections in all are capped by `connectionLimit`.
        public var connections = 512
        /// Seconds a connection may wait between request parts: a request head sent slowly, a body that stalls, a
        /// kept-alive connection with nothing to ask. A response being written (an event stream) is never cut.
        public var idleSeconds = 10

        public init() {}
    }

    public init(shippedDirectory: String, dataDirectory: String, modelsDirectory: String) {
        self.shippedDirectory = shippedDirectory
        self.dataDirectory = dataDirectory
        self.modelsDirectory = modelsDirectory
    }

    /// `text` (a job's error or log) with the server's folders taken out: paths are shown relative to the data,
    /// shipped or models folder, so a client never learns where the server keeps its files.
    public func relativePaths(_ text: String) -> String {
        var out = text
        // The longest first, in case one folder is inside another.
        for folder in [dataDirectory, shippedDirectory, modelsDirectory].sorted(by: { $0.count > $1.count }) where folder.count > 1 {
            out = out.replacingOccurrences(of: folder + "/", with: "")
        }
        for folder in [dataDirectory, shippedDirectory, modelsDirectory].sorted(by: { $0.count > $1.count }) where folder.count > 1 {
            out = out.replacingOccurrences(of: folder, with: ".")
        }
        return out
    }

    /// Connections open at once (more wait in the listen backlog): half the process's descriptor limit, so that the
    /// jobs and the files always have descriptors left, and at least `limits.connections`' worth of new clients fit.
    public var connectionLimit: Int {
        var limit = rlimit()
        #if canImport(Glibc)
        let read = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0
        #else
        let read = getrlimit(RLIMIT_NOFILE, &limit) == 0
        #endif
        // RLIM_INFINITY is all ones; as Swift imports it, a negative literal: compared as rlim_t.max.
        guard read, limit.rlim_cur != rlim_t.max else { return 4 * limits.connections }
        return max(1, Int(clamping: limit.rlim_cur / 2))
    }

    /// `limits.connections`, but at most half of `connectionLimit`: a new client is always accepted (then the oldest
    /// connection without a head makes room), never left in the listen backlog behind clients that send nothing.
    public var headlessLimit: Int { max(1, min(limits.connections, connectionLimit / 2)) }

    /// Loopback servers check Host and Origin; any other address needs the token.
    public var isLoopback: Bool { ["127.0.0.1", "localhost", "::1"].contains(host) }
}
