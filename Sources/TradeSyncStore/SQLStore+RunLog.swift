public import TradeSyncCore

extension SQLStore: RunLog {
    public func startRun(_ run: SyncRunStart) async throws -> String {
        let id = newIdentifier()
        try await sql.execute("""
            INSERT INTO contractor_sync_logs (id, integration_id, demo_id, entity_type, sync_type, status, details, started_at)
            VALUES (?, ?, ?, ?, ?, 'running', '{}', ?)
            """, [.text(id), .text(run.integrationId), .text(run.demoId), .text(run.entityType), .text(run.syncType),
                  .timestamp(run.startedAt)])
        return id
    }

    public func finishRun(_ run: SyncRunFinish) async throws {
        try await sql.transaction { db in
            try await db.execute("""
                UPDATE contractor_sync_logs SET status = ?, completed_at = ?, duration_ms = ?, error_message = ?, details = ?
                WHERE id = ?
                """, [.text(run.status.rawValue), .timestamp(run.completedAt), .int(run.durationMs),
                      .text(run.errorMessage), .json(run.detailsJSON), .text(run.runId)])
            if run.status == .success || run.status == .partial {
                try await db.execute("""
                    UPDATE contractor_integrations SET last_synced_at = ?, updated_at = ?
                    WHERE id = (SELECT integration_id FROM contractor_sync_logs WHERE id = ?)
                    """, [.timestamp(run.completedAt), .timestamp(run.completedAt), .text(run.runId)])
            }
        }
        for statement in dialect.afterRunRecorded { try await sql.execute(statement) }
        if run.analyze {
            // Every entity table the model declared: the run's own are among them.
            let tables = try await sql.query("SELECT DISTINCT table_name FROM tradesync_model_columns ORDER BY table_name")
                .compactMap { $0.text(0) }.map(Schema.quote)
            for statement in dialect.analyze(tables) { try await sql.execute(statement) }
        }
    }

    public func runs(integrationId: String?, limit: Int) async throws -> [SyncRunRecord] {
        try await sql.query("""
            SELECT id, integration_id, demo_id, entity_type, sync_type, status, records_fetched, records_inserted,
                   records_updated, records_unchanged, records_failed, \(dialect.micros("started_at")),
                   \(dialect.micros("completed_at")), duration_ms, error_message, CAST(details AS TEXT)
            FROM contractor_sync_logs WHERE ?1 IS NULL OR integration_id = ?1
            ORDER BY started_at DESC, \(dialect.insertionOrder) DESC LIMIT ?2
            """, [.text(integrationId), .int(limit)]).map { r in
            SyncRunRecord(
                id: r.text(0) ?? "", integrationId: r.text(1) ?? "", demoId: r.text(2) ?? "", entityType: r.text(3) ?? "",
                syncType: r.text(4) ?? "", status: SyncRunStatus(rawValue: r.text(5) ?? "") ?? .failed,
                fetched: Int(r.int(6) ?? 0), inserted: Int(r.int(7) ?? 0), updated: Int(r.int(8) ?? 0),
                unchanged: Int(r.int(9) ?? 0), failed: Int(r.int(10) ?? 0), startedAt: r.micros(11) ?? 0,
                completedAt: r.micros(12), durationMs: r.int(13), errorMessage: r.text(14), detailsJSON: r.text(15) ?? "{}")
        }
    }
}
