import TxnTensor

/// The generator's input: uniform noise in [0, 1) at every scale, coarse to fine, from one random stream (scale by
/// scale, each in channel-major order), so that the same seed gives the same images.
public enum NoisePyramid {
    public static func draw(_ a: TexNetArchitecture, batch: Int, height: Int, width: Int,
                            rng: inout SplitMix64) throws -> [ChannelMajor] {
        if let problem = a.sizeProblem(width: width, height: height) { throw TexNetError(problem) }
        // The finest scale holds 4/3 of all the noise at most: check it (twice, for the whole pyramid) first.
        try MemoryBudget.requireFloats([a.noiseChannels, batch, height, width], copies: 2,
                                       for: "the noise of \(batch) images of \(width)x\(height)")
        return (0..<a.scales).map { k in
            let (h, w) = (a.noiseSide(height, scale: k), a.noiseSide(width, scale: k))
            var z = ChannelMajor(zeros: a.noiseChannels, batch: batch, height: h, width: w)
            let start = rng, count = z.data.count
            z.data.withUnsafeMutableBufferPointer { values in
                parallelRanges(count, minChunk: 1 << 16) { range in
                    var piece = start.skipped(range.lowerBound)
                    for i in range { values[i] = piece.nextUnit() }
                }
            }
            rng = start.skipped(count)
            return z
        }
    }
}
