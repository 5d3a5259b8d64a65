/// How a convolution sees pixels beyond the border.
public enum PaddingMode: String, CaseIterable, Sendable {
    /// Zeros outside (Caffe, the original DeepTextures code).
    case zero
    /// Mirror without repeating the edge pixel (PyTorch `ReflectionPad2d`).
    case reflect
    /// Wrap around (PyTorch `padding_mode="circular"`): the network sees a torus, so results tile.
    case circular
}

/// Where each padded row or column reads from in the unpadded input: one index map per axis turns
/// every padding mode into the same gather (forward) and scatter-add (backward).
struct PadIndexMap {
    /// map[j] for j in 0..<size + 2 * pad: the source index, or -1 for a zero.
    let map: [Int32]

    init(size: Int, pad: Int, mode: PaddingMode) {
        var m = [Int32](repeating: -1, count: size + 2 * pad)
        for j in 0..<m.count {
            let s = j - pad
            switch mode {
            case .zero:
                m[j] = (s >= 0 && s < size) ? Int32(s) : -1
            case .reflect:
                var r = s
                // Reflect repeatedly so any pad < size is handled; size 1 has nothing to mirror.
                while r < 0 || r >= size { r = r < 0 ? -r : 2 * (size - 1) - r }
                m[j] = Int32(r)
            case .circular:
                m[j] = Int32(((s % size) + size) % size)
            }
        }
        map = m
    }
}

/// Pads each channel plane of an NCHW tensor: forward gathers, backward scatters the gradient back.
public struct Pad2D: Sendable {
    public let pad: Int
    public let mode: PaddingMode

    public init(pad: Int, mode: PaddingMode) {
        self.pad = pad
        self.mode = mode
    }

    public func check(_ h: Int, _ w: Int) throws {
        if mode == .reflect && pad > 0 && (h <= pad || w <= pad) {
            throw TensorError.invalidArgument(
                "reflect padding of \(pad) needs a feature map larger than \(pad)x\(pad), got \(h)x\(w)")
        }
        if mode == .circular && (pad > h || pad > w) {
            throw TensorError.invalidArgument(
                "circular padding of \(pad) needs a feature map of at least \(pad)x\(pad), got \(h)x\(w)")
        }
    }

    /// Pads `planes` planes of h x w pixels from `src` into `dst` (planes of (h+2p) x (w+2p)); each
    /// pixel is `vector` consecutive floats (1 for NCHW, 16 for oneDNN's nChw16c blocks).
    public func forward(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, planes: Int, h: Int, w: Int,
                        vector v: Int = 1) {
        let rows = PadIndexMap(size: h, pad: pad, mode: mode).map
        let cols = PadIndexMap(size: w, pad: pad, mode: mode).map
        let hp = h + 2 * pad, wp = w + 2 * pad
        parallelFor(planes * hp, minChunk: 8) { job in
            let p = job / hp, y = job % hp
            let s = src + p * h * w * v, d = dst + p * hp * wp * v
            let sy = Int(rows[y]), drow = d + y * wp * v
            if sy < 0 {
                drow.update(repeating: 0, count: wp * v)
                return
            }
            let srow = s + sy * w * v
            // The interior is a straight copy; only the borders go through the index map.
            (drow + pad * v).update(from: srow, count: w * v)
            func copyBorder(_ dx: Int) {
                let sx = Int(cols[dx])
                if sx < 0 { (drow + dx * v).update(repeating: 0, count: v) }
                else { (drow + dx * v).update(from: srow + sx * v, count: v) }
            }
            for x in 0..<pad {
                copyBorder(x)
                copyBorder(wp - pad + x)
            }
        }
    }

    /// Adds the gradient of the padded planes into the gradient of the unpadded planes (which it
    /// overwrites); `vector` as in `forward`.
    public func backward(_ dpadded: UnsafePointer<Float>, _ dsrc: UnsafeMutablePointer<Float>, planes: Int, h: Int, w: Int,
                         vector v: Int = 1) {
        let rows = PadIndexMap(size: h, pad: pad, mode: mode).map
        let cols = PadIndexMap(size: w, pad: pad, mode: mode).map
        let hp = h + 2 * pad, wp = w + 2 * pad
        parallelFor(planes) { p in
            let d = dpadded + p * hp * wp * v, s = dsrc + p * h * w * v
            // The interior first, as a copy, then the border cells added where they came from.
            for y in 0..<h { (s + y * w * v).update(from: d + ((y + pad) * wp + pad) * v, count: w * v) }
            for y in 0..<hp {
                let sy = Int(rows[y])
                if sy < 0 { continue }
                let interiorRow = y >= pad && y < hp - pad
                for x in 0..<wp {
                    if interiorRow && x >= pad && x < wp - pad { continue }
                    let sx = Int(cols[x])
                    if sx < 0 { continue }
                    let dst = s + (sy * w + sx) * v, src = d + (y * wp + x) * v
                    for k in 0..<v { dst[k] += src[k] }
                }
            }
        }
    }

    public func forward(_ x: Tensor) throws -> Tensor {
        try x.requireNCHW("pad")
        try check(x.h, x.w)
        var out = Tensor(zeros: [x.n, x.c, x.h + 2 * pad, x.w + 2 * pad])
        x.data.withUnsafeBufferPointer { s in
            out.data.withUnsafeMutableBufferPointer { d in
                forward(s.baseAddress!, d.baseAddress!, planes: x.n * x.c, h: x.h, w: x.w)
            }
        }
        return out
    }

    public func backward(inputShape: [Int], gradOutput: Tensor) -> Tensor {
        var dx = Tensor(zeros: inputShape)
        gradOutput.data.withUnsafeBufferPointer { g in
            dx.data.withUnsafeMutableBufferPointer { d in
                backward(g.baseAddress!, d.baseAddress!, planes: inputShape[0] * inputShape[1],
                         h: inputShape[2], w: inputShape[3])
            }
        }
        return dx
    }
}
