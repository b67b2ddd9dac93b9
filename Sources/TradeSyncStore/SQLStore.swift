import TradeSyncCore

/// What the SQLite and PostgreSQL stores share: every statement outside the page write path,
/// written once over an executor and its dialect (`SQLStore+<Role>.swift`, one role each).
/// A subclass brings its connection handling and the record path; it keeps only what differs.
public class SQLStore: StoreLifetime, @unchecked Sendable {
    let sql: any SQLExecutor
    public var dialect: SQLDialect { sql.dialect }

    init(executor: any SQLExecutor) {
        sql = executor
    }

    /// Ends the store's connection or pool; calls after it fail with `StoreError.Kind.closed`.
    public func close() async throws {}
}
