import CDNNL

/// The VGG layers where oneDNN has only its reference loops on this CPU (its backward-data below AVX2, anything
/// in a layout it has no kernel for): the same arithmetic on plain NCHW copies, through im2col and OpenBLAS's
/// sgemm, which runs at full speed on every CPU. The blocked operands are reordered in and out by oneDNN
/// reorders, which handle partial channel blocks (conv1_1's 3 channels).
final class GEMMConvolution: BlockedConvolution, @unchecked Sendable {
    let inChannels: Int, outChannels: Int, height: Int, width: Int
    /// The layer: PyTorch's [O][I·3·3] weights and [O] bias, and the unfold and fold of its padded input.
    private let conv: Conv2D
    private var weight: [Float] { conv.weight.data }
    private var bias: [Float] { conv.bias.data }
    /// The padded input and its gradient, and the output and its gradient, as plain NCHW.
    private let source: DNNLBuffer, gradSourcePlain: DNNLBuffer, output: DNNLBuffer
    private let sourceToPlain: DNNLPrimitive?
    private let gradSourceFromPlain: DNNLPrimitive, outputFromPlain: DNNLPrimitive,
                gradOutputToPlain: DNNLPrimitive
    /// The im2col columns [I·9][H·W], shared by both passes.
    private var columns: [Float]

    var implementation: String { "gemm fallback" }
    var backwardImplementation: String { "gemm fallback" }
    var scratchpadBytes: Int { 0 }
    func bindScratchpad(_ arena: DNNLArena) throws {}
    var weightBytes: Int { 4 * weight.count }

    init(_ conv: Conv2D, height: Int, width: Int, source sourceFormat: DNNLFormat, gradientSource: DNNLFormat) throws {
        guard conv.kernel == 3 else { throw TensorError.invalidArgument("the GEMM fallback takes 3x3 convolutions") }
        (inChannels, outChannels, self.height, self.width) = (conv.inChannels, conv.outChannels, height, width)
        self.conv = conv
        let paddedDims = [1, inChannels, height + 2, width + 2], outDims = [1, outChannels, height, width]
        source = try DNNLBuffer(dims: paddedDims, .nchw)
        gradSourcePlain = try DNNLBuffer(dims: paddedDims, .nchw)
        output = try DNNLBuffer(dims: outDims, .nchw)
        sourceToPlain = sourceFormat == .nchw ? nil : try DNNLPrimitive.reorder(from: memoryDesc(paddedDims, sourceFormat), to: source.desc)
        gradSourceFromPlain = try .reorder(from: gradSourcePlain.desc, to: memoryDesc(paddedDims, gradientSource))
        outputFromPlain = try .reorder(from: output.desc, to: memoryDesc(outDims, .blocked))
        gradOutputToPlain = try .reorder(from: memoryDesc(outDims, .blocked), to: output.desc)
        columns = [Float](repeating: 0, count: try MemoryBudget.product([inChannels, 9, height, width], for: "GEMM convolution columns"))
    }

    /// y = ReLU(W · im2col(x) + b).
    func forward(source given: DNNLBuffer, destination: DNNLBuffer) throws {
        let x: DNNLBuffer
        if let sourceToPlain {
            try sourceToPlain.execute([(DNNL_ARG_FROM, given), (DNNL_ARG_TO, source)])
            x = source
        } else {
            x = given
        }
        let (hw, k) = (height * width, inChannels * 9)
        columns.withUnsafeMutableBufferPointer { conv.im2col(x.pointer, h: height, w: width, $0.baseAddress!) }
        let y = output.pointer
        weight.withUnsafeBufferPointer { w in
            columns.withUnsafeBufferPointer { c in
                sgemm(m: outChannels, n: hw, k: k, w.baseAddress!, lda: k, c.baseAddress!, ldb: hw, y, ldc: hw)
            }
        }
        bias.withUnsafeBufferPointer { b in
            parallelFor(outChannels) { o in
                let row = y + o * hw, bo = b[o]
                for j in 0..<hw { row[j] = max(row[j] + bo, 0) }
            }
        }
        try outputFromPlain.execute([(DNNL_ARG_FROM, output), (DNNL_ARG_TO, destination)])
    }

