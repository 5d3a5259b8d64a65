import CDNNL
import Foundation

/// oneDNN's direct convolution and deconvolution primitives (forward, backward-data, backward-weights) for the
/// GAN's 4×4 stride-2 layers, in place of unfold + sgemm + fold.
///
/// The trainable layers keep their channel-major layout ([C][N][H][W], what batch norm reduces over); a layer
/// that runs here converts its operands to oneDNN's blocked layout [N][C/b][H][W][b] (b = `DNNLCPU.block`) and back with oneDNN
/// reorders. Those move each activation once, where unfold writes it 16 times over and fold reads that back.
/// In isolation (seed shapes, batch 8, 2 threads, best of 5, ms, primitive / sgemm without unfold or fold):
/// D 64→128 at 128²: forward 27.9/31.3, backward-data 26.0/29.4, backward-weights 29.6/40.1; D 256→512 at 32²:
/// 22.8/26.7, 25.2/25.2, 27.3/26.2; G 128→64 at 64²: forward 39.5/29.7, backward-data 26.8/29.1,
/// backward-weights 29.6/38.6. So D uses all three, G only its backward (its forward stays on the banded stamps).
/// A reorder of a 33 MB activation took 1.5 ms.
///
/// Only layers whose channel counts are whole blocks (no padded blocks) run here, and only where oneDNN has a JIT
/// implementation (`DNNLPrimitive.create` refuses its reference loops); everything else stays on the GEMM path.
/// Where oneDNN runs at AVX2, the convolutions' three passes run on txn's own Winograd kernel (`StridedWinograd`)
/// between the same reorders.
final class DNNLStridedConv: @unchecked Sendable {
    enum Kind: Hashable, Sendable { case convolution, deconvolution }

    /// A layer at one input size. For a convolution `height`×`width` is its input; for a deconvolution, its
    /// (small) input too, which oneDNN calls the source either way.
    struct Shape: Hashable, Sendable {
        var kind: Kind
        var inChannels: Int, outChannels: Int, batch: Int, height: Int, width: Int
        var geometry: Geometry
        struct Geometry: Hashable, Sendable { var kernel: Int, stride: Int, padding: Int }
    }

    let shape: Shape
    /// Channel-major and blocked layouts of the source (the layer's input) and destination (its output).
    let sourcePlain: dnnl_memory_desc_t, sourceBlocked: dnnl_memory_desc_t
    let destinationPlain: dnnl_memory_desc_t, destinationBlocked: dnnl_memory_desc_t
    /// PyTorch's weight layout: [out][in][k][k] for a convolution, [in][out][k][k] for a transposed one.
    let weightsPlain: dnnl_memory_desc_t
    let biasPlain: dnnl_memory_desc_t
    let forward: DNNLPrimitive, backwardData: DNNLPrimitive, backwardWeights: DNNLPrimitive
    let sourceToBlocked: DNNLPrimitive, sourceToPlain: DNNLPrimitive
    let destinationToBlocked: DNNLPrimitive, destinationToPlain: DNNLPrimitive
    let weightsForForward: DNNLPrimitive, weightsForBackwardData: DNNLPrimitive, weightGradientToPlain: DNNLPrimitive
    /// txn's Winograd kernel where it is preferred (`StridedWinograd.preferred`): a convolution's three passes, a
    /// transposed convolution's two backward ones.
    let winograd: StridedWinograd?
    let outputHeight: Int, outputWidth: Int

