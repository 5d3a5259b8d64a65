import CImageCodec
import TxnFiles
import TxnTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Loading

/// What one decode may cost. Every decode reads the header first and checks it against `maxPixels` and the memory
/// budget before any pixel is decoded; then the JPEG scan limit and the deadline are checked as the decoder goes.
public struct DecodeLimits: Sendable, Equatable {
    /// Pixels (width × height), checked against the header.
    public var maxPixels: Int
    /// Scans of a progressive JPEG. Each scan is a pass over every block of its component, so a small file of many
    /// scans is a lot of work (10,000 scans of 4000x4000: 30 s). Encoders write few: libjpeg's progressive script
    /// has 10 scans for colour and 6 for grey, mozjpeg's and jpegtran's are of that order; libjpeg-turbo's own
    /// fuzzers cap at 100, as this does. At the cap the costliest scans (refinements over every block of a
    /// 16-megapixel image) take 2.2 s of one Zen 3 core before the file is refused.
    public var maxScans: Int
    /// Seconds the decode may run; nil: no limit (the command line and the notebook, where the user waits on their
    /// own file; the scan limit still bounds its work).
    public var seconds: Double?

    public static let defaultMaxScans = 100

    public init(maxPixels: Int = Image.defaultMaxPixels, maxScans: Int = DecodeLimits.defaultMaxScans,
                seconds: Double? = nil) {
        self.maxPixels = maxPixels
        self.maxScans = maxScans
        self.seconds = seconds
    }
}

/// What an image's header says, read without decoding pixels (`Image.header`).
public struct ImageHeader: Sendable, Equatable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    /// As stored: 1 (grey) to 4.
    public var channels: Int
    /// Progressive JPEG, or interlaced PNG.
    public var progressive: Bool

    /// The most a decode of this image holds at once, in bytes (nil if it does not fit in an Int): the decoded
    /// samples (at most 4 channels of 16 bits), the planar float image (3 floats), and for a progressive JPEG its
    /// coefficient buffer (2 bytes per sample of each component, the whole image, kept until the last scan).
    public var decodeBytes: Int? {
        let perPixel = 4 * 2 + 3 * MemoryLayout<Float>.stride + (format == .jpeg && progressive ? 2 * channels : 0)
        let (pixels, o1) = width.multipliedReportingOverflow(by: height)
        let (bytes, o2) = pixels.multipliedReportingOverflow(by: perPixel)
        return o1 || o2 ? nil : bytes
    }
}

extension Image {
    /// The most pixels an image may have unless a caller asks for fewer (64 megapixels; the memory budget may lower it).
    public static let defaultMaxPixels = 64_000_000

    /// Reads and decodes a PNG or JPEG file. The format comes from the file's signature, not its name, because
    /// misnamed files are common and a wrong guess would surface as a confusing codec error.
    /// `maxPixels` and the memory budget are checked against the header before any pixel memory is allocated, so a
    /// hostile or mistaken 100000x100000 header fails fast instead of exhausting memory; a progressive JPEG of more
    /// than `DecodeLimits.defaultMaxScans` scans is refused at the first scan over.
    public static func load(_ path: String, maxPixels: Int = Image.defaultMaxPixels) throws(ImageError) -> DecodedImage {
        let data = try readFile(path)
        return try decode(data, name: path, limits: DecodeLimits(maxPixels: maxPixels))
    }

    /// Decodes in-memory PNG or JPEG data; `name` only labels errors.
    public static func decode(_ data: [UInt8], name: String,
                              maxPixels: Int = Image.defaultMaxPixels) throws(ImageError) -> DecodedImage {
        try decode(data, name: name, limits: DecodeLimits(maxPixels: maxPixels))
    }

