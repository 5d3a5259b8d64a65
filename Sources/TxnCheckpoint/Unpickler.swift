/// A restricted unpickler: it understands exactly the opcodes and globals that a PyTorch state dict needs and
/// never runs code. Python's pickle executes arbitrary callables (`posix.system` via GLOBAL + REDUCE), so a
/// checkpoint from the internet must not be unpickled by anything that resolves globals generically.
///
/// Objects live in flat arrays (tuples, lists, dicts indexed by `PV` handles) rather than as nested Swift
/// values: a malicious pickle can nest containers a million levels deep, and recursive deallocation of a
/// nested enum would overflow the stack. Flat arrays make every structure, even a cyclic one, harmless.

/// The only globals a state dict may reference. Anything else is rejected by name.
enum Callable: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildTensor
    case rebuildParameter
    case storageType(StoredDType)

    static func resolve(module: String, name: String) -> Callable? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor"): return .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch", "FloatStorage"): return .storageType(.float32)
        case ("torch", "HalfStorage"): return .storageType(.float16)
        case ("torch", "DoubleStorage"): return .storageType(.float64)
        case ("torch", "ByteStorage"): return .storageType(.uint8)
        case ("torch", "LongStorage"): return .storageType(.int64)
        case ("torch", "IntStorage"): return .storageType(.int32)
        default: return nil
        }
    }

    static let allowedList = "collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
        + "torch._utils._rebuild_tensor, torch._utils._rebuild_parameter, "
        + "torch.{Float,Half,Double,Byte,Long,Int}Storage"
}

/// A storage as referenced by a persistent id. Legacy files may reference a view of a root storage
/// (`view_metadata`); `viewOffset`/`viewNumel` describe the visible window (whole storage otherwise).
struct StorageRef: Equatable {
    var key: String
    var dtype: StoredDType
    var numel: Int
    var viewOffset: Int
    var viewNumel: Int
}

/// What `_rebuild_tensor_v2` describes: a strided window into a storage.
struct TensorRef {
    var storage: StorageRef
    var offset: Int
    var shape: [Int]
    var strides: [Int]
}

/// A pickle value. Containers are handles into the unpickler's arrays (see the file comment).
enum PV {
    case none
    case bool(Bool)
    case int(Int)
    /// LONG1 wider than 8 bytes (the legacy magic number): little-endian two's-complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case str(String)
    case callable(Callable)
    /// Storage and tensor records live in the unpickler's arrays like containers: inline they would make every
    /// PV 80 bytes instead of 24, and a pickle of NONE opcodes would cost 120 bytes of stack per input byte.
    case storage(Int)
    case tensor(Int)
    case tuple(Int)
    case list(Int)
    case dict(Int)

    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .str: return "str"
        case .callable: return "global"
        case .storage: return "storage"
        case .tensor: return "tensor"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        }
    }
}

/// One pickle (up to its STOP opcode) read from a `WindowReader`; the reader is left just after STOP so
/// the legacy format's consecutive pickles can be read one after another.
struct Unpickler {
    /// What one pickle may build, fixed before the first opcode: every value (a push, a memo entry, a container
    /// and each element stored in one) counts, so memory stays proportional to the pickle's size with a hard cap.
    struct Limits {
        /// Values on the stack at once. A state dict needs about 20 plus 2 per key of one SETITEMS batch
        /// (CPython batches 1000 items).
        var stack: Int
        /// Memo entries (the memo is a dictionary: BINPUT/LONG_BINPUT may use any index).
        var memo: Int
        /// Containers plus the elements stored in them. A torch state dict uses about 25 per tensor record of
        /// 50-100 bytes, well under one per byte; nesting or list-building opcodes that create one or two per
        /// byte are what an amplification attack looks like.
        var containerValues: Int

        static let hardStack = 1 << 16
        static let hardMemo = 1 << 20
        static let hardContainerValues = 1 << 22

