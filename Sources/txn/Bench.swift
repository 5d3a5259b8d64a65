import ArgumentParser
import Foundation
import TxnSynthesis
import TxnTensor
import TxnVGG

/// Times the texture model: forward to pool4, one loss evaluation (forward + backward), per size.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark VGG-19 forward and forward+backward up to pool4 (use a release build).")

    @OptionGroup var numeric: NumericOptions

    @Option(help: "Square image sizes to time, comma separated.")
    var sizes: String = "128,256,512"

    @Option(help: "Timed repetitions per measurement (the median is reported).")
    var repeats: Int = 5

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Flag(help: "Print the oneDNN implementation and memory of each layer.")
    var verbose = false

    @Flag(help: "Time the plain-tensor reference implementation (im2col + OpenBLAS) instead of oneDNN.")
    var reference = false

    @Option(help: "oneDNN convolution algorithm: direct, winograd or auto.")
    var algorithm: ConvAlgorithm = .winograd

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        _ = try parsedSizes()
    }

    func parsedSizes() throws -> [Int] {
        try sizes.split(separator: ",").map { s in
            guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v >= 16, v <= 4096 else {
                throw ValidationError("--sizes: '\(s)' is not a size between 16 and 4096")
            }
            return v
        }
    }

    func run() throws {
        numeric.apply()
        let warnings = Machine.busyProcesses()
        if !json { for w in warnings { print("warning: \(w)") } }
        let layers = ["conv1_1", "pool1", "pool2", "pool3", "pool4"]
        let model = try VGG19.load(numeric.weightsPath, upTo: "pool4")
        var results: [(Int, [String: Double])] = []
        for size in try parsedSizes() {
            let source = Tensor(shape: [1, 3, size, size]) { i in Float((i * 7919) % 256) / 255 }
            let image = Tensor(shape: [1, 3, size, size]) { i in Float((i * 104_729) % 256) / 255 }
            let network: FeatureNetwork = reference
                ? ReferenceNetwork(model: model)
                : try VGGPlan(model: model, height: size, width: size, upTo: "pool4", algorithm: algorithm)
            if verbose, let plan = network as? VGGPlan {
                print(plan.memoryReport)
                for line in plan.implementations { print("  " + line) }
            }
            let loss = try TextureLoss(network: network, source: source, layers: layers)
            _ = try loss.evaluate(network, image)  // warm-up: first-touch of buffers, library init
            let forward = try Machine.median(repeats) { _ in _ = try network.forward(image, layers: ["pool4"]) }
            let eval = try Machine.median(repeats) { _ in _ = try loss.evaluate(network, image) }
            let flops = Machine.vggFlops(size: size, upTo: 12)
            var r: [String: Double] = [
                "forward_s": forward, "eval_s": eval,
                "gflops": 2 * flops / eval / 1e9,  // backward-data costs about as much as forward
                "peak_rss_mib": Machine.peakRSSMiB(),
            ]
            r["forward_gflops"] = flops / forward / 1e9
            results.append((size, r))
            if !json {
                print(String(format: "%4d x %-4d forward %.3f s (%.0f GFLOP/s)  forward+backward %.3f s (%.0f GFLOP/s)  peak RSS %.0f MiB",
                             size, size, forward, r["forward_gflops"]!, eval, r["gflops"]!, r["peak_rss_mib"]!))
            }
        }
        if json {
            let sizesJSON = results.map { size, r in
                "\"\(size)\": {" + r.keys.sorted().map { "\"\($0)\": \(String(format: "%.6g", r[$0]!))" }.joined(separator: ", ") + "}"
            }.joined(separator: ", ")
            let warn = warnings.map { "\"\($0.replacingOccurrences(of: "\"", with: "'"))\"" }.joined(separator: ", ")
            print("{\"threads\": \(Threads.count), \"sizes\": {\(sizesJSON)}, \"warnings\": [\(warn)]}")
        }
    }
}

extension ConvAlgorithm: ExpressibleByArgument {}
