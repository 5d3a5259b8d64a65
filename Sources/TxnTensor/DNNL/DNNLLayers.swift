import CDNNL

/// How oneDNN computes a convolution.
public enum ConvAlgorithm: String, CaseIterable, Sendable {
    case direct
    /// F(4x4, 3x3) Winograd on AVX-512: about 2.25x fewer multiplications for 3x3 kernels.
    case winograd
    /// oneDNN's own choice.
    case auto

    var kind: dnnl_alg_kind_t {
        switch self {
        case .direct: return dnnl_convolution_direct
        case .winograd: return dnnl_convolution_winograd
        case .auto: return dnnl_convolution_auto
        }
    }
}

/// A stride-1 convolution on oneDNN whose input is already padded (any `PaddingMode`, done by
/// `Pad2D` on the blocked layout), with bias and optionally ReLU fused into the same pass.
/// Forward and backward-data side by side; weight gradients are not needed for image synthesis.
public final class DNNLConv: @unchecked Sendable {
    public let inChannels: Int, outChannels: Int, kernel: Int
    public let height: Int, width: Int
    let forwardPrimitive: DNNLPrimitive
    let backwardPrimitive: DNNLPrimitive?
    let weights: DNNLBuffer
    let backwardWeights: DNNLBuffer?
    let bias: DNNLBuffer

    /// - Parameters: height, width: the output size (input is height+k-1 by width+k-1).
    public init(_ conv: Conv2D, height: Int, width: Int, source: DNNLFormat, relu: Bool,
                algorithm: ConvAlgorithm, backward: Bool) throws {
        let (inChannels, outChannels, k) = (conv.inChannels, conv.outChannels, conv.kernel)
        self.inChannels = inChannels
        self.outChannels = outChannels
        kernel = k
        self.height = height
        self.width = width
        let pad = k - 1
        var src = try memoryDesc([1, inChannels, height + pad, width + pad], source)
        var dst = try memoryDesc([1, outChannels, height, width], .blocked16)
        var w = try memoryDesc([outChannels, inChannels, k, k], .any)
        var b = try memoryDesc([outChannels], .any)
        var strides: [dnnl_dim_t] = [1, 1], zero: [dnnl_dim_t] = [0, 0]
        var desc = dnnl_convolution_desc_t()
        try dnnlCheck(dnnl_convolution_forward_desc_init(
            &desc, backward ? dnnl_forward_training : dnnl_forward_inference, algorithm.kind,
            &src, &w, &b, &dst, &strides, &zero, &zero), "convolution \(inChannels)->\(outChannels) forward")

        var attr: dnnl_primitive_attr_t?
        try dnnlCheck(dnnl_primitive_attr_create(&attr), "attributes")
        defer { dnnl_primitive_attr_destroy(attr) }
        if relu {
            var ops: dnnl_post_ops_t?
            try dnnlCheck(dnnl_post_ops_create(&ops), "post-ops")
            defer { dnnl_post_ops_destroy(ops) }
            try dnnlCheck(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_relu, 0, 0), "fused ReLU")
            try dnnlCheck(dnnl_primitive_attr_set_post_ops(attr, ops), "fused ReLU")
        }
        let forwardPrimitive = try withUnsafePointer(to: &desc) {
            try DNNLPrimitive.create($0, attr: attr, name: "convolution \(inChannels)->\(outChannels) (\(algorithm))")
        }
        self.forwardPrimitive = forwardPrimitive

        let plainWeights = try DNNLBuffer(dims: [outChannels, inChannels, k, k], .nchw)  // nchw == oihw for 4-D
        conv.weight.data.withUnsafeBufferPointer { plainWeights.pointer.update(from: $0.baseAddress!, count: $0.count) }
        let weights = try reordered(plainWeights, to: forwardPrimitive.desc(dnnl_query_weights_md))
        self.weights = weights
        let bias = try DNNLBuffer(forwardPrimitive.desc(dnnl_query_weights_md, 1))
        self.bias = bias
        conv.bias.data.withUnsafeBufferPointer { bias.pointer.update(from: $0.baseAddress!, count: $0.count) }

        if backward {
            var diffSrc = try memoryDesc([1, inChannels, height + pad, width + pad], source)
            var diffDst = try memoryDesc([1, outChannels, height, width], .blocked16)
            var bw = try memoryDesc([outChannels, inChannels, k, k], .any)
            var bdesc = dnnl_convolution_desc_t()
            try dnnlCheck(dnnl_convolution_backward_data_desc_init(
                &bdesc, algorithm.kind, &diffSrc, &bw, &diffDst, &strides, &zero, &zero),
                "convolution \(inChannels)->\(outChannels) backward")
            let primitive = try withUnsafePointer(to: &bdesc) {
                try DNNLPrimitive.create($0, hint: forwardPrimitive, name: "convolution \(inChannels)->\(outChannels) backward")
            }
            backwardPrimitive = primitive
            let wanted = primitive.desc(dnnl_query_weights_md)
            backwardWeights = weights.sameLayout(as: wanted) ? weights : try reordered(plainWeights, to: wanted)
        } else {
            backwardPrimitive = nil
            backwardWeights = nil
        }
    }

    public var implementation: String { forwardPrimitive.implementation }
    public var backwardImplementation: String { backwardPrimitive?.implementation ?? "-" }

    public func forward(source: DNNLBuffer, destination: DNNLBuffer) throws {
        try forwardPrimitive.execute([(DNNL_ARG_SRC, source), (DNNL_ARG_WEIGHTS, weights),
                                      (DNNL_ARG_BIAS, bias), (DNNL_ARG_DST, destination)])
    }

    /// Gradient with respect to the padded input, from the gradient of the (pre-ReLU) output.
    public func backwardData(gradOutput: DNNLBuffer, gradSource: DNNLBuffer) throws {
        guard let backwardPrimitive, let backwardWeights else {
            throw DNNLError(status: dnnl_invalid_arguments, context: "convolution was planned without backward")
        }
        try backwardPrimitive.execute([(DNNL_ARG_DIFF_DST, gradOutput), (DNNL_ARG_WEIGHTS, backwardWeights),
                                       (DNNL_ARG_DIFF_SRC, gradSource)])
    }
}

