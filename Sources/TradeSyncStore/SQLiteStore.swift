import CSQLite
import Foundation
import TradeSyncCore

/// The embedded store: one SQLite file in WAL mode, one writer. Calls are serialised by a
/// lock and run synchronously: SQLite work per call is microseconds to a few milliseconds,
/// less than a thread hop would cost.
public final class SQLiteStore: SyncStore, @unchecked Sendable {
    public let dialect = SQLDialect.sqlite
    public let path: String
    private let lock = NSLock()
    private var db: SQLiteConnection?

    public init(path: String) throws {
        self.path = path
        if path != ":memory:" {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            try SQLiteStore.restrictFileMode(path)
        }
        let db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA journal_mode=WAL")
        try db.execute("PRAGMA synchronous=NORMAL")
        // A 32 MiB page cache keeps the id-map and key indexes in memory for large syncs; fewer,
        // larger checkpoints write each database page once instead of once per 1,000 commits.
        try db.execute("PRAGMA cache_size=-32768")
        try db.execute("PRAGMA wal_autocheckpoint=8192")
        try db.execute("PRAGMA temp_store=MEMORY")
        try db.execute("PRAGMA foreign_keys=ON")
        self.db = db
    }

    /// The store holds provider data and tokens: only its owner may read it. SQLite gives the
    /// -wal and -shm files the database file's mode, so setting it here covers all three.
    static func restrictFileMode(_ path: String) throws {
        let files = FileManager.default
        if !files.fileExists(atPath: path),
            !files.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        {
            throw StoreError("cannot create the SQLite store \(path)")
        }
        try? files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }

