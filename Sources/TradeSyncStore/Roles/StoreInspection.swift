public import TradeSyncCore

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
    /// The raw-payload pages of one connection's stream, with the rows of `entity` that point at each.
    func rawPages(integrationId: String, stream: String, entity: EntityModel) async throws -> [RawPageAccount]
}

/// One kept raw-payload page as stored: the rows it counts as pointing at it (`live`), the rows
/// that do, its records and its deflated size.
public struct RawPageAccount: Sendable, Equatable {
    public var id: Int64
    public var live: Int
    public var pointing: Int
    public var records: Int
    public var bytes: Int
}
