import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
@testable import TradeSyncSources
import TradeSyncStore

/// The ServiceTitan jobs stream synced through a `FaultProxy` in front of the sandbox: what a
/// spoiled response does to a whole run.
@Suite(.serialized) struct FaultProxyTests {
    /// 250 jobs in export pages of 100: three pages, the fault hits from page 2 on.
    static var sandbox: SandboxConfiguration {
        var c = SyncHarness.sandboxConfiguration(jobs: 250)
        c.serviceTitan.exportPageSize = 100
        return c
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var fault: FaultProxy.Fault
        /// What the failed run's error must say.
        var cause: String
        var testDescription: String { "\(fault)" }
    }

    static let cases: [Case] = [
        Case(fault: .truncatedJSON, cause: "not valid JSON"),
        Case(fault: .htmlPage, cause: "an HTML page ('Scheduled maintenance')"),
        Case(fault: .emptyBody, cause: "an empty body"),
        Case(fault: .connectionReset, cause: "connection reset"),
        Case(fault: .wrongShape, cause: "no records list at 'data'"),
        Case(fault: .delay(milliseconds: 3_000), cause: "no response within the request timeout"),
        Case(fault: .serviceUnavailable, cause: "HTTP 503"),
    ]

    /// Short backoff; a request timeout the delay fault outlasts.
    static func retry(for fault: FaultProxy.Fault) -> RetryPolicy {
        var p = RetryPolicy.immediate
        if case .delay = fault { p.requestTimeout = .seconds(1) } else { p.requestTimeout = .seconds(20) }
        return p
    }

    /// Runs `body` with the harness's ServiceTitan connection pointed at a proxy in front of the sandbox.
    static func throughProxy(_ body: @escaping (SyncHarness, FaultProxy, ConnectionRecord) async throws -> Void) async throws {
        try await SyncHarness.with(.sqlite, sandbox: sandbox) { h in
            let proxy = FaultProxy(upstream: h.sandbox.baseURL)
            try await proxy.start()
            do {
                let c = try await h.store.upsertConnection(
                    h.serviceTitan.movingOrigins(OriginMoves([(from: h.sandbox.baseURL, to: proxy.baseURL)])))
                try await body(h, proxy, c)
            } catch {
                await proxy.stop()
                throw error
            }
            // Before the sandbox stops: no forwarded request may still be connecting to it.
            await proxy.stop()
        }
    }

    static func runner(_ h: SyncHarness, _ retry: RetryPolicy) -> SyncRunner {
        SyncRunner(project: h.project, store: h.store, transport: h.transport,
                   resolver: CredentialResolver(environment: h.environment), retry: retry, holder: "fault-proxy-test")
    }

    @Test(arguments: cases)
    func aTransientFaultIsRetriedAndEveryRecordArrivesOnce(_ c: Case) async throws {
        try await Self.throughProxy { h, proxy, connection in
            proxy.inject(.init(pathContains: "/export/jobs", afterMatching: 1, times: 2, fault: c.fault))
            let r = try await Self.runner(h, Self.retry(for: c.fault)).run(connection, options: SyncOptions(streams: ["jobs"]))
            let expected = h.sandbox.serviceTitanRecordCount("jobs")
            #expect(r.status == .success, "\(r.error ?? "")")
            #expect(proxy.faultsFired == 2)
            #expect(r.fetched == expected, "no page lost, none taken twice")
            #expect(r.inserted == expected && r.updated == 0)
            #expect(try await h.count("jobs", connection) == expected)
        }
    }

    @Test(arguments: cases)
    func aPersistentFaultFailsTheRunQuicklyAndNamesTheCause(_ c: Case) async throws {
        try await Self.throughProxy { h, proxy, connection in
            proxy.inject(.init(pathContains: "/export/jobs", afterMatching: 0, times: FaultProxy.Rule.always, fault: c.fault))
            let clock = ContinuousClock()
            let started = clock.now
            let r = try await Self.runner(h, Self.retry(for: c.fault)).run(connection, options: SyncOptions(streams: ["jobs"]))
            let elapsed = clock.now - started
            #expect(r.status == .failed, "not a success, not a 0-record success")
            #expect(r.error?.contains(c.cause) == true, "\(r.error ?? "no error")")
            #expect(r.inserted == 0)
            #expect(elapsed < .seconds(20), "\(elapsed)")
            #expect(try await h.store.cursor(integrationId: connection.id, stream: "jobs") == nil, "no cursor past a page never read")
        }
    }
}

