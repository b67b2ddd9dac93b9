import Logging
import PostgresNIO
import TradeSyncCore

/// The PostgreSQL side of `SQLExecutor`: statements on the pool, or on one connection inside a
/// transaction (postgres-nio's `withTransaction`).
struct PostgresExecutor: SQLExecutor {
    let client: PostgresClient
    let logger: Logger
    /// Set inside a transaction: every statement runs on it.
    var connection: PostgresConnection?

    var dialect: SQLDialect { .postgres }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws {
        _ = try await rows(sql, binds)
    }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await rows(sql, binds).map(PostgresExecutor.row)
    }

    func transaction<T: Sendable>(_ body: (any SQLExecutor) async throws -> T) async throws -> T {
        if connection != nil { return try await body(self) }
        return try await PostgresExecutor.withTransaction(client: client, logger: logger) { c in
            try await body(PostgresExecutor(client: client, logger: logger, connection: c))
        }
    }

    /// `client.withTransaction`, rethrowing what the body threw: callers catch their own errors
    /// (`LeaseLostError`), not postgres-nio's wrapper around them.
    static func withTransaction<T: Sendable>(client: PostgresClient, logger: Logger,
                                             _ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { c in try await body(c) }
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError { throw inner }
            throw StoreError(.database, "PostgreSQL transaction: \(describe(error.beginError ?? error.commitError ?? error))")
        }
    }

    private func rows(_ sql: String, _ binds: [SQLValue]) async throws -> [PostgresRow] {
        let query = PostgresQuery(unsafeSQL: dialect.render(sql, binds), binds: try PostgresExecutor.bindings(binds))
        do {
            if let connection { return try await connection.query(query, logger: logger).collect() }
            return try await client.query(query, logger: logger).collect()
        } catch let error as PSQLError {
            throw PostgresExecutor.storeError(error, sql)
        }
    }

    static func storeError(_ error: PSQLError, _ sql: String) -> StoreError {
        StoreError(kind(error), "PostgreSQL: \(describe(error)) in: \(sql.prefix(200))")
    }

    static func describe(_ error: any Error) -> String {
        guard let e = error as? PSQLError else { return String(describing: error) }
        return e.serverInfo?[.message] ?? String(describing: e.code)
    }

    /// SQLSTATE class 23 is "integrity constraint violation".
    static func kind(_ error: PSQLError) -> StoreError.Kind {
        if error.serverInfo?[.sqlState]?.hasPrefix("23") == true { return .constraint }
        if error.code == .connectionError || error.code == .serverClosedConnection { return .unavailable }
        return .database
    }

    static func bindings(_ values: [SQLValue]) throws -> PostgresBindings {
        var b = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .text(let v), .json(let v): if let v { b.append(v) } else { b.appendNull() }
            case .int(let v): if let v { b.append(v) } else { b.appendNull() }
            case .bool(let v): if let v { b.append(v) } else { b.appendNull() }
            case .timestamp(let v): if let v { b.append(Timestamp.iso8601(micros: v)) } else { b.appendNull() }
            case .blob(let v): if let v { b.append(ByteBuffer(bytes: v)) } else { b.appendNull() }
            }
        }
        return b
    }

    static func row(_ row: PostgresRow) throws -> SQLRow {
        var cells: [SQLCell] = []
        for cell in row {
            guard cell.bytes != nil else {
                cells.append(.null)
                continue
            }
            switch cell.dataType {
            case .bool: cells.append(.bool(try cell.decode(Bool.self)))
            case .int2: cells.append(.int(Int64(try cell.decode(Int16.self))))
            case .int4: cells.append(.int(Int64(try cell.decode(Int32.self))))
            case .int8: cells.append(.int(try cell.decode(Int64.self)))
            case .bytea:
                var buffer = try cell.decode(ByteBuffer.self)
                cells.append(.blob(buffer.readBytes(length: buffer.readableBytes) ?? []))
            default: cells.append(.text(try cell.decode(String.self)))
            }
        }
        return SQLRow(cells: cells)
    }
}