    /// The format and header of in-memory PNG or JPEG data, without decoding pixels: what the pixel and memory
    /// checks are made on.
    public static func header(_ data: [UInt8], name: String) throws(ImageError) -> ImageHeader {
        let format = try sniffedFormat(data, name: name)
        var raw = txn_image_header()
        var message = [CChar](repeating: 0, count: 512)
        let status = data.withUnsafeBufferPointer { bytes in
            message.withUnsafeMutableBufferPointer { messageBuffer in
                switch format {
                case .png: txn_png_read_header(bytes.baseAddress, bytes.count, &raw, messageBuffer.baseAddress, messageBuffer.count)
                case .jpeg: txn_jpeg_read_header(bytes.baseAddress, bytes.count, &raw, messageBuffer.baseAddress, messageBuffer.count)
                }
            }
        }
        if status != TXN_CODEC_OK { throw codecError(status, format: format, detail: String(cString: message), name: name) }
        return ImageHeader(format: format, width: Int(raw.width), height: Int(raw.height), channels: Int(raw.channels),
                           progressive: raw.progressive != 0)
    }

    /// Decodes in-memory PNG or JPEG data within `limits`: the header first (pixels and the memory budget), then
    /// the pixels, stopped at the scan limit or the deadline. `name` only labels errors.
    public static func decode(_ data: [UInt8], name: String, limits: DecodeLimits) throws(ImageError) -> DecodedImage {
        guard limits.maxPixels > 0, limits.maxScans > 0, (limits.seconds ?? 0) >= 0 else {
            throw ImageError(path: name, kind: .invalidArgument,
                             reason: "decode limits must be positive, got \(limits.maxPixels) pixels, \(limits.maxScans) scans")
        }
        let start = txn_monotonic_ns()
        let header = try Self.header(data, name: name)
        let format = header.format
        let formatName = format == .png ? "PNG" : "JPEG"
        let pixels = header.width.multipliedReportingOverflow(by: header.height)
        if pixels.overflow || pixels.partialValue > limits.maxPixels {
            throw ImageError(path: name, kind: .tooLarge, reason: "\(formatName) too large: image is \(header.width)x\(header.height) = "
                             + "\(pixels.overflow ? "too many" : String(pixels.partialValue)) pixels, more than the limit of \(limits.maxPixels)")
        }
        guard let bytes = header.decodeBytes, bytes <= MemoryBudget.limitBytes else {
            throw ImageError(path: name, kind: .tooLarge,
                             reason: "decoding this \(header.width)x\(header.height) \(formatName) needs "
                             + "\(header.decodeBytes.map { "\(($0 + (1 << 20) - 1) >> 20) MiB" } ?? "more memory than exists"), "
                             + "over the memory limit of \(MemoryBudget.limitMiB) MiB")
        }
        var cLimits = txn_decode_limits(max_pixels: UInt64(limits.maxPixels), max_scans: Int32(clamping: limits.maxScans),
                                        deadline_ns: limits.seconds.map { start &+ UInt64(min($0, 1e9) * 1e9) } ?? 0)
        var raw = txn_decoded()
        var message = [CChar](repeating: 0, count: 512)
        var warning = [CChar](repeating: 0, count: 512)
        let status = data.withUnsafeBufferPointer { bytes in
            message.withUnsafeMutableBufferPointer { messageBuffer in
                warning.withUnsafeMutableBufferPointer { warningBuffer in
                    switch format {
                    case .png:
                        txn_png_decode(bytes.baseAddress, bytes.count, &cLimits, &raw,
                                       messageBuffer.baseAddress, messageBuffer.count,
                                       warningBuffer.baseAddress, warningBuffer.count)
                    case .jpeg:
                        txn_jpeg_decode(bytes.baseAddress, bytes.count, &cLimits, &raw,
                                        messageBuffer.baseAddress, messageBuffer.count,
                                        warningBuffer.baseAddress, warningBuffer.count)
                    }
                }
            }
        }
        defer { txn_codec_free(raw.pixels) }
        if status != TXN_CODEC_OK {
            var detail = String(cString: message)
            if status == TXN_CODEC_PAST_DEADLINE, let seconds = limits.seconds { detail += " of \(seconds) s" }
            throw codecError(status, format: format, detail: detail, name: name)
        }

        let image = planarImage(from: raw)
        var notes: [String] = []
        let flags = Int(raw.flags)
        if flags & TXN_CODEC_FLAG_PALETTE != 0 { notes.append("palette expanded to RGB") }
        if raw.channels == 1 || raw.channels == 2 { notes.append("greyscale expanded to RGB") }
        if raw.channels == 2 || raw.channels == 4 {
            notes.append(flags & TXN_CODEC_FLAG_TRNS != 0
                         ? "alpha channel dropped (tRNS transparency ignored)" : "alpha channel dropped")
        }
        if raw.bit_depth == 16 { notes.append("16-bit samples") }
        if raw.source_bit_depth < 8 { notes.append("\(raw.source_bit_depth)-bit samples scaled to 8-bit") }
        if flags & TXN_CODEC_FLAG_INTERLACED != 0 { notes.append("interlaced PNG") }
        if flags & TXN_CODEC_FLAG_PROGRESSIVE != 0 { notes.append("progressive JPEG") }
        if flags & TXN_CODEC_FLAG_WARNING != 0 {
            notes.append("\(format == .png ? "libpng" : "libjpeg") warning: \(String(cString: warning))")
        }
        return DecodedImage(image: image, format: format, notes: notes)
    }