    /// dx = col2im(Wᵀ · dy), dy being the gradient after ReLU's mask (applied by the caller).
    func backwardData(gradOutput: DNNLBuffer, gradSource: DNNLBuffer) throws {
        try gradOutputToPlain.execute([(DNNL_ARG_FROM, gradOutput), (DNNL_ARG_TO, output)])
        let (hw, k) = (height * width, inChannels * 9)
        weight.withUnsafeBufferPointer { w in
            columns.withUnsafeMutableBufferPointer { c in
                sgemm(transA: true, m: k, n: hw, k: outChannels, w.baseAddress!, lda: k, output.pointer, ldb: hw, c.baseAddress!, ldc: hw)
            }
        }
        columns.withUnsafeBufferPointer { conv.col2im($0.baseAddress!, h: height, w: width, gradSourcePlain.pointer) }
        try gradSourceFromPlain.execute([(DNNL_ARG_FROM, gradSourcePlain), (DNNL_ARG_TO, gradSource)])
    }
}

/// Pooling where oneDNN has only its reference loops: `Pool2D` on NCHW copies, keeping the forward's input for
/// the backward (max pooling finds its maximum again there).
final class GEMMPooling: BlockedPooling, @unchecked Sendable {
    private let pool: Pool2D
    private let inputDims: [Int], outputDims: [Int]
    private var input: Tensor
    private let toPlainIn: DNNLPrimitive, fromPlainIn: DNNLPrimitive, toPlainOut: DNNLPrimitive, fromPlainOut: DNNLPrimitive
    private let plainIn: DNNLBuffer, plainOut: DNNLBuffer

    var implementation: String { "loop fallback" }
    var backwardImplementation: String { implementation }
    var scratchpadBytes: Int { 0 }
    func bindScratchpad(_ arena: DNNLArena) throws {}

    init(_ kind: Pool2D.Kind, channels: Int, height: Int, width: Int) throws {
        pool = Pool2D(kind)
        inputDims = [1, channels, height, width]
        outputDims = [1, channels, Pool2D.outputSize(height), Pool2D.outputSize(width)]
        input = Tensor(zeros: inputDims)
        plainIn = try DNNLBuffer(dims: inputDims, .nchw)
        plainOut = try DNNLBuffer(dims: outputDims, .nchw)
        toPlainIn = try .reorder(from: memoryDesc(inputDims, .blocked), to: plainIn.desc)
        fromPlainIn = try .reorder(from: plainIn.desc, to: memoryDesc(inputDims, .blocked))
        toPlainOut = try .reorder(from: memoryDesc(outputDims, .blocked), to: plainOut.desc)
        fromPlainOut = try .reorder(from: plainOut.desc, to: memoryDesc(outputDims, .blocked))
    }

    func forward(source: DNNLBuffer, destination: DNNLBuffer) throws {
        try toPlainIn.execute([(DNNL_ARG_FROM, source), (DNNL_ARG_TO, plainIn)])
        input.data.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: plainIn.pointer, count: $0.count) }
        try copy(pool.forward(input), into: plainOut)
        try fromPlainOut.execute([(DNNL_ARG_FROM, plainOut), (DNNL_ARG_TO, destination)])
    }

    func backward(gradOutput: DNNLBuffer, gradSource: DNNLBuffer) throws {
        try toPlainOut.execute([(DNNL_ARG_FROM, gradOutput), (DNNL_ARG_TO, plainOut)])
        var dy = Tensor(zeros: outputDims)
        dy.data.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: plainOut.pointer, count: $0.count) }
        try copy(pool.backward(input: input, gradOutput: dy), into: plainIn)
        try fromPlainIn.execute([(DNNL_ARG_FROM, plainIn), (DNNL_ARG_TO, gradSource)])
    }

    private func copy(_ t: Tensor, into buffer: DNNLBuffer) {
        t.data.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: $0.count) }
    }
}
