import TxnTensor

/// An RGB image in planar float layout: channel c, row y, column x at pixels[(c * height + y) * width + x],
/// values nominally in [0, 1].
///
/// Planar rather than interleaved because the network consumes one channel plane at a time (a CHW tensor), so the
/// conversion to and from tensors is a plain copy. Values are not clamped: resampling filters with negative lobes
/// may overshoot slightly, and clamping happens only where it must, when samples are quantised for saving.
public struct Image: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [Float]

    /// Traps on a count mismatch: that is a programming error in the caller, never a property of input data.
    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(width >= 0 && height >= 0, "Image: negative size \(width)x\(height)")
        precondition(pixels.count == 3 * width * height,
                     "Image: \(pixels.count) samples for \(width)x\(height)x3 = \(3 * width * height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int, fill: (r: Float, g: Float, b: Float)) {
        precondition(width >= 0 && height >= 0, "Image: negative size \(width)x\(height)")
        let plane = width * height
        var pixels = [Float](repeating: fill.r, count: 3 * plane)
        pixels.replaceSubrange(plane..<(2 * plane), with: repeatElement(fill.g, count: plane))
        pixels.replaceSubrange((2 * plane)..<(3 * plane), with: repeatElement(fill.b, count: plane))
        self.init(width: width, height: height, pixels: pixels)
    }

    /// Sample accessor for tests and small tools; bulk code should index `pixels` directly.
    public subscript(channel: Int, x: Int, y: Int) -> Float {
        get { pixels[(channel * height + y) * width + x] }
        set { pixels[(channel * height + y) * width + x] = newValue }
    }

    /// Per-channel means, accumulated in Double so large images do not lose precision.
    /// Used to centre inputs and to check that synthesis preserved overall colour.
    public func channelMean() -> (Float, Float, Float) {
        let plane = width * height
        guard plane > 0 else { return (0, 0, 0) }
        var sums: [Double] = [0, 0, 0]
        pixels.withUnsafeBufferPointer { samples in
            for channel in 0..<3 {
                var sum = 0.0
                for index in (channel * plane)..<((channel + 1) * plane) { sum += Double(samples[index]) }
                sums[channel] = sum
            }
        }
        let count = Double(plane)
        return (Float(sums[0] / count), Float(sums[1] / count), Float(sums[2] / count))
    }
}

/// The file formats txn reads and writes. Anything else is rejected by signature, never guessed from a name.
extension Image {
    /// A size as text from outside (a command line, a job's JSON): `N` or `WxH`, decimal digits only, each at least
    /// 1: no sign ("+16x+16"), no empty part ("64x"), no third part ("16xabcx16"), nothing an `Int` cannot hold.
    /// nil for anything else. The one reader of such text; its bounds are for the caller.
    public static func parseSize(_ text: String) -> (width: Int, height: Int)? {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        let numbers = parts.map { part in part.allSatisfy({ $0.isASCII && $0.isNumber }) ? Int(part) : nil }
        guard (1...2).contains(numbers.count), numbers.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return (numbers[0]!, numbers[numbers.count - 1]!)
    }
}

public enum ImageFormat: String, Sendable {
    case png, jpeg
}

/// A decoded image plus what was lost or changed on the way in, so the command line can tell the user
/// (e.g. that a transparent texture was flattened) without this library printing anything itself.
public struct DecodedImage: Sendable {
    public var image: Image
    public var format: ImageFormat
    /// Human-readable remarks such as "alpha channel dropped", "greyscale expanded to RGB", "16-bit samples".
    public var notes: [String]

    public init(image: Image, format: ImageFormat, notes: [String]) {
        self.image = image
        self.format = format
        self.notes = notes
    }
}

/// Every failure in this module is one of these, so callers can both show a message naming the file and branch on
/// `kind` (e.g. retry a missing file, but not a corrupt one).
public struct ImageError: MemoryLimitError, CustomStringConvertible, Equatable {
    public enum Kind: Equatable, Sendable {
        case notFound, empty, truncated, corrupt, tooLarge, unsupportedFormat, ioError, invalidArgument
        /// More work than the decode limits allow: a progressive JPEG of too many scans, a decode past its deadline.
        case overWorkLimit
    }

    /// The file (or, for in-memory data, the caller-supplied name) the error is about; empty for pure
    /// image operations such as cropping.
    public let path: String
    public let kind: Kind
    public let reason: String
    /// The image would not fit the memory limit (`MemoryBudget`): the front end says how to raise it.
    public internal(set) var isOverMemoryLimit = false

    public init(path: String, kind: Kind, reason: String) {
        self.path = path
        self.kind = kind
        self.reason = reason
    }

    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}
