import TradeSyncCore

extension SQLStore: RunLeases {
    public func acquireLease(integrationId: String, holder: String, ttlSeconds: Int, takeOverFrom: String?) async throws -> Bool {
        let now = currentMicros()
        return !(try await sql.query("""
            INSERT INTO tradesync_leases (integration_id, holder, expires_at_micros) VALUES (?1, ?2, ?3)
            ON CONFLICT (integration_id) DO UPDATE SET holder = excluded.holder, expires_at_micros = excluded.expires_at_micros
            WHERE tradesync_leases.expires_at_micros < ?4 OR tradesync_leases.holder = excluded.holder
               OR tradesync_leases.holder = ?5
            RETURNING holder
            """, [.text(integrationId), .text(holder), .int(now + Int64(ttlSeconds) * 1_000_000), .int(now),
                  .text(takeOverFrom)])).isEmpty
    }

    public func leaseHolder(integrationId: String) async throws -> String? {
        try await sql.text("SELECT holder FROM tradesync_leases WHERE integration_id = ?", [.text(integrationId)])
    }

    public func releaseLease(integrationId: String, holder: String) async throws {
        try await sql.execute("DELETE FROM tradesync_leases WHERE integration_id = ? AND holder = ?",
                              [.text(integrationId), .text(holder)])
    }

    public func markInterruptedRuns(integrationId: String) async throws -> Int {
        try await sql.query("""
            UPDATE contractor_sync_logs SET status = 'failed', completed_at = ?,
                error_message = 'interrupted: the process stopped before the run finished'
            WHERE integration_id = ? AND status = 'running' RETURNING 1
            """, [.timestamp(currentMicros()), .text(integrationId)]).count
    }

    public func acquireCredentialLease(integrationId: String, holder: String, ttlSeconds: Int) async throws -> Bool {
        let now = currentMicros()
        return !(try await sql.query("""
            INSERT INTO tradesync_credential_leases (integration_id, holder, expires_at_micros) VALUES (?1, ?2, ?3)
            ON CONFLICT (integration_id) DO UPDATE SET holder = excluded.holder, expires_at_micros = excluded.expires_at_micros
            WHERE tradesync_credential_leases.expires_at_micros < ?4 OR tradesync_credential_leases.holder = excluded.holder
            RETURNING holder
            """, [.text(integrationId), .text(holder), .int(now + Int64(ttlSeconds) * 1_000_000), .int(now)])).isEmpty
    }

    public func releaseCredentialLease(integrationId: String, holder: String) async throws {
        try await sql.execute("DELETE FROM tradesync_credential_leases WHERE integration_id = ? AND holder = ?",
                              [.text(integrationId), .text(holder)])
    }
}
