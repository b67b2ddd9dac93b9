import TradeSyncCore
import TradeSyncStore

/// What `requestSync` did.
public enum SyncRequestOutcome: String, Sendable, Equatable {
    /// A run is queued now; a worker picks it up.
    case queued
    /// A run was already queued and not yet started: this request joins it.
    case alreadyQueued = "already_queued"
}

/// The connection is not in the store.
public struct UnknownConnectionError: Error, Sendable, CustomStringConvertible {
    public var connectionId: String
    public var description: String { "no connection with id '\(connectionId)'" }
}

extension Workspace {
    /// Queues a run of the connection (its store id) for the next free worker: "sync now".
    /// De-duplicated: while one is queued and not started, asking again queues nothing more.
    public func requestSync(connectionId: String) async throws -> SyncRequestOutcome {
        guard let connection = try await store.connection(id: connectionId) else {
            throw UnknownConnectionError(connectionId: connectionId)
        }
        let queued = try await store.requestRun(integrationId: connection.id, provider: connection.integrationType,
                                                frequency: ScheduledConnection.frequencyText(connection),
                                                now: currentMicros())
        return queued ? .queued : .alreadyQueued
    }

    /// The scheduler's queue, one row per scheduled connection.
    func scheduleEntries() async throws -> [ScheduleEntry] {
        try await store.scheduleEntries()
    }
}
