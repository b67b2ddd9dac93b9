import Foundation
import Logging
import TradeSyncConfig
public import TradeSyncCore
import TradeSyncMapping
import TradeSyncSources
import TradeSyncStore

public struct SyncOptions: Sendable {
    /// Streams to sync; nil = the connection's enabled streams.
    public var streams: [String]?
    /// Ignore stored cursors and read everything again.
    public var fullRefresh = false
    /// Fetch and map, write nothing, report what would change.
    public var dryRun = false
    /// `manual` or `scheduled` (the seed's sync_type).
    public var syncType = "manual"
    /// Called after each page.
    public var progress: (@Sendable (SyncProgress) -> Void)?

    public init(streams: [String]? = nil, fullRefresh: Bool = false, dryRun: Bool = false, syncType: String = "manual",
                progress: (@Sendable (SyncProgress) -> Void)? = nil) {
        self.streams = streams
        self.fullRefresh = fullRefresh
        self.dryRun = dryRun
        self.syncType = syncType
        self.progress = progress
    }
}

public struct SyncProgress: Sendable {
    public var stream: String
    public var pages: Int
    public var fetched: Int
    public var elapsedSeconds: Double
}

public struct RecordFailure: Sendable, Equatable {
    public var stream: String
    public var externalId: String
    public var reason: String
}

public struct StreamResult: Sendable {
    public var stream: String
    public var entity: String
    public var fetched = 0
    public var inserted = 0
    public var updated = 0
    public var unchanged = 0
    public var failed = 0
    public var pages = 0
    /// Kept failed records mapped again at the start of this run, and how many of them now map.
    public var retried = 0
    public var recovered = 0
    /// Rows soft-deleted by the stream's `deletes:` step (a dry run: rows it would mark).
    public var deleted = 0
    /// Why the stream's deletions were held back (`DeleteGuard`): the run ends `partial`.
    public var deletesHeldBack: String?
    public var error: String?
}

public struct RunResult: Sendable {
    public var runId: String?
    public var connectionKey: String
    public var integration: String
    public var status: SyncRunStatus
    public var streams: [StreamResult]
    public var failures: [RecordFailure]
    public var durationMs: Int64
    public var error: String?
    public var dryRun: Bool
    /// A deferred run: when the provider said it is worth trying again (seconds after the run).
    public var retryAfterSeconds: Int? = nil

    public var fetched: Int { streams.reduce(0) { $0 + $1.fetched } }
    public var inserted: Int { streams.reduce(0) { $0 + $1.inserted } }
    public var updated: Int { streams.reduce(0) { $0 + $1.updated } }
    public var unchanged: Int { streams.reduce(0) { $0 + $1.unchanged } }
    public var failed: Int { streams.reduce(0) { $0 + $1.failed } }
    public var deleted: Int { streams.reduce(0) { $0 + $1.deleted } }
    public var recovered: Int { streams.reduce(0) { $0 + $1.recovered } }
}

/// Runs syncs: fetch page by page, map, and write each page with its id mappings, the
/// stream's cursor, its failed records and its run counts in one transaction; one run per
/// connection at a time (a store lease, renewed by a heartbeat and checked by every write).
/// Internal: it is composed of the store and the transport; callers sync through `Workspace`.
struct SyncRunner: Sendable {
    let project: Project
    let store: any SyncStore
    let transport: any HTTPTransport
    let resolver: CredentialResolver
    let retry: RetryPolicy
    let logger: Logger
    /// Identifies this process in leases.
    let holder: String
    /// How long a lease lives without renewal; the heartbeat renews it four times as often.
    let leaseSeconds: Int
    /// Seals tokens at rest; nil when the deployment has no `secrets_key` (then connections that
    /// keep tokens refuse to run, and say how to make a key).
    let sealer: SecretSealer?
    /// Why there is no sealer, when the deployment names a key that cannot be used.
    let keyProblem: SealError?
    /// Named in the refusal without a key.
    let deploymentFile: String
    static let defaultLeaseSeconds = 60
    /// Failed records kept in the run log's details.
    static let keptFailures = 100

