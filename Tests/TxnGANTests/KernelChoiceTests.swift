import XCTest
import TxnTensor
import TxnGAN

/// What runs the GAN's layers on this CPU: oneDNN's JIT primitives where the channels are whole blocks, the GEMM
/// path elsewhere, never oneDNN's reference loops (run natively and under ONEDNN_MAX_CPU_ISA=AVX2 by .ci/run).
final class GANKernelChoiceTests: XCTestCase {
    /// The GAN's 4x4 stride-2 layers whose channels are whole blocks run on oneDNN's primitives (JIT), the rest on
    /// the GEMM path; none on a reference kernel.
    func testGANLayersRunOnJITKernelsOrTheGEMMPath() throws {
        let architecture = GANPreset.seed.architecture
        var rng = SplitMix64(seed: 1)
        let g = Generator(channels: architecture.generatorChannels, rng: &rng)
        let d = Discriminator(channels: architecture.discriminatorChannels, rng: &rng)
        let lines = g.implementations(batch: 2, side: 64) + d.implementations(batch: 2, side: 64)
        XCTAssertEqual(lines.count, 10)
        for line in lines {
            XCTAssertFalse(line.contains("ref"), line)
            // [64, 512, 256, 128, 64, 3] and [3, 64, 128, 256, 512, 1]: only the layers touching 3 or 1 channels
            // are partial blocks.
            let partial = line.contains("->3 ") || line.contains(": 3->") || line.contains("->1 ")
            XCTAssertEqual(line.contains("gemm"), partial, line)
        }
        let references = DNNLPrimitive.createdImplementations.filter { $0.hasPrefix("ref") }
        XCTAssertTrue(references.isEmpty, "reference kernels created: \(references)")
    }

}
