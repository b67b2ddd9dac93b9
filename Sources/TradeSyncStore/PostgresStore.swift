import Foundation
import Logging
import PostgresNIO
import TradeSyncCore

/// The production store: PostgreSQL through postgres-nio's connection pool. Several worker
/// processes on several machines share one database. Pages are written set-based: one
/// `json_to_recordset` statement per page and operation, not one statement per record.
/// Everything but the record path is `SQLStore`'s.
public final class PostgresStore: SQLStore, RecordStore, @unchecked Sendable {
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

    // MARK: Sync data

    static func recordsetType(_ t: FieldType) -> String {
        switch t {
        case .string, .text, .enumeration: return "text"
        case .integer: return "bigint"
        case .decimal: return "numeric"
        case .boolean: return "boolean"
        case .timestamp: return "timestamptz"
        case .date: return "date"
        case .json: return "jsonb"
        }
    }

    /// One JSON object per row, for `json_to_recordset`: typed by the recordset definition,
    /// so PostgreSQL converts numeric, timestamp and date text itself.
    static func rowsJSON(_ rows: [(id: String, record: MappedRecord, hash: String)], entity: EntityModel) -> String {
        var out = "["
        out.reserveCapacity(rows.count * 256)
        for (n, row) in rows.enumerated() {
            if n > 0 { out += "," }
            out += "{\"id\":"
            JSONValue.writeString(row.id, to: &out)
            out += ",\"external_id\":"
            JSONValue.writeString(row.record.externalId, to: &out)
            out += ",\"source_hash\":\"" + row.hash + "\""
            for (i, f) in entity.fields.enumerated() {
                out += ",\"f\(i)\":"
                let value = i < row.record.values.count ? row.record.values[i] : .null
                switch value {
                case .null: out += "null"
                case .integer(let v): out += String(v)
                case .boolean(let b): out += b ? "true" : "false"
                case .json(let text): out += text
                default: JSONValue.writeString(value.canonicalText ?? "", to: &out)
                }
            }
            out += "}"
        }
        return out + "]"
    }

    /// The id mappings (and stored hashes) of a page's external ids. Written as one index
    /// lookup per id (scalar subqueries): a join or `= ANY` lets the planner, with statistics
    /// from when the table was small, scan every mapping of the integration for every page.
    func existing(on c: PostgresConnection, page: PageWrite, ids: [String]) async throws
        -> [(String, String, String, String?)]
    {
        guard !ids.isEmpty else { return [] }
        return try await query(on: c, """
            SELECT s.e, s.mapping_id, s.internal_id,
                   (SELECT t.source_hash FROM \(Schema.quote(page.entity.table)) t WHERE t.id = s.internal_id)
            FROM (
                SELECT x.e,
                       (SELECT m.id FROM contractor_data_mappings m
                        WHERE m.integration_id = $1 AND m.entity_type = $2 AND m.external_id = x.e) AS mapping_id,
                       (SELECT m.internal_id FROM contractor_data_mappings m
                        WHERE m.integration_id = $1 AND m.entity_type = $2 AND m.external_id = x.e) AS internal_id
                FROM unnest($3::text[]) AS x(e)
                OFFSET 0
            ) s
            WHERE s.mapping_id IS NOT NULL
            """, try PostgresStore.binds([page.integrationId, page.entity.name, ids])).map {
            try $0.decode((String, String, String, String?).self)
        }
    }

    public func applyPage(_ page: PageWrite) async throws -> PageOutcome {
        try await transaction { c in
            if let fence = page.fence {
                // The row lock taken here holds off a concurrent lease takeover until this commits.
                let held = try await self.query(on: c, """
                    UPDATE tradesync_leases SET expires_at_micros = $1 WHERE integration_id = $2 AND holder = $3 RETURNING 1
                    """, try PostgresStore.binds([currentMicros() + Int64(fence.ttlSeconds) * 1_000_000, page.integrationId,
                                                  fence.holder]))
                if held.isEmpty { throw LeaseLostError(holder: fence.holder) }
            }
            let outcome = try await self.writeRecords(on: c, page)
            try await self.writeFailures(on: c, page)
            if let run = page.run {
                _ = try await self.query(on: c, """
                    UPDATE contractor_sync_logs SET records_fetched = records_fetched + $1,
                        records_inserted = records_inserted + $2, records_updated = records_updated + $3,
                        records_unchanged = records_unchanged + $4, records_failed = records_failed + $5
                    WHERE id = $6
                    """, try PostgresStore.binds([Int64(run.fetched), Int64(outcome.inserted), Int64(outcome.updated),
                                                  Int64(outcome.unchanged), Int64(run.failed), run.runId]))
            }
            return outcome
        }
    }

    func writeFailures(on c: PostgresConnection, _ page: PageWrite) async throws {
        let now = PostgresStore.iso(page.now)
        if !page.resolvedFailures.isEmpty {
            _ = try await query(on: c, """
                DELETE FROM tradesync_failed_records WHERE integration_id = $1 AND stream = $2 AND external_id = ANY($3::text[])
                """, try PostgresStore.binds([page.integrationId, page.stream, page.resolvedFailures]))
        }
        guard !page.failures.isEmpty else { return }
        // One row per external id: a record repeated in a page must not hit its own conflict twice.
        var latest: [String: FailedRecord] = [:]
        var order: [String] = []
        for f in page.failures {
            if latest[f.externalId] == nil { order.append(f.externalId) }
            latest[f.externalId] = f
        }
        let rows = order.compactMap { latest[$0] }
        _ = try await query(on: c, """
            INSERT INTO tradesync_failed_records
                (integration_id, stream, external_id, reason, raw, attempts, first_failed_at, last_failed_at)
            SELECT $1, $2, e, r, w, 1, $6::timestamptz, $6::timestamptz FROM unnest($3::text[], $4::text[], $5::text[]) AS x(e, r, w)
            ON CONFLICT (integration_id, stream, external_id) DO UPDATE SET reason = excluded.reason, raw = excluded.raw,
                attempts = tradesync_failed_records.attempts + 1, last_failed_at = excluded.last_failed_at
            """, try PostgresStore.binds([page.integrationId, page.stream, rows.map(\.externalId), rows.map(\.reason),
                                          rows.map(\.rawJSON), now]))
    }

