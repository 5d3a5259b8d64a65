import ArgumentParser
import Foundation
import TxnImage
import TxnSynthesis
import TxnTensor
import TxnVGG

/// Prints the VGG-19 features of an image: one line per layer with shape, mean and Gram trace.
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load an image and print its VGG-19 features layer by layer.")

    @OptionGroup var numeric: NumericOptions

    @Argument(help: "Image file (PNG or JPEG).")
    var image: String

    @Option(help: "Resize to this square size first (0: keep the image's size).")
    var size: Int = 256

    @Option(help: "Deepest layer.")
    var upTo: String = VGG19.gatysDeepestLayer

    @Option(help: "Padding: zero, reflect or circular.")
    var padding: PaddingMode = SynthesisOptions().padding

    @Option(help: "Pooling: avg or max.")
    var pooling: Pool2D.Kind = SynthesisOptions().pooling

    func run() throws {
        numeric.apply()
        var img = try loadInputImage(image)
        if size > 0 { img = try img.resized(width: size, height: size) }
        let model = try VGG19.load(numeric.weightsPath, upTo: upTo, pooling: pooling, padding: padding)
        print(model.origin)
        let x = try Tensor(shape: [1, 3, img.height, img.width], data: img.pixels)
        let start = Date()
        let acts = try model.forward(x, upTo: upTo)
        let elapsed = Date().timeIntervalSince(start)
        for (i, t) in acts.outputs.enumerated() {
            let (mean, std) = t.meanAndStd()
            let gram = try Gram.forward(t)
            let trace = (0..<t.c).reduce(0.0) { $0 + Double(gram.data[$1 * t.c + $1]) }
            print(String(format: "%-8@ %@  mean %10.4f  std %10.4f  Gram trace %12.4f",
                         VGG19.stages[i].name, t.shape.map(String.init).joined(separator: "x"), mean, std, trace))
        }
        print(String(format: "forward to %@: %.3f s with %d threads", upTo, elapsed, Threads.count))
    }
}
