import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A loopback HTTP proxy in front of a provider (usually the sandbox) that spoils chosen
/// responses the way networks, load balancers and half-deployed providers do: cut-off JSON, a
/// maintenance page with status 200, an empty 200, a dropped connection, valid JSON of the
/// wrong shape, a long delay, a 503.
///
/// ```swift
/// let proxy = FaultProxy(upstream: sandbox.baseURL)
/// try await proxy.start()
/// proxy.inject(.init(pathContains: "/export/jobs", afterMatching: 1, times: 2, fault: .htmlPage))
/// // point the connection's base_url at proxy.baseURL …
/// await proxy.stop()                     // before the upstream stops
/// ```
/// Built on plain NIO (not Hummingbird) because a dropped connection means closing the
/// channel without writing a response, which a request/response framework does not offer.
public final class FaultProxy: Sendable {
    public enum Fault: Sendable, Hashable, CustomStringConvertible {
        /// 200 with the upstream body cut in half.
        case truncatedJSON
        /// 200 with an HTML maintenance page (a captive portal or a misrouted load balancer).
        case htmlPage
        /// 200 with no body at all.
        case emptyBody
        /// The connection is closed without any response.
        case connectionReset
        /// 200 with `{"unexpected": true}`: valid JSON, none of the expected fields.
        case wrongShape
        /// Waits, then forwards normally.
        case delay(milliseconds: Int)
        /// 503 from the proxy itself (plain text, no Retry-After).
        case serviceUnavailable

        public var description: String {
            switch self {
            case .truncatedJSON: return "truncated JSON"
            case .htmlPage: return "HTML page with 200"
            case .emptyBody: return "empty 200"
            case .connectionReset: return "connection reset"
            case .wrongShape: return "wrong-shape JSON"
            case .delay(let ms): return "delay \(ms) ms"
            case .serviceUnavailable: return "503"
            }
        }
    }

    /// Fires on requests whose path contains `pathContains` (empty = every request), starting
    /// with the `afterMatching`-th matching request (0 = the next one), `times` times.
    public struct Rule: Sendable {
        public var pathContains: String
        public var afterMatching: Int
        public var times: Int
        public var fault: Fault

        /// `times` for a fault that never stops.
        public static let always = Int.max

        public init(pathContains: String = "", afterMatching: Int = 0, times: Int = 1, fault: Fault) {
            self.pathContains = pathContains
            self.afterMatching = afterMatching
            self.times = times
            self.fault = fault
        }
    }

    public let upstream: String
    private let state = Locked(ProxyState())

    private struct ProxyState {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var client: HTTPClient?
        var rules: [(rule: Rule, matched: Int, fired: Int)] = []
        var tasks: [UUID: Task<Void, Never>] = [:]
        var requests = 0
        var faultsFired = 0
        var stopped = false
    }

    /// - Parameter upstream: `http://host:port` (a path prefix is allowed) requests are forwarded to.
    public init(upstream: String) {
        self.upstream = upstream.hasSuffix("/") ? String(upstream.dropLast()) : upstream
    }

    public struct AlreadyStarted: Error, CustomStringConvertible {
        public var description: String { "the fault proxy is already running" }
    }