    /// A codec status other than OK as the error callers see.
    private static func codecError(_ status: txn_codec_status, format: ImageFormat, detail: String, name: String) -> ImageError {
        let formatName = format == .png ? "PNG" : "JPEG"
        let kind: ImageError.Kind
        let summary: String
        switch status {
        case TXN_CODEC_TRUNCATED: (kind, summary) = (.truncated, "truncated \(formatName)")
        case TXN_CODEC_TOO_LARGE: (kind, summary) = (.tooLarge, "\(formatName) too large")
        case TXN_CODEC_UNSUPPORTED: (kind, summary) = (.unsupportedFormat, "unsupported \(formatName) variant")
        case TXN_CODEC_NO_MEMORY: (kind, summary) = (.tooLarge, "not enough memory to decode \(formatName)")
        case TXN_CODEC_INVALID_ARGUMENT: (kind, summary) = (.invalidArgument, "invalid arguments to the \(formatName) decoder")
        case TXN_CODEC_TOO_MANY_SCANS, TXN_CODEC_PAST_DEADLINE: (kind, summary) = (.overWorkLimit, "\(formatName) refused")
        default: (kind, summary) = (.corrupt, "corrupt \(formatName)")
        }
        return ImageError(path: name, kind: kind, reason: detail.isEmpty ? summary : "\(summary): \(detail)")
    }

    /// The format from the signature, or the error that says what the data is instead.
    private static func sniffedFormat(_ data: [UInt8], name: String) throws(ImageError) -> ImageFormat {
        switch sniff(data) {
        case .empty:
            throw ImageError(path: name, kind: .empty, reason: "file is empty")
        case .truncatedSignature(let what):
            throw ImageError(path: name, kind: .truncated, reason: "file ends inside the \(what) signature")
        case .unsupported(let what):
            throw ImageError(path: name, kind: .unsupportedFormat, reason: "unsupported format: \(what); only PNG and JPEG can be read")
        case .known(let known):
            return known
        }
    }

    /// Interleaved 8/16-bit samples to planar float. Grey is replicated into all three planes; alpha is ignored.
    private static func planarImage(from raw: txn_decoded) -> Image {
        let width = Int(raw.width), height = Int(raw.height), channels = Int(raw.channels)
        let plane = width * height
        let colourChannels = channels >= 3 ? 3 : 1
        var pixels = [Float](repeating: 0, count: 3 * plane)
        pixels.withUnsafeMutableBufferPointer { out in
            if raw.bit_depth == 16 {
                let samples = raw.pixels.assumingMemoryBound(to: UInt16.self)
                for index in 0..<plane {
                    for channel in 0..<colourChannels {
                        out[channel * plane + index] = Float(samples[index * channels + channel]) / 65535
                    }
                }
            } else {
                var table = [Float](repeating: 0, count: 256)
                for value in 0..<256 { table[value] = Float(value) / 255 }
                let samples = raw.pixels.assumingMemoryBound(to: UInt8.self)
                table.withUnsafeBufferPointer { table in
                    for index in 0..<plane {
                        for channel in 0..<colourChannels {
                            out[channel * plane + index] = table[Int(samples[index * channels + channel])]
                        }
                    }
                }
            }
            if colourChannels == 1 {
                for index in 0..<plane {
                    out[plane + index] = out[index]
                    out[2 * plane + index] = out[index]
                }
            }
        }
        return Image(width: width, height: height, pixels: pixels)
    }

