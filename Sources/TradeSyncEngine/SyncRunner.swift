import Foundation
import Logging
import TradeSyncConfig
import TradeSyncCore
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

    public var fetched: Int { streams.reduce(0) { $0 + $1.fetched } }
    public var inserted: Int { streams.reduce(0) { $0 + $1.inserted } }
    public var updated: Int { streams.reduce(0) { $0 + $1.updated } }
    public var unchanged: Int { streams.reduce(0) { $0 + $1.unchanged } }
    public var failed: Int { streams.reduce(0) { $0 + $1.failed } }
    public var recovered: Int { streams.reduce(0) { $0 + $1.recovered } }
}

/// Runs syncs: fetch page by page, map, and write each page with its id mappings, the
/// stream's cursor, its failed records and its run counts in one transaction; one run per
/// connection at a time (a store lease, renewed by a heartbeat and checked by every write).
public struct SyncRunner: Sendable {
    public let project: Project
    public let store: any SyncStore
    public let transport: any HTTPTransport
    public let resolver: CredentialResolver
    public let retry: RetryPolicy
    public let logger: Logger
    /// Identifies this process in leases.
    public let holder: String
    /// How long a lease lives without renewal; the heartbeat renews it four times as often.
    public let leaseSeconds: Int
    /// Seals tokens at rest; nil when the deployment has no `secrets_key` (then connections that
    /// keep tokens refuse to run, and say how to make a key).
    public let sealer: SecretSealer?
    /// Why there is no sealer, when the deployment names a key that cannot be used.
    public let keyProblem: SealError?
    /// Named in the refusal without a key.
    public let deploymentFile: String
    public static let defaultLeaseSeconds = 60
    /// Failed records kept in the run log's details.
    public static let keptFailures = 100

    public init(project: Project, store: any SyncStore, transport: any HTTPTransport,
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
        var reauth: String?
        /// An error that ends the run for every stream (credentials, the token endpoint).
        var fatal: String?
    }