    func writeRecords(on c: PostgresConnection, _ page: PageWrite) async throws -> PageOutcome {
        let entity = page.entity
        let table = Schema.quote(entity.table)
        let now = PostgresStore.iso(page.now)
        do {
            let ids = Array(Set(page.records.map(\.externalId)))
            var known: [String: (id: String, hash: String?)] = [:]
            var mappingIds: [String: String] = [:]
            for (ext, mappingId, internalId, hash) in try await self.existing(on: c, page: page, ids: ids) {
                known[ext] = (internalId, hash)
                mappingIds[ext] = mappingId
            }
            // Classify in page order, so a record repeated within a page counts as SQLite counts it.
            var outcome = PageOutcome()
            var newMappings: [(external: String, internal: String)] = []
            var inserts: [String: (id: String, record: MappedRecord, hash: String)] = [:]
            var updates: [String: (id: String, record: MappedRecord, hash: String)] = [:]
            var insertOrder: [String] = []
            var updateOrder: [String] = []
            for record in page.records {
                let hash = record.contentHash
                if let k = known[record.externalId], let storedHash = k.hash {
                    if storedHash == hash {
                        outcome.unchanged += 1
                    } else {
                        outcome.updated += 1
                        if inserts[record.externalId] != nil {
                            inserts[record.externalId] = (k.id, record, hash)
                        } else {
                            if updates[record.externalId] == nil { updateOrder.append(record.externalId) }
                            updates[record.externalId] = (k.id, record, hash)
                        }
                        known[record.externalId] = (k.id, hash)
                    }
                } else {
                    let id = known[record.externalId]?.id ?? newIdentifier()
                    if known[record.externalId] == nil { newMappings.append((record.externalId, id)) }
                    inserts[record.externalId] = (id, record, hash)
                    insertOrder.append(record.externalId)
                    known[record.externalId] = (id, hash)
                    outcome.inserted += 1
                }
            }
            let fieldColumns = entity.fields.map { Schema.quote($0.name) }
            let recordset = (["id text", "external_id text", "source_hash text"]
                + entity.fields.enumerated().map { "f\($0) \(PostgresStore.recordsetType($1.type))" })
                .joined(separator: ", ")
            if !newMappings.isEmpty {
                _ = try await self.query(on: c, """
                    INSERT INTO contractor_data_mappings
                        (id, integration_id, entity_type, external_id, internal_id, created_at, last_synced_at)
                    SELECT m, $1, $2, e, i, $5::timestamptz, $5::timestamptz
                    FROM unnest($3::text[], $4::text[], $6::text[]) AS x(e, i, m)
                    """, try PostgresStore.binds([
                        page.integrationId, entity.name, newMappings.map(\.external), newMappings.map(\.internal), now,
                        newMappings.map { _ in newIdentifier() },
                    ]))
            }
            if !insertOrder.isEmpty {
                let rows = insertOrder.compactMap { inserts[$0] }
                _ = try await self.query(on: c, """
                    INSERT INTO \(table) (id, demo_id, integration_id, external_id, source_hash, created_at, updated_at\(fieldColumns.isEmpty ? "" : ", " + fieldColumns.joined(separator: ", ")))
                    SELECT x.id, $2, $3, x.external_id, x.source_hash, $4::timestamptz, $4::timestamptz\(entity.fields.indices.map { ", x.f\($0)" }.joined())
                    FROM json_to_recordset($1::json) AS x(\(recordset))
                    """, try PostgresStore.binds([PostgresStore.rowsJSON(rows, entity: entity), page.demoId, page.integrationId, now]))
            }
            if !updateOrder.isEmpty {
                let rows = updateOrder.compactMap { updates[$0] }
                let assignments = (["source_hash = x.source_hash", "updated_at = $2::timestamptz"]
                    + fieldColumns.enumerated().map { "\($1) = x.f\($0)" }).joined(separator: ", ")
                _ = try await self.query(on: c, """
                    UPDATE \(table) AS t SET \(assignments)
                    FROM json_to_recordset($1::json) AS x(\(recordset)) WHERE t.id = x.id
                    """, try PostgresStore.binds([PostgresStore.rowsJSON(rows, entity: entity), now]))
                _ = try await self.query(on: c, """
                    UPDATE contractor_data_mappings SET last_synced_at = $1::timestamptz WHERE id = ANY($2::text[])
                    """, try PostgresStore.binds([now, updateOrder.compactMap { mappingIds[$0] }]))
            }
            if let cursor = page.cursor {
                _ = try await self.query(on: c, """
                    INSERT INTO tradesync_cursors (integration_id, stream, cursor, updated_at) VALUES ($1, $2, $3, $4::timestamptz)
                    ON CONFLICT (integration_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
                    """, try PostgresStore.binds([page.integrationId, page.stream, cursor, now]))
            }
            return outcome
        }
    }

    public func previewPage(_ page: PageWrite) async throws -> PageOutcome {
        let ids = Array(Set(page.records.map(\.externalId)))
        let rows = try await client.withConnection { c in try await self.existing(on: c, page: page, ids: ids) }
        var stored: [String: String?] = [:]
        for (ext, _, _, hash) in rows { stored[ext] = .some(hash) }
        return PageOutcome.preview(page.records, stored: stored)
    }

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
