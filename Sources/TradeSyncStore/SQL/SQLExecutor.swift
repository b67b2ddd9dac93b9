/// Runs statements written once for both stores (`SQLStore`): each store supplies one that
/// speaks its dialect over its own connection handling.
protocol SQLExecutor: Sendable {
    var dialect: SQLDialect { get }
    /// Runs a statement, ignoring any rows. Without binds it may be DDL.
    func execute(_ sql: String, _ binds: [SQLValue]) async throws
    /// Runs a statement and returns all its rows.
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow]
    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws (the
    /// body's own error is rethrown). Inside a transaction, a nested one joins it.
    func transaction<T: Sendable>(_ body: (any SQLExecutor) async throws -> T) async throws -> T
}

extension SQLExecutor {
    func execute(_ sql: String) async throws { try await execute(sql, []) }
    func query(_ sql: String) async throws -> [SQLRow] { try await query(sql, []) }
    /// The first row's first cell as text.
    func text(_ sql: String, _ binds: [SQLValue]) async throws -> String? { try await query(sql, binds).first?.text(0) }
}
