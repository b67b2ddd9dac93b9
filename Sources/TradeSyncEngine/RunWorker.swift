public import Logging
public import ServiceLifecycle
import TradeSyncConfig
import TradeSyncCore
import TradeSyncStore

/// What a worker did with one claimed run.
public struct WorkerStep: Sendable, Equatable {
    public var connectionId: String
    public var connectionKey: String
    /// `success`, `partial`, `failed`, `deferred`, `busy` (another process runs it), `skipped`.
    public var outcome: String
    public var runId: String?
    /// The claim replaced the expired claim of this worker.
    public var takenOverFrom: String?
}

/// One worker: claims a due run from the store's queue, runs it the way `sync` does, records the
/// outcome and the next due time, and claims the next. While a run runs, a heartbeat keeps the
/// claim alive; a worker that dies stops renewing it, and another worker takes the run over
/// once it expires. On graceful shutdown the current run stops at a page boundary (its pages
/// are committed, its cursor saved), the claim is given back unchanged so the run stays due,
/// and the run lease is released.
public struct RunWorker: Service {
    let workspace: Workspace
    let settings: SchedulerSettings
    /// This worker's name in claims: `host:pid:nonce`, like lease holders.
    public let name: String
    let logger: Logger

    public init(workspace: Workspace, settings: SchedulerSettings = SchedulerSettings(), name: String = LeaseHolder.make(),
                logger: Logger? = nil) {
        self.workspace = workspace
        self.settings = settings
        self.name = name
        var logger = logger ?? workspace.inputs.logger
        logger[metadataKey: "worker"] = "\(name)"
        self.logger = logger
    }

    public func run() async throws {
        // Graceful shutdown cancels the loop; ending that way is a clean stop, not an error.
        do { try await loop() } catch is CancellationError {}
    }

