/// Pickles a state dict the way `torch.save` does (protocol 2): an `OrderedDict` whose values are
/// `torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())` and whose storages are
/// persistent ids `('storage', torch.FloatStorage | torch.LongStorage, '<i>', 'cpu', numel)`, storage i being
/// the i-th entry's. Only the opcodes and globals the restricted Unpickler accepts are used.
///
/// The memo follows CPython's pickler (every string, tuple and reduced object is put; globals and the shared
/// strings 'storage' and 'cpu' are got back on reuse; ints and the empty tuple are never memoised), so for
/// the same dict the bytes equal those of torch.save, which the interop test checks.
struct StatePickler {
    private var out: [UInt8] = []
    private var nextMemo = 0
    /// Memo slots of the objects torch reuses by identity: globals and two interned strings.
    private var shared: [String: Int] = [:]

    static func pickle(_ entries: [(key: String, dtype: StoredDType, shape: [Int])]) -> [UInt8] {
        var p = StatePickler()
        p.out = [0x80, 2] // PROTO 2
        p.global("collections", "OrderedDict")
        p.out.append(0x29) // EMPTY_TUPLE
        p.out.append(0x52) // REDUCE
        p.put()
        // CPython's _batch_setitems: MARK … SETITEMS per 1000 items, a lone item with SETITEM.
        var start = 0
        while start < entries.count {
            let batch = entries[start..<min(start + 1000, entries.count)]
            if batch.count > 1 { p.out.append(0x28) } // MARK
            for (offset, e) in batch.enumerated() {
                p.string(e.key)
                p.tensor(storage: start + offset, dtype: e.dtype, shape: e.shape)
            }
            p.out.append(batch.count > 1 ? 0x75 : 0x73) // SETITEMS : SETITEM
            start += batch.count
        }
        p.out.append(0x2E) // STOP
        return p.out
    }

    private mutating func tensor(storage index: Int, dtype: StoredDType, shape: [Int]) {
        global("torch._utils", "_rebuild_tensor_v2")
        out.append(0x28) // MARK: the six arguments
        // Persistent id tuple, then BINPERSID.
        out.append(0x28)
        sharedString("storage")
        global("torch", dtype == .int64 ? "LongStorage" : "FloatStorage")
        string(String(index))
        sharedString("cpu")
        int(shape.reduce(1, *))
        out.append(0x74) // TUPLE
        put()
        out.append(0x51) // BINPERSID
        int(0) // storage offset
        tuple(shape)
        tuple(Self.contiguousStrides(shape))
        out.append(0x89) // NEWFALSE: requires_grad
        global("collections", "OrderedDict") // backward_hooks = OrderedDict()
        out.append(0x29)
        out.append(0x52)
        put()
        out.append(0x74) // TUPLE of the arguments
        put()
        out.append(0x52) // REDUCE
        put()
    }

    /// Row-major strides as torch computes them for a contiguous tensor (a size-0 dim counts as 1).
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = step
            step *= max(shape[d], 1)
        }
        return strides
    }

    // MARK: - opcodes

    private mutating func put() {
        if nextMemo < 256 {
            out += [0x71, UInt8(nextMemo)] // BINPUT
        } else {
            out.append(0x72) // LONG_BINPUT
            u32(nextMemo)
        }
        nextMemo += 1
    }

    private mutating func get(_ index: Int) {
        if index < 256 {
            out += [0x68, UInt8(index)] // BINGET
        } else {
            out.append(0x6A) // LONG_BINGET
            u32(index)
        }
    }

    private mutating func u32(_ v: Int) {
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
    }

    private mutating func global(_ module: String, _ name: String) {
        let id = module + "." + name
        if let slot = shared[id] { return get(slot) }
        out.append(0x63) // GLOBAL
        out += Array("\(module)\n\(name)\n".utf8)
        shared[id] = nextMemo
        put()
    }

    private mutating func string(_ s: String) {
        let bytes = Array(s.utf8)
        out.append(0x58) // BINUNICODE
        u32(bytes.count)
        out += bytes
        put()
    }

    private mutating func sharedString(_ s: String) {
        if let slot = shared["'" + s] { return get(slot) }
        shared["'" + s] = nextMemo
        string(s)
    }

    /// Non-negative ints as CPython writes them: BININT1, BININT2, BININT or LONG1.
    private mutating func int(_ v: Int) {
        if v <= 0xFF {
            out += [0x4B, UInt8(v)]
        } else if v <= 0xFFFF {
            out += [0x4D, UInt8(v & 0xFF), UInt8(v >> 8)]
        } else if v <= Int(Int32.max) {
            out.append(0x4A)
            u32(v)
        } else {
            // Minimal little-endian two's complement: bit_length/8 + 1 bytes (a sign byte when needed).
            let n = (Int.bitWidth - v.leadingZeroBitCount) / 8 + 1
            out += [0x8A, UInt8(n)]
            for i in 0..<n { out.append(i < 8 ? UInt8(truncatingIfNeeded: v >> (8 * i)) : 0) }
        }
    }

    private mutating func tuple(_ items: [Int]) {
        if items.isEmpty { return out.append(0x29) } // EMPTY_TUPLE (never memoised)
        if items.count > 3 { out.append(0x28) }
        for v in items { int(v) }
        out.append(items.count > 3 ? 0x74 : 0x84 + UInt8(items.count)) // TUPLE or TUPLE1/2/3
        put()
    }
}