    func withDB<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        guard let db else { throw StoreError("the SQLite store is closed") }
        return try body(db)
    }

    public func close() async throws {
        lock.withLock { db = nil }
    }

    // MARK: Migrations

    public func migrate(model: DataModel) async throws -> MigrationReport {
        try withDB { db in
            try db.transaction {
                var report = MigrationReport()
                try db.execute("""
                    CREATE TABLE IF NOT EXISTS tradesync_migrations (
                        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)
                    """)
                let applied = Set(try appliedVersions(db))
                let now = Timestamp.iso8601(micros: currentMicros())
                for m in Schema.migrations where !applied.contains(m.version) {
                    for sql in m.statements(.sqlite) { try db.execute(sql) }
                    let s = try db.prepare("INSERT INTO tradesync_migrations (version, name, applied_at) VALUES (?, ?, ?)")
                    s.bind(1, Int64(m.version))
                    s.bind(2, m.name)
                    s.bind(3, now)
                    try s.run()
                    report.appliedVersions.append(m.version)
                }
                for entity in model.entities {
                    let existing = try columnNames(db, entity.table)
                    if existing.isEmpty {
                        for sql in Schema.createEntityTable(entity, .sqlite) { try db.execute(sql) }
                        report.createdTables.append(entity.table)
                        for f in entity.fields { try recordColumn(db, entity.table, f, now) }
                        continue
                    }
                    for f in entity.fields where !existing.contains(f.name) {
                        try db.execute("ALTER TABLE \(Schema.quote(entity.table)) ADD COLUMN \(Schema.quote(f.name)) \(Schema.columnType(f.type, .sqlite))")
                        try recordColumn(db, entity.table, f, now)
                        report.addedColumns.append("\(entity.table).\(f.name)")
                    }
                }
                // Recreated every time: cheap, and a changed definition needs no migration of its own.
                for sql in Schema.summaryView(.sqlite) { try db.execute(sql) }
                db.dropCachedStatements()
                return report
            }
        }
    }

    private func recordColumn(_ db: SQLiteConnection, _ table: String, _ f: ModelField, _ now: String) throws {
        let s = try db.prepare("""
            INSERT INTO tradesync_model_columns (table_name, column_name, column_type, added_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (table_name, column_name) DO NOTHING
            """)
        s.bind(1, table)
        s.bind(2, f.name)
        s.bind(3, f.type.rawValue)
        s.bind(4, now)
        try s.run()
    }

    private func appliedVersions(_ db: SQLiteConnection) throws -> [Int] {
        let s = try db.prepare("SELECT version FROM tradesync_migrations ORDER BY version")
        var out: [Int] = []
        while try s.step() { out.append(Int(s.int(0) ?? 0)) }
        return out
    }

    private func columnNames(_ db: SQLiteConnection, _ table: String) throws -> [String] {
        let s = try db.prepare("SELECT name FROM pragma_table_info(?)")
        s.bind(1, table)
        var out: [String] = []
        while try s.step() { if let n = s.text(0) { out.append(n) } }
        return out
    }

    public func appliedMigrations() async throws -> [AppliedMigration] {
        try withDB { db in
            let s = try db.prepare("SELECT version, name FROM tradesync_migrations ORDER BY version")
            var out: [AppliedMigration] = []
            while try s.step() { out.append(AppliedMigration(version: Int(s.int(0) ?? 0), name: s.text(1) ?? "")) }
            return out
        }
    }

    public func columns(of table: String) async throws -> [String] {
        try withDB { try columnNames($0, table) }
    }

    // MARK: Templates and connections

    public func upsertTemplate(_ t: IntegrationTemplate) async throws {
        try withDB { db in
            let s = try db.prepare("""
                INSERT INTO contractor_integration_templates
                    (integration_type, display_name, description, auth_type, status, status_note, capabilities,
                     default_frequency, docs_url, config, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (integration_type) DO UPDATE SET
                    display_name = excluded.display_name, description = excluded.description,
                    auth_type = excluded.auth_type, status = excluded.status, status_note = excluded.status_note,
                    capabilities = excluded.capabilities, default_frequency = excluded.default_frequency,
                    docs_url = excluded.docs_url, config = excluded.config, updated_at = excluded.updated_at
                """)
            s.bind(1, t.integrationType)
            s.bind(2, t.displayName)
            s.bind(3, t.description)
            s.bind(4, t.authType)
            s.bind(5, t.status)
            s.bind(6, t.statusNote)
            s.bind(7, JSONValue.array(t.capabilities.map { .string($0) }).jsonText)
            s.bind(8, t.defaultFrequency)
            s.bind(9, t.docsURL)
            s.bind(10, t.configJSON)
            s.bind(11, Timestamp.iso8601(micros: currentMicros()))
            try s.run()
        }
    }

    public func templates() async throws -> [IntegrationTemplate] {
        try withDB { db in
            let s = try db.prepare("""
                SELECT integration_type, display_name, description, auth_type, status, status_note, capabilities,
                       default_frequency, docs_url, config
                FROM contractor_integration_templates ORDER BY integration_type
                """)
            var out: [IntegrationTemplate] = []
            while try s.step() {
                let caps = (try? JSONValue.parse(s.text(6) ?? "[]"))?.arrayValue?.compactMap(\.stringValue) ?? []
                out.append(IntegrationTemplate(
                    integrationType: s.text(0) ?? "", displayName: s.text(1) ?? "", description: s.text(2),
                    authType: s.text(3) ?? "", status: s.text(4) ?? "", statusNote: s.text(5), capabilities: caps,
                    defaultFrequency: s.text(7) ?? "", docsURL: s.text(8), configJSON: s.text(9) ?? "{}"))
            }
            return out
        }
    }

    static let connectionColumns = """
        id, demo_id, connection_key, integration_type, status, credentials, config, sync_frequency, auto_sync,
        last_synced_at, last_error
        """

    private func readConnection(_ s: SQLiteStatement) -> ConnectionRecord {
        ConnectionRecord(
            id: s.text(0) ?? "", demoId: s.text(1) ?? "", connectionKey: s.text(2) ?? "",
            integrationType: s.text(3) ?? "", status: ConnectionStatus(rawValue: s.text(4) ?? "") ?? .error,
            credentialsJSON: s.text(5) ?? "{}", configJSON: s.text(6) ?? "{}", syncFrequency: s.text(7) ?? "manual",
            autoSync: (s.int(8) ?? 0) != 0, lastSyncedAt: s.text(9).flatMap { Timestamp.parse($0) },
            lastError: s.text(10))
    }

    public func upsertConnection(_ c: ConnectionRecord) async throws -> ConnectionRecord {
        try withDB { db in
            let now = Timestamp.iso8601(micros: currentMicros())
            let s = try db.prepare("""
                INSERT INTO contractor_integrations
                    (id, demo_id, connection_key, integration_type, status, credentials, config, sync_frequency,
                     auto_sync, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (demo_id, connection_key) DO UPDATE SET
                    integration_type = excluded.integration_type, credentials = excluded.credentials,
                    config = excluded.config, sync_frequency = excluded.sync_frequency,
                    auto_sync = excluded.auto_sync, updated_at = excluded.updated_at
                RETURNING \(SQLiteStore.connectionColumns)
                """)
            s.bind(1, c.id.isEmpty ? newIdentifier() : c.id)
            s.bind(2, c.demoId)
            s.bind(3, c.connectionKey)
            s.bind(4, c.integrationType)
            s.bind(5, c.status.rawValue)
            s.bind(6, c.credentialsJSON)
            s.bind(7, c.configJSON)
            s.bind(8, c.syncFrequency)
            s.bind(9, Int64(c.autoSync ? 1 : 0))
            s.bind(10, now)
            s.bind(11, now)
            guard try s.step() else { throw StoreError("upsert of connection \(c.connectionKey) returned nothing") }
            let out = readConnection(s)
            try s.run()
            return out
        }
    }

    public func connections(demoId: String?) async throws -> [ConnectionRecord] {
        try withDB { db in
            let s = try db.prepare("""
                SELECT \(SQLiteStore.connectionColumns) FROM contractor_integrations
                WHERE ?1 IS NULL OR demo_id = ?1 ORDER BY demo_id, connection_key
                """)
            s.bind(1, demoId)
            var out: [ConnectionRecord] = []
            while try s.step() { out.append(readConnection(s)) }
            return out
        }
    }

    public func connection(id: String) async throws -> ConnectionRecord? {
        try withDB { db in
            let s = try db.prepare("SELECT \(SQLiteStore.connectionColumns) FROM contractor_integrations WHERE id = ?")
            s.bind(1, id)
            return try s.step() ? readConnection(s) : nil
        }
    }

    public func setConnectionStatus(id: String, status: ConnectionStatus, error: String?) async throws {
        try withDB { db in
            let s = try db.prepare("UPDATE contractor_integrations SET status = ?, last_error = ?, updated_at = ? WHERE id = ?")
            s.bind(1, status.rawValue)
            s.bind(2, error)
            s.bind(3, Timestamp.iso8601(micros: currentMicros()))
            s.bind(4, id)
            try s.run()
        }
    }

    // MARK: Sync data

    public func cursor(integrationId: String, stream: String) async throws -> String? {
        try withDB { db in
            let s = try db.prepare("SELECT cursor FROM tradesync_cursors WHERE integration_id = ? AND stream = ?")
            s.bind(1, integrationId)
            s.bind(2, stream)
            return try s.step() ? s.text(0) : nil
        }
    }

    public func keptFailures(integrationId: String?, stream: String?, limit: Int) async throws -> [KeptFailure] {
        try withDB { db in
            let s = try db.prepare("""
                SELECT integration_id, stream, external_id, reason, raw, attempts, first_failed_at, last_failed_at
                FROM tradesync_failed_records
                WHERE (?1 IS NULL OR integration_id = ?1) AND (?2 IS NULL OR stream = ?2)
                ORDER BY first_failed_at, external_id LIMIT ?3
                """)
            s.bind(1, integrationId)
            s.bind(2, stream)
            s.bind(3, Int64(limit))
            var out: [KeptFailure] = []
            while try s.step() {
                out.append(KeptFailure(
                    integrationId: s.text(0) ?? "", stream: s.text(1) ?? "", externalId: s.text(2) ?? "",
                    reason: s.text(3) ?? "", rawJSON: s.text(4) ?? "null", attempts: Int(s.int(5) ?? 0),
                    firstFailedAt: s.text(6).flatMap { Timestamp.parse($0) } ?? 0,
                    lastFailedAt: s.text(7).flatMap { Timestamp.parse($0) } ?? 0))
            }
            return out
        }
    }

    // MARK: Leases and tokens

    public func acquireLease(integrationId: String, holder: String, ttlSeconds: Int, takeOverFrom: String?) async throws -> Bool {
        try withDB { db in
            let now = currentMicros()
            let s = try db.prepare("""
                INSERT INTO tradesync_leases (integration_id, holder, expires_at_micros) VALUES (?1, ?2, ?3)
                ON CONFLICT (integration_id) DO UPDATE SET holder = excluded.holder, expires_at_micros = excluded.expires_at_micros
                WHERE tradesync_leases.expires_at_micros < ?4 OR tradesync_leases.holder = excluded.holder
                   OR tradesync_leases.holder = ?5
                """)
            s.bind(1, integrationId)
            s.bind(2, holder)
            s.bind(3, now + Int64(ttlSeconds) * 1_000_000)
            s.bind(4, now)
            s.bind(5, takeOverFrom)
            try s.run()
            return sqlite3_changes(db.handle) == 1
        }
    }

    public func leaseHolder(integrationId: String) async throws -> String? {
        try withDB { db in
            let s = try db.prepare("SELECT holder FROM tradesync_leases WHERE integration_id = ?")
            s.bind(1, integrationId)
            return try s.step() ? s.text(0) : nil
        }
    }

    public func markInterruptedRuns(integrationId: String) async throws -> Int {
        try withDB { db in
            let s = try db.prepare("""
                UPDATE contractor_sync_logs SET status = 'failed', completed_at = ?,
                    error_message = 'interrupted: the process stopped before the run finished'
                WHERE integration_id = ? AND status = 'running'
                """)
            s.bind(1, Timestamp.iso8601(micros: currentMicros()))
            s.bind(2, integrationId)
            try s.run()
            return Int(sqlite3_changes(db.handle))
        }
    }

    public func rowCount(table: String) async throws -> Int {
        try withDB { db in
            let s = try db.prepare("SELECT COUNT(*) FROM \(Schema.quote(table))")
            _ = try s.step()
            return Int(s.int(0) ?? 0)
        }
    }

    public func releaseLease(integrationId: String, holder: String) async throws {
        try withDB { db in
            let s = try db.prepare("DELETE FROM tradesync_leases WHERE integration_id = ? AND holder = ?")
            s.bind(1, integrationId)
            s.bind(2, holder)
            try s.run()
        }
    }

    public func loadTokens(integrationId: String) async throws -> StoredTokens? {
        try withDB { db in
            let s = try db.prepare("""
                SELECT access_token, refresh_token, expires_at_micros, refresh_expires_at_micros, callback_fields
                FROM tradesync_tokens WHERE integration_id = ?
                """)
            s.bind(1, integrationId)
            defer { s.reset() }
            guard try s.step() else { return nil }
            return StoredTokens(accessToken: s.text(0), refreshToken: s.text(1) ?? "", expiresAtMicros: s.int(2),
                                refreshExpiresAtMicros: s.int(3), callbackFieldsJSON: s.text(4))
        }
    }

    public func replaceTokens(integrationId: String, expectedRefreshToken: String?, with t: StoredTokens) async throws -> Bool {
        try withDB { db in
            let now = Timestamp.iso8601(micros: currentMicros())
            if let expected = expectedRefreshToken {
                // Callback fields come once, with the authorization: a refresh (nil) keeps them.
                let s = try db.prepare("""
                    UPDATE tradesync_tokens SET access_token = ?, refresh_token = ?, expires_at_micros = ?, updated_at = ?,
                        refresh_expires_at_micros = ?, callback_fields = COALESCE(?, callback_fields)
                    WHERE integration_id = ? AND refresh_token = ?
                    """)
                s.bind(1, t.accessToken)
                s.bind(2, t.refreshToken)
                s.bind(3, t.expiresAtMicros)
                s.bind(4, now)
                s.bind(5, t.refreshExpiresAtMicros)
                s.bind(6, t.callbackFieldsJSON)
                s.bind(7, integrationId)
                s.bind(8, expected)
                try s.run()
            } else {
                let s = try db.prepare("""
                    INSERT INTO tradesync_tokens (integration_id, access_token, refresh_token, expires_at_micros, updated_at,
                        refresh_expires_at_micros, callback_fields)
                    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (integration_id) DO NOTHING
                    """)
                s.bind(1, integrationId)
                s.bind(2, t.accessToken)
                s.bind(3, t.refreshToken)
                s.bind(4, t.expiresAtMicros)
                s.bind(5, now)
                s.bind(6, t.refreshExpiresAtMicros)
                s.bind(7, t.callbackFieldsJSON)
                try s.run()
            }
            return sqlite3_changes(db.handle) == 1
        }
    }

    public func tokenIntegrationIds() async throws -> [String] {
        try withDB { db in
            let s = try db.prepare("SELECT integration_id FROM tradesync_tokens ORDER BY integration_id")
            var out: [String] = []
            while try s.step() { if let id = s.text(0) { out.append(id) } }
            return out
        }
    }

    public func deleteTokens(integrationId: String) async throws {
        try withDB { db in
            let s = try db.prepare("DELETE FROM tradesync_tokens WHERE integration_id = ?")
            s.bind(1, integrationId)
            try s.run()
        }
    }

    public func acquireCredentialLease(integrationId: String, holder: String, ttlSeconds: Int) async throws -> Bool {
        try withDB { db in
            let now = currentMicros()
            let s = try db.prepare("""
                INSERT INTO tradesync_credential_leases (integration_id, holder, expires_at_micros) VALUES (?1, ?2, ?3)
                ON CONFLICT (integration_id) DO UPDATE SET holder = excluded.holder, expires_at_micros = excluded.expires_at_micros
                WHERE tradesync_credential_leases.expires_at_micros < ?4 OR tradesync_credential_leases.holder = excluded.holder
                """)
            s.bind(1, integrationId)
            s.bind(2, holder)
            s.bind(3, now + Int64(ttlSeconds) * 1_000_000)
            s.bind(4, now)
            try s.run()
            return sqlite3_changes(db.handle) == 1
        }
    }

    public func releaseCredentialLease(integrationId: String, holder: String) async throws {
        try withDB { db in
            let s = try db.prepare("DELETE FROM tradesync_credential_leases WHERE integration_id = ? AND holder = ?")
            s.bind(1, integrationId)
            s.bind(2, holder)
            try s.run()
        }
    }

    public func saveOAuthState(_ r: OAuthStateRecord) async throws {
        try withDB { db in
            // Expired states are of no use to anyone: drop them on the way.
            let purge = try db.prepare("DELETE FROM tradesync_oauth_states WHERE expires_at_micros < ?")
            purge.bind(1, currentMicros())
            try purge.run()
            let s = try db.prepare("""
                INSERT INTO tradesync_oauth_states (state, integration_id, redirect_uri, code_verifier, expires_at_micros)
                VALUES (?, ?, ?, ?, ?)
                """)
            s.bind(1, r.state)
            s.bind(2, r.integrationId)
            s.bind(3, r.redirectURI)
            s.bind(4, r.codeVerifier)
            s.bind(5, r.expiresAtMicros)
            try s.run()
        }
    }

    public func takeOAuthState(_ state: String) async throws -> OAuthStateRecord? {
        try withDB { db in
            let s = try db.prepare("""
                DELETE FROM tradesync_oauth_states WHERE state = ?
                RETURNING state, integration_id, redirect_uri, code_verifier, expires_at_micros
                """)
            s.bind(1, state)
            guard try s.step() else { return nil }
            let out = OAuthStateRecord(state: s.text(0) ?? "", integrationId: s.text(1) ?? "", redirectURI: s.text(2) ?? "",
                                       codeVerifier: s.text(3), expiresAtMicros: s.int(4) ?? 0)
            try s.run()
            return out
        }
    }

    // MARK: Runs

    public func startRun(_ run: SyncRunStart) async throws -> String {
        try withDB { db in
            let id = newIdentifier()
            let s = try db.prepare("""
                INSERT INTO contractor_sync_logs (id, integration_id, demo_id, entity_type, sync_type, status, details, started_at)
                VALUES (?, ?, ?, ?, ?, 'running', '{}', ?)
                """)
            s.bind(1, id)
            s.bind(2, run.integrationId)
            s.bind(3, run.demoId)
            s.bind(4, run.entityType)
            s.bind(5, run.syncType)
            s.bind(6, Timestamp.iso8601(micros: run.startedAt))
            try s.run()
            return id
        }
    }

    public func finishRun(_ run: SyncRunFinish) async throws {
        try withDB { db in
            try db.transaction {
                let s = try db.prepare("""
                    UPDATE contractor_sync_logs SET status = ?, completed_at = ?, duration_ms = ?, error_message = ?, details = ?
                    WHERE id = ?
                    """)
                s.bind(1, run.status.rawValue)
                s.bind(2, Timestamp.iso8601(micros: run.completedAt))
                s.bind(3, run.durationMs)
                s.bind(4, run.errorMessage)
                s.bind(5, run.detailsJSON)
                s.bind(6, run.runId)
                try s.run()
                if run.status == .success || run.status == .partial {
                    let c = try db.prepare("""
                        UPDATE contractor_integrations SET last_synced_at = ?, updated_at = ?
                        WHERE id = (SELECT integration_id FROM contractor_sync_logs WHERE id = ?)
                        """)
                    c.bind(1, Timestamp.iso8601(micros: run.completedAt))
                    c.bind(2, Timestamp.iso8601(micros: run.completedAt))
                    c.bind(3, run.runId)
                    try c.run()
                }
            }
        }
    }

    public func runs(integrationId: String?, limit: Int) async throws -> [SyncRunRecord] {
        try withDB { db in
            let s = try db.prepare("""
                SELECT id, integration_id, demo_id, entity_type, sync_type, status, records_fetched, records_inserted,
                       records_updated, records_unchanged, records_failed, started_at, completed_at, duration_ms,
                       error_message, details
                FROM contractor_sync_logs WHERE ?1 IS NULL OR integration_id = ?1
                ORDER BY started_at DESC, rowid DESC LIMIT ?2
                """)
            s.bind(1, integrationId)
            s.bind(2, Int64(limit))
            var out: [SyncRunRecord] = []
            while try s.step() {
                out.append(SyncRunRecord(
                    id: s.text(0) ?? "", integrationId: s.text(1) ?? "", demoId: s.text(2) ?? "",
                    entityType: s.text(3) ?? "", syncType: s.text(4) ?? "",
                    status: SyncRunStatus(rawValue: s.text(5) ?? "") ?? .failed, fetched: Int(s.int(6) ?? 0),
                    inserted: Int(s.int(7) ?? 0), updated: Int(s.int(8) ?? 0), unchanged: Int(s.int(9) ?? 0),
                    failed: Int(s.int(10) ?? 0), startedAt: s.text(11).flatMap { Timestamp.parse($0) } ?? 0,
                    completedAt: s.text(12).flatMap { Timestamp.parse($0) }, durationMs: s.int(13),
                    errorMessage: s.text(14), detailsJSON: s.text(15) ?? "{}"))
            }
            return out
        }
    }

    // MARK: Reading back

    public func rows(entity: EntityModel, integrationId: String) async throws -> [String: StoredRow] {
        try withDB { db in
            let fields = entity.fields.map { Schema.quote($0.name) }
            let s = try db.prepare("""
                SELECT id, external_id, source_hash\(fields.isEmpty ? "" : ", " + fields.joined(separator: ", "))
                FROM \(Schema.quote(entity.table)) WHERE integration_id = ?
                """)
            s.bind(1, integrationId)
            var out: [String: StoredRow] = [:]
            while try s.step() {
                var values: [String: String?] = [:]
                for (i, f) in entity.fields.enumerated() {
                    values[f.name] = s.text(Int32(i + 3))
                }
                out[s.text(1) ?? ""] = StoredRow(id: s.text(0) ?? "", sourceHash: s.text(2) ?? "", values: values)
            }
            return out
        }
    }

    /// The first column of a query's rows as text (tests and diagnostics).
    func textColumn(_ sql: String) async throws -> [String] {
        try withDB { db in
            let s = try db.prepare(sql)
            var out: [String] = []
            while try s.step() { if let t = s.text(0) { out.append(t) } }
            return out
        }
    }

    public func mappingCount(integrationId: String, entity: String) async throws -> Int {
        try withDB { db in
            let s = try db.prepare("SELECT COUNT(*) FROM contractor_data_mappings WHERE integration_id = ? AND entity_type = ?")
            s.bind(1, integrationId)
            s.bind(2, entity)
            _ = try s.step()
            return Int(s.int(0) ?? 0)
        }
    }

    public func summary() async throws -> [IntegrationSummary] {
        try withDB { db in
            let s = try db.prepare("""
                SELECT integration_id, demo_id, integration_type, status, total_syncs, successful_syncs, failed_syncs,
                       records_inserted, records_synced
                FROM \(Schema.summaryName) ORDER BY demo_id, integration_type
                """)
            var out: [IntegrationSummary] = []
            while try s.step() {
                out.append(IntegrationSummary(
                    integrationId: s.text(0) ?? "", demoId: s.text(1) ?? "", integrationType: s.text(2) ?? "",
                    status: s.text(3) ?? "", totalSyncs: Int(s.int(4) ?? 0), successfulSyncs: Int(s.int(5) ?? 0),
                    failedSyncs: Int(s.int(6) ?? 0), recordsInserted: Int(s.int(7) ?? 0), recordsSynced: Int(s.int(8) ?? 0)))
            }
            return out
        }
    }
}

