import Foundation
import HTTPTypes
import Hummingbird

/// Who may talk to the server: the one place of the Host and Origin rules.
///
/// Bound to loopback, a request must name the server as `localhost`, `127.0.0.1` or `[::1]` in its
/// Host: a web page on another site whose name was made to resolve to 127.0.0.1 (DNS rebinding) sends
/// its own name, and gets 403. A request must carry one Host header, and a well-formed one (`name` or
/// `name:port`, nothing after the port or the bracket). If it carries an Origin, that must be this
/// server's own origin: the scheme, name and port the request's Host names (so a page on
/// `http://localhost:8080` cannot drive a server on port 5000). Bound to any other address, a random
/// token is required as well (as Jupyter does): `?token=…` once (which sets a cookie for the page), the
/// cookie, or `Authorization: Bearer …`; the Origin rule is the same, and an Origin without a Host is refused.
struct AccessPolicy: Sendable {
    var loopback: Bool
    var token: String?

    static let loopbackNames: Set<String> = ["localhost", "127.0.0.1", "[::1]"]
    static let cookieName = "txn_token"

    enum Decision: Equatable {
        case allow
        /// Allowed, and the response should set the token cookie.
        case allowSettingCookie
        case deny(String)
    }

    /// A Host value or an Origin's authority: a lowercased name (IPv6 in brackets) and the port if one was given.
    struct Authority: Equatable {
        var host: String
        var port: Int?
    }

    /// Parses `name`, `name:port`, `[v6]` or `[v6]:port` strictly: nil for anything else (`[::1]evil.com`,
    /// `localhost:evil`, `a:1:2`, a user part, a path, an empty name).
    static func authority(_ value: String) -> Authority? {
        // Bytes, not Characters: a combining mark must not make "b\u{301}" pass as a letter.
        func isDigit(_ b: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) }
        func isLetterOrDigit(_ b: UInt8) -> Bool { isDigit(b) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) }
        func isHex(_ b: UInt8) -> Bool { isDigit(b) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(b) }
        let colonByte = UInt8(ascii: ":"), dot = UInt8(ascii: ".")
        let a = value.lowercased()
        let host: Substring, rest: Substring
        if a.hasPrefix("[") {
            guard let close = a.firstIndex(of: "]") else { return nil }
            host = a[...close]
            rest = a[a.index(after: close)...]
            guard host.utf8.count > 2, host.utf8.dropFirst().dropLast().allSatisfy({ isHex($0) || $0 == colonByte || $0 == dot })
            else { return nil }
        } else {
            let colon = a.firstIndex(of: ":") ?? a.endIndex
            host = a[..<colon]
            rest = a[colon...]
            guard !host.isEmpty, host.utf8.allSatisfy({ isLetterOrDigit($0) || $0 == dot || $0 == UInt8(ascii: "-") }) else { return nil }
        }
        if rest.isEmpty { return Authority(host: String(host), port: nil) }
        let digits = rest.dropFirst()
        guard rest.first == ":", (1...5).contains(digits.utf8.count), digits.utf8.allSatisfy(isDigit),
              let port = Int(digits), (1...65535).contains(port) else { return nil }
        return Authority(host: String(host), port: port)
    }

    /// Whether an Origin (`scheme://authority`, nothing more) is the origin of a server reached as `host` over one
    /// of `schemes` (a loopback server speaks only http; an exposed one may sit behind an https proxy).
    static func origin(_ origin: String, isOriginOf host: Authority, schemes: Set<String>) -> Bool {
        guard let separator = origin.range(of: "://") else { return false }
        let scheme = origin[..<separator.lowerBound].lowercased()
        guard schemes.contains(scheme), let defaultPort = ["http": 80, "https": 443][scheme],
              let from = authority(String(origin[separator.upperBound...])) else { return false }
        return from.host == host.host && (from.port ?? defaultPort) == (host.port ?? defaultPort)
    }

    /// `hostHeaders` is the number of Host headers the request carried (the first one is `authority`).
    func check(authority: String?, hostHeaders: Int = 1, origin: String?, queryToken: String?, cookieToken: String?,
               bearer: String?) -> Decision {
        guard hostHeaders <= 1 else { return .deny("forbidden: the request carries \(hostHeaders) Host headers; one is allowed") }
        let host = authority.flatMap(Self.authority)
        if authority != nil && host == nil { return .deny("forbidden: the Host header is not a valid name[:port]") }
        if loopback {
            guard let host, Self.loopbackNames.contains(host.host) else {
                return .deny("forbidden: this server answers only to localhost, 127.0.0.1 or [::1] (Host header)")
            }
        }
        if let origin {
            guard let host else { return .deny("forbidden: a request with an Origin header must carry a Host header") }
            guard Self.origin(origin, isOriginOf: host, schemes: loopback ? ["http"] : ["http", "https"]) else {
                return .deny("forbidden: requests from other sites are refused (the Origin header is not this server's own origin)")
            }
        }
        if loopback { return .allow }
        guard let token else { return .deny("forbidden: no token configured") }
        if let queryToken, constantTimeEqual(queryToken, token) { return .allowSettingCookie }
        if let cookieToken, constantTimeEqual(cookieToken, token) { return .allow }
        if let bearer, constantTimeEqual(bearer, token) { return .allow }
        return .deny("forbidden: this server needs its token (open the URL it printed, with ?token=…)")
    }
}

func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var d: UInt8 = 0
    for i in 0..<x.count { d |= x[i] ^ y[i] }
    return d == 0
}

struct AccessGuardMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: AccessPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let cookie = request.headers[values: .cookie].flatMap { $0.split(separator: ";") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix(AccessPolicy.cookieName + "=") }
            .map { String($0.dropFirst(AccessPolicy.cookieName.count + 1)) }
        let bearer = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        // The first Host header is the request's authority; any further one stays among the header fields.
        let hostHeaders = (request.head.authority == nil ? 0 : 1) + request.headers[values: HTTPField.Name("Host")!].count
        let decision = policy.check(authority: request.head.authority, hostHeaders: hostHeaders, origin: request.headers[.origin],
                                    queryToken: request.uri.queryParameters.get("token"), cookieToken: cookie, bearer: bearer)
        switch decision {
        case .deny(let message):
            return JSON.error(APIError(.forbidden, message))
        case .allow:
            return try await next(request, context)
        case .allowSettingCookie:
            var response = try await next(request, context)
            if let token = policy.token {
                response.headers[.setCookie] = "\(AccessPolicy.cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict"
            }
            return response
        }
    }
}
