import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Connections that have not yet sent a whole request head, oldest first. Past `limit`, a new connection closes the
/// oldest of them: a client that sends half a head (or nothing) holds its place only until newer ones need it, so
/// the page is served to a new client however many such connections an attacker opens, not after the idle timeout
/// has cleared a queue of them (3,000 half heads behind a plain connection limit of 512 kept the page waiting for
/// a minute). Connections that have sent a head, an open event stream included, are never closed here.
final class HeadlessConnections: @unchecked Sendable {
    private let lock = NSLock()
    private var waiting: [ObjectIdentifier: (channel: any Channel, since: UInt64)] = [:]
    private var counter: UInt64 = 0
    let limit: Int

    init(limit: Int) { self.limit = max(1, limit) }

    var count: Int { lock.lock(); defer { lock.unlock() }; return waiting.count }

    fileprivate func opened(_ channel: any Channel) {
        lock.lock()
        let key = ObjectIdentifier(channel)
        guard waiting[key] == nil else { return lock.unlock() }
        counter += 1
        waiting[key] = (channel, counter)
        var shed: (any Channel)?
        if waiting.count > limit, let oldest = waiting.min(by: { $0.value.since < $1.value.since }) {
            waiting[oldest.key] = nil
            shed = oldest.value.channel
        }
        lock.unlock()
        shed?.close(promise: nil)
    }

    /// The head arrived, or the connection closed: no longer waiting.
    fileprivate func done(_ channel: any Channel) {
        lock.lock(); defer { lock.unlock() }
        waiting[ObjectIdentifier(channel)] = nil
    }
}

/// One connection's watch: registered as waiting when it opens, taken off at its first request head or its end.
final class HeadWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let connections: HeadlessConnections
    private var headSeen = false

    init(_ connections: HeadlessConnections) { self.connections = connections }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { connections.opened(context.channel) }
    }

    func channelActive(context: ChannelHandlerContext) {
        connections.opened(context.channel)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !headSeen, case .head = unwrapInboundIn(data) {
            headSeen = true
            connections.done(context.channel)
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connections.done(context.channel)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connections.done(context.channel)
    }
}