        /// Limits for a pickle of at most `bytes` bytes.
        static func forPickle(bytes: Int) -> Limits {
            Limits(stack: hardStack, memo: min(hardMemo, 256 + bytes / 2),
                   containerValues: min(hardContainerValues, 4096 + bytes))
        }
    }

    let limits: Limits
    private(set) var tuples: [[PV]] = []
    private(set) var lists: [[PV]] = []
    private(set) var dicts: [[(PV, PV)]] = []
    private(set) var storages: [StorageRef] = []
    private(set) var tensors: [TensorRef] = []
    private var stack: [PV] = []
    private var marks: [Int] = []
    private var memo: [Int: PV] = [:]
    /// Container values built so far (tests compare it with the limit).
    private(set) var containerValues = 0

    init(limits: Limits) {
        self.limits = limits
    }

    /// Reads one pickle and returns its top-level value; containers are read back with `tuple(_:)` etc.
    mutating func load(_ r: inout WindowReader) throws -> PV {
        while true {
            let opOffset = r.position
            let op = try r.byte()
            switch op {
            case 0x80: // PROTO
                let v = try r.byte("PROTO operand")
                guard (2...5).contains(v) else { throw Failure("unsupported pickle protocol \(v) \(r.at(opOffset))") }
            case 0x95: // FRAME: framing is only a hint for buffering; the stream is read byte-exact anyway
                _ = try r.uint(8, "FRAME length")
            case 0x28: // MARK
                guard marks.count < limits.stack else { throw limitFailure("MARK nesting", limits.stack, r, opOffset) }
                marks.append(stack.count)
            case 0x29: // EMPTY_TUPLE
                try push(try newTuple([], r, opOffset), r, opOffset)
            case 0x5D: // EMPTY_LIST
                try count(1, r, opOffset)
                lists.append([]); try push(.list(lists.count - 1), r, opOffset)
            case 0x7D: // EMPTY_DICT
                try count(1, r, opOffset)
                dicts.append([]); try push(.dict(dicts.count - 1), r, opOffset)
            case 0x4E: try push(.none, r, opOffset) // NONE
            case 0x88: try push(.bool(true), r, opOffset) // NEWTRUE
            case 0x89: try push(.bool(false), r, opOffset) // NEWFALSE
            case 0x4A: // BININT (signed 32-bit)
                try push(.int(Int(Int32(truncatingIfNeeded: try r.uint(4, "BININT operand")))), r, opOffset)
            case 0x4B: // BININT1
                try push(.int(Int(try r.uint(1, "BININT1 operand"))), r, opOffset)
            case 0x4D: // BININT2
                try push(.int(Int(try r.uint(2, "BININT2 operand"))), r, opOffset)
            case 0x8A: // LONG1
                let n = Int(try r.byte("LONG1 length"))
                let b = try r.bytes(n, "LONG1 operand")
                if n <= 8 {
                    var v: UInt64 = 0
                    for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) } // sign-extend
                    try push(.int(Int(Int64(bitPattern: v))), r, opOffset)
                } else {
                    try push(.bigInt(b), r, opOffset)
                }
            case 0x47: // BINFLOAT (big-endian double)
                let b = try r.bytes(8, "BINFLOAT operand")
                try push(.float(Double(bitPattern: b.reduce(UInt64(0)) { ($0 << 8) | UInt64($1) })), r, opOffset)
            case 0x58: // BINUNICODE
                let n = Int(try r.uint(4, "BINUNICODE length"))
                try push(.str(try utf8(r.bytes(n, "BINUNICODE string"), r, opOffset)), r, opOffset)
            case 0x8C: // SHORT_BINUNICODE
                let n = Int(try r.byte("SHORT_BINUNICODE length"))
                try push(.str(try utf8(r.bytes(n, "SHORT_BINUNICODE string"), r, opOffset)), r, opOffset)
            case 0x71: // BINPUT
                try remember(Int(try r.uint(1, "BINPUT index")), r, opOffset)
            case 0x72: // LONG_BINPUT
                try remember(Int(try r.uint(4, "LONG_BINPUT index")), r, opOffset)
            case 0x94: // MEMOIZE
                try remember(memo.count, r, opOffset)
            case 0x68, 0x6A: // BINGET, LONG_BINGET
                let i = Int(try r.uint(op == 0x68 ? 1 : 4, "BINGET index"))
                guard let v = memo[i] else { throw Failure("corrupt pickle: memo entry \(i) not defined \(r.at(opOffset))") }
                try push(v, r, opOffset)
            case 0x74: // TUPLE
                try push(try newTuple(try popMark(r, opOffset), r, opOffset), r, opOffset)
            case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
                try push(try newTuple(try pop(Int(op - 0x84), r, opOffset), r, opOffset), r, opOffset)
            case 0x73: // SETITEM
                let kv = try pop(2, r, opOffset)
                try setItems(kv, r, opOffset)
            case 0x75: // SETITEMS
                let kv = try popMark(r, opOffset)
                guard kv.count % 2 == 0 else { throw Failure("corrupt pickle: odd SETITEMS count \(r.at(opOffset))") }
                try setItems(kv, r, opOffset)
            case 0x61: // APPEND
                try append(try pop(1, r, opOffset), r, opOffset)
            case 0x65: // APPENDS
                try append(try popMark(r, opOffset), r, opOffset)
            case 0x63: // GLOBAL
                let module = try r.line(limit: 200, "GLOBAL module")
                let name = try r.line(limit: 200, "GLOBAL name")
                try push(.callable(try resolve(module, name, r, opOffset)), r, opOffset)
            case 0x93: // STACK_GLOBAL
                let mn = try pop(2, r, opOffset)
                guard case .str(let module) = mn[0], case .str(let name) = mn[1] else {
                    throw Failure("corrupt pickle: STACK_GLOBAL needs two strings \(r.at(opOffset))")
                }
                try push(.callable(try resolve(module, name, r, opOffset)), r, opOffset)
            case 0x52: // REDUCE
                let fa = try pop(2, r, opOffset)
                try push(try call(fa[0], fa[1], r, opOffset), r, opOffset)
            case 0x62: // BUILD: only OrderedDict's `_metadata` attribute (nn.Module.state_dict) is expected; ignored
                let sb = try pop(2, r, opOffset)
                guard case .dict = sb[0] else {
                    throw Failure("unsupported pickle: BUILD on a \(sb[0].kind) \(r.at(opOffset))")
                }
                try push(sb[0], r, opOffset)
            case 0x51: // BINPERSID
                try push(try persistentLoad(try pop(1, r, opOffset)[0], r, opOffset), r, opOffset)
            case 0x2E: // STOP
                let v = try pop(1, r, opOffset)[0]
                guard stack.isEmpty, marks.isEmpty else { throw Failure("corrupt pickle: stack not empty at STOP \(r.at(opOffset))") }
                return v
            default:
                let printable = (0x21...0x7E).contains(op) ? " ('\(Character(Unicode.Scalar(op)))')" : ""
                throw Failure("unsupported pickle opcode 0x\(String(op, radix: 16, uppercase: true))\(printable) "
                    + "\(r.at(opOffset)) (only the opcodes of a PyTorch state dict are accepted)")
            }
        }
    }

    func tuple(_ v: PV) -> [PV]? { if case .tuple(let i) = v { return tuples[i] } else { return nil } }
    func list(_ v: PV) -> [PV]? { if case .list(let i) = v { return lists[i] } else { return nil } }
    func dict(_ v: PV) -> [(PV, PV)]? { if case .dict(let i) = v { return dicts[i] } else { return nil } }

    // MARK: - helpers

    func storage(_ handle: Int) -> StorageRef { storages[handle] }
    func tensor(_ handle: Int) -> TensorRef { tensors[handle] }

    private mutating func push(_ v: PV, _ r: WindowReader, _ at: Int) throws {
        guard stack.count < limits.stack else { throw limitFailure("stack depth", limits.stack, r, at) }
        stack.append(v)
    }

    /// Counts `n` new container values (containers, their elements, storage and tensor records).
    private mutating func count(_ n: Int, _ r: WindowReader, _ at: Int) throws {
        containerValues += n
        guard containerValues <= limits.containerValues else {
            throw limitFailure("containers and their elements", limits.containerValues, r, at)
        }
    }

    private mutating func remember(_ index: Int, _ r: WindowReader, _ at: Int) throws {
        let v = try top(r, at)
        guard memo.count < limits.memo || memo[index] != nil else { throw limitFailure("memo entries", limits.memo, r, at) }
        memo[index] = v
    }

    private func limitFailure(_ what: String, _ limit: Int, _ r: WindowReader, _ at: Int) -> Failure {
        Failure("pickle exceeds the limit of \(limit) \(what) \(r.at(at)): far more than a state dict of its size "
            + "needs, so it was rejected before allocating more")
    }

    private mutating func newTuple(_ items: [PV], _ r: WindowReader, _ at: Int) throws -> PV {
        try count(1 + items.count, r, at)
        tuples.append(items)
        return .tuple(tuples.count - 1)
    }

    private func utf8(_ b: [UInt8], _ r: WindowReader, _ at: Int) throws -> String {
        guard let s = String(bytes: b, encoding: .utf8) else { throw Failure("corrupt pickle: string is not UTF-8 \(r.at(at))") }
        return s
    }

    private func top(_ r: WindowReader, _ at: Int) throws -> PV {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else {
            throw Failure("corrupt pickle: empty stack \(r.at(at))")
        }
        return v
    }

    /// Pops `n` values that lie above the current MARK (a mark is a fence, as in CPython's unpickler).
    private mutating func pop(_ n: Int, _ r: WindowReader, _ at: Int) throws -> [PV] {
        guard stack.count - (marks.last ?? 0) >= n else { throw Failure("corrupt pickle: stack underflow \(r.at(at))") }
        let items = Array(stack[(stack.count - n)...])
        stack.removeLast(n)
        return items
    }

    private mutating func popMark(_ r: WindowReader, _ at: Int) throws -> [PV] {
        guard let m = marks.popLast() else { throw Failure("corrupt pickle: no MARK \(r.at(at))") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func setItems(_ kv: [PV], _ r: WindowReader, _ at: Int) throws {
        guard case .dict(let d) = try top(r, at) else { throw Failure("corrupt pickle: SETITEM(S) target is not a dict \(r.at(at))") }
        try count(kv.count, r, at)
        for i in stride(from: 0, to: kv.count, by: 2) { dicts[d].append((kv[i], kv[i + 1])) }
    }

    private mutating func append(_ items: [PV], _ r: WindowReader, _ at: Int) throws {
        guard case .list(let l) = try top(r, at) else { throw Failure("corrupt pickle: APPEND(S) target is not a list \(r.at(at))") }
        try count(items.count, r, at)
        lists[l].append(contentsOf: items)
    }

    private func resolve(_ module: String, _ name: String, _ r: WindowReader, _ at: Int) throws -> Callable {
        guard let c = Callable.resolve(module: module, name: name) else {
            throw Failure("forbidden global '\(module).\(name)' \(r.at(at)): a state dict may only reference "
                + Callable.allowedList + " (the file was not loaded; nothing was executed)")
        }
        return c
    }

    private func int(_ v: PV, _ what: String, _ r: WindowReader, _ at: Int) throws -> Int {
        guard case .int(let i) = v, i >= 0 else { throw Failure("corrupt tensor record: \(what) is not a non-negative int \(r.at(at))") }
        return i
    }

    private func ints(_ v: PV, _ what: String, _ r: WindowReader, _ at: Int) throws -> [Int] {
        guard let t = tuple(v) else { throw Failure("corrupt tensor record: \(what) is not a tuple \(r.at(at))") }
        return try t.map { try int($0, what, r, at) }
    }

    /// `('storage', storage_type, key, location, numel[, view_metadata])` → a storage reference.
    private mutating func persistentLoad(_ pid: PV, _ r: WindowReader, _ at: Int) throws -> PV {
        guard let t = tuple(pid), t.count == 5 || t.count == 6, case .str("storage") = t[0] else {
            throw Failure("unsupported persistent id (expected a ('storage', ...) tuple) \(r.at(at))")
        }
        guard case .callable(.storageType(let dtype)) = t[1] else {
            throw Failure("unsupported storage type (\(t[1].kind)) in persistent id \(r.at(at))")
        }
        guard case .str(let key) = t[2] else { throw Failure("corrupt persistent id: key is not a string \(r.at(at))") }
        let numel = try int(t[4], "storage numel", r, at)
        var ref = StorageRef(key: key, dtype: dtype, numel: numel, viewOffset: 0, viewNumel: numel)
        if t.count == 6, let view = tuple(t[5]) {
            // Legacy storage view: (view_key, offset, size) inside the root storage `key`.
            guard view.count == 3 else { throw Failure("corrupt persistent id: bad view metadata \(r.at(at))") }
            ref.viewOffset = try int(view[1], "view offset", r, at)
            ref.viewNumel = try int(view[2], "view size", r, at)
            guard ref.viewOffset <= numel, ref.viewNumel <= numel - ref.viewOffset else {
                throw Failure("corrupt persistent id: storage view beyond its root storage \(r.at(at))")
            }
        } else if t.count == 6, case .none = t[5] {
        } else if t.count == 6 {
            throw Failure("corrupt persistent id: bad view metadata \(r.at(at))")
        }
        try count(1, r, at)
        storages.append(ref)
        return .storage(storages.count - 1)
    }

    private mutating func call(_ f: PV, _ argsV: PV, _ r: WindowReader, _ at: Int) throws -> PV {
        guard case .callable(let c) = f else { throw Failure("unsupported pickle: REDUCE on a \(f.kind) \(r.at(at))") }
        guard let args = tuple(argsV) else { throw Failure("corrupt pickle: REDUCE arguments are not a tuple \(r.at(at))") }
        switch c {
        case .orderedDict:
            guard args.isEmpty else { throw Failure("unsupported pickle: OrderedDict called with arguments \(r.at(at))") }
            try count(1, r, at)
            dicts.append([])
            return .dict(dicts.count - 1)
        case .rebuildTensorV2, .rebuildTensor:
            // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            // _rebuild_tensor(storage, storage_offset, size, stride)
            let valid = c == .rebuildTensor ? args.count == 4 : (args.count == 6 || args.count == 7)
            guard valid, case .storage(let handle) = args[0] else {
                throw Failure("corrupt tensor record: unexpected arguments to tensor rebuild \(r.at(at))")
            }
            let shape = try ints(args[2], "size", r, at)
            let strides = try ints(args[3], "stride", r, at)
            guard shape.count == strides.count else {
                throw Failure("corrupt tensor record: size has \(shape.count) dims, stride \(strides.count) \(r.at(at))")
            }
            try count(1, r, at)
            tensors.append(TensorRef(storage: storages[handle], offset: try int(args[1], "storage offset", r, at),
                                     shape: shape, strides: strides))
            return .tensor(tensors.count - 1)
        case .rebuildParameter:
            // _rebuild_parameter(data, requires_grad, backward_hooks): a Parameter is its data here.
            guard args.count == 3, case .tensor = args[0] else {
                throw Failure("corrupt tensor record: unexpected arguments to _rebuild_parameter \(r.at(at))")
            }
            return args[0]
        case .storageType:
            throw Failure("unsupported pickle: storage type called directly \(r.at(at))")
        }
    }
}
