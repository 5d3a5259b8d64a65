import Foundation
import Hummingbird

/// An error a client caused (or must be told about), answered as `{"error": message}` with a status.
public struct APIError: Error, CustomStringConvertible, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    /// Seconds after which the request may succeed (a busy server's 503): sent as `Retry-After`.
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status.code): \(message)" }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
    static func notFound(_ what: String) -> APIError { APIError(.notFound, "no \(what)") }
}

extension HTTPResponse.Status {
    /// 507 (RFC 4918), which HTTPTypes does not name: the storage quota has no room for the request's file.
    static let insufficientStorage = HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
}

/// JSON bodies: built from plain dictionaries so every response says exactly what it sends.
enum JSON {
    /// Non-finite numbers (a diverged loss) become null rather than invalid JSON.
    static func sanitize(_ value: Any) -> Any {
        switch value {
        case let d as Double: return d.isFinite ? d : NSNull()
        case let f as Float: return f.isFinite ? Double(f) : NSNull()
        case let dict as [String: Any]: return dict.mapValues(sanitize)
        case let list as [Any]: return list.map(sanitize)
        case let list as [Double]: return list.map { $0.isFinite ? $0 as Any : NSNull() }
        default: return value
        }
    }

    static func encode(_ object: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: sanitize(object), options: [.sortedKeys]) else {
            return "{\"error\": \"internal error: unencodable response\"}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func response(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: encode(object))))
    }

    static func error(_ error: APIError) -> Response {
        var answer = response(["error": error.message], status: error.status)
        if let seconds = error.retryAfter { answer.headers[.retryAfter] = String(seconds) }
        return answer
    }

    /// Parses a request body that must be one JSON object.
    static func object(_ bytes: [UInt8]) throws -> [String: JSONValue] {
        guard !bytes.isEmpty else { throw APIError.badRequest("the body is empty; expected a JSON object") }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
            throw APIError.badRequest("the body is not valid JSON")
        }
        guard case .object(let object) = value else { throw APIError.badRequest("expected a JSON object") }
        return object
    }
}

/// Turns every error a handler throws, and every route that does not exist, into a JSON answer:
/// the server never answers with a stack trace or an HTML error page, and never goes down for one.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return JSON.error(error)
        } catch let error as any HTTPResponseError {
            let message: String
            switch error.status {
            case .notFound: message = "not found"
            case .contentTooLarge: message = "the body is too large"
            case .methodNotAllowed: message = "method not allowed"
            default: message = error.status.reasonPhrase
            }
            return JSON.error(APIError(error.status, message))
        } catch {
            context.logger.error("request failed: \(error)")
            return JSON.error(APIError(.internalServerError, "internal error"))
        }
    }
}