    init(project: Project, store: any SyncStore, transport: any HTTPTransport,
         resolver: CredentialResolver = CredentialResolver(), retry: RetryPolicy = RetryPolicy(),
         logger: Logger = Logger(label: "tradesync.sync"),
         holder: String = LeaseHolder.make(), leaseSeconds: Int = SyncRunner.defaultLeaseSeconds,
         sealer: SecretSealer? = nil, keyProblem: SealError? = nil, deploymentFile: String = "the deployment file") {
        self.sealer = sealer
        self.keyProblem = keyProblem
        self.deploymentFile = deploymentFile
        self.project = project
        self.store = store
        self.transport = transport
        self.resolver = resolver
        self.retry = retry
        self.logger = logger
        self.holder = holder
        self.leaseSeconds = max(1, leaseSeconds)
    }

    /// What the streams of one run produced.
    struct StreamsOutcome: Sendable {
        var streams: [StreamResult] = []
        var failures: [RecordFailure] = []
        var deferred = false
        var retryAfterSeconds: Int?
        var reauth: String?
        /// An error that ends the run for every stream (credentials, the token endpoint).
        var fatal: String?
    }

    func run(_ connection: ConnectionRecord, options: SyncOptions = SyncOptions()) async throws -> RunResult {
        let started = currentMicros()
        var logger = self.logger
        logger[metadataKey: "integration"] = "\(connection.integrationType)"
        logger[metadataKey: "connection"] = "\(connection.connectionKey)"
        // Usage errors (an unknown stream, a retired provider) are reported before a run starts.
        let base = try ConnectionRuntime(record: connection, project: project)
        let selected = try selectStreams(base, options.streams)
        // The one place a dry run differs from a run: the lifecycle around the streams and where
        // the pages go (a dry run's lifecycle holds only the store's read-only view).
        let lifecycle: any RunLifecycle = options.dryRun
            ? PlannedRun(records: store)
            : AppliedRun(store: store, holder: holder, leaseSeconds: leaseSeconds, keptFailures: SyncRunner.keptFailures)
        try await lifecycle.acquire(connection, logger: logger)
        var runId: String?
        var result = RunResult(runId: nil, connectionKey: connection.connectionKey, integration: connection.integrationType,
                               status: .running, streams: [], failures: [], durationMs: 0, error: nil,
                               dryRun: !lifecycle.applies)
        var redactor = SecretRedactor()
        do {
            runId = try await lifecycle.open(SyncRunStart(
                integrationId: connection.id, demoId: connection.demoId, entityType: selected.joined(separator: ","),
                syncType: options.syncType, startedAt: started))
            if let runId { logger[metadataKey: "run_id"] = "\(runId)" }
            result.runId = runId
            // Credentials are resolved inside the run, so that one that cannot be resolved leaves a
            // failed run in the log and the reason on the connection.
            // Fields the provider gave on the OAuth callback (QuickBooks realm_id); plain JSON, not secret.
            let callbackFields = base.integration.auth.method is AuthorizationCodeGrant
                ? try await store.loadTokens(integrationId: connection.id)?.callbackFieldsJSON : nil
            let runtime = try base.resolvingCredentials(resolver).withCallbackFields(callbackFields)
            redactor = SecretRedactor(runtime.secretValues)
            let authenticator = try runtime.authenticator(
                store: store, vault: sealer.map { TokenVault(store: store, sealer: $0) },
                keyProblem: keyProblem ?? SealError.noKey(deploymentFile: deploymentFile),
                holder: holder, transport: transport, retry: retry, logger: logger)
            let requester = Requester(transport: transport, authenticator: authenticator, retry: retry, logger: logger,
                                      provider: connection.integrationType)
            let pages = lifecycle.pages
            let outcome = try await lifecycle.during(connection, logger: logger) { [runId, logger, redactor] in
                try await self.syncStreams(selected, runtime: runtime, requester: requester, runId: runId, pages: pages,
                                           options: options, redactor: redactor, logger: logger)
            }
            redactor.add(await authenticator.secretValues())
            result.streams = outcome.streams.map { s in
                var s = s
                s.error = s.error.map(redactor.redact)
                return s
            }
            result.failures = outcome.failures
            let errors = result.streams.compactMap(\.error)
            let heldBack = result.streams.compactMap(\.deletesHeldBack)
            if outcome.deferred {
                result.status = .deferred
                result.retryAfterSeconds = outcome.retryAfterSeconds
            } else if errors.count == selected.count || outcome.reauth != nil || outcome.fatal != nil {
                result.status = .failed
            } else if !errors.isEmpty || result.failed > 0 || !heldBack.isEmpty {
                result.status = .partial
            } else {
                result.status = .success
            }
            let problems = errors + heldBack
            result.error = problems.isEmpty ? nil : problems.joined(separator: "; ")
            result.durationMs = (currentMicros() - started) / 1000
            try await lifecycle.close(connection, runId: runId, result: result,
                                      reauthError: outcome.reauth.map { [redactor] in redactor.redact("invalid_grant: \($0)") })
        } catch {
            let message = error is CancellationError
                ? "interrupted: the worker stopped at a page boundary; the next run resumes from the last committed page"
                : redactor.redact(String(describing: error))
            result.status = .failed
            result.error = message
            result.durationMs = (currentMicros() - started) / 1000
            logger.error("run failed", metadata: ["error": "\(message)"])
            await lifecycle.abandon(connection, runId: runId, result: result, error: error)
            if lifecycle.applies { EngineMetrics.run(result, syncType: options.syncType) }
            if error is CancellationError || error is LeaseLostError { throw error }
            throw RunnerError.runFailed(message)
        }
        try await lifecycle.release(connection)
        if lifecycle.applies { EngineMetrics.run(result, syncType: options.syncType) }
        logger.debug("run finished", metadata: [
            "status": "\(result.status.rawValue)", "inserted": "\(result.inserted)", "updated": "\(result.updated)",
            "unchanged": "\(result.unchanged)", "failed": "\(result.failed)", "duration_ms": "\(result.durationMs)",
        ])
        return result
    }