    public func run(_ connection: ConnectionRecord, options: SyncOptions = SyncOptions()) async throws -> RunResult {
        let started = currentMicros()
        var logger = self.logger
        logger[metadataKey: "integration"] = "\(connection.integrationType)"
        logger[metadataKey: "connection"] = "\(connection.connectionKey)"
        // Usage errors (an unknown stream, a retired provider) are reported before a run starts.
        let base = try ConnectionRuntime(record: connection, project: project)
        let selected = try selectStreams(base, options.streams)
        if !options.dryRun {
            try await takeLease(connection)
            let stale = try await store.markInterruptedRuns(integrationId: connection.id)
            if stale > 0 { logger.warning("marked interrupted runs as failed", metadata: ["runs": "\(stale)"]) }
        }
        var runId: String?
        var result = RunResult(runId: nil, connectionKey: connection.connectionKey, integration: connection.integrationType,
                               status: .running, streams: [], failures: [], durationMs: 0, error: nil, dryRun: options.dryRun)
        var redactor = SecretRedactor()
        do {
            if !options.dryRun {
                runId = try await store.startRun(SyncRunStart(
                    integrationId: connection.id, demoId: connection.demoId, entityType: selected.joined(separator: ","),
                    syncType: options.syncType, startedAt: started))
                logger[metadataKey: "run_id"] = "\(runId ?? "")"
            }
            result.runId = runId
            // Credentials are resolved inside the run, so that one that cannot be resolved leaves a
            // failed run in the log and the reason on the connection.
            // Fields the provider gave on the OAuth callback (QuickBooks realm_id); plain JSON, not secret.
            let callbackFields = base.integration.auth.kind == .oauth2AuthorizationCode
                ? try await store.loadTokens(integrationId: connection.id)?.callbackFieldsJSON : nil
            let runtime = try base.resolvingCredentials(resolver).withCallbackFields(callbackFields)
            redactor = SecretRedactor(runtime.secretValues)
            let authenticator = try runtime.authenticator(
                store: store, vault: sealer.map { TokenVault(store: store, sealer: $0) },
                keyProblem: keyProblem ?? SealError.noKey(deploymentFile: deploymentFile),
                holder: holder, transport: transport, retry: retry, logger: logger)
            let requester = Requester(transport: transport, authenticator: authenticator, retry: retry, logger: logger)
            let work: @Sendable () async throws -> StreamsOutcome = { [runId, logger, redactor] in
                try await self.syncStreams(selected, runtime: runtime, requester: requester, runId: runId,
                                           options: options, redactor: redactor, logger: logger)
            }
            let outcome = options.dryRun ? try await work() : try await withLeaseHeartbeat(connection, logger: logger, work)
            redactor.add(await authenticator.secretValues())
            result.streams = outcome.streams.map { s in
                var s = s
                s.error = s.error.map(redactor.redact)
                return s
            }
            result.failures = outcome.failures
            let errors = result.streams.compactMap(\.error)
            if outcome.deferred {
                result.status = .deferred
            } else if errors.count == selected.count || outcome.reauth != nil || outcome.fatal != nil {
                result.status = .failed
            } else if !errors.isEmpty || result.failed > 0 {
                result.status = .partial
            } else {
                result.status = .success
            }
            result.error = errors.isEmpty ? nil : errors.joined(separator: "; ")
            result.durationMs = (currentMicros() - started) / 1000
            if !options.dryRun, let runId {
                try await finish(runId: runId, result: result)
                if let reauth = outcome.reauth {
                    try await store.setConnectionStatus(
                        id: connection.id, status: .needsReauth, error: redactor.redact("invalid_grant: \(reauth)"))
                } else if result.status == .success || result.status == .partial {
                    try await store.setConnectionStatus(id: connection.id, status: .connected, error: result.error)
                } else if result.status == .failed {
                    try await store.setConnectionStatus(id: connection.id, status: .error, error: result.error)
                }
            }
        } catch {
            let message = redactor.redact(String(describing: error))
            result.status = .failed
            result.error = message
            result.durationMs = (currentMicros() - started) / 1000
            logger.error("run failed", metadata: ["error": "\(message)"])
            if !options.dryRun {
                if let runId { try? await finish(runId: runId, result: result) }
                if !(error is LeaseLostError) {
                    try? await store.setConnectionStatus(id: connection.id, status: .error, error: message)
                    try? await store.releaseLease(integrationId: connection.id, holder: holder)
                }
            }
            if error is CancellationError || error is LeaseLostError { throw error }
            throw RunnerError.runFailed(message)
        }
        if !options.dryRun { try await store.releaseLease(integrationId: connection.id, holder: holder) }
        return result
    }

