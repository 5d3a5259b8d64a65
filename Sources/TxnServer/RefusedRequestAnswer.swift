import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP parser refuses (a URI or header block over the parser's limit, a malformed request
/// line) with a JSON body that says what, instead of Hummingbird's empty 400, then closes the connection.
///
/// It sits after the HTTP codec, where the parser's error passes on its way to the request handler; the error
/// goes no further (the handler would only answer the empty 400).
final class RefusedRequestAnswer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private var answered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // After the answer, the decoder's complaints about the rest of the request are expected: dropped.
        guard !answered else { return }
        guard let parse = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        answered = true
        let (status, message) = Self.answer(parse)
        let body = ByteBuffer(string: JSON.encode(["error": message]))
        var head = HTTPResponse(status: status)
        head.headerFields[.contentType] = "application/json; charset=utf-8"
        head.headerFields[.contentLength] = String(body.readableBytes)
        head.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        // A lingering close: the answer is sent and the output shut, while the rest of the request is still read
        // (and dropped) for a moment, so that closing on unread bytes does not reset the connection and lose the
        // answer before the client has read it.
        let loop = context.eventLoop
        written.futureResult.whenComplete { _ in
            context.close(mode: .output, promise: nil)
            loop.scheduleTask(in: .seconds(2)) { context.close(promise: nil) }
        }
    }

    /// The status and the message for a parser error.
    static func answer(_ error: HTTPParserError) -> (HTTPResponse.Status, String) {
        switch error {
        case .headerOverflow:
            return (.requestHeaderFieldsTooLarge,
                    "the request's URI or headers are too long for this server (refused before they were read whole)")
        case .invalidURL:
            return (.badRequest, "the request's URI is not valid")
        default:
            return (.badRequest, "the request is not valid HTTP/1.1 (\(error))")
        }
    }
}
