import Foundation
import NIOCore

/// Knows the listening channel and every open connection, so that `stop()` can close them
/// instead of cancelling the server task.
///
/// Why not cancel: if a connection is accepted while Hummingbird's accept loop is being
/// cancelled, the connection's async wrapper is dropped unfinished and NIO stops the process
/// ("Deinited NIOAsyncWriter without calling finish()"). Closing the listening channel ends
/// the accept loop normally (every accepted connection is still handed over); closing the
/// connections then ends their handlers, and the server returns by itself.
final class ConnectionTracker: @unchecked Sendable {
    private let lock = NSLock()
    private var listener: (any Channel)?
    private var connections: [ObjectIdentifier: any Channel] = [:]
    private var closing = false

    func serverStarted(_ channel: any Channel) {
        lock.lock()
        let closeNow = closing
        listener = channel
        lock.unlock()
        if closeNow { channel.close(promise: nil) }
    }

    func opened(_ channel: any Channel) {
        lock.lock()
        let closeNow = closing
        if !closeNow { connections[ObjectIdentifier(channel)] = channel }
        lock.unlock()
        if closeNow { channel.close(promise: nil) }
    }

    func closed(_ channel: any Channel) {
        lock.lock()
        connections[ObjectIdentifier(channel)] = nil
        lock.unlock()
    }

    /// Stops accepting, then closes every connection (and any still being set up later).
    func closeAll() async {
        if let listener = beginClosing() {
            try? await listener.close()
        }
        for channel in takeConnections() { channel.close(promise: nil) }
    }

    private func beginClosing() -> (any Channel)? {
        lock.withLock {
            closing = true
            return listener
        }
    }

    private func takeConnections() -> [any Channel] {
        lock.withLock {
            defer { connections.removeAll() }
            return Array(connections.values)
        }
    }

    /// The per-connection handler that reports to the tracker.
    func handler() -> ConnectionTrackingHandler { ConnectionTrackingHandler(tracker: self) }
}

final class ConnectionTrackingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let tracker: ConnectionTracker

    init(tracker: ConnectionTracker) { self.tracker = tracker }

    func handlerAdded(context: ChannelHandlerContext) {
        tracker.opened(context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        tracker.closed(context.channel)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tracker.closed(context.channel)
    }
}
