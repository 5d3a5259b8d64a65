import TxnTensor

/// VGG-19 forward and backward for one image size, on oneDNN's channel-blocked layout from end to
/// end: primitives and buffers are created once and reused every iteration, bias and ReLU run
/// inside the convolution, padding of any mode is applied on the blocked data, and only the
/// layers up to the deepest one asked for exist at all.
public final class VGGPlan: FeatureNetwork {
    public let model: VGG19
    public let height: Int, width: Int
    public let algorithm: ConvAlgorithm
    /// Index in `VGG19.stages` of the deepest stage planned.
    public let deepest: Int

    private let pad: Pad2D
    /// Output of each stage; stage 0 (the input transform, 3 channels) is plain NCHW.
    private var input = Tensor(zeros: [1, 3, 1, 1])
    private var outputs: [DNNLBuffer?]
    private var convs: [Int: DNNLConv] = [:]
    private var pools: [Int: DNNLPool] = [:]
    /// Padded inputs and their gradients, shared by all stages whose padded input has the same dims.
    private var padded: [[Int]: DNNLBuffer] = [:]
    /// Two gradient buffers per output size: a stage reads one and writes the other.
    private var gradients: [[Int]: (DNNLBuffer, DNNLBuffer)] = [:]
    private let dims: [[Int]]  // [C, H, W] of each stage's output

    public init(model: VGG19, height: Int, width: Int, upTo layer: String, algorithm: ConvAlgorithm = .direct,
                backward: Bool = true) throws {
        self.model = model
        self.height = height
        self.width = width
        self.algorithm = algorithm
        let last = try VGG19.stageIndex(of: layer)
        try model.requireLoaded(last)
        deepest = last
        pad = Pad2D(pad: 1, mode: model.padding)

        var dims: [[Int]] = [[3, height, width]]
        var outputs: [DNNLBuffer?] = [nil]
        var (h, w) = (height, width)
        for s in 1...max(1, last) where s <= last {
            let c = try VGG19.channels(of: VGG19.stages[s].name)
            switch VGG19.stages[s].stage {
            case .conv(let i):
                try pad.check(h, w)
                let first = i == 0
                // conv1_1 reads 3 plain channels; oneDNN has no fast backward for that shape (its
                // reference kernel took 0.25 s at 128x128), so that one runs on im2col + sgemm.
                convs[s] = try DNNLConv(model.convs[i], height: h, width: w, source: first ? .nchw : .blocked16,
                                        relu: true, algorithm: first ? .direct : algorithm, backward: backward && !first)
                let key = [model.convs[i].inChannels, h + 2, w + 2]
                if padded[key] == nil {
                    padded[key] = try DNNLBuffer(dims: [1] + key, first ? .nchw : .blocked16)
                }
            case .pool:
                let pool = try DNNLPool(model.pooling, channels: c, height: h, width: w, backward: backward)
                pools[s] = pool
                (h, w) = (pool.outHeight, pool.outWidth)
            case .input:
                break
            }
            dims.append([c, h, w])
            outputs.append(try DNNLBuffer(dims: [1, c, h, w], .blocked16))
        }
        self.dims = dims
        self.outputs = outputs
        if backward {
            for d in Set(dims.dropFirst()) {
                gradients[d] = (try DNNLBuffer(dims: [1] + d, .blocked16), try DNNLBuffer(dims: [1] + d, .blocked16))
            }
        }
    }

    /// The oneDNN implementation of each convolution, e.g. "conv1_2: jit:avx512_core / jit:avx512_core".
    public var implementations: [String] {
        convs.keys.sorted().map { "\(VGG19.stages[$0].name): \(convs[$0]!.implementation) / \(convs[$0]!.backwardImplementation)" }
    }

    // MARK: Forward

    public func forward(_ image: Tensor, layers: [String]) throws -> [Tensor] {
        guard image.shape == [1, 3, height, width] else {
            throw TensorError.shapeMismatch("this plan is for [1, 3, \(height), \(width)] images, got \(image.shape)")
        }
        let wanted = try layers.map { try VGG19.stageIndex(of: $0) }
        guard let last = wanted.max(), last <= deepest else {
            throw VGGError.layerNotLoaded(layers.first { (try? VGG19.stageIndex(of: $0)) ?? 0 > deepest } ?? "?",
                                          deepest: VGG19.layerNames[deepest])
        }
        input = try model.inputLayer.forward(image)
        for s in 1...max(1, last) where s <= last {
            switch VGG19.stages[s].stage {
            case .conv:
                let conv = convs[s]!
                let source = padded[[conv.inChannels, dims[s][1] + 2, dims[s][2] + 2]]!
                if s == 1 {
                    input.data.withUnsafeBufferPointer {
                        pad.forward($0.baseAddress!, source.pointer, planes: 3, h: height, w: width)
                    }
                } else {
                    let (c, h, w) = (dims[s - 1][0], dims[s - 1][1], dims[s - 1][2])
                    pad.forward(outputs[s - 1]!.pointer, source.pointer, planes: c / 16, h: h, w: w, vector: 16)
                }
                try conv.forward(source: source, destination: outputs[s]!)
            case .pool:
                try pools[s]!.forward(source: outputs[s - 1]!, destination: outputs[s]!)
            case .input:
                break
            }
        }
        return try wanted.map { try feature($0) }
    }

