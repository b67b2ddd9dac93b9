import Foundation
import TradeSyncCore

/// DDL for both stores, generated from one description so the two cannot drift.
enum Schema {
    struct Migration: Sendable {
        var version: Int
        var name: String
        var statements: @Sendable (SQLDialect) -> [String]
    }

    static func ts(_ d: SQLDialect) -> String { d.timestampType }
    static func bool(_ d: SQLDialect) -> String { d.booleanType }
    static func json(_ d: SQLDialect) -> String { d.jsonType }
    static func bigint(_ d: SQLDialect) -> String { d.bigintType }
    /// Identifier columns (see `SQLDialect.keyType`).
    static func key(_ d: SQLDialect) -> String { d.keyType }

    /// The table that records which versioned migrations ran: created before any of them.
    static func migrationsTable(_ d: SQLDialect) -> String {
        """
        CREATE TABLE IF NOT EXISTS tradesync_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at \(ts(d)) NOT NULL)
        """
    }

    /// Versioned, append-only. Never edit a shipped migration; add the next version.
    static let migrations: [Migration] = [
        Migration(version: 1, name: "seed tables: templates, integrations, sync logs, data mappings, cursors") { d in
            [
                """
                CREATE TABLE IF NOT EXISTS contractor_integration_templates (
                    integration_type TEXT PRIMARY KEY,
                    display_name TEXT NOT NULL,
                    description TEXT,
                    auth_type TEXT NOT NULL,
                    status TEXT NOT NULL,
                    status_note TEXT,
                    capabilities \(json(d)) NOT NULL,
                    default_frequency TEXT NOT NULL,
                    docs_url TEXT,
                    config \(json(d)) NOT NULL,
                    updated_at \(ts(d)) NOT NULL
                )
                """,
                """
                CREATE TABLE IF NOT EXISTS contractor_integrations (
                    id \(key(d)) PRIMARY KEY,
                    demo_id \(key(d)) NOT NULL,
                    connection_key TEXT NOT NULL,
                    integration_type TEXT NOT NULL,
                    status TEXT NOT NULL,
                    credentials \(json(d)) NOT NULL,
                    config \(json(d)) NOT NULL,
                    sync_frequency TEXT NOT NULL,
                    auto_sync \(bool(d)) NOT NULL,
                    last_synced_at \(ts(d)),
                    next_sync_at \(ts(d)),
                    last_error TEXT,
                    created_at \(ts(d)) NOT NULL,
                    updated_at \(ts(d)) NOT NULL,
                    UNIQUE (demo_id, connection_key)
                )
                """,
                """
                CREATE TABLE IF NOT EXISTS contractor_sync_logs (
                    id \(key(d)) PRIMARY KEY,
                    integration_id \(key(d)) NOT NULL REFERENCES contractor_integrations(id) ON DELETE CASCADE,
                    demo_id \(key(d)) NOT NULL,
                    entity_type TEXT NOT NULL,
                    sync_type TEXT NOT NULL,
                    status TEXT NOT NULL,
                    records_fetched \(bigint(d)) NOT NULL DEFAULT 0,
                    records_inserted \(bigint(d)) NOT NULL DEFAULT 0,
                    records_updated \(bigint(d)) NOT NULL DEFAULT 0,
                    records_unchanged \(bigint(d)) NOT NULL DEFAULT 0,
                    records_failed \(bigint(d)) NOT NULL DEFAULT 0,
                    duration_ms \(bigint(d)),
                    error_message TEXT,
                    details \(json(d)) NOT NULL,
                    started_at \(ts(d)) NOT NULL,
                    completed_at \(ts(d))
                )
                """,
                "CREATE INDEX IF NOT EXISTS contractor_sync_logs_integration ON contractor_sync_logs (integration_id, started_at)",
                """
                CREATE TABLE IF NOT EXISTS contractor_data_mappings (
                    id \(key(d)) PRIMARY KEY,
                    integration_id \(key(d)) NOT NULL REFERENCES contractor_integrations(id) ON DELETE CASCADE,
                    entity_type \(key(d)) NOT NULL,
                    external_id \(key(d)) NOT NULL,
                    internal_id \(key(d)) NOT NULL,
                    created_at \(ts(d)) NOT NULL,
                    last_synced_at \(ts(d)) NOT NULL,
                    UNIQUE (integration_id, entity_type, external_id)
                )
                """,
                """
                CREATE TABLE IF NOT EXISTS tradesync_cursors (
                    integration_id TEXT NOT NULL REFERENCES contractor_integrations(id) ON DELETE CASCADE,
                    stream TEXT NOT NULL,
                    cursor TEXT,
                    updated_at \(ts(d)) NOT NULL,
                    PRIMARY KEY (integration_id, stream)
                )
                """,
                """
                CREATE TABLE IF NOT EXISTS tradesync_model_columns (
                    table_name TEXT NOT NULL,
                    column_name TEXT NOT NULL,
                    column_type TEXT NOT NULL,
                    added_at \(ts(d)) NOT NULL,
                    PRIMARY KEY (table_name, column_name)
                )
                """,
            ]
        },
        Migration(version: 2, name: "run leases and OAuth tokens") { d in
            [
                // Expiry as µs since the epoch: compared as numbers on both stores.
                """
                CREATE TABLE IF NOT EXISTS tradesync_leases (
                    integration_id TEXT PRIMARY KEY REFERENCES contractor_integrations(id) ON DELETE CASCADE,
                    holder TEXT NOT NULL,
                    expires_at_micros \(bigint(d)) NOT NULL
                )
                """,
                """
                CREATE TABLE IF NOT EXISTS tradesync_tokens (
                    integration_id TEXT PRIMARY KEY REFERENCES contractor_integrations(id) ON DELETE CASCADE,
                    access_token TEXT,
                    refresh_token TEXT NOT NULL,
                    expires_at_micros \(bigint(d)),
                    updated_at \(ts(d)) NOT NULL
                )
                """,
            ]
        },
        Migration(version: 3, name: "kept failed records") { d in
            [
                // A record that failed mapping waits here, raw, until a later run maps it.
                """
                CREATE TABLE IF NOT EXISTS tradesync_failed_records (
                    integration_id \(key(d)) NOT NULL REFERENCES contractor_integrations(id) ON DELETE CASCADE,
                    stream \(key(d)) NOT NULL,
                    external_id \(key(d)) NOT NULL,
                    reason TEXT NOT NULL,
                    raw TEXT NOT NULL,
                    attempts INTEGER NOT NULL,
                    first_failed_at \(ts(d)) NOT NULL,
                    last_failed_at \(ts(d)) NOT NULL,
                    PRIMARY KEY (integration_id, stream, external_id)
                )
                """,
            ]
        },
        Migration(version: 4, name: "credentials: refresh-token expiry, callback fields, credential leases, OAuth states") { d in
            [
                // Token columns hold sealed envelopes (`v1:<key id>:…`), never plain text.
                "ALTER TABLE tradesync_tokens ADD COLUMN refresh_expires_at_micros \(bigint(d))",
                // Fields the provider returned on the OAuth callback (QuickBooks `realmId`), as JSON.
                "ALTER TABLE tradesync_tokens ADD COLUMN callback_fields TEXT",
                // One refresh at a time per connection, across processes: a refresh token that
                // rotates must never be spent twice.
                """
                CREATE TABLE IF NOT EXISTS tradesync_credential_leases (
                    integration_id \(key(d)) PRIMARY KEY REFERENCES contractor_integrations(id) ON DELETE CASCADE,
                    holder TEXT NOT NULL,
                    expires_at_micros \(bigint(d)) NOT NULL
                )
                """,
                // Pending authorizations of `connect`: random, single-use, bound to a connection.
                """
                CREATE TABLE IF NOT EXISTS tradesync_oauth_states (
                    state \(key(d)) PRIMARY KEY,
                    integration_id \(key(d)) NOT NULL REFERENCES contractor_integrations(id) ON DELETE CASCADE,
                    redirect_uri TEXT NOT NULL,
                    code_verifier TEXT,
                    expires_at_micros \(bigint(d)) NOT NULL
                )
                """,
            ]
        },
        runQueueMigration,
        apiTokensMigration,
        rawAndAppliedState,
        idMapAsView,
        rawPages,
    ]

