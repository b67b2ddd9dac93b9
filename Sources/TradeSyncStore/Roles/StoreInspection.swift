/// Reads for tests and the benchmark only: raw counts and table shapes that no production
/// code path needs. Both stores implement it, but `SyncStore` does not include it, so the
/// engine and the CLI cannot come to depend on it.
public protocol StoreInspection: Sendable {
    /// Which SQL dialect the store speaks (the benchmark labels its results with it).
    var dialect: SQLDialect { get }
    func appliedMigrations() async throws -> [AppliedMigration]
    /// Column names of a table, in order.
    func columns(of table: String) async throws -> [String]
    /// Rows in a table.
    func rowCount(table: String) async throws -> Int
    /// Id mappings of one connection and entity.
    func mappingCount(integrationId: String, entity: String) async throws -> Int
}