    /// The output of stage `s` of the last forward pass, as an NCHW tensor.
    func feature(_ s: Int) throws -> Tensor {
        if s == 0 { return input }
        let (c, h, w) = (dims[s][0], dims[s][1], dims[s][2])
        var t = Tensor(zeros: [1, c, h, w])
        t.data.withUnsafeMutableBufferPointer { Blocked.toNCHW(outputs[s]!.pointer, $0.baseAddress!, channels: c, pixels: h * w) }
        return t
    }

    // MARK: Backward

    public func backward(_ given: [String: Tensor]) throws -> Tensor {
        guard !gradients.isEmpty else { throw VGGError.invalidOption("this plan was made without backward") }
        var byStage: [Int: Tensor] = [:]
        for (name, g) in given {
            let s = try VGG19.stageIndex(of: name)
            guard s <= deepest, s > 0 else {
                throw VGGError.invalidOption("gradient at '\(name)' is outside the planned layers conv1_1…\(VGG19.layerNames[deepest])")
            }
            guard g.shape == [1] + dims[s] else {
                throw TensorError.shapeMismatch("gradient for '\(name)' has shape \(g.shape), the layer [1, \(dims[s])]")
            }
            byStage[s] = g
        }
        guard let top = byStage.keys.max() else { return Tensor(zeros: [1, 3, height, width]) }

        // `grad` holds dL/d(output of stage s) in the blocked layout.
        var grad = gradients[dims[top]]!.0
        var imageGrad = Tensor(zeros: [1, 3, height, width])
        for s in stride(from: top, through: 1, by: -1) {
            if let g = byStage[s] {
                let (c, m) = (dims[s][0], dims[s][1] * dims[s][2])
                if s == top {
                    g.data.withUnsafeBufferPointer { Blocked.fromNCHW($0.baseAddress!, grad.pointer, channels: c, pixels: m) }
                } else {
                    let other = spare(for: s, besides: grad)
                    g.data.withUnsafeBufferPointer { Blocked.fromNCHW($0.baseAddress!, other.pointer, channels: c, pixels: m) }
                    grad.add(other)
                }
            }
            switch VGG19.stages[s].stage {
            case .conv:
                let conv = convs[s]!
                grad.maskByPositive(outputs[s]!)
                if s == 1 {
                    var dOutput = Tensor(zeros: [1] + dims[1])
                    dOutput.data.withUnsafeMutableBufferPointer {
                        Blocked.toNCHW(grad.pointer, $0.baseAddress!, channels: dims[1][0], pixels: height * width)
                    }
                    let shape = [1, 3, height, width]
                    let dInput = try model.convs[0].backwardData(inputShape: shape, gradOutput: dOutput)
                    imageGrad = try model.inputLayer.backwardData(inputShape: shape, gradOutput: dInput)
                } else {
                    let source = padded[[conv.inChannels, dims[s][1] + 2, dims[s][2] + 2]]!
                    try conv.backwardData(gradOutput: grad, gradSource: source)
                    let next = spare(for: s - 1, besides: grad)
                    let (c, h, w) = (dims[s - 1][0], dims[s - 1][1], dims[s - 1][2])
                    pad.backward(source.pointer, next.pointer, planes: c / 16, h: h, w: w, vector: 16)
                    grad = next
                }
            case .pool:
                let next = spare(for: s - 1, besides: grad)
                try pools[s]!.backward(gradOutput: grad, gradSource: next)
                grad = next
            case .input:
                break
            }
        }
        return imageGrad
    }

    /// A gradient buffer for stage `s`'s output that is not `busy`.
    private func spare(for s: Int, besides busy: DNNLBuffer) -> DNNLBuffer {
        let pair = gradients[dims[s]]!
        return pair.0 === busy ? pair.1 : pair.0
    }
}
