import Foundation
public import Logging
import PostgresNIO
public import TradeSyncCore

/// The production store: PostgreSQL through postgres-nio's connection pool. Several worker
/// processes on several machines share one database. Pages are written set-based: one
/// `json_to_recordset` statement per page and operation, not one statement per record.
/// Everything but the record path is `SQLStore`'s.
public final class PostgresStore: SQLStore, RecordWriter, @unchecked Sendable {
    let client: PostgresClient
    private let runTask: Task<Void, Never>
    let logger: Logger

    init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        runTask = Task { await client.run() }
        super.init(executor: PostgresExecutor(client: client, logger: logger, connection: nil))
    }

    /// Connects to `postgres://user[:password]@host[:port]/database`.
    public static func connect(url: String, logger: Logger = Logger(label: "tradesync.store.postgres")) async throws
        -> PostgresStore
    {
        guard let components = URLComponents(string: url), let host = components.host, let user = components.user
        else {
            throw StoreError(.invalidLocation, "invalid PostgreSQL URL \(redactURLPassword(url)): expected postgres://user@host:port/database")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        var config = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user,
            password: components.password?.removingPercentEncoding, database: database.isEmpty ? nil : database,
            tls: .disable)
        config.options.maximumConnections = 8
        config.options.connectTimeout = connectTimeout
        let password = components.password?.removingPercentEncoding
        let target = "\(host):\(components.port ?? 5432)"
        // One direct connection first: the pool retries a failing connect until a query times
        // out, and reports only that it could not get a connection, not why.
        var probe = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: password,
            database: database.isEmpty ? nil : database, tls: .disable)
        probe.options.connectTimeout = .seconds(Int64(connectTimeout.components.seconds))
        do {
            let connection = try await PostgresConnection.connect(configuration: probe, id: 0, logger: logger)
            try? await connection.close()
        } catch {
            throw StoreError(.unavailable, "cannot connect to PostgreSQL at \(target) (\(redactURLPassword(url))): \(describeConnectError(error))")
        }
        let store = PostgresStore(client: PostgresClient(configuration: config), logger: logger)
        do {
            _ = try await store.client.query("SELECT 1", logger: logger)
        } catch {
            try? await store.close()
            throw StoreError(.unavailable, "cannot connect to PostgreSQL at \(target) (\(redactURLPassword(url))): \(describeConnectError(error))")
        }
        return store
    }

    /// How long a connection attempt may take before the store reports the server unreachable.
    public static let connectTimeout: Duration = .seconds(10)

    /// The cause of a failed connection in words a user can act on.
    static func describeConnectError(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return message }
            if let underlying = e.underlying { return describeConnectError(underlying) }
            return String(describing: e.code)
        }
        let text = String(reflecting: error)
        let lower = text.lowercased()
        if lower.contains("refused") || lower.contains("errno: 111") || lower.contains("econnrefused") {
            return "connection refused (is PostgreSQL running and listening on this host and port?)"
        }
        if lower.contains("connecttimeout") || lower.contains("timed out") || lower.contains("timeout") {
            return "connection timed out after \(connectTimeout.components.seconds) s"
        }
        if lower.contains("resolution") || lower.contains("nxdomain") || lower.contains("unknown host")
            || lower.contains("getaddrinfo")
        {
            return "the host name cannot be resolved"
        }
        if lower.contains("ssl") || lower.contains("tls") { return "TLS handshake failed" }
        if lower.contains("unreachable") { return "network unreachable" }
        return String(text.prefix(300))
    }

    public override func close() async throws {
        runTask.cancel()
        _ = await runTask.value
    }

    // MARK: Helpers (the record path's)

    func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) async throws -> [PostgresRow] {
        do {
            return try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect()
        } catch let error as PSQLError {
            throw PostgresExecutor.storeError(error, sql)
        }
    }

    func query(on c: PostgresConnection, _ sql: String, _ binds: PostgresBindings = PostgresBindings()) async throws
        -> [PostgresRow]
    {
        do {
            return try await c.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect()
        } catch let error as PSQLError {
            throw PostgresExecutor.storeError(error, sql)
        }
    }

    /// One transaction on one pooled connection (postgres-nio's `withTransaction`); the body's
    /// own error is rethrown as it was thrown.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await PostgresExecutor.withTransaction(client: client, logger: logger, body)
    }

    static func binds(_ values: [(any PostgresEncodable & Sendable)?]) throws -> PostgresBindings {
        var b = PostgresBindings(capacity: values.count)
        for v in values {
            if let v { try b.append(v) } else { b.appendNull() }
        }
        return b
    }

    static func iso(_ micros: Int64) -> String { Timestamp.iso8601(micros: micros) }

    /// Timestamps are read as µs since the epoch: exact, and free of session time-zone settings.
    static func micros(_ column: String) -> String { SQLDialect.postgres.micros(column) }

    // MARK: Reading back

    static func textExpression(_ f: ModelField) -> String {
        let c = Schema.quote(f.name)
        switch f.type {
        case .timestamp: return micros(c) + "::text"
        case .boolean: return "CASE WHEN \(c) IS NULL THEN NULL WHEN \(c) THEN '1' ELSE '0' END"
        default: return "\(c)::text"
        }
    }

    public func rows(entity: EntityModel, integrationId: String) async throws -> [String: StoredRow] {
        let fields = entity.fields.map(PostgresStore.textExpression)
        let rows = try await query("""
            SELECT id, external_id, source_hash\(fields.isEmpty ? "" : ", " + fields.joined(separator: ", "))
            FROM \(Schema.quote(entity.table)) WHERE integration_id = $1
            """, try PostgresStore.binds([integrationId]))
        var out: [String: StoredRow] = [:]
        for row in rows {
            var cells = row.makeIterator()
            let id = try cells.next()?.decode(String.self) ?? ""
            let external = try cells.next()?.decode(String.self) ?? ""
            let hash = try cells.next()?.decode(String.self) ?? ""
            var values: [String: String?] = [:]
            for f in entity.fields {
                var text = try cells.next()?.decode(String?.self) ?? nil
                if f.type == .timestamp, let t = text, let micros = Int64(t) { text = Timestamp.iso8601(micros: micros) }
                values[f.name] = text
            }
            out[external] = StoredRow(id: id, sourceHash: hash, values: values)
        }
        return out
    }

}