    /// The streams of one run, in order. A failed stream does not stop the others, except for
    /// failures that would repeat on every stream (authentication), which end the run at once.
    func syncStreams(_ selected: [String], runtime: ConnectionRuntime, requester: Requester, runId: String?,
                     options: SyncOptions, redactor: SecretRedactor, logger: Logger) async throws -> StreamsOutcome {
        var out = StreamsOutcome()
        var run = StreamRun(runner: self, runtime: runtime, requester: requester, options: options, runId: runId,
                            redactor: redactor, logger: logger)
        for name in selected {
            var streamResult = StreamResult(stream: name, entity: runtime.integration.streams[name]?.entity?.value ?? "")
            do {
                try await run.sync(stream: name, into: &streamResult, failures: &out.failures)
            } catch let error as FetchError {
                if case .rateLimited = error { out.deferred = true }
                // A 401 that survives a credential refresh answers every stream the same way.
                if case .http(let status, _, _) = error, status == 401 { out.fatal = error.description }
                streamResult.error = error.description
            } catch AuthError.needsReauthorization(let why) {
                streamResult.error = AuthError.needsReauthorization(why).description
                out.reauth = why
            } catch let error as AuthError {
                streamResult.error = error.description
                out.fatal = error.description
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
            out.streams.append(streamResult)
            if out.reauth != nil || out.deferred || out.fatal != nil { break }
        }
        return out
    }

    /// Runs `body` while a heartbeat renews the connection's lease, whatever the body is doing
    /// (a single request may wait minutes on Retry-After). When another process holds the lease,
    /// the body is cancelled and `LeaseLostError` thrown; page writes are fenced as well.
    func withLeaseHeartbeat<T: Sendable>(_ connection: ConnectionRecord, logger: Logger,
                                         _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let interval = Duration.milliseconds(leaseSeconds * 250)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                while true {
                    try await Task.sleep(for: interval)
                    let held: Bool
                    do {
                        held = try await store.acquireLease(integrationId: connection.id, holder: holder,
                                                            ttlSeconds: leaseSeconds, takeOverFrom: nil)
                    } catch let error as CancellationError {
                        throw error
                    } catch {
                        // The store may be briefly unreachable; the lease outlives a few missed beats.
                        logger.warning("lease renewal failed, retrying", metadata: ["error": "\(error)"])
                        continue
                    }
                    if !held {
                        logger.error("lost the run lease to another process")
                        throw LeaseLostError(holder: holder)
                    }
                }
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw LeaseLostError(holder: holder) }
            return value
        }
    }

    /// Takes the run lease. A lease held by a dead process on this machine (a sync killed
    /// with SIGKILL) is taken over at once; elsewhere it expires after `leaseSeconds`.
    func takeLease(_ connection: ConnectionRecord) async throws {
        if try await store.acquireLease(integrationId: connection.id, holder: holder, ttlSeconds: leaseSeconds,
                                        takeOverFrom: nil) { return }
        if let current = try await store.leaseHolder(integrationId: connection.id), LeaseHolder.isDeadLocalProcess(current),
            try await store.acquireLease(integrationId: connection.id, holder: holder, ttlSeconds: leaseSeconds,
                                         takeOverFrom: current)
        {
            logger.warning("took over the lease of a dead process", metadata: ["previous_holder": "\(current)"])
            return
        }
        throw RunnerError.alreadyRunning(connection.connectionKey)
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

    func finish(runId: String, result: RunResult) async throws {
        var streams = JSONObject()
        for s in result.streams {
            var o = JSONObject()
            o["entity"] = .string(s.entity)
            o["fetched"] = .integer(Int64(s.fetched))
            o["inserted"] = .integer(Int64(s.inserted))
            o["updated"] = .integer(Int64(s.updated))
            o["unchanged"] = .integer(Int64(s.unchanged))
            o["failed"] = .integer(Int64(s.failed))
            o["pages"] = .integer(Int64(s.pages))
            if s.retried > 0 {
                o["retried"] = .integer(Int64(s.retried))
                o["recovered"] = .integer(Int64(s.recovered))
            }
            if let e = s.error { o["error"] = .string(e) }
            streams[s.stream] = .object(o)
        }
        var details = JSONObject()
        details["streams"] = .object(streams)
        details["failures"] = .array(result.failures.prefix(SyncRunner.keptFailures).map {
            ["stream": .string($0.stream), "external_id": .string($0.externalId), "reason": .string($0.reason)]
        })
        // Fresh statistics after a large run keep the next run's plans on the indexes.
        try await store.finishRun(SyncRunFinish(
            runId: runId, status: result.status, completedAt: currentMicros(), durationMs: result.durationMs,
            errorMessage: result.error, detailsJSON: JSONValue.object(details).jsonText, analyze: result.inserted > 10_000))
    }
}

/// A fetched page, already mapped.
struct PreparedPage: Sendable {
    var page: Page
    var records: [MappedRecord]
    var failures: [RecordFailure]
    /// The failed records as they will be kept: raw payload and reason.
    var kept: [FailedRecord]
    /// Largest value of the stream's timestamp cursor field on this page.
    var maxTimestamp: (micros: Int64, text: String)?
    /// `stop_when_older`: the page holds a record older than the stored cursor, so (the listing
    /// being newest first) every later page is older still and is not requested.
    var reachedCursor = false
}

/// Maps one raw record of a stream: the external id, then the mapped row or the failure to keep.
struct RecordPreparer: Sendable {
    let stream: String
    let primaryKey: JSONPath
    let primaryKeyText: String
    let mapper: RecordMapper
    let lookups: LookupTables
    let redactor: SecretRedactor

    enum Outcome {
        case mapped(MappedRecord)
        case failed(RecordFailure, FailedRecord)
    }

