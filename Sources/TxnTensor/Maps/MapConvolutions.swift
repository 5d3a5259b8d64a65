import CKernels

/// A 3x3 stride-1 "same" convolution on blocked maps by txn's F(4x4, 3x3) Winograd kernel (directly from a single
/// 8-channel block, `direct3x3.c`), padded in any mode, in
/// bands of rows so that it can write over its own input: a feature map of a 2048² texture is 640 MiB at 40
/// channels, and in place one of them is all a layer holds. Each band's input rows, with their one-pixel border
/// in the padding mode, are copied into a small buffer (so the kernel never sees the border), and the rows a band
/// needs that an earlier band has already overwritten are taken from that band's copy, or (the first row, which a
/// circular border wraps to at the end) from a copy made before the first write.
public final class MapConvolution3x3: @unchecked Sendable {
    public let inChannels: Int, outChannels: Int
    private let packed: [Float], bias: [Float]
    private let fixedBandRows: Int?
    /// F(4x4, 3x3): on the texture network's 40-channel 2048² maps it took 0.61-0.78 s a layer against F(2x2, 3x3)'s
    /// 0.92-0.99 s (a C harness of the banded layer, 2 threads, AMD EPYC Zen 3), since there the transforms and the
    /// memory they stream, not the products, bound the time. Its rounding (about 6e-6 of the largest output against
    /// 3e-7) is far below what an 8-bit image shows.
    static let tile = WinogradTile.f4x4
    /// From one 8-channel block, directly: there each tile's transforms cost more than its products, and the texture
    /// network's noise blocks took 58 ms a 2048² layer against F(4x4, 3x3)'s 94 (C harness, 2 threads, AMD EPYC
    /// Zen 3).
    private let direct: Bool

    /// `weight`: PyTorch's [out][in][3][3]; `bias`: [out]. `rowsPerBand` (even) fixes the bands' height, which is
    /// otherwise chosen for the cache (tests use it to cross many band borders on small maps).
    public init(weight: [Float], bias: [Float], inChannels: Int, outChannels: Int, rowsPerBand: Int? = nil) throws {
        guard inChannels > 0, outChannels > 0, weight.count == outChannels * inChannels * 9, bias.count == outChannels else {
            throw TensorError.invalidShape("3x3 convolution \(inChannels)->\(outChannels): \(weight.count) weights, \(bias.count) biases")
        }
        if let rows = rowsPerBand, rows < 2 || rows % 2 != 0 {
            throw TensorError.invalidArgument("rows per band must be even and at least 2, got \(rows)")
        }
        (self.inChannels, self.outChannels, fixedBandRows) = (inChannels, outChannels, rowsPerBand)
        let (k, n) = (BlockedMap.blocks(inChannels) * BlockedMap.block, BlockedMap.blocks(outChannels) * BlockedMap.block)
        direct = k == 8 && BlockedMap.block == 8
        packed = weight.withUnsafeBufferPointer { [direct] w in
            if direct {
                return [Float](unsafeUninitializedCapacity: txn_direct3x3_weight_floats(Int32(n))) { out, count in
                    txn_direct3x3_pack_weights(w.baseAddress!, Int32(outChannels), Int32(inChannels), out.baseAddress!)
                    count = out.count
                }
            }
            return Self.tile.packWeights(w.baseAddress!, outChannels: outChannels, inChannels: inChannels, backward: false, packedIn: k)
        }
        self.bias = bias + [Float](repeating: 0, count: n - outChannels)
    }

    private var paddedIn: Int { BlockedMap.blocks(inChannels) * BlockedMap.block }
    private var paddedOut: Int { BlockedMap.blocks(outChannels) * BlockedMap.block }
    /// One call's transformed patches and products (36 points x (K + N) floats a tile) in about 512 KiB, L2 on Zen 3:
    /// 41 tiles for the texture network's 40 channels (24, 48 and 96 took the same within the machine's noise in
    /// the harness above; 682, F(2x2, 3x3)'s rule, was slower).
    private var tilesPerCall: Int { max(6, (1 << 17) / (36 * (paddedIn + paddedOut + 8))) }

    /// Rows of a band at this width: whole tiles, at least 32 (so the two border rows each band copies again stay
    /// a small part of it: 16-row bands took 0.78 s against 0.61-0.73 s for 32 to 128 rows in the harness) and
    /// enough tiles for a few calls per thread.
    func bandRows(height: Int, width: Int) -> Int {
        if let fixedBandRows { return fixedBandRows }
        let side = Self.tile.side, tilesPerTileRow = (width + side - 1) / side
        let tileRows = (4 * Threads.count * tilesPerCall + tilesPerTileRow - 1) / tilesPerTileRow
        return min(max(32, side * tileRows), (height + side - 1) / side * side)
    }

