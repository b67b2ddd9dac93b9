public import TradeSyncCore

/// The record reads with nothing dialect-specific in them. The page write, its lookup and
/// `rows` (whose cell formats differ) stay with each store.
extension SQLStore {
    public func cursor(integrationId: String, stream: String) async throws -> String? {
        try await sql.text("SELECT cursor FROM tradesync_cursors WHERE integration_id = ? AND stream = ?",
                           [.text(integrationId), .text(stream)])
    }

    public func keptFailures(integrationId: String?, stream: String?, limit: Int) async throws -> [KeptFailure] {
        try await sql.query("""
            SELECT integration_id, stream, external_id, reason, raw, attempts, \(dialect.micros("first_failed_at")),
                   \(dialect.micros("last_failed_at"))
            FROM tradesync_failed_records
            WHERE (?1 IS NULL OR integration_id = ?1) AND (?2 IS NULL OR stream = ?2)
            ORDER BY first_failed_at, external_id LIMIT ?3
            """, [.text(integrationId), .text(stream), .int(limit)]).map { r in
            KeptFailure(integrationId: r.text(0) ?? "", stream: r.text(1) ?? "", externalId: r.text(2) ?? "",
                        reason: r.text(3) ?? "", rawJSON: r.text(4) ?? "null", attempts: Int(r.int(5) ?? 0),
                        firstFailedAt: r.micros(6) ?? 0, lastFailedAt: r.micros(7) ?? 0)
        }
    }
}