    private enum Sniffed {
        case empty
        case truncatedSignature(String)
        case unsupported(String)
        case known(ImageFormat)
    }

    private static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    // Only SOI: a file that starts like a JPEG but then goes wrong should be reported as a corrupt JPEG.
    private static let jpegSignature: [UInt8] = [0xFF, 0xD8]

    /// Magic-byte detection. Names the common formats we do not read so the user learns what the file really is.
    private static func sniff(_ data: [UInt8]) -> Sniffed {
        if data.isEmpty { return .empty }
        func starts(_ prefix: [UInt8]) -> Bool { data.count >= prefix.count && Array(data.prefix(prefix.count)) == prefix }
        func startsASCII(_ text: String) -> Bool { starts(Array(text.utf8)) }
        if starts(pngSignature) { return .known(.png) }
        if starts(jpegSignature) { return .known(.jpeg) }
        if data.count < pngSignature.count && Array(pngSignature.prefix(data.count)) == data {
            return .truncatedSignature("PNG")
        }
        if data.count < jpegSignature.count && Array(jpegSignature.prefix(data.count)) == data {
            return .truncatedSignature("JPEG")
        }
        if startsASCII("GIF87a") || startsASCII("GIF89a") { return .unsupported("GIF image") }
        if startsASCII("BM") && data.count >= 14 { return .unsupported("BMP image") }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return .unsupported("TIFF image") }
        if startsASCII("RIFF") && data.count >= 12 && Array(data[8..<12]) == Array("WEBP".utf8) {
            return .unsupported("WebP image")
        }
        if starts([0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) { return .unsupported("JPEG 2000 image") }
        let head = data.prefix(256)
        let looksLikeText = head.allSatisfy { $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || (0x20..<0x7F).contains($0) || $0 >= 0x80 }
        if looksLikeText { return .unsupported("file looks like text, not a PNG or JPEG image") }
        let hex = data.prefix(4).map { byte -> String in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: " ")
        return .unsupported("unrecognised signature \(hex)")
    }

    /// Only regular files, opened without blocking, and no more bytes than the memory budget allows
    /// (`load "/dev/zero"` and a FIFO are errors, not an endless read or a hang).
    private static func readFile(_ path: String) throws(ImageError) -> [UInt8] {
        do {
            return try SafeFile.read(path)
        } catch let failure as SafeFile.Failure {
            var error = ImageError(failure)
            // The read's limit is the memory budget: the front end says how to raise it.
            error.isOverMemoryLimit = failure.kind == .tooLarge
            throw error
        } catch {
            throw ImageError(path: path, kind: .ioError, reason: "\(error)")
        }
    }
}

extension ImageError {
    init(_ failure: SafeFile.Failure) {
        let kind: ImageError.Kind
        switch failure.kind {
        case .notFound: kind = .notFound
        case .tooLarge: kind = .tooLarge
        case .invalidPath: kind = .invalidArgument
        case .notRegular, .io: kind = .ioError
        }
        self.init(path: failure.path, kind: kind, reason: failure.reason)
    }
}

// MARK: - Saving

