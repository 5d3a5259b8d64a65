import ArgumentParser
import Dispatch
import Foundation
import TxnServer
import TxnTensor

/// `txn serve`: the web page where Gatys synthesis and the spatial GAN run live. Its defaults are `ServerSettings`'.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the web page: pick a texture, run the methods live, download results and notebooks.",
        discussion: """
            Binds to 127.0.0.1 by default; there the Host and Origin headers must name the server itself. \
            Bound to any other address the server requires a random token, printed in its URL. \
            One job runs at a time; the others queue. Every job is a .txn notebook that `txn` replays.
            """)

    @Option(help: "Port (0: any free port).")
    var port: Int = ServerSettings.defaultPort

    @Option(help: "Address to bind: 127.0.0.1 (default, loopback only), or e.g. 0.0.0.0 (then a token is required).")
    var host: String = ServerSettings.defaultHost

    @Flag(help: "Open the page in a browser (xdg-open).")
    var open = false

    @OptionGroup var threading: ThreadsOption

    @Option(help: "Folder of shipped textures (default: Notebooks/data of this checkout).")
    var sources: String?

    @Option(help: "Folder for uploads (default: ~/.cache/txn/serve).")
    var data: String?

    @Option(help: "Largest upload in MiB.")
    var maxUploadMib: Int = ServerSettings.Limits().uploadBytes >> 20

    @Option(help: "Largest job in output pixels (width x height x batch).")
    var maxJobPixels: Int = ServerSettings.Limits().jobWork

    @Option(help: "Jobs that may wait behind the running one.")
    var maxQueued: Int = ServerSettings.Limits().queuedJobs

    @Option(help: "Files --data may hold (uploads and GAN generators); the oldest no job uses are removed first.")
    var maxDataFiles: Int = ServerSettings.Limits().storedFiles

    @Option(help: "MiB --data may hold (uploads and GAN generators); the oldest no job uses are removed first.")
    var maxDataMib: Int = ServerSettings.Limits().storedBytes >> 20

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535, got \(port)") }
        guard (1...4096).contains(maxUploadMib) else { throw ValidationError("--max-upload-mib must be 1 to 4096") }
        guard maxJobPixels >= 256 else { throw ValidationError("--max-job-pixels must be at least 256 (16x16)") }
        guard (0...1000).contains(maxQueued) else { throw ValidationError("--max-queued must be 0 to 1000") }
        guard (1...1_000_000).contains(maxDataFiles) else { throw ValidationError("--max-data-files must be 1 to 1000000") }
        guard (1...(1 << 30)).contains(maxDataMib) else { throw ValidationError("--max-data-mib must be 1 to \(1 << 30)") }
    }

    func run() throws {
        threading.apply()
        // As many descriptors as the hard limit allows: the connection limit is half of them (`connectionLimit`).
        var descriptors = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &descriptors) == 0, descriptors.rlim_cur < descriptors.rlim_max {
            descriptors.rlim_cur = descriptors.rlim_max
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &descriptors)
        }
        let models = ModelFiles.directory
        let shipped = sources ?? (URL(fileURLWithPath: models).deletingLastPathComponent().path + "/Notebooks/data")
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        let cache = EnvironmentSettings.cacheHome.value ?? home + "/.cache"
        var settings = ServerSettings(shippedDirectory: shipped, dataDirectory: data ?? cache + "/txn/serve",
                                      modelsDirectory: models)
        settings.host = host
        settings.port = port
        settings.limits.uploadBytes = maxUploadMib << 20
        settings.limits.jobWork = maxJobPixels
        settings.limits.queuedJobs = maxQueued
        settings.limits.storedFiles = maxDataFiles
        settings.limits.storedBytes = maxDataMib << 20
        let server = try TxnServer(settings: settings)
        let open = self.open
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: Error?
        Task {
            do {
                try await server.run(onRunning: { port in
                    let url = server.url(port: port)
                    print("txn serve: \(url)")
                    print("sources from \(server.settings.shippedDirectory)")
                    print(server.dataSummary)
                    fflush(stdout)
                    if open {
                        let p = Process()
                        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                        p.arguments = ["xdg-open", url]
                        try? p.run()
                    }
                })
            } catch {
                failure = error
            }
            done.signal()
        }
        done.wait()
        if let failure { throw failure }
    }
}
