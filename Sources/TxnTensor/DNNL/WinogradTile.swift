import CKernels

/// The output tile of txn's two stride-1 3x3 Winograd kernels, and the C functions of each.
/// - `f2x2`, F(2x2, 3x3) (`winograd.c`): 16 multiplications per 4 outputs, rounding near 1e-6 of the largest output.
/// - `f4x4`, F(4x4, 3x3) (`winograd_f43.c`): 36 per 16, rounding a few times 1e-6; the one txn runs (the VGG's layers
///   forward and backward, the texture network's generation), since it measured faster everywhere it runs.
public enum WinogradTile: Sendable {
    case f2x2, f4x4

    /// Output pixels along each side of a tile.
    public var side: Int { self == .f2x2 ? 2 : 4 }

    func tiles(_ pass: txn_wino_pass) -> Int {
        withUnsafePointer(to: pass) { Int(self == .f2x2 ? txn_wino_tiles($0) : txn_wino43_tiles($0)) }
    }

    func scratchFloats(tiles: Int, inChannels: Int, outChannels: Int) -> Int {
        let (t, k, n) = (Int32(tiles), Int32(inChannels), Int32(outChannels))
        return self == .f2x2 ? txn_wino_scratch_floats(t, k, n) : txn_wino43_scratch_floats(t, k, n)
    }

    func weightFloats(inChannels: Int, outChannels: Int) -> Int {
        self == .f2x2 ? txn_wino_weight_floats(Int32(inChannels), Int32(outChannels))
            : txn_wino43_weight_floats(Int32(inChannels), Int32(outChannels))
    }

    /// PyTorch's [cout][cin][3][3] `weights` transformed and packed for a pass of `packedIn` input channels.
    func packWeights(_ weights: UnsafePointer<Float>, outChannels: Int, inChannels: Int, backward: Bool, packedIn: Int) -> [Float] {
        let n = backward ? inChannels : outChannels
        return [Float](unsafeUninitializedCapacity: weightFloats(inChannels: packedIn, outChannels: n)) { out, count in
            let args = (Int32(outChannels), Int32(inChannels), Int32(backward ? 1 : 0), Int32(packedIn))
            if self == .f2x2 {
                txn_wino_pack_weights(weights, args.0, args.1, args.2, args.3, out.baseAddress!)
            } else {
                txn_wino43_pack_weights(weights, args.0, args.1, args.2, args.3, out.baseAddress!)
            }
            count = out.count
        }
    }

    /// `moments`: where F(4x4, 3x3) adds each output channel's sum and sum of squares (F(2x2, 3x3) keeps none).
    func run(_ pass: UnsafePointer<txn_wino_pass>, first: Int, count: Int, scratch: UnsafeMutablePointer<Float>,
             moments: UnsafeMutablePointer<Double>? = nil) -> Bool {
        precondition(moments == nil || self == .f4x4, "F(2x2, 3x3) keeps no moments")
        return (self == .f2x2 ? txn_wino_run(pass, Int32(first), Int32(count), scratch)
            : txn_wino43_run(pass, Int32(first), Int32(count), scratch, moments)) == 0
    }
}