    /// Starts listening on loopback (port 0 = any free port).
    public func start(host: String = "127.0.0.1", port: Int = 0) async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init())
        guard state.withLock({ s -> Bool in
            guard s.client == nil, !s.stopped else { return false }
            s.client = client
            return true
        }) else {
            try? await client.shutdown()
            throw AlreadyStarted()
        }
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 128)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(FaultProxyHandler(proxy: self))
                }
            }
        let listener = try await bootstrap.bind(host: host, port: port).get()
        state.withLock { $0.listener = listener }
    }

    /// Stops accepting, drops open connections, cancels requests in flight and waits for them.
    /// Call it before stopping the upstream, so that no forwarded request is left connecting.
    public func stop() async {
        let (listener, connections, tasks, client) = state.withLock { s in
            s.stopped = true
            defer {
                s.listener = nil
                s.connections.removeAll()
                s.tasks.removeAll()
                s.client = nil
            }
            return (s.listener, Array(s.connections.values), Array(s.tasks.values), s.client)
        }
        try? await listener?.close()
        for c in connections { try? await c.close() }
        for t in tasks { t.cancel() }
        for t in tasks { await t.value }
        try? await client?.shutdown()
    }

    public var port: Int { state.withLock { $0.listener?.localAddress?.port ?? 0 } }

    /// `http://127.0.0.1:<port>`
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func inject(_ rule: Rule) { state.withLock { $0.rules.append((rule, 0, 0)) } }

    public func clearFaults() { state.withLock { $0.rules.removeAll() } }

    /// Requests received so far.
    public var requestCount: Int { state.withLock { $0.requests } }

    /// Faults applied so far.
    public var faultsFired: Int { state.withLock { $0.faultsFired } }

    // MARK: serving

    fileprivate func opened(_ channel: any Channel) {
        let closeNow = state.withLock { s -> Bool in
            if !s.stopped { s.connections[ObjectIdentifier(channel)] = channel }
            return s.stopped
        }
        if closeNow { channel.close(promise: nil) }
    }

    fileprivate func closed(_ channel: any Channel) {
        state.withLock { _ = $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Counts the request against every matching rule and returns the first fault that is due.
    private func fault(forPath path: String) -> Fault? {
        state.withLock { s in
            s.requests += 1
            var chosen: Fault?
            for i in s.rules.indices where s.rules[i].rule.pathContains.isEmpty || path.contains(s.rules[i].rule.pathContains) {
                let ordinal = s.rules[i].matched
                s.rules[i].matched += 1
                if chosen == nil, ordinal >= s.rules[i].rule.afterMatching, s.rules[i].fired < s.rules[i].rule.times {
                    s.rules[i].fired += 1
                    chosen = s.rules[i].rule.fault
                }
            }
            if chosen != nil { s.faultsFired += 1 }
            s.rules.removeAll { $0.fired >= $0.rule.times }
            return chosen
        }
    }

    fileprivate func answer(_ request: ProxiedRequest, promise: EventLoopPromise<ProxyAnswer>) {
        let path = String(request.uri.prefix { $0 != "?" })
        let fault = fault(forPath: path.removingPercentEncoding ?? path)
        let id = UUID()
        let started = state.withLock { s -> Bool in
            guard !s.stopped, let client = s.client else { return false }
            s.tasks[id] = Task {
                do {
                    promise.succeed(try await self.produce(request, fault: fault, client: client))
                } catch {
                    promise.fail(error)
                }
                self.state.withLock { _ = $0.tasks.removeValue(forKey: id) }
            }
            return true
        }
        if !started { promise.succeed(.reset) }
    }

    private func produce(_ request: ProxiedRequest, fault: Fault?, client: HTTPClient) async throws -> ProxyAnswer {
        switch fault {
        case nil:
            return try await forward(request, client: client)
        case .truncatedJSON:
            guard case .respond(_, let headers, let body) = try await forward(request, client: client) else { return .reset }
            let cut = body.getSlice(at: body.readerIndex, length: body.readableBytes / 2) ?? ByteBuffer()
            return .respond(.ok, headers, cut.readableBytes > 0 ? cut : ByteBuffer(string: #"{"data":[{"id":1,"na"#))
        case .htmlPage:
            let page = """
                <!DOCTYPE html>
                <html><head><title>Scheduled maintenance</title></head>
                <body><h1>We'll be back shortly</h1><p>The service is undergoing maintenance.</p></body></html>
                """
            return .respond(.ok, [("Content-Type", "text/html; charset=utf-8")], ByteBuffer(string: page))
        case .emptyBody:
            return .respond(.ok, [("Content-Type", "application/json")], ByteBuffer())
        case .connectionReset:
            return .reset
        case .wrongShape:
            return .respond(.ok, [("Content-Type", "application/json")], ByteBuffer(string: #"{"unexpected": true}"#))
        case .delay(let milliseconds):
            try await Task.sleep(for: .milliseconds(max(0, milliseconds)))
            return try await forward(request, client: client)
        case .serviceUnavailable:
            return .respond(.serviceUnavailable, [("Content-Type", "text/plain")],
                            ByteBuffer(string: "upstream connect error or disconnect/reset before headers"))
        }
    }

    /// Headers that belong to one connection, not to the message (RFC 9110 §7.6.1).
    private static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
    ]

    private func forward(_ request: ProxiedRequest, client: HTTPClient) async throws -> ProxyAnswer {
        var outgoing = HTTPClientRequest(url: upstream + request.uri)
        outgoing.method = request.method
        for h in request.headers where !Self.hopByHop.contains(h.name.lowercased()) {
            outgoing.headers.add(name: h.name, value: h.value)
        }
        if request.body.readableBytes > 0 { outgoing.body = .bytes(request.body) }
        let response = try await client.execute(outgoing, timeout: .seconds(120))
        let body = try await response.body.collect(upTo: 256 << 20)
        let headers = response.headers.filter { !Self.hopByHop.contains($0.name.lowercased()) }.map { ($0.name, $0.value) }
        return .respond(response.status, headers, body)
    }
}

struct ProxiedRequest: Sendable {
    var method: HTTPMethod
    var uri: String
    var headers: HTTPHeaders
    var body: ByteBuffer
}

enum ProxyAnswer: Sendable {
    case respond(HTTPResponseStatus, [(String, String)], ByteBuffer)
    /// Close the connection without a response.
    case reset
}

/// One connection: collects a request, asks the proxy for the answer, writes it (or closes).
/// NIO's HTTP server pipeline keeps pipelined requests in order.
final class FaultProxyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let proxy: FaultProxy
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    init(proxy: FaultProxy) { self.proxy = proxy }

    func handlerAdded(context: ChannelHandlerContext) { proxy.opened(context.channel) }

    func channelInactive(context: ChannelHandlerContext) {
        proxy.closed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.clear()
        case .body(var b):
            body.writeBuffer(&b)
        case .end:
            guard let head else { return }
            self.head = nil
            let request = ProxiedRequest(method: head.method, uri: head.uri, headers: head.headers, body: body)
            body = ByteBuffer()
            let keepAlive = head.isKeepAlive
            let promise = context.eventLoop.makePromise(of: ProxyAnswer.self)
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            promise.futureResult.whenComplete { result in
                let (handler, context) = bound.value
                handler.write(result, keepAlive: keepAlive, context: context)
            }
            proxy.answer(request, promise: promise)
        }
    }

    private func write(_ result: Result<ProxyAnswer, any Error>, keepAlive: Bool, context: ChannelHandlerContext) {
        let answer: ProxyAnswer
        switch result {
        case .success(let a): answer = a
        case .failure(let error):
            answer = .respond(.badGateway, [("Content-Type", "text/plain")], ByteBuffer(string: "fault proxy: upstream failed: \(error)"))
        }
        guard case .respond(let status, let extra, let body) = answer, context.channel.isActive else {
            context.close(promise: nil)
            return
        }
        var headers = HTTPHeaders()
        for (name, value) in extra { headers.add(name: name, value: value) }
        headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        if !keepAlive { context.close(promise: nil) }
    }
}
