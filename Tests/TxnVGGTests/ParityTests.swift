import Foundation
import XCTest
import TxnTestSupport
import TxnTensor
import TxnVGG
import TxnSynthesis

/// Reproduces PyTorch's numbers in shared/reference/parity_64.json: the normalised VGG-19 on two
/// 64x64 images defined by integer formulas, in four padding/pooling configurations.
final class ParityTests: XCTestCase {
    static let layers = ["conv1_1", "pool1", "pool2", "pool3", "pool4"]

    /// x[c][i][j] = (integer formula mod 256) / 255, one correctly rounded Float division.
    static func image(_ formula: (Int, Int, Int) -> Int) -> Tensor {
        var t = Tensor(zeros: [1, 3, 64, 64])
        for c in 0..<3 { for i in 0..<64 { for j in 0..<64 {
            t.data[(c * 64 + i) * 64 + j] = Float(formula(c, i, j) % 256) / 255
        }}}
        return t
    }
    static let x = image { c, i, j in 3 * i * i + 5 * j * j + 7 * i * j + 3 * i + 11 * j + 40 * c }
    static let y = image { c, i, j in 2 * i * j + 3 * j * j + 5 * i + 17 * c * c + 101 }

    func reference() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: try Paths.parity()))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    func assertClose(_ a: Double, _ b: Double, rel: Double, floor: Double = 0, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        let err = abs(a - b)
        XCTAssertLessThanOrEqual(err, max(rel * abs(b), floor), "\(what): \(a) vs PyTorch \(b)", file: file, line: line)
    }

    func testInputsMatchReference() throws {
        let inputs = try reference()["inputs"] as! [String: Any]
        for (t, key) in [(Self.x, "X"), (Self.y, "Y")] {
            let ref = inputs[key] as! [String: Any]
            XCTAssertEqual(t.sum(), ref["sum"] as! Double, accuracy: 1e-6)
            // Foundation's JSON parser may be off in the last bits of a Double; Float is what counts.
            XCTAssertEqual(Array(t.data.prefix(8)), (ref["first8"] as! [Double]).map { Float($0) })
        }
    }

    func testReferenceNetworkMatchesPyTorch() throws {
        try checkAllConfigurations { ReferenceNetwork(model: $0) }
    }

    /// On this CPU's channel block (8 on AVX2, 16 on AVX-512; .ci/run runs this again under ONEDNN_MAX_CPU_ISA=AVX2).
    func testOneDNNDirectMatchesPyTorch() throws {
        try checkAllConfigurations { try VGGPlan(model: $0, height: 64, width: 64, upTo: "pool4", algorithm: .direct) }
    }

    /// oneDNN's Winograd on AVX-512, txn's own elsewhere (`ConvAlgorithm.winogradKernel`).
    func testWinogradMatchesPyTorch() throws {
        try checkAllConfigurations { try VGGPlan(model: $0, height: 64, width: 64, upTo: "pool4", algorithm: .winograd) }
    }

    func checkAllConfigurations(_ makeNetwork: (VGG19) throws -> FeatureNetwork) throws {
        let configs = try reference()["configs"] as! [String: [String: Any]]
        XCTAssertEqual(Set(configs.keys), ["reflect_avg", "circular_avg", "zero_avg", "reflect_max"])
        var model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        for (name, config) in configs.sorted(by: { $0.key < $1.key }) {
            model.padding = PaddingMode(rawValue: config["pad"] as! String)!
            model.pooling = Pool2D.Kind(rawValue: config["pool"] as! String)!
            let ref = config["float32"] as! [String: Any]
            let refLayers = ref["layers"] as! [String: [String: Any]]

            let network = try makeNetwork(model)
            let loss = try TextureLoss(network: network, source: Self.y, layers: Self.layers)
            let eval = try loss.evaluate(network, Self.x)
            let features = try network.forward(Self.x, layers: ["input"] + Self.layers)

            for (index, layer) in (["input"] + Self.layers).enumerated() {
                let r = refLayers[layer == "input" ? "input_bgr" : layer]!
                let t = features[index]
                let what = "\(name) \(layer)"
                XCTAssertEqual(t.shape, r["shape"] as! [Int], what)
                let (mean, std) = t.meanAndStd()
                assertClose(mean, r["mean"] as! Double, rel: 1e-4, what + " mean")
                assertClose(std, r["std"] as! Double, rel: 1e-4, what + " std")
                for (k, v) in (r["first8"] as! [Double]).enumerated() {
                    assertClose(Double(t.data[k]), v, rel: 1e-4, floor: 1e-4 * std, what + " value \(k)")
                }
                guard let l = Self.layers.firstIndex(of: layer) else { continue }
                let g = eval.grams[l]
                let trace = (0..<g.shape[1]).reduce(0.0) { $0 + Double(g.data[$1 * g.shape[1] + $1]) }
                assertClose(trace, r["gram_trace"] as! Double, rel: 1e-4, what + " Gram trace")
                for (k, v) in (r["gram_first8"] as! [Double]).enumerated() {
                    assertClose(Double(g.data[k]), v, rel: 1e-4, floor: 1e-6 * trace, what + " Gram value \(k)")
                }
                let target = loss.targets[l]
                let targetTrace = (0..<target.shape[1]).reduce(0.0) { $0 + Double(target.data[$1 * target.shape[1] + $1]) }
                assertClose(targetTrace, r["target_gram_trace"] as! Double, rel: 1e-4, what + " target Gram trace")
                assertClose(eval.perLayer[l], r["loss"] as! Double, rel: 1e-4, what + " loss")
            }
            assertClose(eval.total, ref["loss"] as! Double, rel: 1e-4, "\(name) total loss")

            let grad = eval.gradient!, refGrad = ref["grad"] as! [String: Any]
            var l2 = 0.0, absMax = 0.0
            for v in grad.data { l2 += Double(v) * Double(v); absMax = max(absMax, Double(abs(v))) }
            assertClose(l2.squareRoot(), refGrad["l2_norm"] as! Double, rel: 1e-3, "\(name) gradient l2 norm")
            assertClose(grad.sum(), refGrad["sum"] as! Double, rel: 1e-3, "\(name) gradient sum")
            assertClose(absMax, refGrad["abs_max"] as! Double, rel: 1e-3, "\(name) gradient abs max")
            for (k, v) in (refGrad["first8"] as! [Double]).enumerated() {
                assertClose(Double(grad.data[k]), v, rel: 1e-3, floor: 1e-4 * absMax, "\(name) gradient value \(k)")
            }
        }
    }
}
