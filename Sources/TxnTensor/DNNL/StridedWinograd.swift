import CKernels

/// The GAN's 4×4 stride-2 convolutions by txn's F(3x3, 2x2) Winograd kernel (`winograd_s2.c`), on the blocked
/// layout `DNNLStridedConv` reorders to: the discriminator's forward (bias fused), backward-data and
/// backward-weights, and the same three for the generator's transposed convolutions, their adjoints. A
/// stride-2 4×4 convolution is four 2×2 ones over the input's stride-2 phases, and F(3x3, 2x2) takes 16
/// multiplications per 9 outputs of each where a direct convolution takes 36.
///
/// Used where oneDNN dispatches to AVX2 (8-channel blocks): there its direct kernels ran these layers at 75–116
/// GFLOP/s, while a matrix product on this machine peaks at about 125 (OpenBLAS: 130 at 2048³), so fewer
/// multiplications were the only room left. In isolation (batch 8, 2 threads, AMD EPYC Zen 3, medians of a noisy
/// machine, ms, Winograd / oneDNN 2.6 `jit:avx2`): 64→128 at 128²: forward 52/74, backward-data 52/91,
/// backward-weights 97/116; 128→256 at 64²: 50/83, 50/82, 72/98; 256→512 at 32²: 52/84, 56/87, 97/92.
/// AVX-512 machines keep oneDNN's kernels, which this 8-wide kernel has not been measured against.
/// `TXN_GAN_WINOGRAD=0` turns it off, for A/B measurements.
public final class StridedWinograd: @unchecked Sendable {
    let shape: txn_ws2_shape

    /// The kernel for a 4×4 stride-2 padding-1 convolution on this input, or nil where it does not apply: other
    /// geometries, partial blocks, and sizes whose element counts (the C kernel's `int` tile and channel indices) or
    /// transformed weights and gradients (four times the weights, per pass) would not fit `Int32` or the memory
    /// budget; those layers stay on oneDNN or the GEMM path, which check their own sizes.
    init?(batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int, geometry: DNNLStridedConv.Shape.Geometry,
          block: Int = DNNLCPU.block) {
        let what = "the strided Winograd kernel"
        guard geometry == .init(kernel: 4, stride: 2, padding: 1), DNNLCPU.supportedBlocks.contains(block),
              inChannels % block == 0, outChannels % block == 0, batch > 0, height >= 2, width >= 2,
              inChannels <= 1 << 24, outChannels <= 1 << 24, height <= 1 << 30, width <= 1 << 30,
              let cells = try? MemoryBudget.product([batch, height / 2 + 4, width / 2 + 4], for: what), cells <= Int(Int32.max),
              let transformed = try? MemoryBudget.product([16, 4 * inChannels + 16, outChannels + 16], for: what),
              (try? MemoryBudget.requireFloats([transformed], copies: 2, for: what)) != nil,
              // Each thread's scratch: at most 256 tiles' 16 transform points of the widest pass's K + N.
              (try? MemoryBudget.requireFloats([16, 256, 8 * inChannels + outChannels + 32], copies: max(1, Threads.count), for: what)) != nil
        else { return nil }
        shape = txn_ws2_shape(batch: Int32(batch), in_channels: Int32(inChannels), out_channels: Int32(outChannels),
                              height: Int32(height), width: Int32(width), block: Int32(block))
    }

    /// Where the rule above picks this kernel: oneDNN at AVX2, unless turned off.
    public static var preferred: Bool { DNNLCPU.block == 8 && EnvironmentSettings.ganWinograd.value != "0" }

    private var outputCount: Int { Int(shape.batch) * Int(shape.out_channels) * Int(shape.height / 2) * Int(shape.width / 2) }
    private var inputCount: Int { Int(shape.batch) * Int(shape.in_channels) * Int(shape.height) * Int(shape.width) }

    /// dst = layer(src) + bias (when given), both blocked. Also a transposed convolution's backward-data.
    func forward(source: [Float], weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?) throws -> [Float] {
        try run(Int32(TXN_WS2_FORWARD), source: source, weights: weights, bias: bias, count: outputCount)
    }

    /// dL/dsrc (blocked) from dL/ddst (blocked). Also a transposed convolution's forward, with its bias.
    func backwardData(gradOutput: [Float], weights: UnsafePointer<Float>, bias: UnsafePointer<Float>? = nil) throws -> [Float] {
        try run(Int32(TXN_WS2_BACKWARD_DATA), source: gradOutput, weights: weights, bias: bias, count: inputCount)
    }

