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

    /// The AVX-512 path (16-channel blocks, Winograd on maps of 32² and up): runs where oneDNN has Winograd, and
    /// says it was skipped elsewhere (`auto` above then resolves to direct).
    func testEveryVGGLayerRunsOnAJITKernelWithWinograd() throws {
        try XCTSkipUnless(ConvAlgorithm.winogradAvailable,
                          "oneDNN has no Winograd convolution on \(DNNLCPU.isaName) (AVX-512 only): skipped, not assumed")
        XCTAssertEqual(DNNLCPU.block, 16, "Winograd exists only with AVX-512, whose block is 16")
        try checkJITKernels(algorithms: [.winograd])
    }

    func checkJITKernels(algorithms: [ConvAlgorithm]) throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        for algorithm in algorithms {
            for size in [40, 64] {
                let plan = try VGGPlan(model: model, height: size, width: size, upTo: "pool4", algorithm: algorithm)
                XCTAssertEqual(plan.implementations.count, 16, "12 convolutions and 4 poolings")
                for l in plan.implementations {
                    for impl in [l.forward, l.backward] {
                        XCTAssertTrue(impl.hasPrefix("jit"), "\(l.layer) at \(size)² (\(algorithm)) runs on \(impl), on \(DNNLCPU.isaName)")
                    }
                }
            }
        }
        let references = DNNLPrimitive.createdImplementations.filter { $0.hasPrefix("ref") }
        XCTAssertTrue(references.isEmpty, "reference kernels created: \(references)")
    }

    func testWinogradIsAnErrorNamingTheISAWhereItIsMissing() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool2")
        if ConvAlgorithm.winogradAvailable {
            XCTAssertNoThrow(try VGGPlan(model: model, height: 64, width: 64, upTo: "pool2", algorithm: .winograd))
        } else {
            XCTAssertThrowsError(try VGGPlan(model: model, height: 64, width: 64, upTo: "pool2", algorithm: .winograd)) {
                XCTAssertTrue("\($0)".contains(DNNLCPU.isaName) && "\($0)".contains("auto or direct"), "\($0)")
            }
        }
    }
}