    func prepare(_ record: JSONValue) -> Outcome {
        guard let externalId = record.value(at: primaryKey)?.scalarText, !externalId.isEmpty else {
            // Without an id the record is kept under a hash of its content, so that a later run
            // with a corrected primary key can bring it in.
            let raw = record.jsonText
            let key = "(no id) " + MappedRecord(externalId: "", values: [.text(raw)]).contentHash
            let reason = "no primary key at '\(primaryKeyText)'"
            return .failed(RecordFailure(stream: stream, externalId: key, reason: reason),
                           FailedRecord(externalId: key, reason: reason, rawJSON: raw))
        }
        switch mapper.map(record, lookups: lookups) {
        case .success(let values):
            return .mapped(MappedRecord(externalId: externalId, values: values))
        case .failure(let f):
            let reason = redactor.redact(f.description)
            return .failed(RecordFailure(stream: stream, externalId: externalId, reason: reason),
                           FailedRecord(externalId: externalId, reason: reason, rawJSON: record.jsonText))
        }
    }
}

/// Fetches and maps pages one page ahead of the writer, so that HTTP, JSON parsing and mapping
/// overlap with the store's transaction for the previous page.
actor PageSource {
    var paginator: Paginator
    let prepare: @Sendable (Page) -> PreparedPage

    init(_ paginator: Paginator, prepare: @escaping @Sendable (Page) -> PreparedPage) {
        self.paginator = paginator
        self.prepare = prepare
    }

    /// Callers await one page before asking for the next, so the copy cannot race.
    func next() async throws -> PreparedPage? {
        var p = paginator
        let page = try await p.next()
        paginator = p
        return page.map(prepare)
    }
}

/// The state of one run: lookup tables and parent records fetched so far.
struct StreamRun {
    let runner: SyncRunner
    let runtime: ConnectionRuntime
    let requester: Requester
    let options: SyncOptions
    let logger: Logger
    var lookups = LookupTables()
    var fetchedLookups: Set<String> = []
    var parentRecords: [String: [([String: String], [JSONValue])]] = [:]
    /// The run's sync-log row (nil in a dry run): every page adds its counts to it.
    let runId: String?
    let redactor: SecretRedactor

    init(runner: SyncRunner, runtime: ConnectionRuntime, requester: Requester, options: SyncOptions, runId: String?,
         redactor: SecretRedactor, logger: Logger) {
        self.runner = runner
        self.runtime = runtime
        self.requester = requester
        self.options = options
        self.runId = runId
        self.redactor = redactor
        self.logger = logger
    }

    /// Every page write of this run is fenced by the lease and adds to the run's counts.
    func pageWrite(entity: EntityModel, stream: String, records: [MappedRecord], cursor: String?, fetched: Int,
                   failures: [FailedRecord], resolved: [String]) -> PageWrite {
        let connection = runtime.record
        return PageWrite(
            integrationId: connection.id, demoId: connection.demoId, entity: entity, stream: stream, records: records,
            cursor: cursor, now: currentMicros(),
            fence: options.dryRun ? nil : LeaseFence(holder: runner.holder, ttlSeconds: runner.leaseSeconds),
            run: runId.map { RunCounts(runId: $0, fetched: fetched, failed: failures.count) },
            failures: options.dryRun ? [] : failures, resolvedFailures: options.dryRun ? [] : resolved)
    }

    /// Maps the stream's kept failed records again under today's mapping: those that map now are
    /// written (and their kept failure cleared), the others stay kept with today's reason.
    /// Returns the external ids still kept.
    func retryKeptFailures(_ name: String, entity: EntityModel, preparer: RecordPreparer, into result: inout StreamResult,
                           failures: inout [RecordFailure]) async throws -> Set<String> {
        guard !options.dryRun else { return [] }
        let store = runner.store
        let kept = try await store.keptFailures(integrationId: runtime.record.id, stream: name, limit: Int(Int32.max))
        guard !kept.isEmpty else { return [] }
        var stillKept = Set<String>()
        for chunk in stride(from: 0, to: kept.count, by: 1_000).map({ Array(kept[$0..<min($0 + 1_000, kept.count)]) }) {
            var records: [MappedRecord] = []
            var resolved: [String] = []
            var failed: [FailedRecord] = []
            for k in chunk {
                let raw = (try? JSONValue.parse(Array(k.rawJSON.utf8))) ?? .null
                switch preparer.prepare(raw) {
                case .mapped(let record):
                    records.append(record)
                    resolved.append(k.externalId)
                case .failed(let failure, let keep):
                    // Keyed as before, so the kept row is updated rather than doubled.
                    var keep = keep
                    keep.externalId = k.externalId
                    failed.append(keep)
                    failures.append(RecordFailure(stream: failure.stream, externalId: k.externalId, reason: failure.reason))
                    stillKept.insert(k.externalId)
                }
            }
            let outcome = try await store.applyPage(pageWrite(
                entity: entity, stream: name, records: records, cursor: nil, fetched: 0, failures: failed, resolved: resolved))
            result.retried += chunk.count
            result.recovered += records.count
            result.failed += failed.count
            result.inserted += outcome.inserted
            result.updated += outcome.updated
            result.unchanged += outcome.unchanged
        }
        logger.info("retried kept failed records", metadata: [
            "stream": "\(name)", "retried": "\(result.retried)", "recovered": "\(result.recovered)",
        ])
        return stillKept
    }

