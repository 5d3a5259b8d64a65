/// A hostile progressive JPEG made byte by byte (no encoder here writes such a thing): a flat grey image whose
/// coefficients are all zero, so that every scan is a few bytes of end-of-band runs, followed by the same AC
/// refinement scan again and again. Each scan is a pass over every block of the image (a refinement pass reads all
/// 63 coefficients of each block), so a 4000x4000 file of 10,000 scans is about 250 KB and, without a scan limit,
/// half a minute of decoding: issue 19's upload.
///
/// The file is greyscale (one component); every coefficient is zero, so a decoder that gets to the end produces
/// 128 everywhere (the level shift of a zero DC). The repeated refinements are what libjpeg calls a bogus
/// progression: a warning, not an error, so the decoder goes on.
public enum ScanBombJPEG {
    /// `scans` is the total number of scans: one DC scan, one AC scan, then refinements (at least 2).
    public static func make(width: Int, height: Int, scans: Int) -> [UInt8] {
        precondition((1...65_535).contains(width) && (1...65_535).contains(height) && scans >= 2)
        let blocks = ((width + 7) / 8) * ((height + 7) / 8)
        var out: [UInt8] = [0xFF, 0xD8]
        // Quantisation table 0: all ones.
        out += segment(0xDB, [0x00] + [UInt8](repeating: 1, count: 64))
        // SOF2 (progressive, Huffman): 8-bit, height, width, one component (id 1, 1x1 sampling, table 0).
        out += segment(0xC2, [8] + be16(height) + be16(width) + [1, 1, 0x11, 0])
        // One code of length 1 per table: DC difference 0, and AC "EOB14" (an end-of-band run of 2^14 + 14 bits).
        let oneCode: [UInt8] = [1] + [UInt8](repeating: 0, count: 15)
        out += segment(0xC4, [0x00] + oneCode + [0x00])
        out += segment(0xC4, [0x10] + oneCode + [0xE0])
        // DC first scan: one bit per block.
        out += scanHeader(spectralStart: 0, spectralEnd: 0, approximation: 0x00)
        var dc = BitWriter()
        for _ in 0..<blocks { dc.put(0, bits: 1) }
        out += dc.finished()
        // AC first scan, then the refinements: end-of-band runs over every block.
        let runs = endOfBandRuns(blocks)
        out += scanHeader(spectralStart: 1, spectralEnd: 63, approximation: 0x00) + runs
        let refinement = scanHeader(spectralStart: 1, spectralEnd: 63, approximation: 0x10) + runs
        for _ in 0..<(scans - 2) { out += refinement }
        return out + [0xFF, 0xD9]
    }

    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }

    static func segment(_ marker: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [0xFF, marker] + be16(payload.count + 2) + payload
    }

    static func scanHeader(spectralStart: UInt8, spectralEnd: UInt8, approximation: UInt8) -> [UInt8] {
        segment(0xDA, [1, 1, 0x00, spectralStart, spectralEnd, approximation])
    }

    /// Entropy-coded data covering `blocks` blocks with EOB14 runs (16384 to 32767 blocks each). The last run may
    /// reach past the last block; a decoder drops what is left of a run at the end of a scan.
    static func endOfBandRuns(_ blocks: Int) -> [UInt8] {
        var bits = BitWriter()
        var left = blocks
        while left > 0 {
            let run = max(16_384, min(left, 32_767))
            bits.put(0, bits: 1)
            bits.put(run - 16_384, bits: 14)
            left -= run
        }
        return bits.finished()
    }

    struct BitWriter {
        var bytes: [UInt8] = []
        var accumulator = 0
        var count = 0

        mutating func put(_ value: Int, bits: Int) {
            for i in stride(from: bits - 1, through: 0, by: -1) {
                accumulator = accumulator << 1 | (value >> i) & 1
                count += 1
                if count == 8 {
                    bytes.append(UInt8(accumulator))
                    if accumulator == 0xFF { bytes.append(0) } // byte stuffing
                    accumulator = 0
                    count = 0
                }
            }
        }

        /// The bytes, the last one padded with 1 bits as JPEG wants.
        mutating func finished() -> [UInt8] {
            while count != 0 { put(1, bits: 1) }
            return bytes
        }
    }
}
