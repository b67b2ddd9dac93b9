public import TradeSyncCore

/// The sync log (`contractor_sync_logs`): a row per run, opened at its start and closed at its
/// end. Record counts are added by each page's write, in the page's transaction.
public protocol RunLog: Sendable {
    /// Opens a `running` row; returns its id.
    func startRun(_ run: SyncRunStart) async throws -> String
    /// Closes the row; a successful or partial run also moves the connection's `last_synced_at`.
    func finishRun(_ run: SyncRunFinish) async throws
    /// Newest first: one connection's runs, or all.
    func runs(integrationId: String?, limit: Int) async throws -> [SyncRunRecord]
}