/// A provider that refuses connections: the run fails in seconds and says where and why.
@Suite(.serialized) struct UnreachableProviderTests {
    @Test func aSyncAgainstAClosedPortFailsFastAndNamesHostPortAndCause() async throws {
        try await SyncHarness.with(.sqlite, sandbox: FaultProxyTests.sandbox) { h in
            let closed = try ClosedLoopbackPort()
            defer { withExtendedLifetime(closed) {} }
            let port = closed.port
            let c = try await h.store.upsertConnection(
                h.serviceTitan.movingOrigins(OriginMoves([(from: h.sandbox.baseURL, to: "http://127.0.0.1:\(port)")])))
            // The production policy's attempts with a long backoff (20 s base): waiting it out would
            // take minutes, so a refusal that does not wait is told apart from one that does by far
            // more than a loaded machine's noise.
            var retry = RetryPolicy()
            retry.baseDelay = .seconds(20)
            retry.maxDelay = .seconds(60)
            let runner = SyncRunner(project: h.project, store: h.store, transport: h.transport,
                                    resolver: CredentialResolver(environment: h.environment), retry: retry, holder: "unreachable-test")
            let clock = ContinuousClock()
            let started = clock.now
            let r = try await runner.run(c, options: SyncOptions(streams: ["jobs"]))
            let elapsed = clock.now - started
            #expect(r.status == .failed)
            #expect(r.error?.contains("127.0.0.1:\(port)") == true, "\(r.error ?? "")")
            #expect(r.error?.contains("connection refused") == true, "\(r.error ?? "")")
            // Waiting out the backoff would take 20 + 40 + 60 + 60 s before the jitter; a refused
            // connection fails at once (about 0.6 s here, 7 s seen under a full parallel suite).
            #expect(elapsed < .seconds(18), "\(elapsed)")
        }
    }

    @Test func aRequestToAClosedPortSaysConnectionRefused() async throws {
        let closed = try ClosedLoopbackPort()
        defer { withExtendedLifetime(closed) {} }
        let port = closed.port
        let transport = AsyncHTTPTransport()
        let requester = Requester(transport: transport, authenticator: NoAuthentication(), retry: RetryPolicy())
        let clock = ContinuousClock()
        let started = clock.now
        do {
            _ = try await requester.fetchJSON(HTTPRequestData(url: "http://127.0.0.1:\(port)/v1/things?key=SECRET"))
            Issue.record("expected a transport error")
        } catch {
            #expect("\(error)" == "cannot reach 127.0.0.1:\(port): connection refused (nothing is listening there) (http://127.0.0.1:\(port)/v1/things)")
        }
        #expect(clock.now - started < .seconds(3))
        await transport.shutdown()
    }

    @Test(arguments: [
        ("http://127.0.0.1:8080/a?b=c", "127.0.0.1:8080"), ("https://api.servicetitan.io/jpm", "api.servicetitan.io:443"),
        ("http://example.com", "example.com:80"), ("http://[::1]:9000/x", "[::1]:9000"),
    ])
    func endpointsAreHostAndPort(url: String, expected: String) {
        #expect(endpoint(of: url) == expected)
    }
}

/// A loopback port nothing listens on, held while the test runs: the socket is bound (so the
/// kernel picks a free port) but never listened on, so a connection to it is refused. Closing it
/// at once, as this helper first did, let a server of another test running in parallel take the
/// port, and the "refused" request reached that server instead.
final class ClosedLoopbackPort {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EBADF) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

