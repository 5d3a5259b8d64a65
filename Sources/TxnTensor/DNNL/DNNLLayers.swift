import CDNNL
import Foundation

/// How a VGG convolution is computed.
public enum ConvAlgorithm: String, CaseIterable, Sendable {
    /// Winograd where it pays (`VGGPlan.algorithm`), direct everywhere else.
    case auto
    case direct
    /// Winograd for 3x3 kernels: oneDNN's F(4x4, 3x3) where oneDNN has it (AVX-512: about 4x fewer
    /// multiplications), txn's own F(4x4, 3x3) elsewhere (`WinogradConvolution`, AVX2: also 4x fewer).
    case winograd

    var kind: dnnl_alg_kind_t {
        switch self {
        case .direct: return dnnl_convolution_direct
        case .winograd: return dnnl_convolution_winograd
        case .auto: return dnnl_convolution_auto
        }
    }

    /// Whether oneDNN has a Winograd convolution on this CPU, found by asking it for one (a 64->64 layer at 64²,
    /// forward), once per process. Where it has none, txn's own kernel computes Winograd layers.
    public static let oneDNNWinogradAvailable: Bool = {
        guard let src = try? memoryDesc([1, 64, 66, 66], .blocked), let dst = try? memoryDesc([1, 64, 64, 64], .blocked),
              let w = try? memoryDesc([64, 64, 3, 3], .any), let b = try? memoryDesc([64], .any) else { return false }
        var (s, d, wd, bd) = (src, dst, w, b)
        var strides: [dnnl_dim_t] = [1, 1], zero: [dnnl_dim_t] = [0, 0]
        var desc = dnnl_convolution_desc_t()
        guard dnnl_convolution_forward_desc_init(&desc, dnnl_forward_training, dnnl_convolution_winograd,
                                                 &s, &wd, &bd, &d, &strides, &zero, &zero) == dnnl_success else { return false }
        return (try? withUnsafePointer(to: &desc) { try DNNLPrimitive.create($0, name: "Winograd probe") }) != nil
    }()

    /// Whose Winograd kernel runs here, for `txn doctor` and the benchmarks.
    public static var winogradKernel: String {
        oneDNNWinogradAvailable ? "oneDNN's F(4x4, 3x3) (\(DNNLCPU.isaName))" : "txn's F(4x4, 3x3) (AVX2)"
    }
}

/// A VGG layer on the blocked layout: oneDNN's JIT kernel, txn's Winograd kernel (`WinogradConvolution`), or txn's
/// GEMM path where oneDNN has only its reference loops (`BlockedLayers`).
public protocol BlockedLayer: AnyObject {
    /// What computes it, forward and backward: "jit:avx2", "gemm fallback".
    var implementation: String { get }
    var backwardImplementation: String { get }
    var scratchpadBytes: Int { get }
    func bindScratchpad(_ arena: DNNLArena) throws
}

/// A stride-1 3x3 convolution on an already padded blocked input, with bias and ReLU.
public protocol BlockedConvolution: BlockedLayer {
    /// Bytes of weights held in the layout it computes with.
    var weightBytes: Int { get }
    func forward(source: DNNLBuffer, destination: DNNLBuffer) throws
    /// Gradient with respect to the padded input, from the gradient of the (pre-ReLU) output.
    func backwardData(gradOutput: DNNLBuffer, gradSource: DNNLBuffer) throws
}

/// 2x2 stride-2 pooling on the blocked layout.
public protocol BlockedPooling: BlockedLayer {
    func forward(source: DNNLBuffer, destination: DNNLBuffer) throws
    func backward(gradOutput: DNNLBuffer, gradSource: DNNLBuffer) throws
}

public enum BlockedLayers {
    /// Winograd asked for where oneDNN has none: txn's kernel, for the layers it takes (direct for the rest). Else
    /// oneDNN's convolution where it has a JIT kernel for it, else the GEMM path (said once per process on stderr).
    public static func convolution(_ conv: Conv2D, height: Int, width: Int, source: DNNLFormat, gradientSource: DNNLFormat,
                                   algorithm: ConvAlgorithm, backward: Bool) throws -> BlockedConvolution {
        var algorithm = algorithm
        if algorithm == .winograd && !ConvAlgorithm.oneDNNWinogradAvailable {
            if WinogradConvolution.supports(conv, source: source, gradientSource: gradientSource) {
                return try WinogradConvolution(conv, height: height, width: width, backward: backward)
            }
            algorithm = .direct
        }
        do {
            return try DNNLConv(conv, height: height, width: width, source: source, gradientSource: gradientSource,
                                relu: true, algorithm: algorithm, backward: backward)
        } catch let error as DNNLError where error.referenceOnly {
            announceFallback(error)
            return try GEMMConvolution(conv, height: height, width: width, source: source, gradientSource: gradientSource)
        }
    }

