import ArgumentParser
import Foundation
import TxnImage
import TxnSynthesis
import TxnTensor
import TxnVGG

/// `txn bench` (VGG-19, the default), `txn bench gan` and `txn bench texnet`. A group with a default subcommand rather than a command
/// with a subcommand: a parent's options (`--json`, `--repeats`) would otherwise take the subcommand's.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: VGG-19 (the default), the spatial GAN (`txn bench gan`) or texture-network generation (`txn bench texnet`); use a release build.",
        subcommands: [BenchVGG.self, BenchGAN.self, BenchTexNet.self],
        defaultSubcommand: BenchVGG.self)
}

/// How every benchmark repeats and reports: the median of --repeats timed runs, as a table or one JSON object.
struct BenchmarkReporting: ParsableArguments {
    /// Enough for a stable median; bounded, since each repeat can be a whole training iteration.
    static let repeatRange = 1...1000

    @Option(help: "Timed repetitions per measurement (the median is reported).")
    var repeats: Int = 5

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard Self.repeatRange.contains(repeats) else {
            throw ValidationError("--repeats must be between \(Self.repeatRange.lowerBound) and \(Self.repeatRange.upperBound)")
        }
    }
}

/// Times the texture model, per square size: forward to pool4, one loss evaluation (forward +
/// backward), one L-BFGS iteration, with achieved GFLOP/s and the peak memory of the process.
struct BenchVGG: ParsableCommand, PeerBenchmarked {
    static let peerScriptName = "bench_pytorch.py"

    static let configuration = CommandConfiguration(
        commandName: "vgg",
        abstract: "Benchmark VGG-19 forward, forward+backward and L-BFGS iterations up to pool4 (use a release build).",
        discussion: """
            Each size runs in a process of its own, so its peak RSS is its own. Times are medians of --repeats runs. \
            GFLOP/s count the multiply-adds of direct 3x3 convolutions (Winograd does fewer, so it can exceed \
            the machine's peak); forward+backward counts backward-data as costing the same as forward.
            """)

    @OptionGroup var numeric: NumericOptions

    @Option(help: "Square image sizes to time, comma separated.")
    var sizes: String = "128,256,512"

    @Option(help: "L-BFGS iterations timed per size.")
    var iterations: Int = 10

    @OptionGroup var reporting: BenchmarkReporting

    @Flag(help: "Print the oneDNN implementation and memory of each layer.")
    var verbose = false

    @Flag(help: "Print where one forward+backward's time goes, per layer (forward, Gram, Gram backward, backward).")
    var profile = false

    @Flag(help: "Time the plain-tensor reference implementation (im2col + OpenBLAS) instead of oneDNN.")
    var reference = false

    @Option(help: "Convolution algorithm: auto (Winograd where oneDNN has it and it pays), direct or winograd.")
    var algorithm: ConvAlgorithm = SynthesisOptions().algorithm

    @OptionGroup var pytorch: PeerBenchmarkOptions<BenchVGG>

    @Flag(help: .hidden)
    var child = false