    /// The streams of one run, in order. A failed stream does not stop the others, except for
    /// failures that would repeat on every stream (authentication), which end the run at once.
    func syncStreams(_ selected: [String], runtime: ConnectionRuntime, requester: Requester, runId: String?,
                     pages: any PageSink, options: SyncOptions, redactor: SecretRedactor,
                     logger: Logger) async throws -> StreamsOutcome {
        var out = StreamsOutcome()
        var run = StreamRun(runner: self, runtime: runtime, requester: requester, options: options, pages: pages,
                            runId: runId, redactor: redactor, logger: logger)
        for name in selected {
            var streamResult = StreamResult(stream: name, entity: runtime.integration.streams[name]?.entity?.value ?? "")
            do {
                try await run.sync(stream: name, into: &streamResult, failures: &out.failures)
            } catch let error as any DispositionedError {
                // The error says what it means for the run; no module's error types are matched here.
                streamResult.error = error.description
                switch error.disposition {
                case .failStream: break
                case .failRun: out.fatal = error.description
                case .deferRun(let seconds):
                    out.deferred = true
                    out.retryAfterSeconds = seconds
                case .reauthorize(let why): out.reauth = why
                }
            } catch let error as CancellationError {
                throw error
            } catch let error as LeaseLostError {
                throw error
            } catch {
                streamResult.error = String(describing: error)
            }
            if let e = streamResult.error {
                logger.error("stream failed", metadata: ["stream": "\(name)", "error": "\(redactor.redact(e))"])
            }
            if !options.dryRun { EngineMetrics.records(streamResult, provider: runtime.integration.provider) }
            out.streams.append(streamResult)
            if out.reauth != nil || out.deferred || out.fatal != nil { break }
        }
        return out
    }

    func selectStreams(_ runtime: ConnectionRuntime, _ requested: [String]?) throws -> [String] {
        let names = requested ?? runtime.streams
        for n in names {
            guard let s = runtime.integration.streams[n] else {
                throw RunnerError.unknownStream(n, integration: runtime.integration.provider)
            }
            if s.lookupOnly { throw RunnerError.configuration("stream '\(n)' is lookup-only: it is fetched when needed") }
        }
        return names
    }
}
