import CDNNL
import Foundation

/// A oneDNN call that failed, with what txn was doing at the time.
public struct DNNLError: Error, CustomStringConvertible {
    public let status: dnnl_status_t
    public let context: String
    /// oneDNN had only its reference kernel for this primitive (refused: see `DNNLPrimitive.create`).
    public var referenceOnly = false

    init(status: dnnl_status_t, context: String, referenceOnly: Bool = false) {
        (self.status, self.context, self.referenceOnly) = (status, context, referenceOnly)
    }
    public var description: String {
        let reason: String
        switch status {
        case dnnl_out_of_memory: reason = "out of memory"
        case dnnl_invalid_arguments: reason = "invalid arguments"
        case dnnl_unimplemented: reason = referenceOnly ? "refused" : "no implementation for these shapes and formats"
        default: reason = "status \(status.rawValue)"
        }
        return "oneDNN: \(context): \(reason)"
    }
}

@inline(__always)
func dnnlCheck(_ status: dnnl_status_t, _ context: @autoclosure () -> String) throws {
    if status != dnnl_success { throw DNNLError(status: status, context: context()) }
}

/// The oneDNN CPU engine and its stream, created once per process.
final class DNNLContext: @unchecked Sendable {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t

    private init() throws {
        var e: dnnl_engine_t?
        try dnnlCheck(dnnl_engine_create(&e, dnnl_cpu, 0), "creating the CPU engine")
        var s: dnnl_stream_t?
        try dnnlCheck(dnnl_stream_create(&s, e, dnnl_stream_default_flags.rawValue), "creating a stream")
        engine = e!
        stream = s!
        Threads.onChange { omp_set_num_threads(Int32($0)) }
    }

    private static let result = Result { try DNNLContext() }
    static func shared() throws -> DNNLContext { try result.get() }
}

/// What oneDNN dispatches to on this CPU, decided once per process (oneDNN honours `ONEDNN_MAX_CPU_ISA`, so an
/// AVX-512 machine told `AVX2` behaves exactly as an AVX2 one). Every place that walks txn's blocked layout takes
/// its channel block from here.
public enum DNNLCPU {
    /// The highest instruction set oneDNN's kernels may use here.
    public static let isa: dnnl_cpu_isa_t = dnnl_get_effective_cpu_isa()

    /// oneDNN's name of `isa`, as in its verbose log and in its implementation names ("avx2", "avx512_core").
    public static var isaName: String {
        let names: [(dnnl_cpu_isa_t, String)] = [
            (dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"), (dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"),
            (dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"), (dnnl_cpu_isa_avx512_core, "avx512_core"),
            (dnnl_cpu_isa_avx512_mic_4ops, "avx512_mic_4ops"), (dnnl_cpu_isa_avx512_mic, "avx512_mic"),
            (dnnl_cpu_isa_avx2_vnni, "avx2_vnni"), (dnnl_cpu_isa_avx2, "avx2"), (dnnl_cpu_isa_avx, "avx"),
            (dnnl_cpu_isa_sse41, "sse41"),
        ]
        return names.first { $0.0 == isa }?.1 ?? (isa == dnnl_cpu_isa_all ? "all" : "isa 0x\(String(isa.rawValue, radix: 16))")
    }

    /// Whether `isa` includes all of `other` (oneDNN's ISAs are bit sets, each a superset of those it extends).
    static func includes(_ other: dnnl_cpu_isa_t) -> Bool { isa.rawValue & other.rawValue == other.rawValue }

    /// Channels per block of the blocked layout: one vector register of floats, 16 with AVX-512 and 8 below it
    /// (AVX2, and the SSE4.1/AVX kernels, which also work on nChw8c). With the other width oneDNN has only its
    /// reference loops, hundreds of times slower.
    public static let block: Int = includes(dnnl_cpu_isa_avx512_core) ? 16 : 8

    /// The block widths txn's own blocked kernels support (and are tested at).
    public static let supportedBlocks = [8, 16]
}

/// Memory formats txn uses with oneDNN.
public enum DNNLFormat: Sendable {
    /// Plain NCHW.
    case nchw
    /// Channels in blocks of `DNNLCPU.block` innermost: [N][C/b][H][W][b], the layout oneDNN's convolutions
    /// read and write without reordering on this CPU (nChw8c on AVX2, nChw16c on AVX-512).
    case blocked
    /// Let the primitive choose (weights).
    case any

    var tag: dnnl_format_tag_t {
        switch self {
        case .nchw: return dnnl_nchw
        case .blocked: return DNNLCPU.block == 16 ? dnnl_nChw16c : dnnl_nChw8c
        case .any: return dnnl_format_tag_any
        }
    }
}

func memoryDesc(_ dims: [Int], _ format: DNNLFormat) throws -> dnnl_memory_desc_t {
    var md = dnnl_memory_desc_t()
    var d = dims.map { dnnl_dim_t($0) }
    try dnnlCheck(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), &d, dnnl_f32, format.tag),
                  "memory descriptor \(dims) \(format)")
    return md
}