    static func columnType(_ type: FieldType, _ d: SQLDialect) -> String {
        switch type {
        case .string, .text, .enumeration: return "TEXT"
        case .integer: return bigint(d)
        case .decimal: return d.decimalType
        case .boolean: return bool(d)
        case .timestamp: return ts(d)
        case .date: return d.dateType
        case .json: return json(d)
        }
    }

    static func createEntityTable(_ e: EntityModel, _ d: SQLDialect) -> [String] {
        var columns = [
            "id \(key(d)) PRIMARY KEY",
            "demo_id \(key(d)) NOT NULL",
            "integration_id \(key(d)) NOT NULL REFERENCES contractor_integrations(id) ON DELETE CASCADE",
            "external_id \(key(d)) NOT NULL",
            "source_hash TEXT NOT NULL",
            "created_at \(ts(d)) NOT NULL",
            "updated_at \(ts(d)) NOT NULL",
        ]
        columns += rawPointerColumns(d).map { "\($0.name) \($0.type)" }
        for f in e.fields { columns.append("\(quote(f.name)) \(columnType(f.type, d))") }
        return [
            "CREATE TABLE IF NOT EXISTS \(quote(e.table)) (\n    " + columns.joined(separator: ",\n    ") + "\n)",
            "CREATE UNIQUE INDEX IF NOT EXISTS \(quote(e.table + "_external")) ON \(quote(e.table)) (integration_id, external_id)",
            "CREATE INDEX IF NOT EXISTS \(quote(e.table + "_demo")) ON \(quote(e.table)) (demo_id)",
        ]
    }

    static let summaryName = "contractor_integration_summary"

    /// The per-integration summary: a view on SQLite, a materialized view on PostgreSQL
    /// (refreshed after each run) as in the seed. It reads only the run log: counting the id
    /// map here made every refresh scan every mapping (0.4 s at 200,000 records).
    static func summaryView(_ d: SQLDialect) -> [String] {
        let body = """
            SELECT i.id AS integration_id, i.demo_id, i.integration_type, i.status, i.last_synced_at,
                   COUNT(l.id) AS total_syncs,
                   COALESCE(SUM(CASE WHEN l.status = 'success' THEN 1 ELSE 0 END), 0) AS successful_syncs,
                   COALESCE(SUM(CASE WHEN l.status = 'failed' THEN 1 ELSE 0 END), 0) AS failed_syncs,
                   COALESCE(SUM(l.records_inserted), 0) AS records_inserted,
                   COALESCE(SUM(l.records_inserted + l.records_updated), 0) AS records_synced,
                   MAX(l.started_at) AS last_run_started_at
            FROM contractor_integrations i
            LEFT JOIN contractor_sync_logs l ON l.integration_id = i.id
            GROUP BY i.id, i.demo_id, i.integration_type, i.status, i.last_synced_at
            """
        return d.summaryRelation(summaryName, body)
    }

    /// Identifiers come from validated configuration (lowercase, digits, _), quoted anyway.
    static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