    private init(_ shape: Shape) throws {
        self.shape = shape
        let (i, o, n, h, w) = (shape.inChannels, shape.outChannels, shape.batch, shape.height, shape.width)
        let g = shape.geometry, deconv = shape.kind == .deconvolution
        let (ho, wo) = deconv
            ? ((h - 1) * g.stride - 2 * g.padding + g.kernel, (w - 1) * g.stride - 2 * g.padding + g.kernel)
            : ((h + 2 * g.padding - g.kernel) / g.stride + 1, (w + 2 * g.padding - g.kernel) / g.stride + 1)
        func channelMajor(_ c: Int, _ hh: Int, _ ww: Int) throws -> dnnl_memory_desc_t {
            var md = dnnl_memory_desc_t()
            var dims: [dnnl_dim_t] = [n, c, hh, ww].map { dnnl_dim_t($0) }
            var strides: [dnnl_dim_t] = [hh * ww, n * hh * ww, ww, 1].map { dnnl_dim_t($0) }
            try dnnlCheck(dnnl_memory_desc_init_by_strides(&md, 4, &dims, dnnl_f32, &strides), "channel-major layout")
            return md
        }
        sourcePlain = try channelMajor(i, h, w)
        destinationPlain = try channelMajor(o, ho, wo)
        sourceBlocked = try memoryDesc([n, i, h, w], .blocked)
        destinationBlocked = try memoryDesc([n, o, ho, wo], .blocked)
        var wp = dnnl_memory_desc_t()
        var wdims: [dnnl_dim_t] = [o, i, g.kernel, g.kernel].map { dnnl_dim_t($0) }
        try dnnlCheck(dnnl_memory_desc_init_by_tag(&wp, 4, &wdims, dnnl_f32, deconv ? dnnl_iohw : dnnl_oihw), "weights")
        weightsPlain = wp
        var bp = dnnl_memory_desc_t()
        var bdims: [dnnl_dim_t] = [dnnl_dim_t(o)]
        try dnnlCheck(dnnl_memory_desc_init_by_tag(&bp, 1, &bdims, dnnl_f32, dnnl_a), "bias")
        biasPlain = bp

        var src = sourceBlocked, dst = destinationBlocked
        var wAny = try memoryDesc([o, i, g.kernel, g.kernel], .any)
        var bAny = try memoryDesc([o], .any)
        var strides: [dnnl_dim_t] = [g.stride, g.stride].map { dnnl_dim_t($0) }
        var pad: [dnnl_dim_t] = [g.padding, g.padding].map { dnnl_dim_t($0) }
        let name = "\(deconv ? "deconvolution" : "convolution") \(i)->\(o) at \(h)x\(w)"
        // oneDNN's deconvolution descriptor is its convolution descriptor (a typedef) and the initialisers take the
        // same arguments: only which three initialisers and which algorithm differ.
        let (initForward, initBackwardData, initBackwardWeights, algorithm) = deconv
            ? (dnnl_deconvolution_forward_desc_init, dnnl_deconvolution_backward_data_desc_init,
               dnnl_deconvolution_backward_weights_desc_init, dnnl_deconvolution_direct)
            : (dnnl_convolution_forward_desc_init, dnnl_convolution_backward_data_desc_init,
               dnnl_convolution_backward_weights_desc_init, dnnl_convolution_direct)
        var fd = dnnl_convolution_desc_t(), dd = fd, wd = fd
        try dnnlCheck(initForward(&fd, dnnl_forward_training, algorithm, &src, &wAny, &bAny, &dst, &strides, &pad, &pad), name)
        let f = try withUnsafePointer(to: &fd) { try DNNLPrimitive.create($0, name: name + " forward") }
        try dnnlCheck(initBackwardData(&dd, algorithm, &src, &wAny, &dst, &strides, &pad, &pad), name)
        let bd = try withUnsafePointer(to: &dd) { try DNNLPrimitive.create($0, hint: f, name: name + " backward data") }
        try dnnlCheck(initBackwardWeights(&wd, algorithm, &src, &wAny, &bAny, &dst, &strides, &pad, &pad), name)
        let bw = try withUnsafePointer(to: &wd) { try DNNLPrimitive.create($0, hint: f, name: name + " backward weights") }
        (forward, backwardData, backwardWeights) = (f, bd, bw)
        sourceToBlocked = try .reorder(from: sourcePlain, to: sourceBlocked)
        sourceToPlain = try .reorder(from: sourceBlocked, to: sourcePlain)
        destinationToBlocked = try .reorder(from: destinationPlain, to: destinationBlocked)
        destinationToPlain = try .reorder(from: destinationBlocked, to: destinationPlain)
        weightsForForward = try .reorder(from: weightsPlain, to: f.desc(dnnl_query_weights_md))
        weightsForBackwardData = try .reorder(from: weightsPlain, to: bd.desc(dnnl_query_weights_md))
        weightGradientToPlain = try .reorder(from: bw.desc(dnnl_query_diff_weights_md), to: weightsPlain)
        // A transposed convolution is the adjoint of the convolution from its output back to its input.
        winograd = !StridedWinograd.preferred ? nil
            : deconv ? StridedWinograd(batch: n, inChannels: o, outChannels: i, height: ho, width: wo, geometry: g)
            : StridedWinograd(batch: n, inChannels: i, outChannels: o, height: h, width: w, geometry: g)
        (outputHeight, outputWidth) = (ho, wo)
    }

    // MARK: the cache

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [Shape: DNNLStridedConv?] = [:]
    /// Shapes cached at most; a notebook that trains at many sizes starts over rather than growing without bound.
    static let cacheLimit = 64