/// A 64-byte aligned block of memory that several `DNNLBuffer`s may view in turn, so that buffers
/// whose lifetimes never overlap (ping-pong activations, scratch) share one allocation.
public final class DNNLArena: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let bytes: Int

    public init(bytes: Int) throws {
        let size = max(64, (bytes + 63) & ~63)
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, size) == 0, let raw else {
            throw DNNLError(status: dnnl_out_of_memory, context: "allocating \(size) bytes")
        }
        memset(raw, 0, size)
        pointer = raw.bindMemory(to: Float.self, capacity: size / 4)
        self.bytes = size
    }

    deinit { free(pointer) }
}

/// A oneDNN memory over memory that txn owns (its own arena, or a shared one), so buffers are
/// allocated once per plan and reused across iterations.
public final class DNNLBuffer: @unchecked Sendable {
    var desc: dnnl_memory_desc_t
    let memory: dnnl_memory_t
    let arena: DNNLArena
    public var pointer: UnsafeMutablePointer<Float> { arena.pointer }
    /// Floats in the buffer, including any padding of the layout.
    public let count: Int

    /// A buffer in `arena` (which must be large enough), or in an arena of its own.
    init(_ desc: dnnl_memory_desc_t, in arena: DNNLArena? = nil) throws {
        self.desc = desc
        let bytes = dnnl_memory_desc_get_size(&self.desc)
        let arena = try arena ?? DNNLArena(bytes: bytes)
        guard bytes <= arena.bytes else {
            throw DNNLError(status: dnnl_invalid_arguments, context: "a \(bytes)-byte buffer in a \(arena.bytes)-byte arena")
        }
        self.arena = arena
        count = bytes / 4
        var m: dnnl_memory_t?
        let context = try DNNLContext.shared()
        try dnnlCheck(dnnl_memory_create(&m, &self.desc, context.engine, arena.pointer), "creating a memory")
        memory = m!
    }

    public convenience init(dims: [Int], _ format: DNNLFormat, in arena: DNNLArena? = nil) throws {
        try self.init(memoryDesc(dims, format), in: arena)
    }

    /// Bytes a buffer of these dims and format needs.
    public static func bytes(dims: [Int], _ format: DNNLFormat) throws -> Int {
        var d = try memoryDesc(dims, format)
        return dnnl_memory_desc_get_size(&d)
    }

    deinit { dnnl_memory_destroy(memory) }

    func sameLayout(as other: dnnl_memory_desc_t) -> Bool {
        var o = other
        return dnnl_memory_desc_equal(&desc, &o) != 0
    }
}

/// A created primitive and its descriptor.
///
/// Primitives are created with a user-managed scratchpad: this oneDNN build allows concurrent
/// execution, so a library-managed scratchpad would be one allocation per primitive held for its
/// lifetime (Winograd's transformed tiles are tens of MiB each). Instead a plan binds every
/// primitive to one shared arena (`bindScratchpad`).
public final class DNNLPrimitive: @unchecked Sendable {
    let pd: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    let name: String
    private var scratchpad: DNNLBuffer?

    /// Bytes of scratch memory this primitive needs while it runs.
    var scratchpadBytes: Int {
        var md = desc(dnnl_query_scratchpad_md)
        return dnnl_memory_desc_get_size(&md)
    }

    /// Uses `arena` (shared with other primitives that never run at the same time) as scratch memory.
    func bindScratchpad(_ arena: DNNLArena) throws {
        scratchpad = scratchpadBytes > 0 ? try DNNLBuffer(desc(dnnl_query_scratchpad_md), in: arena) : nil
    }

    /// Takes ownership of `pd`. Every primitive txn makes (layers and reorders alike) comes through here.
    init(pd: dnnl_primitive_desc_t, name: String) throws {
        // oneDNN's reference loops are hundreds of times slower than its JIT kernels (a 128² synthesis ran for
        // ten minutes without a first iteration): never run one, let the caller take its GEMM path instead.
        if let impl = Self.implementationName(pd), impl.hasPrefix("ref") {
            dnnl_primitive_desc_destroy(pd)
            throw DNNLError(status: dnnl_unimplemented, context: "\(name): only oneDNN's reference kernel (\(impl)) on \(DNNLCPU.isaName)",
                            referenceOnly: true)
        }
        self.pd = pd
        self.name = name
        var p: dnnl_primitive_t?
        do {
            try dnnlCheck(dnnl_primitive_create(&p, pd), "creating \(name)")
        } catch {
            dnnl_primitive_desc_destroy(pd)
            throw error
        }
        primitive = p!
        Self.record(implementation)
    }