/// A time-ordered UUID (version 7: 48-bit Unix milliseconds, then random bits) in lowercase
/// text, the form of every internal id. Time order keeps inserts at the end of the primary-key
/// B-trees instead of scattered over them, which is most of an insert's I/O on large tables.
public func newIdentifier() -> String { IdentifierGenerator.shared.next() }

final class IdentifierGenerator: @unchecked Sendable {
    static let shared = IdentifierGenerator()
    private let lock = NSLock()
    private var state: (UInt64, UInt64)
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    init() {
        var system = SystemRandomNumberGenerator()
        state = (system.next() | 1, system.next() | 1)
    }

    /// xorshift128+: no system call per id (getrandom was a measurable share of a sync).
    private func random() -> UInt64 {
        lock.withLock {
            var s1 = state.0
            let s0 = state.1
            state.0 = s0
            s1 ^= s1 << 23
            state.1 = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26)
            return state.1 &+ s0
        }
    }

    func next() -> String {
        let millis = UInt64(max(0, currentMicros() / 1000))
        let r1 = random()
        let r2 = random()
        let high = (millis << 16) | 0x7000 | (r1 & 0x0FFF)
        let low = (r2 & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let hex = IdentifierGenerator.hex
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var i = 0
            func put(_ value: UInt64, _ nibbles: Int) {
                for n in stride(from: nibbles - 1, through: 0, by: -1) {
                    buffer[i] = hex[Int((value >> (UInt64(n) * 4)) & 0xF)]
                    i += 1
                }
            }
            put(high >> 32, 8); buffer[i] = 45; i += 1
            put((high >> 16) & 0xFFFF, 4); buffer[i] = 45; i += 1
            put(high & 0xFFFF, 4); buffer[i] = 45; i += 1
            put(low >> 48, 4); buffer[i] = 45; i += 1
            put(low & 0xFFFF_FFFF_FFFF, 12)
            return i
        }
    }
}

public func currentMicros() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
}
