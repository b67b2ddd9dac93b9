import Logging
import TradeSyncCore
import TradeSyncStore

/// What a run does around its streams: the lease, the run log, the connection's status, and
/// where the pages go. Chosen once per run by type (`SyncRunner.run`), so neither the run nor the
/// page loop asks whether it is a dry run: `AppliedRun` writes, `PlannedRun` holds only a
/// read-only view of the store and so cannot.
protocol RunLifecycle: Sendable {
    /// Where each page of the run goes.
    var pages: any PageSink { get }
    /// False for a dry run: reported with the result.
    var applies: Bool { get }
    /// Before anything is fetched. Throws when another process runs the connection.
    func acquire(_ connection: ConnectionRecord, logger: Logger) async throws
    /// Opens the run's row in the run log; nil when the run leaves none.
    func open(_ start: SyncRunStart) async throws -> String?
    /// Runs the streams (a real run renews its lease meanwhile).
    func during<T: Sendable>(_ connection: ConnectionRecord, logger: Logger,
                             _ body: @escaping @Sendable () async throws -> T) async throws -> T
    /// After the streams: closes the run's row and records what the run says of the connection.
    /// `reauthError` (redacted) says why the provider refused the credentials, when it did.
    func close(_ connection: ConnectionRecord, runId: String?, result: RunResult, reauthError: String?) async throws
    /// After a run that threw: closes its row and marks the connection, as far as the store lets.
    func abandon(_ connection: ConnectionRecord, runId: String?, result: RunResult, error: any Error) async
    /// Frees the connection for the next run.
    func release(_ connection: ConnectionRecord) async throws
}

/// A run that writes: one run per connection at a time (a store lease, renewed by a heartbeat
/// and checked by every page write), a row in the run log, the connection's status.
struct AppliedRun: RunLifecycle {
    let store: any RunLeases & RunLog & ConnectionCatalog & RecordWriter
    /// Identifies this process in leases.
    let holder: String
    /// How long a lease lives without renewal; the heartbeat renews it four times as often.
    let leaseSeconds: Int
    /// Failed records kept in the run log's details.
    let keptFailures: Int

    var applies: Bool { true }
    var pages: any PageSink {
        AppliedPages(writer: store, fence: LeaseFence(holder: holder, ttlSeconds: leaseSeconds))
    }

    /// Takes the run lease. A lease held by a dead process on this machine (a sync killed with
    /// SIGKILL) is taken over at once; elsewhere it expires after `leaseSeconds`. Runs the dead
    /// holder left `running` are then marked failed.
    func acquire(_ connection: ConnectionRecord, logger: Logger) async throws {
        try await takeLease(connection, logger: logger)
        let stale = try await store.markInterruptedRuns(integrationId: connection.id)
        if stale > 0 { logger.warning("marked interrupted runs as failed", metadata: ["runs": "\(stale)"]) }
    }

    func takeLease(_ connection: ConnectionRecord, logger: Logger) async throws {
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

    func open(_ start: SyncRunStart) async throws -> String? {
        try await store.startRun(start)
    }

    /// Runs `body` while a heartbeat renews the connection's lease, whatever the body is doing
    /// (a single request may wait minutes on Retry-After). When another process holds the lease,
    /// the body is cancelled and `LeaseLostError` thrown; page writes are fenced as well.
    func during<T: Sendable>(_ connection: ConnectionRecord, logger: Logger,
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

    func close(_ connection: ConnectionRecord, runId: String?, result: RunResult, reauthError: String?) async throws {
        guard let runId else { return }
        try await finish(runId: runId, result: result)
        if let reauthError {
            try await store.setConnectionStatus(id: connection.id, status: .needsReauth, error: reauthError)
        } else if result.status == .success || result.status == .partial {
            try await store.setConnectionStatus(id: connection.id, status: .connected, error: result.error)
        } else if result.status == .failed {
            try await store.setConnectionStatus(id: connection.id, status: .error, error: result.error)
        }
    }

    func abandon(_ connection: ConnectionRecord, runId: String?, result: RunResult, error: any Error) async {
        if error is CancellationError {
            // A worker stopping: the connection is not in error, and the lease goes back now.
            // Unstructured, so that the store calls are not cancelled with the run.
            let store = self.store
            let holder = self.holder
            await Task {
                if let runId { try? await finish(runId: runId, result: result) }
                try? await store.releaseLease(integrationId: connection.id, holder: holder)
            }.value
            return
        }
        if let runId { try? await finish(runId: runId, result: result) }
        // A lost lease belongs to the process that took it: its status and lease are not ours.
        if !(error is LeaseLostError) {
            try? await store.setConnectionStatus(id: connection.id, status: .error, error: result.error)
            try? await store.releaseLease(integrationId: connection.id, holder: holder)
        }
    }

    func release(_ connection: ConnectionRecord) async throws {
        try await store.releaseLease(integrationId: connection.id, holder: holder)
    }

    func finish(runId: String, result: RunResult) async throws {
        let details = RunDetails(result, keptFailures: keptFailures)
        // Fresh statistics after a large run keep the next run's plans on the indexes.
        try await store.finishRun(SyncRunFinish(
            runId: runId, status: result.status, completedAt: currentMicros(), durationMs: result.durationMs,
            errorMessage: result.error, detailsJSON: details.jsonText, analyze: result.inserted > 10_000))
    }
}

/// A dry run: fetches and maps like a run, plans every page against the stored rows, and reports
/// what would change. It holds only the store's read-only view, so it takes no lease, leaves no
/// run-log row, keeps no failures and leaves the connection's status as it was. (Credentials are
/// not its concern: a provider that rotates refresh tokens rotates them on a dry run too, and the
/// authenticator keeps the new one, or the connection would be lost.)
struct PlannedRun: RunLifecycle {
    let records: any RecordReader

    var applies: Bool { false }
    var pages: any PageSink { PlannedPages(records: records) }

    func acquire(_ connection: ConnectionRecord, logger: Logger) async throws {}
    func open(_ start: SyncRunStart) async throws -> String? { nil }
    func during<T: Sendable>(_ connection: ConnectionRecord, logger: Logger,
                             _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await body()
    }
    func close(_ connection: ConnectionRecord, runId: String?, result: RunResult, reauthError: String?) async throws {}
    func abandon(_ connection: ConnectionRecord, runId: String?, result: RunResult, error: any Error) async {}
    func release(_ connection: ConnectionRecord) async throws {}
}
