import XCTest
import TxnTestSupport
import TxnTensor
import TxnVGG

/// On every CPU txn supports (AVX2 and up), every VGG layer txn plans runs on one of oneDNN's JIT kernels, and no
/// primitive of any kind (reorders included) is oneDNN's reference loops. Run natively and again under
/// ONEDNN_MAX_CPU_ISA=AVX2 by .ci/run, so an AVX-512 machine checks the AVX2 dispatch too.
final class KernelChoiceTests: XCTestCase {
    func testEveryVGGLayerRunsOnAJITKernel() throws {
        try checkJITKernels(algorithms: [.auto, .direct])
    }

    /// Winograd on every CPU: oneDNN's JIT kernel where oneDNN has one (AVX-512), txn's own (`winograd:txn`)
    /// elsewhere, on every layer but conv1_1 on maps of 32² (oneDNN's) or 16² (txn's) and up; direct JIT kernels on the rest.
    func testEveryVGGLayerRunsOnAJITOrTxnWinogradKernelWithWinograd() throws {
        try checkJITKernels(algorithms: [.winograd])
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        let plan = try VGGPlan(model: model, height: 64, width: 64, upTo: "pool4", algorithm: .winograd)
        let winograd = plan.implementations.filter { $0.forward == "winograd:txn" }.map(\.layer)
        if ConvAlgorithm.oneDNNWinogradAvailable {
            XCTAssertEqual(winograd, [], "oneDNN's Winograd exists on \(DNNLCPU.isaName): txn's kernel is not used")
        } else {
            // conv1_1 (3 channels) is direct, and so is conv4_x, on 8x8 maps (under 16²).
            XCTAssertEqual(winograd, ["conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv3_4"])
            XCTAssertTrue(plan.implementations.filter { winograd.contains($0.layer) }.allSatisfy { $0.backward == "winograd:txn" })
        }
    }

    /// The AVX-512 path (16-channel blocks, oneDNN's own Winograd on maps of 32² and up): runs where oneDNN has
    /// Winograd, and says it was skipped elsewhere (txn's kernel then takes Winograd layers, tested above). Under
    /// ONEDNN_MAX_CPU_ISA=AVX2 (.ci/run's second pass) an AVX-512 machine skips it too.
    func testAVX512TakesOneDNNsWinogradOnItsSixteenChannelBlocks() throws {
        try XCTSkipUnless(ConvAlgorithm.oneDNNWinogradAvailable,
                          "oneDNN has no Winograd convolution on \(DNNLCPU.isaName) (AVX-512 only): skipped, not assumed")
        XCTAssertEqual(DNNLCPU.block, 16, "oneDNN's Winograd exists only with AVX-512, whose block is 16")
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        let plan = try VGGPlan(model: model, height: 64, width: 64, upTo: "pool4", algorithm: .winograd)
        // conv1_2 at 64² and conv2_x at 32²; conv1_1 (3 channels) and the maps under 32² are direct.
        let winograd = plan.implementations.filter { $0.forward.contains("wino") }.map(\.layer)
        XCTAssertEqual(winograd, ["conv1_2", "conv2_1", "conv2_2"], "\(plan.implementations.map { ($0.layer, $0.forward) })")
        let references = DNNLPrimitive.createdImplementations.filter { $0.hasPrefix("ref") }
        XCTAssertTrue(references.isEmpty, "reference kernels created: \(references)")
    }

    func checkJITKernels(algorithms: [ConvAlgorithm]) throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        for algorithm in algorithms {
            for size in [40, 64] {
                let plan = try VGGPlan(model: model, height: size, width: size, upTo: "pool4", algorithm: algorithm)
                XCTAssertEqual(plan.implementations.count, 16, "12 convolutions and 4 poolings")
                for l in plan.implementations {
                    for impl in [l.forward, l.backward] {
                        XCTAssertTrue(impl.hasPrefix("jit") || impl == "winograd:txn",
                                      "\(l.layer) at \(size)² (\(algorithm)) runs on \(impl), on \(DNNLCPU.isaName)")
                    }
                }
            }
        }
        let references = DNNLPrimitive.createdImplementations.filter { $0.hasPrefix("ref") }
        XCTAssertTrue(references.isEmpty, "reference kernels created: \(references)")
    }
}