    var integration: IntegrationConfig { runtime.integration }

    func paginator(_ stream: StreamConfig, parent: [String: String], startToken: String?, cursor: String?) throws -> Paginator {
        var params: [(name: String, value: String)] = []
        for p in stream.request.params.entries {
            params.append((p.name, try runtime.render(p.value, parent: parent, cursor: cursor)))
        }
        if let c = stream.cursor, c.kind == .timestamp, let param = c.param, let cursor {
            params.append((param, cursor))
        }
        if stream.transform == .googleDailyMetrics {
            params += GoogleDailyMetrics.rangeParams(days: 30, todayMicros: currentMicros())
        }
        var headers: [(name: String, value: String)] = []
        for h in integration.auth.headers.entries + stream.request.headers.entries {
            headers.append((h.name, try runtime.render(h.value, parent: parent, cursor: cursor)))
        }
        let path = try runtime.renderPath(stream.request.path.value, parent: parent, cursor: cursor)
        let request = RequestSpec(
            method: stream.request.method.rawValue, url: runtime.url(forPath: path), params: params, headers: headers,
            body: try stream.request.body.map { try runtime.render($0, parent: parent, cursor: cursor) })
        let p = stream.paginate
        let pagination: PaginationSpec
        switch p.kind {
        case .none: pagination = .none
        case .pageNumber:
            pagination = .pageNumber(pageParam: p.pageParam, sizeParam: p.sizeParam, size: p.pageSize, start: p.start ?? 1,
                                     hasMorePath: p.hasMorePath.map(JSONPath.init))
        case .offset:
            pagination = .offset(offsetParam: p.offsetParam, sizeParam: p.sizeParam ?? "limit", size: p.pageSize ?? 100,
                                 start: p.start ?? 0)
        case .pageToken, .continuationToken:
            pagination = .pageToken(tokenParam: p.tokenParam, tokenPath: JSONPath(p.tokenPath), sizeParam: p.sizeParam,
                                    size: p.pageSize, hasMorePath: p.hasMorePath.map(JSONPath.init))
        case .graphqlRelay:
            pagination = .graphqlRelay(sizeVariable: p.sizeParam ?? "first", tokenVariable: p.tokenParam,
                                       tokenPath: JSONPath(p.tokenPath), hasMorePath: JSONPath(p.hasMorePath ?? "pageInfo.hasNextPage"),
                                       size: p.pageSize ?? 50)
        }
        var paginator = Paginator(
            requester: requester, request: request, pagination: pagination, records: JSONPath(stream.records),
            transform: stream.transform == .googleDailyMetrics ? .googleDailyMetrics : .none, startToken: startToken,
            recordsOptional: stream.recordsOptional, totalPath: p.totalPath.map(JSONPath.init))
        paginator.scope = parent["location"]
        return paginator
    }

    /// Every record of a (lookup or parent) stream for one binding context.
    func fetchAll(_ name: String, parent: [String: String]) async throws -> [JSONValue] {
        guard let stream = integration.streams[name] else { throw RunnerError.unknownStream(name, integration: integration.provider) }
        var paginator = try self.paginator(stream, parent: parent, startToken: nil, cursor: nil)
        var out: [JSONValue] = []
        while let page = try await paginator.next() { out += page.records }
        return out
    }

