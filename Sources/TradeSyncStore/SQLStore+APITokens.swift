public import TradeSyncCore

extension SQLStore: APITokenStore {
    static let apiTokenColumns = """
        id, token_sha256, contractor_id, is_admin, label, created_at_micros, last_used_at_micros, revoked_at_micros
        """

    static func readAPIToken(_ r: SQLRow) -> APITokenRecord {
        APITokenRecord(id: r.text(0) ?? "", hash: r.text(1) ?? "", contractorId: r.text(2), admin: r.bool(3),
                       label: r.text(4), createdAt: r.int(5) ?? 0, lastUsedAt: r.int(6), revokedAt: r.int(7))
    }

    public func insertAPIToken(_ t: APITokenRecord) async throws {
        try await sql.execute("""
            INSERT INTO tradesync_api_tokens (\(SQLStore.apiTokenColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(t.id), .text(t.hash), .text(t.contractorId), .bool(t.admin), .text(t.label), .int(t.createdAt),
                  .int(t.lastUsedAt), .int(t.revokedAt)])
    }

    public func apiToken(id: String) async throws -> APITokenRecord? {
        try await sql.query("SELECT \(SQLStore.apiTokenColumns) FROM tradesync_api_tokens WHERE id = ?", [.text(id)])
            .first.map(SQLStore.readAPIToken)
    }

    public func apiTokens() async throws -> [APITokenRecord] {
        try await sql.query("SELECT \(SQLStore.apiTokenColumns) FROM tradesync_api_tokens ORDER BY created_at_micros, id")
            .map(SQLStore.readAPIToken)
    }

    public func revokeAPIToken(id: String, at micros: Int64) async throws -> Bool {
        !(try await sql.query("""
            UPDATE tradesync_api_tokens SET revoked_at_micros = COALESCE(revoked_at_micros, ?) WHERE id = ? RETURNING 1
            """, [.int(micros), .text(id)])).isEmpty
    }

    public func touchAPIToken(id: String, at micros: Int64) async throws {
        try await sql.execute("UPDATE tradesync_api_tokens SET last_used_at_micros = ? WHERE id = ?", [.int(micros), .text(id)])
    }
}
