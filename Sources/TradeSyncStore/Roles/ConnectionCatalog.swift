public import TradeSyncCore

/// What can be connected (templates), what is connected (connections) and how each is doing
/// (status, summary): the rows a deploy writes and a UI or `tradesync connections` reads.
public protocol ConnectionCatalog: Sendable {
    func upsertTemplate(_ template: IntegrationTemplate) async throws
    func templates() async throws -> [IntegrationTemplate]

    /// Inserts or updates a connection keyed by (demo id, connection key); returns it with its id.
    func upsertConnection(_ connection: ConnectionRecord) async throws -> ConnectionRecord
    func connections(demoId: String?) async throws -> [ConnectionRecord]
    func connection(id: String) async throws -> ConnectionRecord?
    func setConnectionStatus(id: String, status: ConnectionStatus, error: String?) async throws

    /// One row per connection: its runs and records counted from the run log.
    func summary() async throws -> [IntegrationSummary]
}
