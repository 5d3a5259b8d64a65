import CDNNL
import Foundation

/// A oneDNN call that failed, with what txn was doing at the time.
public struct DNNLError: Error, CustomStringConvertible {
    public let status: dnnl_status_t
    public let context: String
    public var description: String {
        let reason: String
        switch status {
        case dnnl_out_of_memory: reason = "out of memory"
        case dnnl_invalid_arguments: reason = "invalid arguments"
        case dnnl_unimplemented: reason = "no implementation for these shapes and formats"
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

/// Memory formats txn uses with oneDNN.
public enum DNNLFormat: Sendable {
    /// Plain NCHW.
    case nchw
    /// Channels in blocks of 16 innermost: [N][C/16][H][W][16], the layout oneDNN's AVX-512
    /// convolutions read and write without reordering.
    case blocked16
    /// Let the primitive choose (weights).
    case any

    var tag: dnnl_format_tag_t {
        switch self {
        case .nchw: return dnnl_nchw
        case .blocked16: return dnnl_nChw16c
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

/// A oneDNN memory over a 64-byte aligned buffer that txn owns, so buffers are allocated once per
/// plan and reused across iterations.
public final class DNNLBuffer: @unchecked Sendable {
    var desc: dnnl_memory_desc_t
    let memory: dnnl_memory_t
    public let pointer: UnsafeMutablePointer<Float>
    /// Floats in the buffer, including any padding of the layout.
    public let count: Int

    init(_ desc: dnnl_memory_desc_t) throws {
        self.desc = desc
        let bytes = max(64, dnnl_memory_desc_get_size(&self.desc))
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            throw DNNLError(status: dnnl_out_of_memory, context: "allocating \(bytes) bytes")
        }
        memset(raw, 0, bytes)
        pointer = raw.bindMemory(to: Float.self, capacity: bytes / 4)
        count = bytes / 4
        var m: dnnl_memory_t?
        let context = try DNNLContext.shared()
        try dnnlCheck(dnnl_memory_create(&m, &self.desc, context.engine, raw), "creating a memory")
        memory = m!
    }

    public convenience init(dims: [Int], _ format: DNNLFormat) throws {
        try self.init(memoryDesc(dims, format))
    }

    deinit {
        dnnl_memory_destroy(memory)
        free(pointer)
    }

    func sameLayout(as other: dnnl_memory_desc_t) -> Bool {
        var o = other
        return dnnl_memory_desc_equal(&desc, &o) != 0
    }
}

/// A created primitive and its descriptor.
final class DNNLPrimitive: @unchecked Sendable {
    let pd: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    let name: String

    /// Takes ownership of `pd`.
    init(pd: dnnl_primitive_desc_t, name: String) throws {
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
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(pd)
    }

    func desc(_ query: dnnl_query_t, _ index: Int32 = 0) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(pd, query, index).pointee
    }

    /// The implementation oneDNN chose (e.g. "jit:avx512_core"), for logs and benchmarks.
    var implementation: String {
        var info: UnsafePointer<CChar>?
        _ = withUnsafeMutablePointer(to: &info) { p in
            dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, UnsafeMutableRawPointer(p))
        }
        return info.map { String(cString: $0) } ?? "?"
    }

    func execute(_ args: [(Int32, DNNLBuffer)]) throws {
        let context = try DNNLContext.shared()
        var list = args.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.memory) }
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
        var pd: dnnl_primitive_desc_t?
        try dnnlCheck(dnnl_primitive_desc_create(&pd, opDesc.assumingMemoryBound(to: dnnl_op_desc_t.self),
                                                 attr, context.engine, hint?.pd), "describing \(name)")
        return try DNNLPrimitive(pd: pd!, name: name)
    }
}

/// Copies `src` (any layout) into a new buffer of layout `dst` through a oneDNN reorder.
func reordered(_ src: DNNLBuffer, to dst: dnnl_memory_desc_t) throws -> DNNLBuffer {
    let out = try DNNLBuffer(dst)
    try DNNLPrimitive.reorder(from: src.desc, to: dst).execute([(DNNL_ARG_FROM, src), (DNNL_ARG_TO, out)])
    return out
}
