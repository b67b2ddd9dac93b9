public import TradeSyncCore

/// Creates and upgrades the store's tables from the declared data model (`tradesync migrate`,
/// and every command before it touches data).
public protocol Migrator: Sendable {
    /// Creates or upgrades every table from the declared model. Idempotent.
    func migrate(model: DataModel) async throws -> MigrationReport
}