/// Transport failures in words, whatever library raised them.
@Suite struct TransportCauseTests {
    @Test func causesAreNamed() {
        #expect(TransportCause(IOError(errnoCode: ECONNREFUSED, reason: "connect")) == .connectionRefused)
        #expect(TransportCause(IOError(errnoCode: ECONNRESET, reason: "read")) == .connectionReset)
        #expect(TransportCause(HTTPClientError.remoteConnectionClosed) == .connectionReset)
        #expect(TransportCause(HTTPClientError.deadlineExceeded) == .requestTimeout)
        #expect(TransportCause(HTTPClientError.connectTimeout) == .connectTimeout)
        #expect(TransportCause(HTTPClientError.tlsHandshakeTimeout) == .tlsFailure)
        #expect(TransportCause(ChannelError.connectTimeout(.seconds(10))) == .connectTimeout)
        #expect(TransportCause(text: "NIOSSLError.handshakeFailed(...)") == .tlsFailure)
        #expect(TransportCause(text: "getaddrinfo failed: Name or service not known") == .dnsFailure)
        #expect(TransportCause.connectionRefused.words.contains("connection refused"))
        #expect(TransportCause.connectionRefused.isPersistent && !TransportCause.requestTimeout.isPersistent)
    }
}

/// The provider's words reach the run's error end to end (the sandbox answers like ServiceTitan).
@Suite(.serialized) struct ProviderDetailEndToEndTests {
    @Test(arguments: [
        ("SERVICETITAN_APP_KEY", "HTTP 401", "The ST-App-Key header is missing or not valid for this application."),
        ("SERVICETITAN_CLIENT_SECRET", "token endpoint answered HTTP 400", "invalid_client"),
    ])
    func aWrongCredentialSaysWhichOne(variable: String, status: String, detail: String) async throws {
        try await SyncHarness.with(.sqlite, sandbox: FaultProxyTests.sandbox) { h in
            let base = h.environment
            let environment: @Sendable (String) -> String? = { $0 == variable ? "WRONG-VALUE-123" : base($0) }
            let runner = SyncRunner(project: h.project, store: h.store, transport: h.transport,
                                    resolver: CredentialResolver(environment: environment), retry: .immediate, holder: "detail-test")
            let r = try await runner.run(h.serviceTitan, options: SyncOptions(streams: ["jobs"]))
            #expect(r.status == .failed)
            #expect(r.error?.contains(status) == true, "\(r.error ?? "")")
            #expect(r.error?.contains(detail) == true, "\(r.error ?? "")")
            #expect(r.error?.contains("WRONG-VALUE-123") == false, "secrets never appear in errors")
        }
    }
}

/// A stream declared wrongly (a typo in a path) passes validation; against the sandbox it must
/// fail the run, not sync page 1 and call it done.
@Suite(.serialized) struct MisdeclaredStreamTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var provider: String
        var stream: String
        var change: @Sendable (inout StreamConfig) -> Void
        var error: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "ServiceTitan token_path typo", provider: "servicetitan", stream: "jobs", change: { $0.paginate.edit(PageTokenPagination.self) { $0.tokenPath = JSONPath("continueFromm") } },
             error: "'hasMore' is true but there is no page token at 'continueFromm'"),
        Case(name: "ServiceTitan token_path at a flag", provider: "servicetitan", stream: "jobs", change: { $0.paginate.edit(PageTokenPagination.self) { $0.tokenPath = JSONPath("hasMore") } },
             error: "'hasMore' is a boolean (true), not a page token"),
        Case(name: "ServiceTitan records typo", provider: "servicetitan", stream: "jobs", change: { $0.records = "items" },
             error: "no records list at 'items' (the response has keys 'data', 'hasMore', 'continueFrom')"),
        Case(name: "ServiceTitan has_more_path typo", provider: "servicetitan", stream: "jobs", change: { $0.paginate.edit(PageTokenPagination.self) { $0.hasMorePath = JSONPath("more") } },
             error: "no has-more flag at 'more'"),
        // Google's last page has no token, so a wrong token path looks like a one-page listing;
        // the stated totalReviewCount gives it away.
        Case(name: "Google reviews token_path typo", provider: "google-business-profile", stream: "reviews",
             change: { $0.paginate.edit(PageTokenPagination.self) { $0.tokenPath = JSONPath("nextToken") } }, error: "provider reported 75 records at 'totalReviewCount', received 50"),
    ]

    @Test(arguments: cases)
    func aMisdeclaredStreamFailsTheRun(_ c: Case) async throws {
        try await SyncHarness.with(.sqlite, sandbox: FaultProxyTests.sandbox) { h in
            var project = h.project
            let i = try #require(project.integrations.firstIndex { $0.config.provider == c.provider })
            let s = try #require(project.integrations[i].config.streams.entries.firstIndex { $0.name == c.stream })
            c.change(&project.integrations[i].config.streams.entries[s].value)
            let connection = c.provider == "servicetitan" ? h.serviceTitan : h.google
            let r = try await h.runner(project: project).run(connection, options: SyncOptions(streams: [c.stream]))
            #expect(r.status == .failed, "\(r.error ?? "")")
            #expect(r.error?.contains(c.error) == true, "\(r.error ?? "")")
        }
    }
}