    /// The primitives for `shape`, created once (JIT compilation) and reused; nil where this path does not apply.
    static func kernels(_ shape: Shape) -> DNNLStridedConv? {
        guard shape.inChannels % DNNLCPU.block == 0, shape.outChannels % DNNLCPU.block == 0, shape.batch > 0,
              shape.height > 0, shape.width > 0 else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if let known = cache[shape] { return known }
        if cache.count >= cacheLimit { cache.removeAll() }
        // What was chosen for each layer is `txn doctor`'s to show (`implementations`).
        let made = try? DNNLStridedConv(shape)
        cache[shape] = made
        return made
    }

    /// oneDNN's implementations of the three passes, for `txn doctor`.
    var implementations: String {
        if winograd != nil {
            return "winograd:txn / winograd:txn / winograd:txn"
        }
        return "\(forward.implementation) / \(backwardData.implementation) / \(backwardWeights.implementation)"
    }

    // MARK: running

    private static func size(_ desc: dnnl_memory_desc_t) -> Int {
        var d = desc
        return dnnl_memory_desc_get_size(&d) / MemoryLayout<Float>.stride
    }

    private func run(_ p: DNNLPrimitive, _ args: [(Int32, dnnl_memory_desc_t, UnsafePointer<Float>)]) throws {
        try p.execute(pointers: args.map { ($0.0, $0.1, UnsafeMutableRawPointer(mutating: $0.2)) })
    }

    private func reorder(_ p: DNNLPrimitive, _ from: (dnnl_memory_desc_t, UnsafePointer<Float>),
                         to desc: dnnl_memory_desc_t) throws -> [Float] {
        var out = unfilledFloats(Self.size(desc))  // a reorder writes every entry
        try out.withUnsafeMutableBufferPointer { o in
            try run(p, [(DNNL_ARG_FROM, from.0, from.1), (DNNL_ARG_TO, desc, UnsafePointer(o.baseAddress!))])
        }
        return out
    }

    /// The layer's input, channel-major → blocked.
    func blockedSource(_ x: UnsafePointer<Float>) throws -> [Float] {
        try reorder(sourceToBlocked, (sourcePlain, x), to: sourceBlocked)
    }

    /// The layer's output (or its gradient), channel-major → blocked.
    func blockedDestination(_ y: UnsafePointer<Float>) throws -> [Float] {
        try reorder(destinationToBlocked, (destinationPlain, y), to: destinationBlocked)
    }

    /// Blocked source-shaped values → channel-major, into `x`.
    func plainSource(_ b: [Float], into x: UnsafeMutablePointer<Float>) throws {
        try b.withUnsafeBufferPointer { bp in
            try run(sourceToPlain, [(DNNL_ARG_FROM, sourceBlocked, bp.baseAddress!), (DNNL_ARG_TO, sourcePlain, UnsafePointer(x))])
        }
    }

    /// Blocked destination-shaped values → channel-major, into `y`.
    func plainDestination(_ b: [Float], into y: UnsafeMutablePointer<Float>) throws {
        try b.withUnsafeBufferPointer { bp in
            try run(destinationToPlain, [(DNNL_ARG_FROM, destinationBlocked, bp.baseAddress!), (DNNL_ARG_TO, destinationPlain, UnsafePointer(y))])
        }
    }

    /// dst = layer(src) + bias, both blocked.
    func forward(source: [Float], weights: UnsafePointer<Float>, bias: UnsafePointer<Float>) throws -> [Float] {
        if let winograd, shape.kind == .convolution { return try winograd.forward(source: source, weights: weights, bias: bias) }
        return try run(forward, weights: weights, reorderedBy: weightsForForward, input: (DNNL_ARG_SRC, sourceBlocked, source),
                output: (DNNL_ARG_DST, destinationBlocked), extra: [(DNNL_ARG_BIAS, biasPlain, bias)])
    }

    /// A transposed convolution's forward on the Winograd kernel, channel-major in and out (bias added), or nil where
    /// that kernel does not run this layer.
    func transposedForward(_ x: ChannelMajor, weight: Parameter, bias: Parameter) throws -> ChannelMajor? {
        guard shape.kind == .deconvolution, let winograd else { return nil }
        let xb = try x.data.withUnsafeBufferPointer { try blockedSource($0.baseAddress!) }
        let yb = try weight.value.withUnsafeBufferPointer { w in
            try bias.value.withUnsafeBufferPointer { b in
                try winograd.backwardData(gradOutput: xb, weights: w.baseAddress!, bias: b.baseAddress!)
            }
        }
        var y = ChannelMajor(unfilled: shape.outChannels, batch: x.batch, height: outputHeight, width: outputWidth)  // the reorder writes all
        try y.data.withUnsafeMutableBufferPointer { try plainDestination(yb, into: $0.baseAddress!) }
        return y
    }

