import Foundation
import Hummingbird

/// Who may talk to the server.
///
/// Bound to loopback, a request must name the server as `localhost`, `127.0.0.1` or `[::1]` in its
/// Host, and if it carries an Origin, that too: a web page on another site whose name was made to
/// resolve to 127.0.0.1 (DNS rebinding) sends its own name, and gets 403. Bound to any other address,
/// a random token is required as well (as Jupyter does): `?token=…` once (which sets a cookie for the
/// page), the cookie, or `Authorization: Bearer …`.
struct AccessPolicy: Sendable {
    var loopback: Bool
    var token: String?

    static let loopbackNames: Set<String> = ["localhost", "127.0.0.1", "[::1]", "::1"]
    static let cookieName = "txn_token"

    enum Decision: Equatable {
        case allow
        /// Allowed, and the response should set the token cookie.
        case allowSettingCookie
        case deny(String)
    }

    /// The host name of a Host or authority value, without the port, lowercased.
    static func hostName(_ authority: String) -> String {
        let a = authority.lowercased()
        if a.hasPrefix("["), let close = a.firstIndex(of: "]") { return String(a[...close]) }
        if let colon = a.lastIndex(of: ":"), a.firstIndex(of: ":") == colon { return String(a[..<colon]) }
        return a
    }

    func check(authority: String?, origin: String?, queryToken: String?, cookieToken: String?, bearer: String?) -> Decision {
        if loopback {
            guard let authority, Self.loopbackNames.contains(Self.hostName(authority)) else {
                return .deny("forbidden: this server answers only to localhost (Host header)")
            }
            if let origin {
                guard let url = URL(string: origin), url.scheme == "http", let host = url.host,
                      Self.loopbackNames.contains(Self.hostName(host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host)) else {
                    return .deny("forbidden: requests from other sites are refused (Origin header)")
                }
            }
            return .allow
        }
        // Not loopback: the token, and a page's Origin must be this server itself.
        if let origin, let authority {
            guard let url = URL(string: origin), let host = url.host,
                  Self.hostName(authority) == Self.hostName(host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host) else {
                return .deny("forbidden: requests from other sites are refused (Origin header)")
            }
        }
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
        let decision = policy.check(authority: request.head.authority, origin: request.headers[.origin],
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
