import Foundation
import Hummingbird
import Logging
import NIOCore

/// One local HTTP server emulating ServiceTitan (under `/servicetitan`), Google Business
/// Profile (under `/google`), Jobber (`/jobber`), QuickBooks Online (`/quickbooks`), Yelp Fusion
/// (`/yelp`) and SerpApi (`/serpapi`), each at the provider's own paths, with generated data
/// and injectable faults (docs/sandbox.md).
///
/// ```swift
/// let sandbox = ProviderSandbox()
/// try await sandbox.start()              // 127.0.0.1, any free port
/// // base_url: "\(sandbox.baseURL)/servicetitan", token_url: "\(sandbox.baseURL)/servicetitan/connect/token"
/// await sandbox.stop()
/// ```
/// For a long-running process (the CLI), `runUntilCancelled()` starts the server and returns
/// when the calling task is cancelled.
public final class ProviderSandbox: Sendable {
    public let configuration: SandboxConfiguration
    let core: SandboxCore
    private let server = Locked(ServerState())

    private struct ServerState {
        var task: Task<Void, any Error>?
        var tracker: ConnectionTracker?
        var stopping: Task<Void, Never>?
        var port = 0
        var host = "127.0.0.1"
    }

    /// How long `stop()` lets requests in flight finish before it cancels them.
    static let stopGraceNanoseconds: UInt64 = 2_000_000_000

    public struct AlreadyStarted: Error, CustomStringConvertible {
        public var description: String { "the provider sandbox is already running" }
    }

    public init(configuration: SandboxConfiguration = .init()) {
        self.configuration = configuration
        core = SandboxCore(configuration: configuration)
    }

    // MARK: lifecycle

