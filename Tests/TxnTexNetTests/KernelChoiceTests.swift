import XCTest
import TxnTensor
@testable import TxnTexNet

/// What runs the texture network's convolutions on this CPU: oneDNN's JIT primitives where the channels are whole
/// blocks of this CPU's width (8 on AVX2, 16 on AVX-512), the GEMM path elsewhere, never a reference kernel. .ci/run
/// runs this natively and, on an AVX-512 machine, again under ONEDNN_MAX_CPU_ISA=AVX2, so both widths are covered.
final class TexNetKernelChoiceTests: XCTestCase {
    /// Width 16 is a whole block at either width, so primitives must be made; width 8 is one only on AVX2.
    func testConvolutionsRunOnJITKernelsOrTheGEMMPath() throws {
        for width in [8, 16] {
            var rng = SplitMix64(seed: 1)
            let net = TextureNetwork(try TexNetArchitecture(scales: 3, width: width), rng: &rng)
            for tile in [false, true] { _ = try TexNetGeneration.generate(net, width: 64, height: 64, seed: 2, tile: tile) }
            let convolutions = (net.noiseBlocks + net.mergeBlocks).flatMap { $0.units.map(\.conv) } + [net.toRGB.conv]
            for conv in convolutions {
                let line = conv.implementations(batch: 1, height: 16, width: 16)
                XCTAssertFalse(line.contains("ref"), line)
                let whole = conv.inChannels % DNNLCPU.block == 0 && conv.outChannels % DNNLCPU.block == 0
                XCTAssertEqual(line.hasPrefix("gemm"), !whole, "\(conv.inChannels)->\(conv.outChannels) at block \(DNNLCPU.block): \(line)")
            }
        }
        let references = DNNLPrimitive.createdImplementations.filter { $0.hasPrefix("ref") }
        XCTAssertTrue(references.isEmpty, "reference kernels created: \(references)")
        print("texnet kernels checked at block \(DNNLCPU.block) (\(DNNLCPU.isaName))")
    }

    /// On AVX-512 the 8-channel blocks of AVX2 are partial: those layers take the GEMM path, and the images agree.
    func testPartialBlocksOfAVX512TakeTheGEMMPath() throws {
        guard DNNLCPU.block == 16 else {
            throw XCTSkip("skipped: this CPU's oneDNN dispatches to \(DNNLCPU.isaName) with \(DNNLCPU.block)-channel blocks; "
                + "the 16-channel layout runs on AVX-512 CPUs only")
        }
        var rng = SplitMix64(seed: 1)
        let net = TextureNetwork(try TexNetArchitecture(scales: 3, width: 8), rng: &rng)
        let conv = net.noiseBlocks[0].units[1].conv
        XCTAssertEqual(conv.implementations(batch: 1, height: 16, width: 16), "gemm (im2col + sgemm)")
    }
}
