import CKernels

/// A 3x3 stride-1 convolution by txn's own Winograd kernel (`CKernels`, `WinogradTile`), on the blocked layout, for
/// CPUs where oneDNN has no Winograd (oneDNN 2.6 has it for AVX-512 only): F(4x4, 3x3), 36 multiplications per 16
/// outputs instead of direct convolution's 144. Forward (bias and ReLU fused) and backward-data side by side: the
/// backward pass is the same kernel over the output gradient, with the weights flipped and their channels swapped.
public final class WinogradConvolution: BlockedConvolution, @unchecked Sendable {
    public let inChannels: Int, outChannels: Int, height: Int, width: Int
    /// The transformed weights of each pass, in the panels the kernel reads.
    private let forwardWeights: [Float], backwardWeights: [Float]?
    private let bias: [Float]
    private let block: Int
    /// Threads the scratch was sized for, and the tiles one thread computes at a time.
    private let plannedThreads: Int, tilesPerCall: Int
    /// Shared with the plan's other layers, which never run at the same time; held, so it lives as long as this.
    private var scratch: DNNLArena?

    /// Whether this kernel computes `conv` here: 3x3, blocked input and input gradient, channels in whole panels.
    public static func supports(_ conv: Conv2D, source: DNNLFormat, gradientSource: DNNLFormat, block: Int = DNNLCPU.block) -> Bool {
        // Channels in multiples of 16 are whole blocks of either supported width too.
        conv.kernel == 3 && source == .blocked && gradientSource == .blocked && DNNLCPU.supportedBlocks.contains(block)
            && conv.inChannels % 16 == 0 && conv.outChannels % 16 == 0
    }

    /// - Parameters: height, width: the output size (the input is padded: height+2 by width+2).
    public init(_ conv: Conv2D, height: Int, width: Int, backward: Bool, block: Int = DNNLCPU.block) throws {
        guard Self.supports(conv, source: .blocked, gradientSource: .blocked, block: block) else {
            throw TensorError.invalidArgument("txn's Winograd kernel takes 3x3 convolutions with channels in multiples "
                + "of 16 on blocks of 8 or 16; not \(conv.inChannels)->\(conv.outChannels), block \(block)")
        }
        (inChannels, outChannels, self.height, self.width, self.block) = (conv.inChannels, conv.outChannels, height, width, block)
        bias = conv.bias.data
        func packed(_ backward: Bool) throws -> [Float] {
            _ = try MemoryBudget.product([Self.tile.side == 2 ? 16 : 36, conv.inChannels, conv.outChannels], for: "Winograd weights")
            return conv.weight.data.withUnsafeBufferPointer { w in
                Self.tile.packWeights(w.baseAddress!, outChannels: conv.outChannels, inChannels: conv.inChannels, backward: backward,
                                      packedIn: backward ? conv.outChannels : conv.inChannels)
            }
        }
        forwardWeights = try packed(false)
        backwardWeights = backward ? try packed(true) : nil
        plannedThreads = Threads.count
        // One thread's transformed patches of one transform point (tiles x channels, 128 KiB) stay in L2 (512 KiB
        // on Zen 3) beside what else passes through, so each 16-column panel of the weights, held in L1, meets all
        // of them from there. At 256 KiB (T = 128 for 512 channels) a 512-channel layer at 32² took 28 ms against
        // 15 ms at T = 64 (2 threads, `/tmp` C harness of the kernel alone, AMD EPYC Zen 3).
        tilesPerCall = min(Self.tilesPerCall(inChannels: inChannels, outChannels: outChannels),
                           max(6, Self.tiles(height: height + 2, width: width + 2)))
    }

    /// Tiles one call of the kernel computes, the rule for every caller.
    static func tilesPerCall(inChannels: Int, outChannels: Int) -> Int {
        tile == .f2x2 ? max(6, (1 << 15) / max(inChannels, outChannels)) : max(24, (1 << 13) / max(inChannels, outChannels))
    }

    /// F(4x4, 3x3): against F(2x2, 3x3), 0.79 / 0.72 / 0.60-0.70 / 0.48-0.80 of its time for VGG's 64 / 128 / 256 /
    /// 512-channel layers at 256² / 128² / 64² / 32² (C harness, forward, 2 threads, AMD EPYC Zen 3), and
    /// `txn bench --peer`'s forward+backward ratio to PyTorch went from 0.57 / 0.49 / 0.40 to 0.51 / 0.41 / 0.33 at
    /// 128² / 256² / 512². Its rounding passes the VGG's PyTorch parity test.
    static let tile = WinogradTile.f4x4

    static func tiles(height: Int, width: Int) -> Int { ((height + tile.side - 1) / tile.side) * ((width + tile.side - 1) / tile.side) }

