import Foundation
import Logging
import PostgresNIO
import TradeSyncCore

/// The production store: PostgreSQL through postgres-nio's connection pool. Several worker
/// processes on several machines share one database. Pages are written set-based: one
/// `json_to_recordset` statement per page and operation, not one statement per record.
public final class PostgresStore: SyncStore, @unchecked Sendable {
    public let dialect = SQLDialect.postgres
    let client: PostgresClient
    private let runTask: Task<Void, Never>
    let logger: Logger

    init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        runTask = Task { await client.run() }
    }

    /// Connects to `postgres://user[:password]@host[:port]/database`.
    public static func connect(url: String, logger: Logger = Logger(label: "tradesync.store.postgres")) async throws
        -> PostgresStore
    {
        guard let components = URLComponents(string: url), let host = components.host, let user = components.user
        else {
            throw StoreError("invalid PostgreSQL URL \(redactURLPassword(url)): expected postgres://user@host:port/database")
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
            throw StoreError("cannot connect to PostgreSQL at \(target) (\(redactURLPassword(url))): \(describeConnectError(error))")
        }
        let store = PostgresStore(client: PostgresClient(configuration: config), logger: logger)
        do {
            _ = try await store.client.query("SELECT 1", logger: logger)
        } catch {
            try? await store.close()
            throw StoreError("cannot connect to PostgreSQL at \(target) (\(redactURLPassword(url))): \(describeConnectError(error))")
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

    public func close() async throws {
        runTask.cancel()
        _ = await runTask.value
    }

    // MARK: Helpers

    func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) async throws -> [PostgresRow] {
        do {
            return try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect()
        } catch let error as PSQLError {
            throw StoreError("PostgreSQL: \(error.serverInfo?[.message] ?? String(describing: error.code)) in: \(sql.prefix(200))")
        }
    }

    func query(on c: PostgresConnection, _ sql: String, _ binds: PostgresBindings = PostgresBindings()) async throws
        -> [PostgresRow]
    {
        do {
            return try await c.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect()
        } catch let error as PSQLError {
            throw StoreError("PostgreSQL: \(error.serverInfo?[.message] ?? String(describing: error.code)) in: \(sql.prefix(200))")
        }
    }

    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await client.withConnection { c in
            _ = try await self.query(on: c, "BEGIN")
            do {
                let result = try await body(c)
                _ = try await self.query(on: c, "COMMIT")
                return result
            } catch {
                _ = try? await self.query(on: c, "ROLLBACK")
                throw error
            }
        }
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
    static func micros(_ column: String) -> String {
        "(EXTRACT(EPOCH FROM \(column)) * 1000000)::BIGINT"
    }

    // MARK: Migrations

    public func migrate(model: DataModel) async throws -> MigrationReport {
        try await transaction { c in
            // Concurrent workers may migrate at once: one at a time.
            _ = try await self.query(on: c, "SELECT pg_advisory_xact_lock(727379736)")
            _ = try await self.query(on: c, """
                CREATE TABLE IF NOT EXISTS tradesync_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)
                """)
            var report = MigrationReport()
            let applied = Set(try await self.query(on: c, "SELECT version FROM tradesync_migrations").map {
                try $0.decode(Int32.self)
            })
            let now = PostgresStore.iso(currentMicros())
            for m in Schema.migrations where !applied.contains(Int32(m.version)) {
                for sql in m.statements(.postgres) { _ = try await self.query(on: c, sql) }
                _ = try await self.query(on: c, "INSERT INTO tradesync_migrations (version, name, applied_at) VALUES ($1, $2, $3::timestamptz)",
                                         try PostgresStore.binds([Int32(m.version), m.name, now]))
                report.appliedVersions.append(m.version)
            }
            for entity in model.entities {
                let existing = try await self.columnNames(c, entity.table)
                if existing.isEmpty {
                    for sql in Schema.createEntityTable(entity, .postgres) { _ = try await self.query(on: c, sql) }
                    report.createdTables.append(entity.table)
                    for f in entity.fields { try await self.recordColumn(c, entity.table, f, now) }
                    continue
                }
                for f in entity.fields where !existing.contains(f.name) {
                    _ = try await self.query(on: c, "ALTER TABLE \(Schema.quote(entity.table)) ADD COLUMN \(Schema.quote(f.name)) \(Schema.columnType(f.type, .postgres))")
                    try await self.recordColumn(c, entity.table, f, now)
                    report.addedColumns.append("\(entity.table).\(f.name)")
                }
            }
            // Recreated every time: it reads only the run log, and a changed definition needs no
            // migration of its own.
            for sql in Schema.summaryView(.postgres) { _ = try await self.query(on: c, sql) }
            return report
        }
    }

    private func recordColumn(_ c: PostgresConnection, _ table: String, _ f: ModelField, _ now: String) async throws {
        _ = try await query(on: c, """
            INSERT INTO tradesync_model_columns (table_name, column_name, column_type, added_at)
            VALUES ($1, $2, $3, $4::timestamptz) ON CONFLICT DO NOTHING
            """, try PostgresStore.binds([table, f.name, f.type.rawValue, now]))
    }

    private func columnNames(_ c: PostgresConnection, _ table: String) async throws -> [String] {
        try await query(on: c, """
            SELECT attname::text FROM pg_attribute
            WHERE attrelid = to_regclass(quote_ident($1)) AND attnum > 0 AND NOT attisdropped ORDER BY attnum
            """, try PostgresStore.binds([table])).map { try $0.decode(String.self) }
    }

    public func appliedMigrations() async throws -> [AppliedMigration] {
        try await query("SELECT version, name FROM tradesync_migrations ORDER BY version").map {
            let (v, n) = try $0.decode((Int32, String).self)
            return AppliedMigration(version: Int(v), name: n)
        }
    }

    public func columns(of table: String) async throws -> [String] {
        try await client.withConnection { c in try await self.columnNames(c, table) }
    }

    // MARK: Templates and connections

    public func upsertTemplate(_ t: IntegrationTemplate) async throws {
        let caps = JSONValue.array(t.capabilities.map { .string($0) }).jsonText
        _ = try await query("""
            INSERT INTO contractor_integration_templates
                (integration_type, display_name, description, auth_type, status, status_note, capabilities,
                 default_frequency, docs_url, config, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10::jsonb, now())
            ON CONFLICT (integration_type) DO UPDATE SET
                display_name = excluded.display_name, description = excluded.description,
                auth_type = excluded.auth_type, status = excluded.status, status_note = excluded.status_note,
                capabilities = excluded.capabilities, default_frequency = excluded.default_frequency,
                docs_url = excluded.docs_url, config = excluded.config, updated_at = excluded.updated_at
            """, try PostgresStore.binds([
                t.integrationType, t.displayName, t.description, t.authType, t.status, t.statusNote, caps,
                t.defaultFrequency, t.docsURL, t.configJSON,
            ]))
    }

    public func templates() async throws -> [IntegrationTemplate] {
        try await query("""
            SELECT integration_type, display_name, description, auth_type, status, status_note, capabilities::text,
                   default_frequency, docs_url, config::text
            FROM contractor_integration_templates ORDER BY integration_type
            """).map { row in
            let (type, name, description, auth, status, note, caps, freq, docs, config) = try row.decode(
                (String, String, String?, String, String, String?, String, String, String?, String).self)
            return IntegrationTemplate(
                integrationType: type, displayName: name, description: description, authType: auth, status: status,
                statusNote: note,
                capabilities: (try? JSONValue.parse(caps))?.arrayValue?.compactMap(\.stringValue) ?? [],
                defaultFrequency: freq, docsURL: docs, configJSON: config)
        }
    }

    static let connectionColumns = """
        id, demo_id, connection_key, integration_type, status, credentials::text, config::text, sync_frequency,
        auto_sync, \(micros("last_synced_at")), last_error
        """

    static func readConnection(_ row: PostgresRow) throws -> ConnectionRecord {
        let (id, demo, key, type, status, creds, config, freq, auto, last, error) = try row.decode(
            (String, String, String, String, String, String, String, String, Bool, Int64?, String?).self)
        return ConnectionRecord(
            id: id, demoId: demo, connectionKey: key, integrationType: type,
            status: ConnectionStatus(rawValue: status) ?? .error, credentialsJSON: creds, configJSON: config,
            syncFrequency: freq, autoSync: auto, lastSyncedAt: last, lastError: error)
    }

    public func upsertConnection(_ c: ConnectionRecord) async throws -> ConnectionRecord {
        let rows = try await query("""
            INSERT INTO contractor_integrations
                (id, demo_id, connection_key, integration_type, status, credentials, config, sync_frequency,
                 auto_sync, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, now(), now())
            ON CONFLICT (demo_id, connection_key) DO UPDATE SET
                integration_type = excluded.integration_type, credentials = excluded.credentials,
                config = excluded.config, sync_frequency = excluded.sync_frequency,
                auto_sync = excluded.auto_sync, updated_at = excluded.updated_at
            RETURNING \(PostgresStore.connectionColumns)
            """, try PostgresStore.binds([
                c.id.isEmpty ? newIdentifier() : c.id, c.demoId, c.connectionKey, c.integrationType, c.status.rawValue,
                c.credentialsJSON, c.configJSON, c.syncFrequency, c.autoSync,
            ]))
        guard let row = rows.first else { throw StoreError("upsert of connection \(c.connectionKey) returned nothing") }
        return try PostgresStore.readConnection(row)
    }

    public func connections(demoId: String?) async throws -> [ConnectionRecord] {
        try await query("""
            SELECT \(PostgresStore.connectionColumns) FROM contractor_integrations
            WHERE $1::text IS NULL OR demo_id = $1 ORDER BY demo_id, connection_key
            """, try PostgresStore.binds([demoId])).map(PostgresStore.readConnection)
    }

    public func connection(id: String) async throws -> ConnectionRecord? {
        try await query("SELECT \(PostgresStore.connectionColumns) FROM contractor_integrations WHERE id = $1",
                        try PostgresStore.binds([id])).first.map(PostgresStore.readConnection)
    }

    public func setConnectionStatus(id: String, status: ConnectionStatus, error: String?) async throws {
        _ = try await query("UPDATE contractor_integrations SET status = $1, last_error = $2, updated_at = now() WHERE id = $3",
                            try PostgresStore.binds([status.rawValue, error, id]))
    }

    // MARK: Sync data

    public func cursor(integrationId: String, stream: String) async throws -> String? {
        try await query("SELECT cursor FROM tradesync_cursors WHERE integration_id = $1 AND stream = $2",
                        try PostgresStore.binds([integrationId, stream])).first.map { try $0.decode(String?.self) } ?? nil
    }

    public func keptFailures(integrationId: String?, stream: String?, limit: Int) async throws -> [KeptFailure] {
        try await query("""
            SELECT integration_id, stream, external_id, reason, raw, attempts, \(PostgresStore.micros("first_failed_at")),
                   \(PostgresStore.micros("last_failed_at"))
            FROM tradesync_failed_records
            WHERE ($1::text IS NULL OR integration_id = $1) AND ($2::text IS NULL OR stream = $2)
            ORDER BY first_failed_at, external_id LIMIT $3
            """, try PostgresStore.binds([integrationId, stream, Int64(limit)])).map { row in
            let (i, st, e, r, w, a, first, last) = try row.decode((String, String, String, String, String, Int32, Int64, Int64).self)
            return KeptFailure(integrationId: i, stream: st, externalId: e, reason: r, rawJSON: w, attempts: Int(a),
                               firstFailedAt: first, lastFailedAt: last)
        }
    }

    // MARK: Leases and tokens

    public func acquireLease(integrationId: String, holder: String, ttlSeconds: Int, takeOverFrom: String?) async throws -> Bool {
        let now = currentMicros()
        let rows = try await query("""
            INSERT INTO tradesync_leases (integration_id, holder, expires_at_micros) VALUES ($1, $2, $3)
            ON CONFLICT (integration_id) DO UPDATE SET holder = excluded.holder, expires_at_micros = excluded.expires_at_micros
            WHERE tradesync_leases.expires_at_micros < $4 OR tradesync_leases.holder = excluded.holder
               OR tradesync_leases.holder = $5
            RETURNING holder
            """, try PostgresStore.binds([integrationId, holder, now + Int64(ttlSeconds) * 1_000_000, now, takeOverFrom]))
        return !rows.isEmpty
    }

    public func leaseHolder(integrationId: String) async throws -> String? {
        try await query("SELECT holder FROM tradesync_leases WHERE integration_id = $1", try PostgresStore.binds([integrationId]))
            .first.map { try $0.decode(String.self) }
    }

    public func markInterruptedRuns(integrationId: String) async throws -> Int {
        try await query("""
            UPDATE contractor_sync_logs SET status = 'failed', completed_at = now(),
                error_message = 'interrupted: the process stopped before the run finished'
            WHERE integration_id = $1 AND status = 'running' RETURNING 1
            """, try PostgresStore.binds([integrationId])).count
    }

    public func rowCount(table: String) async throws -> Int {
        Int(try await query("SELECT COUNT(*) FROM \(Schema.quote(table))").first?.decode(Int64.self) ?? 0)
    }

    public func releaseLease(integrationId: String, holder: String) async throws {
        _ = try await query("DELETE FROM tradesync_leases WHERE integration_id = $1 AND holder = $2",
                            try PostgresStore.binds([integrationId, holder]))
    }

    public func loadTokens(integrationId: String) async throws -> StoredTokens? {
        try await query("""
            SELECT access_token, refresh_token, expires_at_micros, refresh_expires_at_micros, callback_fields
            FROM tradesync_tokens WHERE integration_id = $1
            """, try PostgresStore.binds([integrationId])).first.map { row in
            let (a, r, e, re, f) = try row.decode((String?, String, Int64?, Int64?, String?).self)
            return StoredTokens(accessToken: a, refreshToken: r, expiresAtMicros: e, refreshExpiresAtMicros: re, callbackFieldsJSON: f)
        }
    }

    public func replaceTokens(integrationId: String, expectedRefreshToken: String?, with t: StoredTokens) async throws -> Bool {
        if let expected = expectedRefreshToken {
            // Callback fields come once, with the authorization: a refresh (nil) keeps them.
            return !(try await query("""
                UPDATE tradesync_tokens SET access_token = $1, refresh_token = $2, expires_at_micros = $3, updated_at = now(),
                    refresh_expires_at_micros = $4, callback_fields = COALESCE($5, callback_fields)
                WHERE integration_id = $6 AND refresh_token = $7 RETURNING 1
                """, try PostgresStore.binds([t.accessToken, t.refreshToken, t.expiresAtMicros, t.refreshExpiresAtMicros,
                                              t.callbackFieldsJSON, integrationId, expected]))).isEmpty
        }
        return !(try await query("""
            INSERT INTO tradesync_tokens (integration_id, access_token, refresh_token, expires_at_micros, updated_at,
                refresh_expires_at_micros, callback_fields)
            VALUES ($1, $2, $3, $4, now(), $5, $6) ON CONFLICT (integration_id) DO NOTHING RETURNING 1
            """, try PostgresStore.binds([integrationId, t.accessToken, t.refreshToken, t.expiresAtMicros,
                                          t.refreshExpiresAtMicros, t.callbackFieldsJSON]))).isEmpty
    }

    public func tokenIntegrationIds() async throws -> [String] {
        try await query("SELECT integration_id FROM tradesync_tokens ORDER BY integration_id").map { try $0.decode(String.self) }
    }

    public func deleteTokens(integrationId: String) async throws {
        _ = try await query("DELETE FROM tradesync_tokens WHERE integration_id = $1", try PostgresStore.binds([integrationId]))
    }

    public func acquireCredentialLease(integrationId: String, holder: String, ttlSeconds: Int) async throws -> Bool {
        let now = currentMicros()
        return !(try await query("""
            INSERT INTO tradesync_credential_leases (integration_id, holder, expires_at_micros) VALUES ($1, $2, $3)
            ON CONFLICT (integration_id) DO UPDATE SET holder = excluded.holder, expires_at_micros = excluded.expires_at_micros
            WHERE tradesync_credential_leases.expires_at_micros < $4 OR tradesync_credential_leases.holder = excluded.holder
            RETURNING holder
            """, try PostgresStore.binds([integrationId, holder, now + Int64(ttlSeconds) * 1_000_000, now]))).isEmpty
    }

    public func releaseCredentialLease(integrationId: String, holder: String) async throws {
        _ = try await query("DELETE FROM tradesync_credential_leases WHERE integration_id = $1 AND holder = $2",
                            try PostgresStore.binds([integrationId, holder]))
    }

    public func saveOAuthState(_ r: OAuthStateRecord) async throws {
        // Expired states are of no use to anyone: drop them on the way.
        _ = try await query("DELETE FROM tradesync_oauth_states WHERE expires_at_micros < $1",
                            try PostgresStore.binds([currentMicros()]))
        _ = try await query("""
            INSERT INTO tradesync_oauth_states (state, integration_id, redirect_uri, code_verifier, expires_at_micros)
            VALUES ($1, $2, $3, $4, $5)
            """, try PostgresStore.binds([r.state, r.integrationId, r.redirectURI, r.codeVerifier, r.expiresAtMicros]))
    }

    public func takeOAuthState(_ state: String) async throws -> OAuthStateRecord? {
        try await query("""
            DELETE FROM tradesync_oauth_states WHERE state = $1
            RETURNING state, integration_id, redirect_uri, code_verifier, expires_at_micros
            """, try PostgresStore.binds([state])).first.map { row in
            let (s, i, r, v, e) = try row.decode((String, String, String, String?, Int64).self)
            return OAuthStateRecord(state: s, integrationId: i, redirectURI: r, codeVerifier: v, expiresAtMicros: e)
        }
    }

    // MARK: Runs

    public func startRun(_ run: SyncRunStart) async throws -> String {
        let id = newIdentifier()
        _ = try await query("""
            INSERT INTO contractor_sync_logs (id, integration_id, demo_id, entity_type, sync_type, status, details, started_at)
            VALUES ($1, $2, $3, $4, $5, 'running', '{}'::jsonb, $6::timestamptz)
            """, try PostgresStore.binds([id, run.integrationId, run.demoId, run.entityType, run.syncType,
                                          PostgresStore.iso(run.startedAt)]))
        return id
    }

    public func finishRun(_ run: SyncRunFinish) async throws {
        try await transaction { c in
            _ = try await self.query(on: c, """
                UPDATE contractor_sync_logs SET status = $1, completed_at = $2::timestamptz, duration_ms = $3,
                    error_message = $4, details = $5::jsonb
                WHERE id = $6
                """, try PostgresStore.binds([
                    run.status.rawValue, PostgresStore.iso(run.completedAt), run.durationMs, run.errorMessage,
                    run.detailsJSON, run.runId,
                ]))
            if run.status == .success || run.status == .partial {
                _ = try await self.query(on: c, """
                    UPDATE contractor_integrations SET last_synced_at = $1::timestamptz, updated_at = now()
                    WHERE id = (SELECT integration_id FROM contractor_sync_logs WHERE id = $2)
                    """, try PostgresStore.binds([PostgresStore.iso(run.completedAt), run.runId]))
            }
        }
        _ = try await query("REFRESH MATERIALIZED VIEW \(Schema.summaryName)")
        // Fresh statistics after a large run keep the next run's plans on the indexes.
        if run.analyze { _ = try await query("ANALYZE contractor_data_mappings") }
    }

    public func runs(integrationId: String?, limit: Int) async throws -> [SyncRunRecord] {
        try await query("""
            SELECT id, integration_id, demo_id, entity_type, sync_type, status, records_fetched, records_inserted,
                   records_updated, records_unchanged, records_failed, \(PostgresStore.micros("started_at")),
                   \(PostgresStore.micros("completed_at")), duration_ms, error_message, details::text
            FROM contractor_sync_logs WHERE $1::text IS NULL OR integration_id = $1
            ORDER BY started_at DESC, id DESC LIMIT $2
            """, try PostgresStore.binds([integrationId, Int64(limit)])).map { row in
            let (id, integration, demo, entity, type, status, fetched, inserted, updated, unchanged, failed) =
                try row.decode((String, String, String, String, String, String, Int64, Int64, Int64, Int64, Int64).self)
            var cells = row.makeIterator()
            for _ in 0..<11 { _ = cells.next() }
            let started = try cells.next()?.decode(Int64.self) ?? 0
            let completed = try cells.next()?.decode(Int64?.self) ?? nil
            let duration = try cells.next()?.decode(Int64?.self) ?? nil
            let error = try cells.next()?.decode(String?.self) ?? nil
            let details = try cells.next()?.decode(String.self) ?? "{}"
            return SyncRunRecord(
                id: id, integrationId: integration, demoId: demo, entityType: entity, syncType: type,
                status: SyncRunStatus(rawValue: status) ?? .failed, fetched: Int(fetched), inserted: Int(inserted),
                updated: Int(updated), unchanged: Int(unchanged), failed: Int(failed), startedAt: started,
                completedAt: completed, durationMs: duration, errorMessage: error, detailsJSON: details)
        }
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

    public func mappingCount(integrationId: String, entity: String) async throws -> Int {
        let rows = try await query(
            "SELECT COUNT(*) FROM contractor_data_mappings WHERE integration_id = $1 AND entity_type = $2",
            try PostgresStore.binds([integrationId, entity]))
        return Int(try rows.first?.decode(Int64.self) ?? 0)
    }

    public func summary() async throws -> [IntegrationSummary] {
        try await query("""
            SELECT integration_id, demo_id, integration_type, status, total_syncs::bigint, successful_syncs::bigint,
                   failed_syncs::bigint, records_inserted::bigint, records_synced::bigint
            FROM \(Schema.summaryName) ORDER BY demo_id, integration_type
            """).map { row in
            let (id, demo, type, status, total, ok, failed, inserted, records) = try row.decode(
                (String, String, String, String, Int64, Int64, Int64, Int64, Int64).self)
            return IntegrationSummary(
                integrationId: id, demoId: demo, integrationType: type, status: status, totalSyncs: Int(total),
                successfulSyncs: Int(ok), failedSyncs: Int(failed), recordsInserted: Int(inserted), recordsSynced: Int(records))
        }
    }
}