    private func run(_ pass: Int32, source: [Float], weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                     count: Int) throws -> [Float] {
        var shape = self.shape
        let packed = pack(pass, weights)
        let threads = Threads.count, tiles = Int(txn_ws2_tiles(&shape, pass)), most = Int(txn_ws2_tiles_per_call(&shape, pass))
        let (calls, perCall) = evenCalls(items: tiles, atMost: most, threads: threads)
        let scratchPerThread = txn_ws2_scratch_floats(&shape, pass, Int32(perCall))
        var out = unfilledFloats(count)  // the passes write all of out
        try onEveryWorker(threads, scratch: scratchPerThread, reading: source, packed, writing: &out) { shape, src, u, o, s, worker in
            stride(from: worker, to: calls, by: threads).allSatisfy { call in
                let first = call * perCall, n = min(perCall, tiles - first)
                return n <= 0 || txn_ws2_run(shape, pass, src, u, bias, o, Int32(first), Int32(n), s) == 0
            }
        }
        return out
    }

    /// Runs `body(shape, a, b, output, scratch slot, worker)` on `threads` workers at once, each with its own slot of
    /// `scratch` floats; throws unless every worker returned true (the kernel took its arguments).
    private func onEveryWorker(_ threads: Int, scratch: Int, reading a: [Float], _ b: [Float], writing output: inout [Float],
                               _ body: (UnsafePointer<txn_ws2_shape>, UnsafePointer<Float>, UnsafePointer<Float>,
                                        UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Bool) throws {
        var slots = unfilledFloats(scratch * threads), succeeded = [Bool](repeating: true, count: threads)
        withUnsafePointer(to: shape) { shape in
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    output.withUnsafeMutableBufferPointer { o in
                        slots.withUnsafeMutableBufferPointer { s in
                            succeeded.withUnsafeMutableBufferPointer { ok in
                                parallelFor(threads) { worker in
                                    ok[worker] = body(shape, a.baseAddress!, b.baseAddress!, o.baseAddress!, s.baseAddress! + worker * scratch, worker)
                                }
                            }
                        }
                    }
                }
            }
        }
        guard !succeeded.contains(false) else { throw TensorError.invalidArgument("txn's strided Winograd kernel refused \(self)") }
    }

    /// The weights transformed for a pass, packed by every thread over disjoint channel ranges.
    private func pack(_ pass: Int32, _ weights: UnsafePointer<Float>) -> [Float] {
        var shape = self.shape
        var packed = unfilledFloats(txn_ws2_weight_floats(&shape, pass))  // every entry is written
        let channels = Int(pass == Int32(TXN_WS2_FORWARD) ? shape.in_channels : shape.out_channels)
        withUnsafePointer(to: shape) { shape in
            packed.withUnsafeMutableBufferPointer { p in
                parallelRanges(channels, minChunk: 8) { r in
                    txn_ws2_pack_weights(shape, pass, weights, Int32(r.lowerBound), Int32(r.count), p.baseAddress)
                }
            }
        }
        return packed
    }

    /// dL/dW in PyTorch's [out][in][4][4], from the blocked input and output gradient. A transposed convolution's
    /// weight gradient is this one with its output gradient as `source` and its input as `gradOutput`.
    func weightGradients(source: [Float], gradOutput: [Float]) throws -> [Float] {
        var shape = self.shape
        let threads = min(Threads.count, 16), points = 16
        var transformed = unfilledFloats(txn_ws2_gradient_floats(&shape))
        // Each worker takes its own transform points: no two write the same part of the transformed gradient.
        let scratchPerThread = txn_ws2_gradient_scratch_floats(&shape, Int32((points + threads - 1) / threads))
        try onEveryWorker(threads, scratch: scratchPerThread, reading: source, gradOutput, writing: &transformed) { shape, src, dy, du, s, worker in
            let first = points * worker / threads, n = points * (worker + 1) / threads - first
            return n <= 0 || txn_ws2_accumulate_gradient(shape, src, dy, Int32(first), Int32(n), du, s) == 0
        }
        var dw = unfilledFloats(Int(shape.out_channels) * Int(shape.in_channels) * 16)
        transformed.withUnsafeBufferPointer { du in txn_ws2_finish_gradient(&shape, du.baseAddress, &dw) }
        return dw
    }

    /// The sum of each channel of a blocked map over the batch and the pixels: a bias gradient.
    static func channelSums(_ blocked: [Float], batch: Int, channels: Int, height: Int, width: Int,
                            block: Int = DNNLCPU.block) -> [Float] {
        precondition(blocked.count == batch * channels * height * width && channels % block == 0 && channels % 8 == 0)
        var sums = unfilledFloats(channels)
        blocked.withUnsafeBufferPointer {
            txn_ws2_channel_sums($0.baseAddress, Int32(batch), Int32(channels), Int32(height), Int32(width), Int32(block), &sums)
        }
        return sums
    }
}

extension StridedWinograd: CustomStringConvertible {
    public var description: String {
        "4x4 stride-2 convolution \(shape.in_channels)->\(shape.out_channels) at \(shape.height)x\(shape.width), batch \(shape.batch)"
    }
}
