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