    private var scratchPerThread: Int {
        direct ? 0 : Self.tile.scratchFloats(tiles: tilesPerCall, inChannels: paddedIn, outChannels: paddedOut)
    }

    /// The bytes `run` allocates at this size besides the maps: two band buffers, the first row and the scratch.
    public func workBytes(height: Int, width: Int) throws -> Int {
        let what = "a 3x3 convolution's bands at \(width)x\(height)"
        let band = try MemoryBudget.product([2, bandRows(height: height, width: width) + 2, width + 2, paddedIn], for: what)
        let row = try MemoryBudget.product([width, paddedIn], for: what)
        let scratch = try MemoryBudget.product([Threads.count, scratchPerThread], for: what)
        return try MemoryBudget.bytes(count: try MemoryBudget.sum([band, row, scratch], for: what), for: what)
    }

    /// `destination` may be `source` itself (same padded channels). `sourceAffine`: the source is read as this map
    /// of its values (a normalisation not yet applied to it; the border is padded after it, as PyTorch pads the
    /// normalised activations). `moments`: also return each output channel's mean and variance (what
    /// `MapPasses.moments` of the destination gives), summed as the kernel writes them where it can.
    @discardableResult
    public func run(_ source: MapView, into destination: MapView, padding: PaddingMode, sourceAffine: ChannelAffine? = nil,
                    moments: Bool = false) throws -> (mean: [Double], variance: [Double])? {
        let affine = sourceAffine ?? .identity(channels: source.paddedChannels)
        guard affine.channels == source.paddedChannels, source.channels == inChannels, destination.channels == outChannels,
              source.height == destination.height, source.width == destination.width else {
            throw TensorError.shapeMismatch("3x3 convolution \(inChannels)->\(outChannels) from \(source.channels)x\(source.height)x\(source.width) "
                + "into \(destination.channels)x\(destination.height)x\(destination.width)")
        }
        let (h, w, b) = (source.height, source.width, BlockedMap.block)
        let inPlace = source.isSame(as: destination)
        let rowsPerBand = bandRows(height: h, width: w), paddedWidth = w + 2
        let rowMap = PadIndexMap(size: h, pad: 1, mode: padding).map, columnMap = PadIndexMap(size: w, pad: 1, mode: padding).map
        try MemoryBudget.require(try workBytes(height: h, width: w), for: "a 3x3 convolution's bands at \(w)x\(h)")
        let bandFloats = source.blocks * (rowsPerBand + 2) * paddedWidth * b
        let bands = [UnsafeMutablePointer<Float>.allocate(capacity: bandFloats), .allocate(capacity: bandFloats)]
        let firstRow = UnsafeMutablePointer<Float>.allocate(capacity: source.blocks * w * b)
        let threads = Threads.count
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: threads * scratchPerThread)
        defer { bands.forEach { $0.deallocate() }; firstRow.deallocate(); scratch.deallocate() }