extension Image {
    /// Encodes and writes the image. The format comes from `format`, or else from the extension (.png, .jpg,
    /// .jpeg), because a silently mis-encoded output would only be noticed much later.
    /// The bytes go to a temporary file in the same directory that is renamed over `path`, so an interrupted or
    /// failed save never leaves a half-written image where a good one is expected.
    /// With `createFolders`, missing folders on the way are made (as the notebook's `save` does).
    public func save(_ path: String, format: ImageFormat? = nil, jpegQuality: Int = 92,
                     createFolders: Bool = false) throws(ImageError) {
        // The path first: a NUL in it would otherwise hide what follows it from every later check.
        do { try SafeFile.checkPath(path) } catch let f as SafeFile.Failure { throw ImageError(f) } catch {
            throw ImageError(path: path, kind: .invalidArgument, reason: "\(error)")
        }
        let chosen: ImageFormat
        if let format {
            chosen = format
        } else {
            let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
            let ext = name.contains(".") ? name.split(separator: ".").last.map { $0.lowercased() } ?? "" : ""
            switch ext {
            case "png": chosen = .png
            case "jpg", "jpeg": chosen = .jpeg
            default:
                throw ImageError(path: path, kind: .unsupportedFormat,
                                 reason: ext.isEmpty ? "no file extension to choose a format from; use .png, .jpg or .jpeg"
                                                     : "cannot save as '.\(ext)'; use .png, .jpg or .jpeg")
            }
        }
        let bytes: [UInt8]
        do {
            bytes = try encoded(as: chosen, jpegQuality: jpegQuality)
        } catch {
            throw ImageError(path: path, kind: error.kind, reason: error.reason)
        }
        try Self.writeAtomically(bytes, to: path, createFolders: createFolders)
    }

    /// Quantises to 8 bits (clamped, x * 255 rounded half away from zero) and encodes as 8-bit RGB.
    /// JPEG quality follows libjpeg's 1–100 scale; at 90 and above chroma is not subsampled.
    public func encoded(as format: ImageFormat, jpegQuality: Int = 92) throws(ImageError) -> [UInt8] {
        guard width > 0, height > 0 else {
            throw ImageError(path: "", kind: .invalidArgument, reason: "cannot encode an empty \(width)x\(height) image")
        }
        if format == .jpeg && !(1...100).contains(jpegQuality) {
            throw ImageError(path: "", kind: .invalidArgument, reason: "JPEG quality must be 1–100, got \(jpegQuality)")
        }
        guard width <= Int(UInt32.max), height <= Int(UInt32.max) else {
            throw ImageError(path: "", kind: .invalidArgument, reason: "image too large to encode")
        }
        let interleaved = interleavedBytes()
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: 512)
        let status = interleaved.withUnsafeBufferPointer { rgb in
            message.withUnsafeMutableBufferPointer { messageBuffer in
                switch format {
                case .png:
                    txn_png_encode_rgb8(rgb.baseAddress, UInt32(width), UInt32(height), &output, &size,
                                        messageBuffer.baseAddress, messageBuffer.count)
                case .jpeg:
                    txn_jpeg_encode_rgb8(rgb.baseAddress, UInt32(width), UInt32(height), Int32(jpegQuality),
                                         &output, &size, messageBuffer.baseAddress, messageBuffer.count)
                }
            }
        }
        defer { txn_codec_free(output) }
        guard status == TXN_CODEC_OK, let output else {
            let kind: ImageError.Kind = status == TXN_CODEC_INVALID_ARGUMENT ? .invalidArgument : .ioError
            throw ImageError(path: "", kind: kind, reason: "\(format.rawValue.uppercased()) encoding failed: \(String(cString: message))")
        }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }

    private func interleavedBytes() -> [UInt8] {
        let plane = width * height
        var bytes = [UInt8](repeating: 0, count: 3 * plane)
        pixels.withUnsafeBufferPointer { samples in
            bytes.withUnsafeMutableBufferPointer { out in
                for index in 0..<plane {
                    for channel in 0..<3 {
                        out[index * 3 + channel] = Self.quantise(samples[channel * plane + index])
                    }
                }
            }
        }
        return bytes
    }

    @inline(__always)
    static func quantise(_ value: Float) -> UInt8 {
        if !(value > 0) { return 0 } // also maps NaN to 0
        if value >= 1 { return 255 }
        return UInt8((value * 255).rounded(.toNearestOrAwayFromZero))
    }

    /// Through `SafeFile.write`: a temporary file renamed over the target, which must be new or a regular file.
    private static func writeAtomically(_ bytes: [UInt8], to path: String, createFolders: Bool) throws(ImageError) {
        do {
            try SafeFile.write(bytes, to: path, createFolders: createFolders)
        } catch let failure as SafeFile.Failure {
            throw ImageError(failure)
        } catch {
            throw ImageError(path: path, kind: .ioError, reason: "\(error)")
        }
    }
}