    func validate() throws {
        guard iterations >= 2 else { throw ValidationError("--iterations must be at least 2") }
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
        if child {
            let r = try measure(size: try parsedSizes()[0])
            print(Self.jsonObject(r))
            return
        }
        let warnings = Machine.busyProcesses()
        if !reporting.json {
            for w in warnings { print("warning: \(w)") }
            print("txn bench: \(Threads.count) threads, \(reference ? "reference (im2col + OpenBLAS)" : "oneDNN \(algorithm)") on \(DNNLCPU.isaName) "
                + "(channel blocks of \(DNNLCPU.block)), "
                + "median of \(reporting.repeats); each size in its own process")
        }
        var results: [(Int, [String: Double])] = []
        for size in try parsedSizes() {
            let r = try runChild(size: size)
            results.append((size, r))
            if !reporting.json { print(Self.line("", size, r)) }
        }
        var theirs: [String: [String: Double]] = [:], peerNote: String?
        if pytorch.peer {
            do { theirs = try runPeer() } catch { peerNote = "\(error)" }
            if !reporting.json {
                if let peerNote { print("PyTorch not measured: \(peerNote)") }
                for (size, mine) in results {
                    guard let t = theirs["\(size)"] else { continue }
                    print(Self.line("PyTorch ", size, t))
                    print(Self.ratios(size, mine, t))
                }
            }
        }
        if reporting.json {
            let sizesJSON = results.map { "\"\($0.0)\": \(Self.jsonObject($0.1))" }.joined(separator: ", ")
            let warn = warnings.map { "\"\($0.replacingOccurrences(of: "\"", with: "'"))\"" }.joined(separator: ", ")
            var peerJSON = ""
            if pytorch.peer {
                let sizes = theirs.keys.sorted().map { "\"\($0)\": \(Self.jsonObject(theirs[$0]!))" }.joined(separator: ", ")
                let note = peerNote.map { ", \"pytorch_error\": \"\($0.replacingOccurrences(of: "\"", with: "'"))\"" } ?? ""
                peerJSON = ", \"pytorch\": {\(sizes)}\(note)"
            }
            print("{\"threads\": \(Threads.count), \"algorithm\": \"\(reference ? "reference" : algorithm.rawValue)\", "
                + "\"sizes\": {\(sizesJSON)}\(peerJSON), \"warnings\": [\(warn)]}")
        }
    }

    /// One size's times, as txn and the PyTorch script both report them.
    static func line(_ who: String, _ size: Int, _ r: [String: Double]) -> String {
        let iteration = r["iter_s"].map { String(format: "%.3f s", $0) } ?? "-"
        let rate = r["gflops"].map { String(format: " (%.0f GFLOP/s)", $0) } ?? ""
        return who + String(format: "%4d x %-4d forward %.3f s  forward+backward %.3f s%@  L-BFGS iteration %@  peak RSS %.0f MiB",
                            size, size, r["forward_s"] ?? .nan, r["eval_s"] ?? .nan, rate, iteration, r["peak_rss_mib"] ?? .nan)
    }

    /// txn/PyTorch per measurement, and each side's L-BFGS iteration in units of its own evaluation.
    static func ratios(_ size: Int, _ mine: [String: Double], _ theirs: [String: Double]) -> String {
        func ratio(_ key: String) -> String {
            guard let a = mine[key], let b = theirs[key], b > 0 else { return "-" }
            return String(format: "%.2f", a / b)
        }
        func perEvaluation(_ r: [String: Double]) -> String {
            guard let i = r["iter_s"], let e = r["eval_s"], e > 0 else { return "-" }
            return String(format: "%.2f", i / e)
        }
        return String(format: "txn/PyTorch %4d: forward %@  forward+backward %@  L-BFGS iteration %@  peak RSS %@   "
                      + "(iteration / evaluation: txn %@, PyTorch %@)", size, ratio("forward_s"), ratio("eval_s"),
                      ratio("iter_s"), ratio("peak_rss_mib"), perEvaluation(mine), perEvaluation(theirs))
    }

    /// Runs scripts/bench_pytorch.py on the same sizes, threads, repeats and iterations.
    func runPeer() throws -> [String: [String: Double]] {
        let script = try pytorch.script()
        let out = try PeerBenchmark.run(script, ["--sizes", sizes, "--threads", "\(Threads.count)", "--repeats", "\(reporting.repeats)",
                                                 "--iterations", "\(iterations)"])
        guard let bySize = out["sizes"] as? [String: Any] else { throw ValidationError("\(script): no \"sizes\" in its output") }
        return bySize.compactMapValues { ($0 as? [String: Any])?.compactMapValues { ($0 as? NSNumber)?.doubleValue } }
    }

    static func jsonObject(_ r: [String: Double]) -> String {
        "{" + r.keys.sorted().map { "\"\($0)\": \(String(format: "%.6g", r[$0]!))" }.joined(separator: ", ") + "}"
    }

    /// Runs one size in a fresh process (this executable) and reads its JSON line.
    func runChild(size: Int) throws -> [String: Double] {
        var args = ["bench", "--child", "--sizes", "\(size)", "--repeats", "\(reporting.repeats)", "--iterations", "\(iterations)",
                    "--algorithm", algorithm.rawValue, "--threads", "\(Threads.count)", "--weights", numeric.weightsPath]
        if reference { args.append("--reference") }
        if profile { args.append("--profile") }
        if verbose { args.append("--verbose") }
        let child = try ChildProcess.run("/proc/self/exe", args)
        let lines = child.out.split(separator: "\n")
        for line in lines.dropLast() { print(line) }
        guard child.status == 0, let last = lines.last,
              let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Double] else {
            throw ValidationError("benchmark of size \(size) failed (exit \(child.status))")
        }
        return object
    }

    func measure(size: Int) throws -> [String: Double] {
        let layers = VGG19.gatysLayers
        let model = try VGG19.load(numeric.weightsPath, upTo: VGG19.gatysDeepestLayer)
        // Deterministic, texture-like inputs: no file needed.
        let source = Tensor(shape: [1, 3, size, size]) { i in Float((i * 7919) % 256) / 255 }
        let image = Tensor(shape: [1, 3, size, size]) { i in Float((i * 104_729) % 256) / 255 }
        // Scoped so that the network is gone before the synthesis plans its own: the peak RSS is then
        // that of a real run, not of two plans at once.
        let (forward, eval): (Double, Double) = try {
        let network: FeatureNetwork = reference
            ? ReferenceNetwork(model: model)
            : try VGGPlan(model: model, height: size, width: size, upTo: VGG19.gatysDeepestLayer, algorithm: algorithm)
        if verbose, let plan = network as? VGGPlan {
            print(plan.memoryReport)
            for l in plan.implementations { print("  \(l.layer): \(l.forward) / \(l.backward), scratch \(l.scratchMiB) MiB") }
        }
        let loss = try TextureLoss(network: network, source: source, layers: layers)
        _ = try loss.evaluate(network, image)  // warm-up: first touch of buffers, JIT kernels
        let forward = try Machine.median(reporting.repeats) { _ in _ = try network.forward(image, layers: [VGG19.gatysDeepestLayer]) }
        let eval = try Machine.median(reporting.repeats) { _ in _ = try loss.evaluate(network, image) }
        if profile, let plan = network as? VGGPlan { try printProfile(plan, loss: loss, image: image, evaluation: eval) }
        return (forward, eval)
        }()

        let flops = Machine.vggFlops(size: size, upTo: 12)
        var result = ["forward_s": forward, "eval_s": eval, "gflops": 2 * flops / eval / 1e9,
                      "forward_gflops": flops / forward / 1e9]
        // The synthesis always runs on oneDNN: there is no L-BFGS iteration of the reference path to time.
        guard !reference else {
            result["peak_rss_mib"] = Machine.peakRSSMiB()
            return result
        }

        // L-BFGS iterations of a real synthesis at this size (time from iteration 1 to the last).
        var options = SynthesisOptions()
        (options.width, options.height) = (size, size)
        options.steps = iterations
        options.algorithm = algorithm
        options.measureDistance = false
        let sourceImage = Image(width: size, height: size, pixels: source.data)
        let synthesizer = try Synthesizer(model: model, source: sourceImage, options: options)
        var first = 0.0, last = 0.0, firstEvaluations = 0, lastEvaluations = 0, firstInside = 0.0, lastInside = 0.0
        _ = try synthesizer.run(progress: { p in
            if p.iteration == 1 { (first, firstEvaluations, firstInside) = (p.elapsed, p.evaluations, p.evaluationSeconds) }
            (last, lastEvaluations, lastInside) = (p.elapsed, p.evaluations, p.evaluationSeconds)
        })
        result["iter_s"] = (last - first) / Double(iterations - 1)
        // The optimiser's own time per iteration, outside the evaluations: unlike iter_s / eval_s, it does not
        // depend on how many evaluations the line searches of this particular run happened to need.
        result["iter_overhead_s"] = ((last - first) - (lastInside - firstInside)) / Double(iterations - 1)
        // Line searches that take more than one evaluation are part of an iteration's cost: say how many.
        result["iter_evals"] = Double(lastEvaluations - firstEvaluations) / Double(iterations - 1)
        result["peak_rss_mib"] = Machine.peakRSSMiB()
        return result
    }
}