    /// Starts listening (port 0 = any free port); returns once connections are accepted.
    public func start(host: String = "127.0.0.1", port: Int = 0) async throws {
        let signal = StartSignal()
        let responder = SandboxResponder(core: core)
        let tracker = ConnectionTracker()
        var app = Application(
            responder: responder,
            server: .http1(configuration: .init(additionalChannelHandlers: [tracker.handler()])),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                tracker.serverStarted(channel)
                signal.resolve(.success(channel.localAddress?.port ?? port))
            }
        )
        // Quiet unless LOG_LEVEL asks otherwise: a stopped server is reported by the service
        // group as an error ("Service finished unexpectedly", or a CancellationError when
        // stop() has to cancel), and the CLI prints its own "listening" line. Start failures
        // are thrown, not only logged.
        if ProcessInfo.processInfo.environment["LOG_LEVEL"] == nil {
            app.logger.logLevel = .critical
        }
        let application = app
        let task: Task<Void, any Error>? = server.withLock { state in
            guard state.task == nil else { return nil }
            let task = Task {
                do {
                    try await application.run()
                    signal.resolve(.failure(CancellationError()))
                } catch {
                    signal.resolve(.failure(error))
                    throw error
                }
            }
            state.task = task
            state.tracker = tracker
            state.host = host
            return task
        }
        guard let task else { throw AlreadyStarted() }
        do {
            let bound = try await signal.wait()
            server.withLock { $0.port = bound }
        } catch {
            server.withLock { if $0.task == task { $0.task = nil; $0.tracker = nil } }
            await tracker.closeAll()
            task.cancel()
            throw error
        }
    }

    /// Stops the server and waits until it has stopped: stops accepting, closes every
    /// connection, lets requests in flight finish (at most 2 s, then they are cancelled).
    /// Known upstream hazard: a TCP connection accepted by the kernel in the instant the server
    /// stops can still reach NIO's server channel after its consumer is gone, and NIO traps
    /// ("Deinited NIOAsyncWriter without calling finish()"). Tests therefore stop a sandbox only
    /// when no client is connecting to it.
    public func stop() async {
        let stopping: Task<Void, Never>? = server.withLock { state in
            if let stopping = state.stopping { return stopping }
            guard let task = state.task else { return nil }
            let tracker = state.tracker
            state.task = nil
            state.tracker = nil
            let stopping = Task {
                await tracker?.closeAll()
                await withTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        _ = await task.result
                        return true
                    }
                    group.addTask {
                        do {
                            try await Task.sleep(nanoseconds: ProviderSandbox.stopGraceNanoseconds)
                            return false
                        } catch {
                            return true
                        }
                    }
                    if await group.next() == false { task.cancel() }
                    group.cancelAll()
                }
                _ = await task.result
            }
            state.stopping = stopping
            return stopping
        }
        guard let stopping else { return }
        await stopping.value
        server.withLock { if $0.stopping == stopping { $0.stopping = nil } }
    }

    /// Starts the server (if not yet started) and serves until the calling task is cancelled.
    public func runUntilCancelled(host: String = "127.0.0.1", port: Int = 0) async throws {
        if server.withLock({ $0.task == nil }) {
            try await start(host: host, port: port)
        }
        let task = server.withLock { $0.task }
        await withTaskCancellationHandler {
            _ = await task?.result
        } onCancel: {
            Task { await self.stop() }
        }
        await stop()
    }

    /// The bound port (0 before `start`).
    public var port: Int { server.withLock { $0.port } }

    /// `http://127.0.0.1:<port>`
    public var baseURL: String {
        let (host, port) = server.withLock { ($0.host, $0.port) }
        let shown = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
        return "http://\(shown.contains(":") ? "[\(shown)]" : shown):\(port)"
    }

    // MARK: faults

    public func inject(_ rule: FaultRule) { core.state.withLock { $0.faults.add(rule) } }

    public func clearFaults() { core.state.withLock { $0.faults.clear() } }

    // MARK: Google

    /// A refresh token for the configured Google client, as if an OAuth consent had happened.
    public func issueGoogleRefreshToken() -> String { core.google.issueRefreshToken() }

    public func revokeGoogleRefreshToken(_ token: String) { core.state.withLock { $0.tokens.revokeRefreshToken(token) } }

    /// Whether the emulated user refuses consent (the authorize endpoint then redirects with
    /// `error=access_denied`).
    public func setGoogleConsent(denied: Bool) { core.state.withLock { $0.tokens.denyConsent = denied } }

    /// Whether a Google refresh token is alive.
    public func isGoogleRefreshTokenValid(_ token: String) -> Bool {
        core.state.withLock { $0.tokens.refreshTokens[token] != nil }
    }

    /// Google token requests answered with invalid_grant.
    public var googleInvalidGrantCount: Int { core.state.withLock { $0.tokens.invalidGrants } }

    /// Whether an access token is accepted by the Google APIs now.
    public func isGoogleAccessTokenValid(_ token: String) -> Bool {
        core.state.withLock { $0.tokens.isValid(token, for: .google, now: SandboxTime.now()) }
    }

    public func googleReviewCount() -> Int { core.google.data.reviewCount }

    public func googlePostCount() -> Int { core.google.data.postCount }

    /// Edits the first `count` reviews (in generated order) of the `location`-th location now:
    /// a new updateTime (the sandbox clock) and comment. Returns their review ids.
    @discardableResult
    public func editGoogleReviews(location: Int = 0, count: Int) -> [String] {
        let data = core.google.data
        guard data.locations.indices.contains(location) else { return [] }
        let n = min(max(0, count), data.reviewsPerLocation)
        return core.state.withLock { s in
            (0..<n).map { j in
                s.reviews.edit(location: location, review: j, at: s.nextChangeTime())
                return data.review(location: location, j).id
            }
        }
    }

    // MARK: ServiceTitan

    /// Changes `count` existing jobs now (modifiedOn = the sandbox clock, new summary, next
    /// status) and returns their ids.
    @discardableResult
    public func touchServiceTitanJobs(count: Int) -> [Int64] { core.touchJobs(count: count) }

    /// Appends `count` new (Scheduled) jobs modified now and returns their ids.
    @discardableResult
    public func addServiceTitanJobs(count: Int) -> [Int64] { core.addJobs(count: count) }

    /// Every record the sandbox would return for an entity: "jobs", "customers", "estimates",
    /// "invoices", "technicians", "job-types" (0 for anything else).
    public func serviceTitanRecordCount(_ entity: String) -> Int {
        guard let e = STEntity(rawValue: entity) else { return 0 }
        let base = core.serviceTitan.data.baseCount(e)
        return e == .jobs ? base + core.state.withLock { $0.jobs.added } : base
    }

    // MARK: counters

    /// Requests served so far.
    public var requestCount: Int { core.state.withLock { $0.requestCount } }

    /// Requests to a provider's token endpoint: "servicetitan" or "google".
    public func tokenRequestCount(provider: String) -> Int {
        guard let p = SandboxProvider(rawValue: provider) else { return 0 }
        return core.state.withLock { $0.tokens.requests[p] ?? 0 }
    }
}

/// Resolves once: the bound port, or why the server could not start.
private final class StartSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Int, any Error>?
    private var continuation: CheckedContinuation<Int, any Error>?

    func resolve(_ value: Result<Int, any Error>) {
        lock.lock()
        guard result == nil else {
            lock.unlock()
            return
        }
        result = value
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume(with: value)
    }

    func wait() async throws -> Int {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int, any Error>) in
            lock.lock()
            if let result {
                lock.unlock()
                c.resume(with: result)
            } else {
                continuation = c
                lock.unlock()
            }
        }
    }
}

private struct SandboxResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let core: SandboxCore

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        try await core.respond(to: request)
    }
}