        // One slot of sums per worker, kept across the bands.
        var workerSums = [Double](repeating: 0, count: moments && !direct ? threads * 2 * paddedOut : 0)
        let src = source.base, plane = source.plane, rowFloats = w * b
        if inPlace {
            for kb in 0..<source.blocks { (firstRow + kb * rowFloats).update(from: src + kb * plane, count: rowFloats) }
        }
        var previous: (buffer: UnsafeMutablePointer<Float>, top: Int, rows: Int)? = nil
        var top = 0, band = 0
        while top < h {
            let rows = min(rowsPerBand, h - top), buffer = bands[band % 2]
            let bandPlane = (rows + 2) * paddedWidth * b
            // Band row i is padded row top + i (image row top + i - 1).
            affine.withPointers { scale, shift, slope in parallelFor(source.blocks * (rows + 2)) { item in
                let (kb, i) = (item / (rows + 2), item % (rows + 2))
                let padRow = { (row: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) in
                    Self.padRow(row, width: w, columnMap: columnMap, into: out,
                                affine: (scale + kb * b, shift + kb * b, slope + kb * b))
                }
                let out = buffer + kb * bandPlane + i * paddedWidth * b
                let s = Int(rowMap[top + i])
                if s < 0 {
                    out.update(repeating: 0, count: paddedWidth * b)
                } else if inPlace && s < top {
                    // Overwritten already: the previous band copied it (its row s − top' + 1), or it is row 0.
                    if let p = previous, s >= p.top - 1 {
                        out.update(from: p.buffer + kb * (p.rows + 2) * paddedWidth * b + (s - p.top + 1) * paddedWidth * b,
                                   count: paddedWidth * b)
                    } else {
                        precondition(s == 0, "3x3 convolution in place: row \(s) was overwritten before band \(top) read it")
                        padRow(firstRow + kb * rowFloats, out)
                    }
                } else {
                    padRow(src + kb * plane + s * rowFloats, out)
                }
            }}
            try workerSums.withUnsafeMutableBufferPointer { sums in
                try convolve(buffer, rows: rows, width: w, into: destination.base + top * rowFloats, plane: destination.plane,
                             scratch: scratch, threads: threads, moments: sums.isEmpty ? nil : sums.baseAddress)
            }
            previous = (buffer, top, rows)
            top += rows
            band += 1
        }
        guard moments else { return nil }
        if direct { return MapPasses.moments(destination) }
        return MapPasses.moments(workerSums: workerSums, workers: threads, stride: paddedOut, channels: outChannels, pixels: h * w)
    }

    /// One row of W pixels, through the affine map, with its left and right border pixels from `columnMap`
    /// (−1: zero).
    private static func padRow(_ row: UnsafeMutablePointer<Float>, width w: Int, columnMap: [Int32], into out: UnsafeMutablePointer<Float>,
                               affine: (scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, slope: UnsafePointer<Float>)) {
        let b = BlockedMap.block
        txn_map8_affine(row, out + b, w, affine.scale, affine.shift, affine.slope)
        for (column, at) in [(columnMap[0], 0), (columnMap[w + 1], w + 1)] {
            if column < 0 { (out + at * b).update(repeating: 0, count: b) } else { (out + at * b).update(from: out + (Int(column) + 1) * b, count: b) }
        }
    }

    /// The kernel over one band: its rows + 2 padded rows in `buffer` give `rows` output rows at `destination`.
    private func convolve(_ buffer: UnsafeMutablePointer<Float>, rows: Int, width w: Int, into destination: UnsafeMutablePointer<Float>,
                          plane: Int, scratch: UnsafeMutablePointer<Float>, threads: Int, moments: UnsafeMutablePointer<Double>?) throws {
        try packed.withUnsafeBufferPointer { u in
            try bias.withUnsafeBufferPointer { bias in
                let pass = txn_wino_pass(
                    src: buffer, src_h: Int32(rows + 2), src_w: Int32(w + 2), in_channels: Int32(paddedIn), origin: 0,
                    packed: u.baseAddress, bias: bias.baseAddress, relu: 0, dst: destination, dst_h: Int32(rows),
                    dst_w: Int32(w), out_channels: Int32(paddedOut), dst_plane: plane, block: Int32(BlockedMap.block))
                if direct {
                    try withUnsafePointer(to: pass) { pass in
                        // The kernel checks the pass once, here (no rows): every range of rows below then passes.
                        guard txn_direct3x3_run(pass, 0, 0) == 0 else {
                            throw TensorError.invalidArgument("txn's direct 3x3 kernel refused its arguments")
                        }
                        parallelRanges(rows) { r in _ = txn_direct3x3_run(pass, Int32(r.lowerBound), Int32(r.count)) }
                    }
                } else {
                    try WinogradConvolution.run(pass, tile: Self.tile, tilesPerCall: tilesPerCall, scratch: scratch, threads: threads,
                                                moments: moments)
                }
            }
        }
    }
}

/// A 1x1 convolution on blocked maps (`CKernels/pointwise.c`): per pixel the weight matrix times its channels,
/// plus the bias. `destination` may be `source` itself (same padded channels).
public final class MapConvolution1x1: @unchecked Sendable {
    public let inChannels: Int, outChannels: Int
    private let packed: [Float], bias: [Float]
    /// Pixels one call computes: its gathered rows (pixels x channels) stay in L2.
    private static let pixelsPerCall = 512

    /// `weight`: PyTorch's [out][in] (or [out][in][1][1]); `bias`: [out].
    public init(weight: [Float], bias: [Float], inChannels: Int, outChannels: Int) throws {
        guard inChannels > 0, outChannels > 0, weight.count == outChannels * inChannels, bias.count == outChannels else {
            throw TensorError.invalidShape("1x1 convolution \(inChannels)->\(outChannels): \(weight.count) weights, \(bias.count) biases")
        }
        (self.inChannels, self.outChannels) = (inChannels, outChannels)
        let (k, n) = (BlockedMap.blocks(inChannels) * BlockedMap.block, BlockedMap.blocks(outChannels) * BlockedMap.block)
        packed = weight.withUnsafeBufferPointer { w in
            [Float](unsafeUninitializedCapacity: txn_pointwise_weight_floats(Int32(k), Int32(n))) { out, count in
                txn_pointwise_pack_weights(w.baseAddress!, Int32(outChannels), Int32(inChannels), Int32(k), out.baseAddress!)
                count = out.count
            }
        }
        self.bias = bias + [Float](repeating: 0, count: n - outChannels)
    }

