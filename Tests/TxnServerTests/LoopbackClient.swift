import Foundation
@testable import TxnServer
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client over a raw loopback socket: it can send what a browser or an attacker
/// would (any Host header, chunked bodies) and time the answers. Loopback only, with timeouts.
struct LoopbackClient {
    let port: Int
    var timeout: Double = 10

    struct Reply {
        var status: Int
        var head: String
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func connect() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
        return fd
    }

    func send(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw POSIXError(.EPIPE) }
            sent += n
        }
    }

    /// Reads until the connection closes (requests say `Connection: close`), or `until` is satisfied.
    func receive(_ fd: Int32, until done: (([UInt8]) -> Bool)? = nil) -> [UInt8] {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            guard n > 0 else { break }
            data += buffer[0..<n]
            if let done, done(data) { break }
        }
        return data
    }

    static func parse(_ data: [UInt8]) -> Reply {
        guard let end = Multipart.findBytes([13, 10, 13, 10], in: data) else { return Reply(status: 0, head: "", body: data) }
        let head = String(decoding: data[..<end], as: UTF8.self)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        var body = Array(data[(end + 4)...])
        if head.lowercased().contains("transfer-encoding: chunked") { body = dechunk(body) }
        return Reply(status: status, head: head, body: body)
    }

    static func dechunk(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [], i = 0
        while let lineEnd = Multipart.findBytes([13, 10], in: Array(data[i...])) {
            let size = Int(String(decoding: data[i..<(i + lineEnd)], as: UTF8.self), radix: 16) ?? 0
            i += lineEnd + 2
            if size == 0 || i + size > data.count { break }
            out += data[i..<(i + size)]
            i += size + 2
        }
        return out
    }

    /// One request on a fresh connection; returns the reply and the seconds to its last byte.
    func request(_ path: String, method: String = "GET", host: String? = nil, headers: [String] = [],
                 body: [UInt8] = []) throws -> (Reply, Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let fd = try connect()
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(port)")\r\nConnection: close\r\n"
        for h in headers { head += h + "\r\n" }
        if !body.isEmpty && !headers.contains(where: { $0.lowercased().hasPrefix("transfer-encoding") }) {
            head += "Content-Length: \(body.count)\r\n"
        }
        try send(fd, Array((head + "\r\n").utf8) + body)
        let reply = Self.parse(receive(fd))
        return (reply, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}

extension Multipart {
    static func findBytes(_ needle: [UInt8], in haystack: [UInt8]) -> Int? { find(needle, in: haystack, from: 0) }
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)]
}