    /// dL/dsrc (blocked) from dL/ddst (blocked).
    func backwardData(gradOutput: [Float], weights: UnsafePointer<Float>) throws -> [Float] {
        if let winograd {
            return shape.kind == .convolution ? try winograd.backwardData(gradOutput: gradOutput, weights: weights)
                : try winograd.forward(source: gradOutput, weights: weights, bias: nil)
        }
        return try run(backwardData, weights: weights, reorderedBy: weightsForBackwardData,
                input: (DNNL_ARG_DIFF_DST, destinationBlocked, gradOutput), output: (DNNL_ARG_DIFF_SRC, sourceBlocked))
    }

    /// Runs a primitive that reads the layer's weights (reordered from plain to the layout it chose) and one blocked
    /// input, and writes a new blocked output.
    private func run(_ p: DNNLPrimitive, weights: UnsafePointer<Float>, reorderedBy weightsReorder: DNNLPrimitive,
                     input: (Int32, dnnl_memory_desc_t, [Float]), output: (Int32, dnnl_memory_desc_t),
                     extra: [(Int32, dnnl_memory_desc_t, UnsafePointer<Float>)] = []) throws -> [Float] {
        let wd = p.desc(dnnl_query_weights_md)
        let w = try reorder(weightsReorder, (weightsPlain, weights), to: wd)
        var out = unfilledFloats(Self.size(output.1))
        try input.2.withUnsafeBufferPointer { i in
            try w.withUnsafeBufferPointer { wp in
                try out.withUnsafeMutableBufferPointer { o in
                    try run(p, [(input.0, input.1, i.baseAddress!), (DNNL_ARG_WEIGHTS, wd, wp.baseAddress!)] + extra
                               + [(output.0, output.1, UnsafePointer(o.baseAddress!))])
                }
            }
        }
        return out
    }

    /// Both backward passes of a layer (x → y) on the primitives: adds dL/dW and dL/db into `weight` and `bias` when
    /// `weights`, and returns dL/dx, channel-major, when `data`. `blockedInput` is x already in the blocked layout,
    /// when the forward kept it.
    func backward(gradOutput dy: ChannelMajor, input x: ChannelMajor, blockedInput: [Float]? = nil, inChannels: Int,
                  weight: Parameter, bias: Parameter, weights: Bool = true, data: Bool) throws -> ChannelMajor? {
        let dyb = try dy.data.withUnsafeBufferPointer { try blockedDestination($0.baseAddress!) }
        if weights {
            let xb = try blockedInput ?? x.data.withUnsafeBufferPointer { try blockedSource($0.baseAddress!) }
            let (dw, db) = try weightGradients(source: xb, gradOutput: dyb)
            weight.accumulate(dw)
            bias.accumulate(db)
        }
        guard data else { return nil }
        let dxb = try weight.value.withUnsafeBufferPointer { try backwardData(gradOutput: dyb, weights: $0.baseAddress!) }
        var dx = ChannelMajor(unfilled: inChannels, batch: x.batch, height: x.height, width: x.width)  // the reorder writes all
        try dx.data.withUnsafeMutableBufferPointer { try plainSource(dxb, into: $0.baseAddress!) }
        return dx
    }

    func weightGradients(source: [Float], gradOutput: [Float]) throws -> (weights: [Float], bias: [Float]) {
        if let winograd {
            let weights = shape.kind == .convolution ? try winograd.weightGradients(source: source, gradOutput: gradOutput)
                : try winograd.weightGradients(source: gradOutput, gradOutput: source)
            return (weights, StridedWinograd.channelSums(gradOutput, batch: shape.batch, channels: shape.outChannels,
                                                         height: outputHeight, width: outputWidth))
        }
        let wd = backwardWeights.desc(dnnl_query_diff_weights_md)
        var dw = unfilledFloats(Self.size(wd)), db = unfilledFloats(shape.outChannels)
        try source.withUnsafeBufferPointer { s in
            try gradOutput.withUnsafeBufferPointer { g in
                try dw.withUnsafeMutableBufferPointer { w in
                    try db.withUnsafeMutableBufferPointer { b in
                        try run(backwardWeights, [(DNNL_ARG_SRC, sourceBlocked, s.baseAddress!), (DNNL_ARG_DIFF_DST, destinationBlocked, g.baseAddress!),
                                                  (DNNL_ARG_DIFF_WEIGHTS, wd, UnsafePointer(w.baseAddress!)),
                                                  (DNNL_ARG_DIFF_BIAS, biasPlain, UnsafePointer(b.baseAddress!))])
                    }
                }
            }
        }
        let plain = try dw.withUnsafeBufferPointer { try reorder(weightGradientToPlain, (wd, $0.baseAddress!), to: weightsPlain) }
        return (plain, db)
    }
}