    /// oneDNN's pooling where it has a JIT kernel for it, else txn's own loops on NCHW copies.
    public static func pooling(_ kind: Pool2D.Kind, channels: Int, height: Int, width: Int, backward: Bool) throws -> BlockedPooling {
        do {
            return try DNNLPool(kind, channels: channels, height: height, width: width, backward: backward)
        } catch let error as DNNLError where error.referenceOnly {
            announceFallback(error)
            return try GEMMPooling(kind, channels: channels, height: height, width: width)
        }
    }

    nonisolated(unsafe) private static var announced = false
    private static let announceLock = NSLock()

    private static func announceFallback(_ error: DNNLError) {
        announceLock.lock()
        defer { announceLock.unlock() }
        guard !announced else { return }
        announced = true
        let message = "txn: \(error.context); such layers run on txn's GEMM path (im2col + sgemm) instead "
            + "(`txn doctor` lists them)\n"
        FileHandle.standardError.write(Data(message.utf8))
    }
}

/// A stride-1 convolution on oneDNN whose input is already padded (any `PaddingMode`, done by
/// `Pad2D` on the blocked layout), with bias and optionally ReLU fused into the same pass.
/// Forward and backward-data side by side; weight gradients are not needed for image synthesis.
public final class DNNLConv: BlockedConvolution, @unchecked Sendable {
    public let inChannels: Int, outChannels: Int, kernel: Int
    public let height: Int, width: Int
    let forwardPrimitive: DNNLPrimitive
    let backwardPrimitive: DNNLPrimitive?
    let weights: DNNLBuffer
    let backwardWeights: DNNLBuffer?
    let bias: DNNLBuffer