    /// Binding contexts of a stream: one per record of its parent chain.
    mutating func contexts(_ name: String) async throws -> [[String: String]] {
        guard let stream = integration.streams[name], let parent = stream.parent else { return [[:]] }
        var out: [[String: String]] = []
        for ctx in try await contexts(parent.stream.value) {
            let records: [JSONValue]
            if let cached = parentRecords[parent.stream.value]?.first(where: { $0.0 == ctx })?.1 {
                records = cached
            } else {
                records = try await fetchAll(parent.stream.value, parent: ctx)
                parentRecords[parent.stream.value, default: []].append((ctx, records))
            }
            for r in records {
                var c = ctx
                for b in parent.bind.entries { c[b.name] = r.value(at: JSONPath(b.value))?.scalarText ?? "" }
                out.append(c)
            }
        }
        return out
    }

    mutating func prepareLookups(_ rules: [FieldRule]) async throws {
        var needed: [(String, JSONPath)] = []
        func collect(_ rs: [FieldRule]) {
            for r in rs {
                if let l = r.lookup { needed.append((l.stream, l.key)) }
                if let e = r.each { collect(e) }
            }
        }
        collect(rules)
        for (stream, key) in needed where !fetchedLookups.contains(stream) {
            fetchedLookups.insert(stream)
            var records: [JSONValue] = []
            for ctx in try await contexts(stream) { records += try await fetchAll(stream, parent: ctx) }
            lookups.add(stream: stream, records: records, key: key)
            logger.debug("lookup fetched", metadata: ["stream": "\(stream)", "records": "\(records.count)"])
        }
    }