extension FaultProxyTests {
    /// The token endpoint is behind the same proxies as the API.
    @Test(arguments: [1, FaultProxy.Rule.always])
    func aTokenEndpointAnsweringHTMLIsRetriedThenNamed(times: Int) async throws {
        try await Self.throughProxy { h, proxy, connection in
            proxy.inject(.init(pathContains: "/connect/token", times: times, fault: .htmlPage))
            let r = try await Self.runner(h, .immediate).run(connection, options: SyncOptions(streams: ["technicians"]))
            if times == 1 {
                #expect(r.status == .success, "\(r.error ?? "")")
            } else {
                #expect(r.status == .failed)
                #expect(r.error?.contains("token endpoint answered HTTP 200: the response is an HTML page ('Scheduled maintenance'), not a token") == true,
                        "\(r.error ?? "")")
            }
        }
    }
}

/// The proxy's rules on the wire: which requests a rule hits, and what each fault looks like.
@Suite(.serialized) struct FaultProxyRuleTests {
    @Test func aRuleFiresAfterNMatchesForItsTimesOnMatchingPathsOnly() async throws {
        let sandbox = ProviderSandbox(configuration: FaultProxyTests.sandbox)
        try await sandbox.start()
        let proxy = FaultProxy(upstream: sandbox.baseURL)
        try await proxy.start()
        let transport = AsyncHTTPTransport()
        var statuses: [Int] = []
        var other: [Int] = []
        var bodies: [FaultProxy.Fault: HTTPResponseData] = [:]
        do {
            proxy.inject(.init(pathContains: "/export/jobs", afterMatching: 1, times: 2, fault: .serviceUnavailable))
            for _ in 0..<5 {
                statuses.append(try await transport.send(HTTPRequestData(url: proxy.baseURL + "/servicetitan/jpm/v2/tenant/1/export/jobs"), timeout: .seconds(10)).status)
                other.append(try await transport.send(HTTPRequestData(url: proxy.baseURL + "/servicetitan/crm/v2/tenant/1/export/customers"), timeout: .seconds(10)).status)
            }
            for fault in [FaultProxy.Fault.htmlPage, .emptyBody, .wrongShape] {
                proxy.inject(.init(pathContains: "/x", fault: fault))
                bodies[fault] = try await transport.send(HTTPRequestData(url: proxy.baseURL + "/x"), timeout: .seconds(10))
            }
            proxy.inject(.init(pathContains: "/reset", fault: .connectionReset))
            await #expect(throws: (any Error).self) {
                _ = try await transport.send(HTTPRequestData(url: proxy.baseURL + "/reset"), timeout: .seconds(10))
            }
        } catch {
            Issue.record("\(error)")
        }
        await transport.shutdown()
        await proxy.stop()
        await sandbox.stop()
        // Unauthenticated, so the sandbox answers 401 where the proxy lets the request through.
        #expect(statuses == [401, 503, 503, 401, 401])
        #expect(other == [401, 401, 401, 401, 401])
        #expect(bodies[.htmlPage]?.status == 200 && bodies[.htmlPage]?.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(bodies[.emptyBody]?.status == 200 && bodies[.emptyBody]?.body.isEmpty == true)
        #expect(bodies[.wrongShape]?.bodyText == #"{"unexpected": true}"#)
        #expect(proxy.faultsFired == 6)
    }
}

extension Pagination {
    /// Changes a stream's strategy in place, as a typo in its YAML would.
    mutating func edit<S: PaginationStrategy>(_: S.Type, _ change: (inout S) -> Void) {
        guard var s = strategy as? S else {
            Issue.record("the stream pages with \(kind), not \(S.kind)")
            return
        }
        change(&s)
        strategy = s
    }
}