extension BenchVGG {
    /// Times `--repeats` more evaluations stage by stage and prints milliseconds per evaluation. The remainder
    /// ("loss and input") is the loss arithmetic and the input transform, outside the plan's stages.
    func printProfile(_ plan: VGGPlan, loss: TextureLoss, image: Tensor, evaluation: Double) throws {
        plan.profile = StageProfile(stages: plan.deepest + 1)
        var total = 0.0
        for _ in 0..<reporting.repeats {
            let t = DispatchTime.now().uptimeNanoseconds
            _ = try loss.evaluate(plan, image)
            total += Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
        }
        let seconds = plan.profile!.seconds
        plan.profile = nil
        let ms = { (t: Double) in String(format: "%7.2f", 1000 * t / Double(reporting.repeats)) }
        print("  stage      forward   gram  gram-bwd  backward   (ms per evaluation)")
        var sums = [Double](repeating: 0, count: StageProfile.Phase.allCases.count)
        for s in 1..<seconds.count {
            let row = seconds[s]
            for p in row.indices { sums[p] += row[p] }
            print("  \(VGG19.stages[s].name.padding(toLength: 9, withPad: " ", startingAt: 0))\(ms(row[0])) \(ms(row[1])) \(ms(row[2]))   \(ms(row[3]))")
        }
        print("  all stages \(ms(sums[0])) \(ms(sums[1])) \(ms(sums[2]))   \(ms(sums[3]))")
        print("  loss and input \(ms(total - sums.reduce(0, +))) ms; evaluation \(ms(total)) ms profiled, "
            + String(format: "%.2f", 1000 * evaluation) + " ms unprofiled median")
    }
}

extension ConvAlgorithm: ExpressibleByArgument {}
