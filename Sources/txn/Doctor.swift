import ArgumentParser
import CStartup
import CDNNL
import COpenBLAS
import Foundation
import TxnCheckpoint
import TxnGAN
import TxnSynthesis
import TxnTensor
import TxnVGG

/// `txn doctor`: what a bug report needs, in one command. The CPU and the flags that decide txn's kernels, what
/// oneDNN dispatches to and the channel block that follows from it, threads, OpenBLAS's kernel, what computes
/// each VGG and GAN layer (a JIT kernel, or txn's GEMM path where oneDNN has only its reference loops), and the
/// weights found with their hashes.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print what a bug report needs: CPU, oneDNN's ISA and kernels per layer, threads, BLAS, weights.")

    @OptionGroup var numeric: NumericOptions

    @Option(help: "Square image size at which the VGG layers are planned.")
    var size: Int = 256

    @Option(help: ArgumentHelp("GAN preset whose layers are listed (\(GANPreset.allCases.map(\.rawValue).joined(separator: ", "))).", valueName: "preset"))
    var preset: GANPreset = .seed

    func validate() throws {
        guard (16...4096).contains(size) else { throw ValidationError("--size must be 16 to 4096, got \(size)") }
    }

    func run() throws {
        numeric.apply()
        printMachine()
        printLibraries()
        printVGG()
        printGAN()
        printWeights()
    }

    private func section(_ title: String) { print("\n" + title) }

    private func printMachine() {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let lines = info.split(separator: "\n")
        func field(_ name: String) -> String? {
            lines.first { $0.hasPrefix(name) }.flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
        let wanted = ["sse4_1", "avx", "avx2", "fma", "bmi2", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq",
                      "avx512_vnni", "avx512_bf16", "amx_tile"]
        print("txn \(Txn.version)")
        print("CPU: \(field("model name") ?? "unknown") (family \(field("cpu family") ?? "?"), model \(field("model") ?? "?")), "
            + "\(ProcessInfo.processInfo.activeProcessorCount) logical CPUs, "
            + "\(ProcessInfo.processInfo.physicalMemory >> 30) GiB")
        print("flags: " + wanted.map { "\($0) \(flags.contains($0) ? "yes" : "no")" }.joined(separator: ", "))
        let required = String(cString: txnRequiredFeatures())
        print("built for: \(required.isEmpty ? "baseline x86-64" : required)")
    }

    private func printLibraries() {
        section("oneDNN")
        let v = dnnl_version().pointee
        print("version \(v.major).\(v.minor).\(v.patch) (\(String(cString: v.hash)))")
        let cap = EnvironmentSettings.oneDNNISACap.value.map { " (\(EnvironmentSettings.oneDNNISACap.name)=\($0))" } ?? ""
        print("dispatches to: \(DNNLCPU.isaName)\(cap)")
        print("channel block: \(DNNLCPU.block) (layout nChw\(DNNLCPU.block)c)")
        print("Winograd: \(ConvAlgorithm.winogradKernel); "
            + "default algorithm \(SynthesisOptions().algorithm)")
        print("GAN 4x4 stride-2 layers: " + (StridedWinograd.preferred ? "txn's F(3x3, 2x2) Winograd (AVX2)" : "oneDNN's direct kernels"))
        section("threads")
        let env = ProcessInfo.processInfo.environment
        print("txn: \(Threads.count); OMP_WAIT_POLICY=\(env["OMP_WAIT_POLICY"] ?? "-") GOMP_SPINCOUNT=\(env["GOMP_SPINCOUNT"] ?? "-")")
        section("OpenBLAS")
        print("kernel: \(String(cString: openblas_get_corename())); OPENBLAS_CORETYPE=\(env["OPENBLAS_CORETYPE"] ?? "-")")
        print("config: \(String(cString: openblas_get_config()).trimmingCharacters(in: .whitespaces))")
    }

    private func printVGG() {
        section("VGG-19 layers at \(size)x\(size) (forward / backward)")
        do {
            let model = try VGG19.load(numeric.weightsPath, upTo: VGG19.gatysDeepestLayer)
            let plan = try VGGPlan(model: model, height: size, width: size, upTo: VGG19.gatysDeepestLayer, algorithm: SynthesisOptions().algorithm)
            for l in plan.implementations {
                print("  \(l.layer.padding(toLength: 8, withPad: " ", startingAt: 0)) \(l.forward) / \(l.backward)")
            }
        } catch {
            print("  not planned: \(error)")
        }
    }

    private func printGAN() {
        let batch = preset.batch, crop = preset.crop, architecture = preset.architecture
        section("GAN layers, preset \(preset) (batch \(batch), crop \(crop); forward / backward-data / backward-weights on oneDNN "
            + "or txn's Winograd where the channels are whole blocks, else the GEMM path; matrix products on \(LayerProducts.library))")
        var rng = SplitMix64(seed: 0)
        let generator = Generator(channels: architecture.generatorChannels, rng: &rng)
        let discriminator = Discriminator(channels: architecture.discriminatorChannels, rng: &rng)
        for line in generator.implementations(batch: batch, side: crop) + discriminator.implementations(batch: batch, side: crop) {
            print("  " + line)
        }
    }

    private func printWeights() {
        section("weights in \(ModelFiles.directory)")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: ModelFiles.directory)) ?? [])
            .filter { $0.hasSuffix(".pth") || $0.hasSuffix(".bin") }.sorted()
        if files.isEmpty { print("  none (bash Models/fetch.sh fetches them)") }
        for name in files {
            let path = ModelFiles.directory + "/" + name
            let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            let hash = (try? Checkpoint.sha256(ofFileAt: path)) ?? "unreadable"
            print("  \(name): \(bytes) bytes, sha256 \(hash)")
        }
    }
}

/// The CPU features this build needs (CStartup), for the report.
private func txnRequiredFeatures() -> UnsafePointer<CChar> { txn_required_cpu_features() }