    mutating func sync(stream name: String, into result: inout StreamResult, failures: inout [RecordFailure]) async throws {
        guard let stream = integration.streams[name], let entityName = stream.entity?.value,
            let entity = runner.project.dataModel.entity(entityName)
        else { throw RunnerError.unknownStream(name, integration: integration.provider) }
        guard let mappingName = stream.mapping?.value, let mapping = runner.project.mapping(mappingName) else {
            throw RunnerError.configuration("stream '\(name)' has no mapping")
        }
        let rules = MappingCompiler.rules(mapping)
        try await prepareLookups(rules)
        let preparer = RecordPreparer(
            stream: name, primaryKey: JSONPath(stream.primaryKey), primaryKeyText: stream.primaryKey,
            mapper: RecordMapper(entity: entity, rules: rules), lookups: lookups, redactor: redactor)
        var stillKept = try await retryKeptFailures(name, entity: entity, preparer: preparer, into: &result, failures: &failures)
        let store = runner.store
        let connection = runtime.record
        let storedCursor = options.fullRefresh ? nil : try await store.cursor(integrationId: connection.id, stream: name)
        let contexts = try await contexts(name)
        let continuation = stream.cursor?.kind == .continuationToken
        let timestampField = stream.cursor?.kind == .timestamp ? stream.cursor?.field.map(JSONPath.init) : nil
        // Newest-first listings of providers that cannot filter (stop_when_older) keep one
        // timestamp per fan-out context and stop below it.
        let newestFirst = stream.cursor?.stopWhenOlder == true && timestampField != nil
        let storedNewest = NewestFirstCursor(stored: newestFirst ? storedCursor : nil)
        var newestSeen: [String: (micros: Int64, text: String)] = [:]
        var maxTimestamp: (micros: Int64, text: String)?
        let started = currentMicros()
        let fanOut = stream.parent != nil
        for (contextIndex, ctx) in contexts.enumerated() {
            let contextKey = NewestFirstCursor.key(ctx)
            let contextCursor = newestFirst ? storedNewest.value(for: contextKey) : storedCursor
            let stopBelow: Int64? = newestFirst ? contextCursor.flatMap { Timestamp.parse($0) } : nil
            let paginator = try self.paginator(
                stream, parent: ctx, startToken: continuation ? storedCursor : nil,
                cursor: continuation ? nil : contextCursor)
            let parentObject = JSONValue.object(JSONObject(ctx.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) }))
            let source = PageSource(paginator) { page in
                var prepared = PreparedPage(page: page, records: [], failures: [], kept: [], maxTimestamp: nil)
                prepared.records.reserveCapacity(page.records.count)
                if let stopBelow, let timestampField {
                    // Failed records count too: they are kept, so stopping past them loses nothing.
                    prepared.reachedCursor = page.records.contains { raw in
                        raw.value(at: timestampField)?.scalarText.flatMap { Timestamp.parse($0) }.map { $0 < stopBelow } ?? false
                    }
                }
                for raw in page.records {
                    var record = raw
                    if fanOut, case .object(var o) = raw {
                        o["_parent"] = parentObject
                        record = .object(o)
                    }
                    switch preparer.prepare(record) {
                    case .mapped(let mapped):
                        prepared.records.append(mapped)
                        if let timestampField, let text = record.value(at: timestampField)?.scalarText,
                            let micros = Timestamp.parse(text), micros > (prepared.maxTimestamp?.micros ?? Int64.min)
                        {
                            prepared.maxTimestamp = (micros, text)
                        }
                    case .failed(let failure, let keep):
                        prepared.failures.append(failure)
                        prepared.kept.append(keep)
                    }
                }
                return prepared
            }
            var pending: Task<PreparedPage?, any Error>? = Task { try await source.next() }
            defer { pending?.cancel() }
            while let task = pending, let prepared = try await task.value {
                let page = prepared.page
                // A newest-first listing that reached the stored cursor ends here: the next page is
                // not even requested.
                let ends = page.isLast || prepared.reachedCursor
                pending = ends ? nil : Task { try await source.next() }
                result.pages += 1
                result.fetched += page.records.count
                result.failed += prepared.failures.count
                for f in prepared.failures {
                    logger.warning("record failed mapping", metadata: ["stream": "\(name)", "external_id": "\(f.externalId)", "reason": "\(f.reason)"])
                }
                failures += prepared.failures
                if let m = prepared.maxTimestamp {
                    if m.micros > (maxTimestamp?.micros ?? Int64.min) { maxTimestamp = m }
                    if m.micros > (newestSeen[contextKey]?.micros ?? Int64.min) { newestSeen[contextKey] = m }
                }
                // The cursor moves with the page that reached it: continuation tokens page by page,
                // a timestamp only once the whole stream is in (records need not arrive in order),
                // that is after the last page of the last fan-out context, or the page where a
                // newest-first listing reached the stored cursor. A run that stops earlier leaves
                // the cursor where it was, so the next run reads the same records again.
                // Records that failed are kept in the same transaction, so moving past them loses nothing.
                var cursor: String?
                if continuation {
                    cursor = page.nextToken
                } else if timestampField != nil, ends, contextIndex == contexts.count - 1 {
                    if newestFirst {
                        // Contexts gone since the last run drop out; one without records keeps its entry.
                        var next: [String: String] = [:]
                        for c in contexts {
                            let key = NewestFirstCursor.key(c)
                            if let v = newestSeen[key]?.text ?? storedNewest.value(for: key) { next[key] = v }
                        }
                        cursor = NewestFirstCursor(byContext: next).text
                    } else {
                        cursor = maxTimestamp?.text ?? storedCursor
                    }
                }
                var resolved: [String] = []
                if !stillKept.isEmpty {
                    for r in prepared.records {
                        if stillKept.remove(r.externalId) != nil { resolved.append(r.externalId) }
                    }
                }
                let write = pageWrite(entity: entity, stream: name, records: prepared.records, cursor: cursor,
                                      fetched: page.records.count, failures: prepared.kept, resolved: resolved)
                let outcome = options.dryRun ? try await store.previewPage(write) : try await store.applyPage(write)
                result.inserted += outcome.inserted
                result.updated += outcome.updated
                result.unchanged += outcome.unchanged
                options.progress?(SyncProgress(stream: name, pages: result.pages, fetched: result.fetched,
                                               elapsedSeconds: Double(currentMicros() - started) / 1e6))
            }
        }
    }
}

/// Lease holder names: `host:pid:nonce`, so a lease left by a killed process on this host can
/// be recognised and taken over without waiting for it to expire.
public enum LeaseHolder {
    public static func make() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8).lowercased())"
    }

    public static func isDeadLocalProcess(_ holder: String) -> Bool {
        let parts = holder.split(separator: ":")
        guard parts.count == 3, String(parts[0]) == ProcessInfo.processInfo.hostName, let pid = Int32(parts[1]),
            pid != ProcessInfo.processInfo.processIdentifier
        else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