    public var implementation: String { "winograd:txn" }
    public var backwardImplementation: String { backwardWeights == nil ? "-" : "winograd:txn" }
    public var weightBytes: Int { 4 * (forwardWeights.count + (backwardWeights?.count ?? 0)) }
    public var scratchpadBytes: Int {
        4 * plannedThreads * Self.tile.scratchFloats(tiles: tilesPerCall, inChannels: inChannels, outChannels: outChannels)
    }
    public func bindScratchpad(_ arena: DNNLArena) throws {
        guard arena.bytes >= scratchpadBytes else {
            throw TensorError.invalidArgument("Winograd scratch: \(arena.bytes) bytes bound, \(scratchpadBytes) needed")
        }
        scratch = arena
    }

    public func forward(source: DNNLBuffer, destination: DNNLBuffer) throws {
        try run(source: source.pointer, sourceHeight: height + 2, sourceWidth: width + 2, origin: 0,
                weights: forwardWeights, bias: bias, relu: true, inChannels: inChannels,
                destination: destination.pointer, destinationHeight: height, destinationWidth: width, outChannels: outChannels)
    }

    /// Gradient with respect to the padded input, from the gradient of the (pre-ReLU) output: the full correlation
    /// of the output gradient with the flipped kernels (read with 2 pixels of zeros around it).
    public func backwardData(gradOutput: DNNLBuffer, gradSource: DNNLBuffer) throws {
        guard let backwardWeights else {
            throw TensorError.invalidArgument("convolution was planned without backward")
        }
        try run(source: gradOutput.pointer, sourceHeight: height, sourceWidth: width, origin: -2,
                weights: backwardWeights, bias: nil, relu: false, inChannels: outChannels,
                destination: gradSource.pointer, destinationHeight: height + 2, destinationWidth: width + 2,
                outChannels: inChannels)
    }

    private func run(source: UnsafeMutablePointer<Float>, sourceHeight: Int, sourceWidth: Int, origin: Int,
                     weights: [Float], bias: [Float]?, relu: Bool, inChannels: Int,
                     destination: UnsafeMutablePointer<Float>, destinationHeight: Int, destinationWidth: Int,
                     outChannels: Int) throws {
        if scratch == nil { try bindScratchpad(DNNLArena(bytes: scratchpadBytes)) }
        let scratch = self.scratch!.pointer
        try weights.withUnsafeBufferPointer { w in
            try (bias ?? []).withUnsafeBufferPointer { b in
                let pass = txn_wino_pass(
                    src: source, src_h: Int32(sourceHeight), src_w: Int32(sourceWidth), in_channels: Int32(inChannels),
                    origin: Int32(origin), packed: w.baseAddress, bias: bias == nil ? nil : b.baseAddress,
                    relu: relu ? 1 : 0, dst: destination, dst_h: Int32(destinationHeight), dst_w: Int32(destinationWidth),
                    out_channels: Int32(outChannels), dst_plane: destinationHeight * destinationWidth * block, block: Int32(block))
                try Self.run(pass, tile: Self.tile, tilesPerCall: tilesPerCall, scratch: scratch, threads: min(Threads.count, plannedThreads))
            }
        }
    }

    /// Runs every tile of `pass` on `threads` workers in calls of at most `tilesPerCall` tiles of `tile`'s kernel,
    /// each worker with its own scratch slot (`scratch` holds `threads` of them, `tile.scratchFloats(tilesPerCall, …)`
    /// each). `moments`: `threads` slots of 2·out_channels doubles, one per worker (`WinogradTile.run`).
    static func run(_ pass: txn_wino_pass, tile: WinogradTile = .f2x2, tilesPerCall: Int, scratch: UnsafeMutablePointer<Float>,
                    threads: Int, moments: UnsafeMutablePointer<Double>? = nil) throws {
        let tiles = tile.tiles(pass)
        let (calls, perCall) = evenCalls(items: tiles, atMost: tilesPerCall, threads: threads)
        let scratchPerThread = tile.scratchFloats(tiles: tilesPerCall, inChannels: Int(pass.in_channels), outChannels: Int(pass.out_channels))
        // One scratch slot per worker: `parallelFor` runs each worker's calls on one thread at a time.
        var succeeded = [Bool](repeating: true, count: threads)
        succeeded.withUnsafeMutableBufferPointer { ok in
            parallelFor(threads) { worker in
                withUnsafePointer(to: pass) { pass in
                    for call in stride(from: worker, to: calls, by: threads) {
                        let first = call * perCall, count = min(perCall, tiles - first)
                        let slot = moments.map { $0 + worker * 2 * Int(pass.pointee.out_channels) }
                        if count > 0 && !tile.run(pass, first: first, count: count, scratch: scratch + worker * scratchPerThread, moments: slot) {
                            ok[worker] = false
                        }
                    }
                }
            }
        }
        if succeeded.contains(false) { throw TensorError.invalidArgument("txn's Winograd kernel refused its arguments") }
    }
}