    private static let createdLock = NSLock()
    nonisolated(unsafe) private static var created: Set<String> = []

    private static func record(_ implementation: String) {
        createdLock.lock()
        created.insert(implementation)
        createdLock.unlock()
    }

    /// Every implementation of every primitive this process has created (reorders included): what the tests
    /// check for oneDNN's reference loops.
    public static var createdImplementations: Set<String> {
        createdLock.lock()
        defer { createdLock.unlock() }
        return created
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(pd)
    }

    func desc(_ query: dnnl_query_t, _ index: Int32 = 0) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(pd, query, index).pointee
    }

    /// The implementation oneDNN chose (e.g. "jit:avx512_core"), for logs and benchmarks.
    var implementation: String { Self.implementationName(pd) ?? "?" }

    static func implementationName(_ pd: dnnl_primitive_desc_t) -> String? {
        var info: UnsafePointer<CChar>?
        _ = withUnsafeMutablePointer(to: &info) { p in
            dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, UnsafeMutableRawPointer(p))
        }
        return info.map { String(cString: $0) }
    }

    func execute(_ args: [(Int32, DNNLBuffer)]) throws {
        let context = try DNNLContext.shared()
        if scratchpad == nil && scratchpadBytes > 0 { try bindScratchpad(DNNLArena(bytes: scratchpadBytes)) }
        var list = args.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.memory) }
        if let scratchpad { list.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: scratchpad.memory)) }
        try dnnlCheck(dnnl_primitive_execute(primitive, context.stream, Int32(list.count), &list), "running \(name)")
        try dnnlCheck(dnnl_stream_wait(context.stream), "waiting for \(name)")
    }

    /// Runs on memory that txn owns elsewhere (arrays), each argument given by its layout and address.
    func execute(pointers args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)]) throws {
        let context = try DNNLContext.shared()
        var memories: [dnnl_memory_t] = []
        defer { memories.forEach { dnnl_memory_destroy($0) } }
        for (_, desc, pointer) in args {
            var d = desc
            var m: dnnl_memory_t?
            try dnnlCheck(dnnl_memory_create(&m, &d, context.engine, pointer), "a memory for \(name)")
            memories.append(m!)
        }
        if scratchpad == nil && scratchpadBytes > 0 { try bindScratchpad(DNNLArena(bytes: scratchpadBytes)) }
        var list = zip(args, memories).map { dnnl_exec_arg_t(arg: $0.0.0, memory: $0.1) }
        if let scratchpad { list.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: scratchpad.memory)) }
        try dnnlCheck(dnnl_primitive_execute(primitive, context.stream, Int32(list.count), &list), "running \(name)")
        try dnnlCheck(dnnl_stream_wait(context.stream), "waiting for \(name)")
    }

    /// A reorder from one layout to another.
    static func reorder(from src: dnnl_memory_desc_t, to dst: dnnl_memory_desc_t) throws -> DNNLPrimitive {
        let context = try DNNLContext.shared()
        var s = src, d = dst
        var pd: dnnl_primitive_desc_t?
        try dnnlCheck(dnnl_reorder_primitive_desc_create(&pd, &s, context.engine, &d, context.engine, nil), "reorder")
        return try DNNLPrimitive(pd: pd!, name: "reorder")
    }

    static func create(_ opDesc: UnsafeRawPointer, attr: dnnl_primitive_attr_t? = nil, hint: DNNLPrimitive? = nil,
                       name: String) throws -> DNNLPrimitive {
        let context = try DNNLContext.shared()
        var ownAttr: dnnl_primitive_attr_t?
        if attr == nil { try dnnlCheck(dnnl_primitive_attr_create(&ownAttr), "attributes") }
        defer { if ownAttr != nil { dnnl_primitive_attr_destroy(ownAttr) } }
        let attributes = attr ?? ownAttr
        try dnnlCheck(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "scratchpad mode")
        var pd: dnnl_primitive_desc_t?
        try dnnlCheck(dnnl_primitive_desc_create(&pd, opDesc.assumingMemoryBound(to: dnnl_op_desc_t.self),
                                                 attributes, context.engine, hint?.pd), "describing \(name)")
        return try DNNLPrimitive(pd: pd!, name: name)
    }
}

/// Copies `src` (any layout) into a new buffer of layout `dst` through a oneDNN reorder.
func reordered(_ src: DNNLBuffer, to dst: dnnl_memory_desc_t) throws -> DNNLBuffer {
    let out = try DNNLBuffer(dst)
    try DNNLPrimitive.reorder(from: src.desc, to: dst).execute([(DNNL_ARG_FROM, src), (DNNL_ARG_TO, out)])
    return out
}
