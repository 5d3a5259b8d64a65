import CKernels
import Glibc

/// One image's feature map in the layout of txn's own C kernels (`CKernels`): [C'/8][H][W][8], channels in blocks
/// of 8 (the last block padded with channels that stay zero), each pixel's 8 channels one AVX2 vector. The block is
/// 8 on every CPU, whatever oneDNN dispatches to: these kernels are AVX2 code, and a wider block would only pad the
/// texture network's 8-channel scales to twice their work. Allocated uninitialised; every pass that makes a map
/// writes all of it, the padding channels included (as zeros).
public final class BlockedMap: @unchecked Sendable {
    public static let block = 8
    /// The channels that hold values; those up to the next multiple of 8 are zero.
    public private(set) var channels: Int
    public let height: Int, width: Int
    let storage: UnsafeMutablePointer<Float>

    public var blocks: Int { Self.blocks(channels) }
    public var paddedChannels: Int { blocks * Self.block }
    /// Floats of one channel block: H·W·8.
    public var plane: Int { height * width * Self.block }

    public static func blocks(_ channels: Int) -> Int { (channels + block - 1) / block }

    /// The bytes a `channels` x `height` x `width` map takes, overflow-checked (`what` names the request in errors).
    public static func bytes(channels: Int, height: Int, width: Int, for what: @autoclosure () -> String) throws -> Int {
        try MemoryBudget.bytes(count: try MemoryBudget.product([blocks(channels), block, height, width], for: what()), for: what())
    }

    public init(channels: Int, height: Int, width: Int) throws {
        guard channels > 0, height > 0, width > 0 else {
            throw TensorError.invalidShape("a blocked map needs channels, height and width above 0, got \(channels)x\(height)x\(width)")
        }
        let bytes = try Self.bytes(channels: channels, height: height, width: width, for: "a \(channels)x\(height)x\(width) map")
        try MemoryBudget.require(bytes, for: "a \(channels)x\(height)x\(width) map")
        (self.channels, self.height, self.width) = (channels, height, width)
        storage = Self.allocate(bytes)
    }

    deinit { free(storage) }

    /// Large maps in 2 MiB pages where the kernel offers them (transparent huge pages on request): a 640 MiB map
    /// in 4 KiB pages is 160,000 page faults on first touch, which took a tenth of a 2048² generation's time.
    private static func allocate(_ bytes: Int) -> UnsafeMutablePointer<Float> {
        let hugePage = 2 << 20
        var memory: UnsafeMutableRawPointer? = nil
        let alignment = bytes >= hugePage ? hugePage : 64
        guard posix_memalign(&memory, alignment, max(bytes, 1)) == 0, let memory else {
            fatalError("out of memory allocating a \(bytes)-byte map within the checked budget")
        }
        if bytes >= hugePage { _ = madvise(memory, bytes, MADV_HUGEPAGE) }
        return memory.bindMemory(to: Float.self, capacity: bytes / MemoryLayout<Float>.stride)
    }

    /// Sample `sample` of a channel-major batch, its padding channels zero.
    public convenience init(_ x: ChannelMajor, sample: Int) throws {
        precondition(x.batch > sample && sample >= 0)
        try self.init(channels: x.channels, height: x.height, width: x.width)
        let (pixels, b, base) = (height * width, Self.block, storage)
        let channels = x.channels, batch = x.batch
        x.data.withUnsafeBufferPointer { xs in
            let src = xs.baseAddress!
            for kb in 0..<blocks {
                let out = base + kb * pixels * b
                let rows = (0..<b).map { lane in kb * b + lane < channels ? src + ((kb * b + lane) * batch + sample) * pixels : nil }
                // Pixel by pixel, so that each pixel's 8 channels are written together.
                parallelRanges(pixels, minChunk: 4096) { range in
                    for p in range { for lane in 0..<b { out[p * b + lane] = rows[lane]?[p] ?? 0 } }
                }
            }
        }
    }

    /// The whole map.
    public var whole: MapView { MapView(self, blocks: 0..<blocks, channels: channels) }

    /// The channels of blocks `range`, as a map of their own (in place: writes go to this map).
    public func blocks(_ range: Range<Int>) -> MapView {
        MapView(self, blocks: range, channels: min(channels - range.lowerBound * Self.block, range.count * Self.block))
    }

    /// The whole map as `count` channels, for a pass that writes over it with as many channel blocks (a 3-channel
    /// noise map made into an 8-channel feature map in place); `relabel` afterwards.
    public func whole(asChannels count: Int) -> MapView {
        precondition(Self.blocks(count) == blocks)
        return MapView(self, blocks: 0..<blocks, channels: count)
    }

    /// Says that the map now holds `count` channels (same blocks), after a pass wrote them in place.
    public func relabel(channels count: Int) {
        precondition(Self.blocks(count) == blocks)
        channels = count
    }
}

/// Some whole channel blocks of a `BlockedMap`: what the passes read and write, so that a pass can fill part of a
/// wider map (a concatenation without a copy). Holds its map.
public struct MapView {
    public let map: BlockedMap
    public let firstBlock: Int, blocks: Int
    public let channels: Int
    public var paddedChannels: Int { blocks * BlockedMap.block }
    public var height: Int { map.height }
    public var width: Int { map.width }
    public var plane: Int { map.plane }
    var base: UnsafeMutablePointer<Float> { map.storage + firstBlock * map.plane }

    init(_ map: BlockedMap, blocks range: Range<Int>, channels: Int) {
        precondition(range.lowerBound >= 0 && range.upperBound <= map.blocks && !range.isEmpty)
        precondition(BlockedMap.blocks(channels) == range.count)
        (self.map, firstBlock, blocks, self.channels) = (map, range.lowerBound, range.count, channels)
    }

    /// Whether the two views are the same memory (a pass writes its source in place).
    func isSame(as other: MapView) -> Bool { map === other.map && firstBlock == other.firstBlock && blocks == other.blocks }
}
