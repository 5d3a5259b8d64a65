/// Animated GIF (GIF89a) encoding, for generated animations: one global 256-colour palette (a 6×7×6 colour cube
/// plus greys), Floyd–Steinberg dithering per frame, LZW with variable code sizes, looping forever.
public enum GIF {
    /// The palette: 6 red × 7 green × 6 blue levels (252 colours; the eye is most sensitive to green), then 4 greys.
    static let palette: [(UInt8, UInt8, UInt8)] = {
        var p: [(UInt8, UInt8, UInt8)] = []
        for r in 0..<6 { for g in 0..<7 { for b in 0..<6 {
            p.append((UInt8(r * 255 / 5), UInt8(g * 255 / 6), UInt8(b * 255 / 5)))
        }}}
        for v in [64, 128, 192, 224] { p.append((UInt8(v), UInt8(v), UInt8(v))) }
        return p
    }()

    /// Hundredths of a second per frame unless told otherwise (the seed's animations).
    public static let defaultDelay = 7

    /// The delays a GIF can hold, in hundredths of a second (16 bits; 0 would be "as fast as the viewer likes").
    public static let delays = 1...65535

    /// Throws unless `delay` is one of `delays`: an out-of-range delay is refused, never clamped.
    public static func checkDelay(_ delay: Int) throws(ImageError) {
        guard delays.contains(delay) else {
            throw ImageError(path: "", kind: .invalidArgument,
                             reason: "a frame delay must be \(delays.lowerBound) to \(delays.upperBound) hundredths of a second, got \(delay)")
        }
    }

    /// Encodes frames of equal size; `delay` is per frame in hundredths of a second (one of `delays`).
    public static func encode(_ frames: [Image], delay: Int = defaultDelay) throws(ImageError) -> [UInt8] {
        try checkDelay(delay)
        guard let first = frames.first, first.width > 0, first.height > 0,
              first.width <= 65535, first.height <= 65535 else {
            throw ImageError(path: "", kind: .invalidArgument, reason: "an animation needs at least one frame of 1 to 65535 pixels a side")
        }
        guard frames.allSatisfy({ $0.width == first.width && $0.height == first.height }) else {
            throw ImageError(path: "", kind: .invalidArgument, reason: "all frames of an animation must have the same size")
        }
        var out: [UInt8] = Array("GIF89a".utf8)
        func u16(_ v: Int) { out += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        u16(first.width); u16(first.height)
        out += [0xF7, 0, 0]  // global colour table of 2^(7+1) entries
        for (r, g, b) in palette { out += [r, g, b] }
        out += [0x21, 0xFF, 11] + Array("NETSCAPE2.0".utf8) + [3, 1, 0, 0, 0]  // loop forever
        for frame in frames {
            out += [0x21, 0xF9, 4, 0]
            u16(delay)
            out += [0, 0]
            out += [0x2C]
            u16(0); u16(0); u16(frame.width); u16(frame.height)
            out += [0]
            let indices = dither(frame)
            out += [8]
            let data = lzw(indices, minimumCodeSize: 8)
            var i = 0
            while i < data.count {
                let n = min(255, data.count - i)
                out.append(UInt8(n))
                out += data[i..<(i + n)]
                i += n
            }
            out += [0]
        }
        out.append(0x3B)
        return out
    }

    static func nearest(_ r: Float, _ g: Float, _ b: Float) -> Int {
        let ri = Int((min(max(r, 0), 1) * 5).rounded()), gi = Int((min(max(g, 0), 1) * 6).rounded())
        let bi = Int((min(max(b, 0), 1) * 5).rounded())
        return (ri * 7 + gi) * 6 + bi
    }

    /// Palette indices with Floyd–Steinberg error diffusion.
    static func dither(_ image: Image) -> [UInt8] {
        let (w, h) = (image.width, image.height), plane = w * h
        var px = image.pixels
        var out = [UInt8](repeating: 0, count: plane)
        for y in 0..<h {
            for x in 0..<w {
                let i = y * w + x
                let k = nearest(px[i], px[plane + i], px[2 * plane + i])
                out[i] = UInt8(k)
                let c = palette[k]
                let q = [Float(c.0) / 255, Float(c.1) / 255, Float(c.2) / 255]
                for ch in 0..<3 {
                    let e = px[ch * plane + i] - q[ch]
                    if x + 1 < w { px[ch * plane + i + 1] += e * 7 / 16 }
                    if y + 1 < h {
                        if x > 0 { px[ch * plane + i + w - 1] += e * 3 / 16 }
                        px[ch * plane + i + w] += e * 5 / 16
                        if x + 1 < w { px[ch * plane + i + w + 1] += e * 1 / 16 }
                    }
                }
            }
        }
        return out
    }

    /// GIF's LZW: codes from minimumCodeSize+1 bits up to 12, a clear code when the table is full, packed LSB first.
    static func lzw(_ indices: [UInt8], minimumCodeSize: Int) -> [UInt8] {
        let clear = 1 << minimumCodeSize, end = clear + 1
        var table: [Int: Int] = [:]  // (prefix code << 8 | byte) → code
        var next = end + 1, codeSize = minimumCodeSize + 1
        var out: [UInt8] = [], bitBuffer = 0, bitCount = 0
        func emit(_ code: Int) {
            bitBuffer |= code << bitCount
            bitCount += codeSize
            while bitCount >= 8 {
                out.append(UInt8(bitBuffer & 0xFF))
                bitBuffer >>= 8
                bitCount -= 8
            }
        }
        emit(clear)
        guard var prefix = indices.first.map(Int.init) else {
            emit(end)
            if bitCount > 0 { out.append(UInt8(bitBuffer & 0xFF)) }
            return out
        }
        for byte in indices.dropFirst() {
            let key = prefix << 8 | Int(byte)
            if let code = table[key] {
                prefix = code
                continue
            }
            emit(prefix)
            if next < 4096 {
                table[key] = next
                if next == 1 << codeSize && codeSize < 12 { codeSize += 1 }
                next += 1
            } else {
                emit(clear)
                table.removeAll(keepingCapacity: true)
                next = end + 1
                codeSize = minimumCodeSize + 1
            }
            prefix = Int(byte)
        }
        emit(prefix)
        emit(end)
        if bitCount > 0 { out.append(UInt8(bitBuffer & 0xFF)) }
        return out
    }
}