    func loop() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let step: WorkerStep?
                do {
                    step = try await runNext()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("worker step failed", metadata: ["error": "\(error)"])
                    step = nil
                }
                if step == nil { try await Task.sleep(for: .milliseconds(settings.pollMilliseconds)) }
            }
        }
    }

    /// Claims and runs one due run; nil when none is due. Throws `CancellationError` when it
    /// was cancelled (the claim is then given back).
    public func runNext() async throws -> WorkerStep? {
        let policy = SchedulePolicy(project: workspace.project, settings: settings)
        let store = workspace.store
        guard let claim = try await store.claimNextRun(worker: name, now: settings.clock.now(),
                                                       claimSeconds: settings.claimSeconds, caps: policy.caps)
        else { return nil }
        var logger = self.logger
        logger[metadataKey: "connection_id"] = "\(claim.integrationId)"
        logger[metadataKey: "streams"] = "\(claim.streams)"
        logger[metadataKey: "integration"] = "\(claim.provider)"
        if let previous = claim.takenOverFrom {
            logger.warning("took over the expired claim of another worker", metadata: ["previous_worker": "\(previous)"])
        }
        guard let connection = try await store.connection(id: claim.integrationId),
            connection.status != .disconnected, workspace.project.integration(connection.integrationType) != nil
        else {
            try await complete(claim, RunCompletion(nextDueAtMicros: nil, attempts: 0, outcome: "skipped"))
            return WorkerStep(connectionId: claim.integrationId, connectionKey: "", outcome: "skipped", runId: nil,
                              takenOverFrom: claim.takenOverFrom)
        }
        logger[metadataKey: "connection"] = "\(connection.connectionKey)"
        let frequency = (try? SyncFrequency(parsing: claim.frequency)) ?? nil
        let options = SyncOptions(streams: streams(of: claim, connection: connection),
                                  syncType: claim.requested ? "manual" : "scheduled")
        let runLogger = logger
        let outcome: Result<RunResult, any Error> = await withTaskGroup(of: Result<RunResult, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await workspace.sync(connection, options: options)) } catch { return .failure(error) }
            }
            group.addTask { await heartbeat(claim, logger: runLogger) }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(CancellationError())
        }
        let now = settings.clock.now()
        let completion: RunCompletion
        var runId: String?
        switch outcome {
        case .success(let result):
            runId = result.runId
            completion = policy.completion(after: result, claim: claim, frequency: frequency, now: now)
            if completion.outcome.hasPrefix("failed"), completion.attempts == 0 {
                try? await store.setConnectionStatus(
                    id: connection.id, status: .error,
                    error: "failed \(policy.maxAttempts(claim.provider)) runs in a row; next try at the scheduled time: \(result.error ?? "failed")")
            }
        case .failure(let error as CancellationError):
            // Shutting down: the run stopped at a page boundary; it stays due and resumes from
            // its cursor on the next worker. The claim goes back without waiting for expiry.
            await afterCancellation { try await store.releaseClaim(integrationId: claim.integrationId, streams: claim.streams, worker: name) }
            logger.info("stopped: the run stays due and resumes from its last committed page")
            throw error
        case .failure(let error as LeaseLostError):
            // Another process owns the connection now; its outcome is its own to record.
            logger.warning("lost the run lease", metadata: ["error": "\(error)"])
            try await store.releaseClaim(integrationId: claim.integrationId, streams: claim.streams, worker: name)
            return WorkerStep(connectionId: connection.id, connectionKey: connection.connectionKey, outcome: "busy",
                              runId: nil, takenOverFrom: claim.takenOverFrom)
        case .failure(RunnerError.alreadyRunning):
            // Another process holds the connection's run lease (another group of it, or a
            // `sync` from the CLI): try again shortly; not a failure, so no attempt is counted.
            completion = RunCompletion(nextDueAtMicros: now + Int64(settings.busyRetrySeconds) * SchedulePolicy.micros,
                                       attempts: claim.attempts, outcome: "busy")
        case .failure(let error):
            // The run threw after opening its log row, or before: its id, if any, for the log line.
            runId = try? await store.runs(integrationId: connection.id, limit: 1).first.flatMap {
                $0.startedAt >= claim.claimedAtMicros - 60 * SchedulePolicy.micros ? $0.id : nil
            }
            logger.error("run failed", metadata: ["error": "\(error)"])
            var failed = RunResult(runId: nil, connectionKey: connection.connectionKey, integration: connection.integrationType,
                                   status: .failed, streams: [], failures: [], durationMs: 0, error: "\(error)", dryRun: false)
            failed.retryAfterSeconds = nil
            completion = policy.completion(after: failed, claim: claim, frequency: frequency, now: now)
            if completion.attempts == 0 {
                try? await store.setConnectionStatus(
                    id: connection.id, status: .error,
                    error: "failed \(policy.maxAttempts(claim.provider)) runs in a row; next try at the scheduled time: \(error)")
            }
        }
        try await complete(claim, completion)
        logger.info("run recorded", metadata: [
            "outcome": "\(completion.outcome)", "run_id": "\(runId ?? "-")",
            "next_due_at": "\(completion.nextDueAtMicros.map { Timestamp.iso8601(micros: $0) } ?? "-")",
        ])
        return WorkerStep(connectionId: connection.id, connectionKey: connection.connectionKey, outcome: completion.outcome,
                          runId: runId, takenOverFrom: claim.takenOverFrom)
    }

    /// The benchmark's claim-only step: claims a due run and completes it at once, on schedule,
    /// without syncing. Measures the queue alone; false when nothing is due.
    public func claimAndComplete() async throws -> Bool {
        let policy = SchedulePolicy(project: workspace.project, settings: settings)
        let now = settings.clock.now()
        guard let claim = try await workspace.store.claimNextRun(worker: name, now: now, claimSeconds: settings.claimSeconds,
                                                                 caps: policy.caps)
        else { return false }
        let frequency = (try? SyncFrequency(parsing: claim.frequency)) ?? nil
        try await complete(claim, RunCompletion(nextDueAtMicros: frequency.flatMap { policy.nextDue($0, after: now) },
                                                attempts: 0, outcome: "claimed"))
        return true
    }

    /// The streams a claimed run syncs: every stream for "sync now" and for a connection whose
    /// streams share one frequency; else the group's own streams (the `*` group: the streams
    /// left at the connection's frequency).
    func streams(of claim: RunClaim, connection: ConnectionRecord) -> [String]? {
        if claim.streams == ScheduleGroup.main {
            if claim.requested { return nil }
            let integration = workspace.project.integration(connection.integrationType)
            return ScheduledConnection.groups(connection, integration: integration).first?.streams
        }
        return claim.streams.split(separator: ",").map(String.init)
    }

    func complete(_ claim: RunClaim, _ completion: RunCompletion) async throws {
        try await workspace.store.completeRun(integrationId: claim.integrationId, streams: claim.streams, worker: name,
                                              completion: completion,
                                              now: settings.clock.now())
    }

    /// Renews the claim until cancelled. Returns nil when cancelled; when the claim is lost
    /// (another worker took it after it expired) it keeps going: the run lease decides who writes.
    func heartbeat(_ claim: RunClaim, logger: Logger) async -> Result<RunResult, any Error>? {
        let interval = Duration.milliseconds(settings.claimSeconds * 1000 / 3)
        while true {
            do {
                try await Task.sleep(for: interval)
                if !(try await workspace.store.renewClaim(integrationId: claim.integrationId, streams: claim.streams, worker: name,
                                                          now: settings.clock.now(), claimSeconds: settings.claimSeconds)) {
                    logger.warning("the run's claim was taken over by another worker")
                }
            } catch is CancellationError {
                return nil
            } catch {
                logger.warning("claim renewal failed, retrying", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Store work that must happen although the task is cancelled (giving a claim back).
    func afterCancellation(_ body: @escaping @Sendable () async throws -> Void) async {
        let task = Task { try await body() }
        do { try await task.value } catch { logger.warning("could not give the claim back", metadata: ["error": "\(error)"]) }
    }
}