    /// - Parameters: height, width: the output size (input is height+k-1 by width+k-1).
    /// - Parameter gradientSource: layout of the input gradient (default: that of the input).
    public init(_ conv: Conv2D, height: Int, width: Int, source: DNNLFormat, gradientSource: DNNLFormat? = nil,
                relu: Bool, algorithm: ConvAlgorithm, backward: Bool) throws {
        let (inChannels, outChannels, k) = (conv.inChannels, conv.outChannels, conv.kernel)
        self.inChannels = inChannels
        self.outChannels = outChannels
        kernel = k
        self.height = height
        self.width = width
        let pad = k - 1
        var src = try memoryDesc([1, inChannels, height + pad, width + pad], source)
        var dst = try memoryDesc([1, outChannels, height, width], .blocked)
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
            var diffSrc = try memoryDesc([1, inChannels, height + pad, width + pad], gradientSource ?? source)
            var diffDst = try memoryDesc([1, outChannels, height, width], .blocked)
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
    /// Scratch memory the largest of its primitives needs.
    public var scratchpadBytes: Int { max(forwardPrimitive.scratchpadBytes, backwardPrimitive?.scratchpadBytes ?? 0) }
    public func bindScratchpad(_ arena: DNNLArena) throws {
        try forwardPrimitive.bindScratchpad(arena)
        try backwardPrimitive?.bindScratchpad(arena)
    }
    /// Bytes of weights held in oneDNN's layouts (Winograd-transformed weights are 4x the plain size).
    public var weightBytes: Int { 4 * (weights.count + (backwardWeights === weights ? 0 : backwardWeights?.count ?? 0)) }
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
public final class DNNLPool: BlockedPooling, @unchecked Sendable {
    let forwardPrimitive: DNNLPrimitive
    let backwardPrimitive: DNNLPrimitive?
    let workspace: DNNLBuffer?
    public let outHeight: Int, outWidth: Int
    public var implementation: String { forwardPrimitive.implementation }
    public var backwardImplementation: String { backwardPrimitive?.implementation ?? "-" }

    public init(_ kind: Pool2D.Kind, channels: Int, height: Int, width: Int, backward: Bool) throws {
        let outHeight = Pool2D.outputSize(height), outWidth = Pool2D.outputSize(width)
        self.outHeight = outHeight
        self.outWidth = outWidth
        var src = try memoryDesc([1, channels, height, width], .blocked)
        var dst = try memoryDesc([1, channels, outHeight, outWidth], .blocked)
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
            var diffSrc = try memoryDesc([1, channels, height, width], .blocked)
            var diffDst = try memoryDesc([1, channels, outHeight, outWidth], .blocked)
            try dnnlCheck(dnnl_pooling_backward_desc_init(&bdesc, alg, &diffSrc, &diffDst, &strides, &kernel, &left, &right),
                          "\(kind) pool backward")
            backwardPrimitive = try withUnsafePointer(to: &bdesc) {
                try DNNLPrimitive.create($0, hint: forwardPrimitive, name: "\(kind) pool backward")
            }
        } else {
            backwardPrimitive = nil
        }
    }

    public var scratchpadBytes: Int { max(forwardPrimitive.scratchpadBytes, backwardPrimitive?.scratchpadBytes ?? 0) }
    public func bindScratchpad(_ arena: DNNLArena) throws {
        try forwardPrimitive.bindScratchpad(arena)
        try backwardPrimitive?.bindScratchpad(arena)
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

/// Conversions between NCHW and the blocked layout [C/b][M][b] (b = `block`, by default this CPU's
/// `DNNLCPU.block`) for channel counts that are multiples of b.
public enum Blocked {
    /// [C/b][M][b] -> [C][M] (M = H·W), for one sample. Through tiles of 16 pixels x b channels (in L1), each
    /// written as b runs of 16 pixels: pixel by pixel, every value went to another of b rows and the copy took 8
    /// times longer (24.8 against 3.1 ms for the five Gatys layers at 256², one thread, b = 16; the SW loss makes
    /// this copy at every evaluation).
    public static func toNCHW(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, channels: Int, pixels m: Int,
                              block: Int = DNNLCPU.block) {
        precondition(channels % block == 0, "toNCHW: \(channels) channels are not whole blocks of \(block)")
        parallelFor(channels / block) { cb in
            let s = src + cb * m * block, d = dst + cb * block * m
            for p0 in stride(from: 0, to: m, by: 16) {
                let n = min(16, m - p0)
                for i in 0..<block {
                    let row = d + i * m + p0, column = s + p0 * block + i
                    for p in 0..<n { row[p] = column[p * block] }
                }
            }
        }
    }

    /// [C][M] -> [C/b][M][b], for one sample. Pixel by pixel: b rows read in step stream well, and measured
    /// faster than through tiles (2.6 against 3.5 ms for the five Gatys layers at 256², b = 16).
    public static func fromNCHW(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, channels: Int, pixels m: Int,
                                block: Int = DNNLCPU.block) {
        precondition(channels % block == 0, "fromNCHW: \(channels) channels are not whole blocks of \(block)")
        parallelFor(channels / block) { cb in
            let s = src + cb * block * m, d = dst + cb * m * block
            for p in 0..<m { for i in 0..<block { d[p * block + i] = s[i * m + p] } }
        }
    }

    /// Runs `body` with the SIMD vector type of one block (one register: SIMD8 for AVX2, SIMD16 for AVX-512), so
    /// that the blocked loops below are compiled once for each width.
    @inline(__always)
    static func withBlockVector(_ block: Int, _ body8: () -> Void, _ body16: () -> Void) {
        switch block {
        case 8: body8()
        case 16: body16()
        default: preconditionFailure("blocked layout of \(block) channels: txn supports \(DNNLCPU.supportedBlocks)")
        }
    }
}

extension DNNLBuffer {
    /// Records where the values are positive, one bit per value (`(count + 7) / 8` bytes): all that
    /// ReLU's backward needs, at 1/32 of the memory of keeping the activations.
    public func positiveMask(into mask: UnsafeMutablePointer<UInt8>) {
        let y = UnsafeRawPointer(pointer), n = count
        let weights = SIMD8<UInt32>(1, 2, 4, 8, 16, 32, 64, 128)
        parallelRanges(n / 8, minChunk: 1 << 12) { r in
            for b in r {
                let v = y.loadUnaligned(fromByteOffset: 32 * b, as: SIMD8<Float>.self)
                mask[b] = UInt8(SIMD8<UInt32>(repeating: 0).replacing(with: weights, where: v .> 0).wrappedSum())
            }
        }
        if n % 8 != 0 {
            var bits: UInt8 = 0
            for k in 0..<(n % 8) where pointer[n - n % 8 + k] > 0 { bits |= 1 << k }
            mask[n / 8] = bits
        }
    }

    /// Zeroes the gradient where the mask bit is 0 (ReLU's backward): each mask byte selects, from a
    /// table, the 8 lane masks that are ANDed with the gradient's bits.
    public func applyMask(_ mask: UnsafePointer<UInt8>) {
        let g = UnsafeMutableRawPointer(pointer), n = count
        maskTable.withUnsafeBufferPointer { table in
            parallelRanges(n / 8, minChunk: 1 << 12) { r in
                for b in r {
                    let bits = Int(mask[b])
                    if bits == 0xFF { continue }
                    let v = g.loadUnaligned(fromByteOffset: 32 * b, as: SIMD8<UInt32>.self)
                    g.storeBytes(of: v & table[bits], toByteOffset: 32 * b, as: SIMD8<UInt32>.self)
                }
            }
        }
        if n % 8 != 0 {
            let bits = mask[n / 8]
            for k in 0..<(n % 8) where bits & (1 << k) == 0 { pointer[n - n % 8 + k] = 0 }
        }
    }

    /// self += other, elementwise (same layout).
    public func add(_ other: DNNLBuffer) {
        let a = pointer, b = other.pointer
        parallelRanges(count, minChunk: 1 << 15) { r in for i in r { a[i] += b[i] } }
    }
}

/// A rectangle of a feature map's pixels: rows `rows` and columns `columns` of a map `width` pixels wide.
/// The Gram matrix of a tile's core is taken over one (tiled evaluation sums them over the tiles).
public struct PixelWindow: Equatable, Sendable {
    public var rows: Range<Int>
    public var columns: Range<Int>
    public var width: Int

    public init(rows: Range<Int>, columns: Range<Int>, width: Int) {
        precondition(rows.lowerBound >= 0 && columns.lowerBound >= 0 && columns.upperBound <= width, "window outside its map")
        (self.rows, self.columns, self.width) = (rows, columns, width)
    }

    /// The whole of a `height` x `width` map.
    public init(height: Int, width: Int) { self.init(rows: 0..<height, columns: 0..<width, width: width) }

    public var count: Int { rows.count * columns.count }

    /// The map index of the window's pixel `q` (row-major in the window).
    @inline(__always)
    func pixel(_ q: Int) -> Int {
        let (i, j) = q.quotientAndRemainder(dividingBy: columns.count)
        return (rows.lowerBound + i) * width + columns.lowerBound + j
    }
}

extension Blocked {
    /// [C/b][M][b] -> [M'][C] (pixel-major) for the M' pixels of `window` (nil: all M), for one sample: the
    /// layout in which the Gram matrix and its backward are each one threaded matrix product. (From the blocked
    /// layout they were (C/b)² products of b x b blocks: single-threaded and a tenth of the speed; `txn bench
    /// --profile` measured it.)
    public static func toPixelMajor(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, channels c: Int,
                                    pixels m: Int, window: PixelWindow? = nil, block: Int = DNNLCPU.block) {
        precondition(c % block == 0, "toPixelMajor: \(c) channels are not whole blocks of \(block)")
        withBlockVector(block, { toPixelMajor(SIMD8<Float>.self, src, dst, c, m, window) },
                        { toPixelMajor(SIMD16<Float>.self, src, dst, c, m, window) })
    }

    private static func toPixelMajor<V: SIMD>(_: V.Type, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                                              _ c: Int, _ m: Int, _ window: PixelWindow?) where V.Scalar == Float {
        let count = window?.count ?? m, block = V.scalarCount
        let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
        parallelRanges(count, minChunk: 1 << 11) { r in
            for q in r {
                let p = window?.pixel(q) ?? q
                for b in 0..<(c / block) {
                    d.storeBytes(of: s.loadUnaligned(fromByteOffset: 4 * block * (b * m + p), as: V.self),
                                 toByteOffset: 4 * (q * c + b * block), as: V.self)
                }
            }
        }
    }

    /// G = Xᵀ X / n for pixel-major features X (M x C; n defaults to M): one symmetric rank-M update. A tile's
    /// core passes the whole image's n, so that the tiles' matrices add up to the image's.
    public static func gram(pixelMajor x: UnsafePointer<Float>, channels c: Int, pixels m: Int, dividedBy n: Int? = nil,
                            into g: UnsafeMutablePointer<Float>) {
        ssyrkFull(n: c, k: m, alpha: 1 / Float(n ?? m), x, transposed: true, beta: 0, g)
    }

    /// Floats of the scratch `gramBackward` works through (4 MiB): the caller keeps one, so an evaluation does
    /// not map and fault in fresh pages for every layer.
    public static let gramBackwardScratchCount = 1 << 20

    /// dF += X S with S = (dG + dGᵀ) / n, X the pixel-major features (M' x C) that `gram` was taken of (over
    /// `window` of a map of M pixels, or all of it), and dF in the blocked layout of the whole map. The product
    /// runs in bands of pixels through `scratch` (`gramBackwardScratchCount` floats), each band then added into
    /// its blocked place, so no full-size pixel-major gradient is ever held.
    public static func gramBackward(pixelMajor x: UnsafePointer<Float>, channels c: Int, pixels m: Int,
                                    window: PixelWindow? = nil, dividedBy n: Int? = nil,
                                    gradGram dg: UnsafePointer<Float>, addInto df: UnsafeMutablePointer<Float>,
                                    scratch out: UnsafeMutablePointer<Float>, block: Int = DNNLCPU.block) {
        precondition(c <= gramBackwardScratchCount, "gramBackward: \(c) channels do not fit one scratch row")
        precondition(c % block == 0, "gramBackward: \(c) channels are not whole blocks of \(block)")
        let count = window?.count ?? m
        var sym = [Float](repeating: 0, count: c * c)
        let scale = 1 / Float(n ?? m)
        for i in 0..<c { for j in 0..<c { sym[i * c + j] = (dg[i * c + j] + dg[j * c + i]) * scale } }
        let band = max(1, min(count, gramBackwardScratchCount / c))
        sym.withUnsafeBufferPointer { s in
            for q0 in stride(from: 0, to: count, by: band) {
                let rows = min(band, count - q0)
                sgemm(m: rows, n: c, k: c, x + q0 * c, lda: c, s.baseAddress!, ldb: c, out, ldc: c)
                withBlockVector(block, { addBand(SIMD8<Float>.self, out, rows: rows, from: q0, into: df, c, m, window) },
                                { addBand(SIMD16<Float>.self, out, rows: rows, from: q0, into: df, c, m, window) })
            }
        }
    }

    /// Adds `rows` pixel-major rows (window pixels q0...) into their places in the blocked map `df`.
    private static func addBand<V: SIMD>(_: V.Type, _ band: UnsafePointer<Float>, rows: Int, from q0: Int,
                                         into df: UnsafeMutablePointer<Float>, _ c: Int, _ m: Int,
                                         _ window: PixelWindow?) where V.Scalar == Float {
        let src = UnsafeRawPointer(band), dst = UnsafeMutableRawPointer(df), block = V.scalarCount
        parallelRanges(rows, minChunk: 1 << 10) { r in
            for q in r {
                let p = window?.pixel(q0 + q) ?? q0 + q
                for b in 0..<(c / block) {
                    let at = 4 * block * (b * m + p)
                    let sum = dst.loadUnaligned(fromByteOffset: at, as: V.self)
                        + src.loadUnaligned(fromByteOffset: 4 * (q * c + b * block), as: V.self)
                    dst.storeBytes(of: sum, toByteOffset: at, as: V.self)
                }
            }
        }
    }
}

/// maskTable[byte] has lane k all ones when bit k of byte is set, else zero.
private let maskTable: [SIMD8<UInt32>] = (0..<256).map { byte in
    var lanes = SIMD8<UInt32>(repeating: 0)
    for k in 0..<8 where byte & (1 << k) != 0 { lanes[k] = .max }
    return lanes
}
