public import TradeSyncCore

extension SQLStore: ConnectionCatalog {
    public func upsertTemplate(_ t: IntegrationTemplate) async throws {
        try await sql.execute("""
            INSERT INTO contractor_integration_templates
                (integration_type, display_name, description, auth_type, status, status_note, capabilities,
                 default_frequency, docs_url, config, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (integration_type) DO UPDATE SET
                display_name = excluded.display_name, description = excluded.description,
                auth_type = excluded.auth_type, status = excluded.status, status_note = excluded.status_note,
                capabilities = excluded.capabilities, default_frequency = excluded.default_frequency,
                docs_url = excluded.docs_url, config = excluded.config, updated_at = excluded.updated_at
            """, [
                .text(t.integrationType), .text(t.displayName), .text(t.description), .text(t.authType), .text(t.status),
                .text(t.statusNote), .json(JSONValue.array(t.capabilities.map { .string($0) }).jsonText),
                .text(t.defaultFrequency), .text(t.docsURL), .json(t.configJSON), .timestamp(currentMicros()),
            ])
    }

    public func templates() async throws -> [IntegrationTemplate] {
        try await sql.query("""
            SELECT integration_type, display_name, description, auth_type, status, status_note, CAST(capabilities AS TEXT),
                   default_frequency, docs_url, CAST(config AS TEXT)
            FROM contractor_integration_templates ORDER BY integration_type
            """).map { r in
            IntegrationTemplate(
                integrationType: r.text(0) ?? "", displayName: r.text(1) ?? "", description: r.text(2),
                authType: r.text(3) ?? "", status: r.text(4) ?? "", statusNote: r.text(5),
                capabilities: (try? JSONValue.parse(r.text(6) ?? "[]"))?.arrayValue?.compactMap(\.stringValue) ?? [],
                defaultFrequency: r.text(7) ?? "", docsURL: r.text(8), configJSON: r.text(9) ?? "{}")
        }
    }

    /// The columns `readConnection` reads, in its order.
    var connectionColumns: String {
        """
        id, demo_id, connection_key, integration_type, status, CAST(credentials AS TEXT), CAST(config AS TEXT),
        sync_frequency, auto_sync, \(dialect.micros("last_synced_at")), last_error
        """
    }

    static func readConnection(_ r: SQLRow) -> ConnectionRecord {
        ConnectionRecord(
            id: r.text(0) ?? "", demoId: r.text(1) ?? "", connectionKey: r.text(2) ?? "", integrationType: r.text(3) ?? "",
            status: ConnectionStatus(rawValue: r.text(4) ?? "") ?? .error, credentialsJSON: r.text(5) ?? "{}",
            configJSON: r.text(6) ?? "{}", syncFrequency: r.text(7) ?? "manual", autoSync: r.bool(8),
            lastSyncedAt: r.micros(9), lastError: r.text(10))
    }

    public func upsertConnection(_ c: ConnectionRecord) async throws -> ConnectionRecord {
        let now = currentMicros()
        let rows = try await sql.query("""
            INSERT INTO contractor_integrations
                (id, demo_id, connection_key, integration_type, status, credentials, config, sync_frequency,
                 auto_sync, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (demo_id, connection_key) DO UPDATE SET
                integration_type = excluded.integration_type, credentials = excluded.credentials,
                config = excluded.config, sync_frequency = excluded.sync_frequency,
                auto_sync = excluded.auto_sync, updated_at = excluded.updated_at
            RETURNING \(connectionColumns)
            """, [
                .text(c.id.isEmpty ? newIdentifier() : c.id), .text(c.demoId), .text(c.connectionKey),
                .text(c.integrationType), .text(c.status.rawValue), .json(c.credentialsJSON), .json(c.configJSON),
                .text(c.syncFrequency), .bool(c.autoSync), .timestamp(now), .timestamp(now),
            ])
        guard let row = rows.first else {
            throw StoreError(.database, "upsert of connection \(c.connectionKey) returned nothing")
        }
        return SQLStore.readConnection(row)
    }

    public func connections(demoId: String?) async throws -> [ConnectionRecord] {
        try await sql.query("""
            SELECT \(connectionColumns) FROM contractor_integrations
            WHERE ?1 IS NULL OR demo_id = ?1 ORDER BY demo_id, connection_key
            """, [.text(demoId)]).map(SQLStore.readConnection)
    }

    public func connection(id: String) async throws -> ConnectionRecord? {
        try await sql.query("SELECT \(connectionColumns) FROM contractor_integrations WHERE id = ?", [.text(id)])
            .first.map(SQLStore.readConnection)
    }

    public func setConnectionStatus(id: String, status: ConnectionStatus, error: String?) async throws {
        try await sql.execute("UPDATE contractor_integrations SET status = ?, last_error = ?, updated_at = ? WHERE id = ?",
                              [.text(status.rawValue), .text(error), .timestamp(currentMicros()), .text(id)])
    }

    public func summary() async throws -> [IntegrationSummary] {
        try await sql.query("""
            SELECT integration_id, demo_id, integration_type, status, CAST(total_syncs AS BIGINT),
                   CAST(successful_syncs AS BIGINT), CAST(failed_syncs AS BIGINT), CAST(records_inserted AS BIGINT),
                   CAST(records_synced AS BIGINT)
            FROM \(Schema.summaryName) ORDER BY demo_id, integration_type
            """).map { r in
            IntegrationSummary(
                integrationId: r.text(0) ?? "", demoId: r.text(1) ?? "", integrationType: r.text(2) ?? "",
                status: r.text(3) ?? "", totalSyncs: Int(r.int(4) ?? 0), successfulSyncs: Int(r.int(5) ?? 0),
                failedSyncs: Int(r.int(6) ?? 0), recordsInserted: Int(r.int(7) ?? 0), recordsSynced: Int(r.int(8) ?? 0))
        }
    }
}
