import TxnImage
import TxnTensor
import TxnVGG

/// The texture loss of `optimize` as a function of an image, for methods that optimise something other than the
/// pixels (a texture network's weights): the same layers, weights, Gram normalisation and SW loss as a synthesis
/// with these options, evaluated on the same planned network, with dL/d(image).
///
/// The SW loss's directions are a function of the iteration (drawn from the options' seed and
/// `iteration / slicedRedrawEvery`), not of how many evaluations came before: a run resumed at iteration t
/// evaluates exactly what the uninterrupted run did.
public final class TextureObjective {
    let synthesizer: Synthesizer
    /// The draw of SW directions in place (set again only when it changes: each set discards the source's sorted
    /// projections, which every image of a batch then shares).
    private var currentDraw: UInt64?

    /// `options.width` x `options.height` is the size of the images evaluated.
    public init(model: VGG19, source: Image, options: SynthesisOptions) throws {
        var o = options
        o.measureDistance = false
        synthesizer = try Synthesizer(model: model, source: source, options: o)
    }

    public var options: SynthesisOptions { synthesizer.options }

    /// The loss of one image [1, 3, H, W] (in [0, 1] like the source) at training iteration `iteration` (1-based),
    /// with its gradient.
    public func evaluate(_ image: Tensor, iteration: Int) throws -> (loss: Double, gradient: Tensor) {
        let draw = UInt64(max(0, iteration - 1) / options.slicedRedrawEvery)
        if let sliced = synthesizer.sliced, draw != currentDraw {
            let seed = options.seed ^ 0x7E_C7_0000 &+ draw &* 0x9E37_79B9_7F4A_7C15
            let directions = try sliced.layers.enumerated().map { l, name -> [Float] in
                let c = try VGG19.channels(of: name)
                return randomDirections(sliced.directions[l].count / c, c, seed: seed &+ UInt64(l))
            }
            try sliced.setDirections(directions)
            currentDraw = draw
        }
        let e = try synthesizer.evaluate(image)
        guard let gradient = e.gradient else { throw SynthesisError(.loss, "the loss gave no gradient") }
        return (e.total, gradient)
    }
}