/// 2x2 stride-2 pooling on the blocked layout with PyTorch's ceil_mode: an odd edge becomes one
/// more window through right/bottom padding, which max pooling ignores and average pooling leaves
/// out of the divisor (the same as PyTorch with padding 0).
public final class DNNLPool: @unchecked Sendable {
    let forwardPrimitive: DNNLPrimitive
    let backwardPrimitive: DNNLPrimitive?
    let workspace: DNNLBuffer?
    public let outHeight: Int, outWidth: Int

    public init(_ kind: Pool2D.Kind, channels: Int, height: Int, width: Int, backward: Bool) throws {
        let outHeight = Pool2D.outputSize(height), outWidth = Pool2D.outputSize(width)
        self.outHeight = outHeight
        self.outWidth = outWidth
        var src = try memoryDesc([1, channels, height, width], .blocked16)
        var dst = try memoryDesc([1, channels, outHeight, outWidth], .blocked16)
        var strides: [dnnl_dim_t] = [2, 2], kernel: [dnnl_dim_t] = [2, 2], left: [dnnl_dim_t] = [0, 0]
        var right: [dnnl_dim_t] = [dnnl_dim_t(2 * outHeight - height), dnnl_dim_t(2 * outWidth - width)]
        let alg = kind == .max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding
        var desc = dnnl_pooling_desc_t()
        try dnnlCheck(dnnl_pooling_forward_desc_init(&desc, backward ? dnnl_forward_training : dnnl_forward_inference,
                                                     alg, &src, &dst, &strides, &kernel, &left, &right), "\(kind) pool")
        let forwardPrimitive = try withUnsafePointer(to: &desc) { try DNNLPrimitive.create($0, name: "\(kind) pool") }
        self.forwardPrimitive = forwardPrimitive
        var ws = forwardPrimitive.desc(dnnl_query_workspace_md)
        workspace = dnnl_memory_desc_get_size(&ws) > 0 ? try DNNLBuffer(ws) : nil
        if backward {
            var bdesc = dnnl_pooling_desc_t()
            var diffSrc = try memoryDesc([1, channels, height, width], .blocked16)
            var diffDst = try memoryDesc([1, channels, outHeight, outWidth], .blocked16)
            try dnnlCheck(dnnl_pooling_backward_desc_init(&bdesc, alg, &diffSrc, &diffDst, &strides, &kernel, &left, &right),
                          "\(kind) pool backward")
            backwardPrimitive = try withUnsafePointer(to: &bdesc) {
                try DNNLPrimitive.create($0, hint: forwardPrimitive, name: "\(kind) pool backward")
            }
        } else {
            backwardPrimitive = nil
        }
    }

    public func forward(source: DNNLBuffer, destination: DNNLBuffer) throws {
        var args = [(DNNL_ARG_SRC, source), (DNNL_ARG_DST, destination)]
        if let workspace { args.append((DNNL_ARG_WORKSPACE, workspace)) }
        try forwardPrimitive.execute(args)
    }

    public func backward(gradOutput: DNNLBuffer, gradSource: DNNLBuffer) throws {
        guard let backwardPrimitive else {
            throw DNNLError(status: dnnl_invalid_arguments, context: "pooling was planned without backward")
        }
        var args = [(DNNL_ARG_DIFF_DST, gradOutput), (DNNL_ARG_DIFF_SRC, gradSource)]
        if let workspace { args.append((DNNL_ARG_WORKSPACE, workspace)) }
        try backwardPrimitive.execute(args)
    }
}

/// Conversions between NCHW and the blocked layout for channel counts that are multiples of 16.
public enum Blocked {
    /// [C/16][M][16] -> [C][M] (M = H·W), for one sample.
    public static func toNCHW(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, channels: Int, pixels m: Int) {
        parallelFor(channels / 16) { cb in
            let s = src + cb * m * 16, d = dst + cb * 16 * m
            for p in 0..<m { for i in 0..<16 { d[i * m + p] = s[p * 16 + i] } }
        }
    }

    /// [C][M] -> [C/16][M][16], for one sample.
    public static func fromNCHW(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, channels: Int, pixels m: Int) {
        parallelFor(channels / 16) { cb in
            let s = src + cb * 16 * m, d = dst + cb * m * 16
            for p in 0..<m { for i in 0..<16 { d[p * 16 + i] = s[i * m + p] } }
        }
    }
}

extension DNNLBuffer {
    /// Zeroes the gradient where the ReLU output is not positive (any layout, same for both).
    public func maskByPositive(_ output: DNNLBuffer) {
        let g = pointer, y = output.pointer
        parallelRanges(count, minChunk: 1 << 15) { r in for i in r where y[i] <= 0 { g[i] = 0 } }
    }

    /// self += other, elementwise (same layout).
    public func add(_ other: DNNLBuffer) {
        let a = pointer, b = other.pointer
        parallelRanges(count, minChunk: 1 << 15) { r in for i in r { a[i] += b[i] } }
    }
}