    /// `sourceAffine`: the source is read as this map of its values (a normalisation not yet applied to it).
    /// `moments`: also return each output channel's mean and variance, summed as the kernel writes them.
    @discardableResult
    public func run(_ source: MapView, into destination: MapView, sourceAffine: ChannelAffine? = nil,
                    moments: Bool = false) throws -> (mean: [Double], variance: [Double])? {
        guard destination.channels == outChannels, source.height == destination.height, source.width == destination.width else {
            throw TensorError.shapeMismatch("1x1 convolution \(inChannels)->\(outChannels) from \(source.channels)x\(source.height)x\(source.width) "
                + "into \(destination.channels)x\(destination.height)x\(destination.width)")
        }
        return try compute(source, into: destination.base, plane: destination.plane, planes: 0, sourceAffine: sourceAffine, moments: moments)
    }

    /// The output as `outChannels` planes of an image (the texture network's RGB), `stride` floats apart from
    /// `planes`, instead of a blocked map that would be copied into them.
    public func run(_ source: MapView, intoPlanes planes: UnsafeMutablePointer<Float>, stride: Int, sourceAffine: ChannelAffine? = nil) throws {
        try compute(source, into: planes, plane: stride, planes: outChannels, sourceAffine: sourceAffine, moments: false)
    }

    private func compute(_ source: MapView, into destination: UnsafeMutablePointer<Float>, plane: Int, planes: Int,
                         sourceAffine: ChannelAffine?, moments: Bool) throws -> (mean: [Double], variance: [Double])? {
        guard sourceAffine.map({ $0.channels == source.paddedChannels }) ?? true, source.channels == inChannels else {
            throw TensorError.shapeMismatch("1x1 convolution \(inChannels)->\(outChannels) from \(source.channels)x\(source.height)x\(source.width)")
        }
        let pixels = source.height * source.width, perCall = Self.pixelsPerCall
        let calls = (pixels + perCall - 1) / perCall, threads = min(Threads.count, calls)
        let (k, n) = (source.paddedChannels, BlockedMap.blocks(outChannels) * BlockedMap.block)
        let scratchPerThread = txn_pointwise_scratch_floats(Int32(perCall), Int32(k), Int32(n))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: threads * scratchPerThread)
        defer { scratch.deallocate() }
        var succeeded = [Bool](repeating: true, count: threads)
        var workerSums = [Double](repeating: 0, count: moments ? threads * 2 * n : 0)
        let affine = sourceAffine ?? .identity(channels: k)
        packed.withUnsafeBufferPointer { u in
            bias.withUnsafeBufferPointer { bias in affine.withPointers { scale, shift, slope in
                let applies = sourceAffine != nil
                let pass = txn_pointwise_pass(src: source.base, src_plane: source.plane, in_channels: Int32(k), packed: u.baseAddress,
                                              bias: bias.baseAddress, scale: applies ? scale : nil, shift: applies ? shift : nil,
                                              slope: applies ? slope : nil, dst: destination, dst_plane: plane,
                                              out_channels: Int32(n), block: Int32(BlockedMap.block), planes: Int32(planes))
                succeeded.withUnsafeMutableBufferPointer { ok in workerSums.withUnsafeMutableBufferPointer { sums in
                    parallelFor(threads) { worker in
                        withUnsafePointer(to: pass) { pass in
                            let slot = moments ? sums.baseAddress! + worker * 2 * n : nil
                            for call in stride(from: worker, to: calls, by: threads) {
                                let first = call * perCall, count = min(perCall, pixels - first)
                                if txn_pointwise_run(pass, first, Int32(count), scratch + worker * scratchPerThread, slot) != 0 { ok[worker] = false }
                            }
                        }
                    }
                }}
            }}
        }
        if succeeded.contains(false) { throw TensorError.invalidArgument("txn's pointwise kernel refused its arguments") }
        return moments ? MapPasses.moments(workerSums: workerSums, workers: threads, stride: n, channels: outChannels, pixels: pixels) : nil
    }
}
