import Foundation

/// Everything `txn serve` is configured with: where it listens, where its files are, and the limits
/// that keep one client from exhausting the machine. The defaults live here and nowhere else.
public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 5000
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
        public var uploadedSources = 256

        public init() {}
    }

    public init(shippedDirectory: String, dataDirectory: String, modelsDirectory: String) {
        self.shippedDirectory = shippedDirectory
        self.dataDirectory = dataDirectory
        self.modelsDirectory = modelsDirectory
    }

    /// Loopback servers check Host and Origin; any other address needs the token.
    public var isLoopback: Bool { ["127.0.0.1", "localhost", "::1"].contains(host) }
}
