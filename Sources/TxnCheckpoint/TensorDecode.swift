extension StoredDType {
    /// Bytes per element in the storage (fixed by PyTorch, independent of the writer's C `long`).
    var elementSize: Int {
        switch self {
        case .uint8: return 1
        case .float16: return 2
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        }
    }
}

extension StoredDType {
    /// int64 and int32: tensors that also carry their exact `integers`.
    var isInteger: Bool { self == .int64 || self == .int32 }
}

enum TensorDecode {
    /// The unsigned bits of element `i` (`size` bytes) of a little-endian storage, or of a big-endian one with
    /// `swapBytes`, independent of the host.
    @inline(__always)
    static func rawElement(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, size: Int, swapBytes: Bool) -> UInt64 {
        var v: UInt64 = 0
        let base = i * size
        if swapBytes {
            for k in 0..<size { v = (v << 8) | UInt64(b[base + k]) }
        } else {
            for k in (0..<size).reversed() { v = (v << 8) | UInt64(b[base + k]) }
        }
        return v
    }

    /// The exact elements of an int64 or int32 storage (sign-extended), for `StoredTensor.integers`.
    static func integers(_ bytes: [UInt8], dtype: StoredDType, swapBytes: Bool) -> [Int64] {
        let size = dtype.elementSize
        let n = bytes.count / size
        return bytes.withUnsafeBufferPointer { b in
            [Int64](unsafeUninitializedCapacity: n) { out, count in
                for i in 0..<n {
                    let v = rawElement(b, i, size: size, swapBytes: swapBytes)
                    out[i] = size == 8 ? Int64(bitPattern: v) : Int64(Int32(truncatingIfNeeded: v))
                }
                count = n
            }
        }
    }

    /// Converts raw storage bytes to Float32. uint8 and float16 convert exactly; float64/int64/int32 round to
    /// nearest. `swapBytes` handles big-endian files.
    static func floats(_ bytes: [UInt8], dtype: StoredDType, swapBytes: Bool) -> [Float] {
        let size = dtype.elementSize
        let n = bytes.count / size
        if n == 0 { return [] } // empty storages: no base addresses to copy from
        if dtype == .uint8 { return bytes.map { Float($0) } }
        if dtype == .float32 && !swapBytes && hostIsLittleEndian {
            // The common case (all of vgg_normalised.pth): one memcpy, no per-element work.
            return [Float](unsafeUninitializedCapacity: n) { out, count in
                bytes.withUnsafeBytes { src in
                    out.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: n * 4) {
                        $0.update(from: src.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n * 4)
                    }
                }
                count = n
            }
        }
        return bytes.withUnsafeBufferPointer { b -> [Float] in
            @inline(__always) func raw(_ i: Int) -> UInt64 { rawElement(b, i, size: size, swapBytes: swapBytes) }
            return [Float](unsafeUninitializedCapacity: n) { out, count in
                for i in 0..<n {
                    let v = raw(i)
                    switch dtype {
                    case .float32: out[i] = Float(bitPattern: UInt32(truncatingIfNeeded: v))
                    case .float16: out[i] = halfToFloat(UInt16(truncatingIfNeeded: v))
                    case .float64: out[i] = Float(Double(bitPattern: v))
                    case .int64: out[i] = Float(Int64(bitPattern: v))
                    case .int32: out[i] = Float(Int32(truncatingIfNeeded: v))
                    case .uint8: out[i] = Float(v)
                    }
                }
                count = n
            }
        }
    }

    static let hostIsLittleEndian = UInt16(littleEndian: 1) == 1

    /// IEEE binary16 → binary32, exact for every value (subnormals, ±0, ±inf, NaN payload kept).
    /// Done with bit operations because `Float16` is unavailable on some platforms (macOS x86-64).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1F)
        let mant = UInt32(h & 0x3FF)
        if exp == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        if exp == 0 {
            // Zero or subnormal: mant × 2^-24, exact in float32.
            let magnitude = Float(mant) * Float(bitPattern: 0x3380_0000) // 2^-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
    }

    /// Materialises a strided view as contiguous row-major values. `base` is the absolute index of element
    /// [0, 0, ...] in `src`; the caller has checked that every addressed index lies inside `src`.
    /// Row-major contiguity (size-1 dims may carry any stride).
    static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] != 1 {
            if strides[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    static func gather<T>(_ src: [T], base: Int, shape: [Int], strides: [Int], count n: Int) -> [T] {
        if n == 0 { return [] }
        if isContiguous(shape: shape, strides: strides) {
            if base == 0 && n == src.count { return src }
            return Array(src[base..<(base + n)])
        }
        return [T](unsafeUninitializedCapacity: n) { out, count in
            src.withUnsafeBufferPointer { s in
                var index = [Int](repeating: 0, count: shape.count)
                var offset = base
                for i in 0..<n {
                    (out.baseAddress! + i).initialize(to: s[offset])
                    // Odometer increment over the multi-index, updating the source offset incrementally.
                    var d = shape.count - 1
                    while d >= 0 {
                        index[d] += 1
                        offset += strides[d]
                        if index[d] < shape[d] { break }
                        offset -= strides[d] * shape[d]
                        index[d] = 0
                        d -= 1
                    }
                }
            }
            count = n
        }
    }
}
