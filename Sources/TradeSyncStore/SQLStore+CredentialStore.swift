import TradeSyncCore

extension SQLStore: CredentialStore {
    public func loadTokens(integrationId: String) async throws -> StoredTokens? {
        try await sql.query("""
            SELECT access_token, refresh_token, expires_at_micros, refresh_expires_at_micros, callback_fields
            FROM tradesync_tokens WHERE integration_id = ?
            """, [.text(integrationId)]).first.map { r in
            StoredTokens(accessToken: r.text(0), refreshToken: r.text(1) ?? "", expiresAtMicros: r.int(2),
                         refreshExpiresAtMicros: r.int(3), callbackFieldsJSON: r.text(4))
        }
    }

    public func replaceTokens(integrationId: String, expectedRefreshToken: String?, with t: StoredTokens) async throws -> Bool {
        let now = currentMicros()
        if let expected = expectedRefreshToken {
            // Callback fields come once, with the authorization: a refresh (nil) keeps them.
            return !(try await sql.query("""
                UPDATE tradesync_tokens SET access_token = ?, refresh_token = ?, expires_at_micros = ?, updated_at = ?,
                    refresh_expires_at_micros = ?, callback_fields = COALESCE(?, callback_fields)
                WHERE integration_id = ? AND refresh_token = ? RETURNING 1
                """, [.text(t.accessToken), .text(t.refreshToken), .int(t.expiresAtMicros), .timestamp(now),
                      .int(t.refreshExpiresAtMicros), .text(t.callbackFieldsJSON), .text(integrationId),
                      .text(expected)])).isEmpty
        }
        return !(try await sql.query("""
            INSERT INTO tradesync_tokens (integration_id, access_token, refresh_token, expires_at_micros, updated_at,
                refresh_expires_at_micros, callback_fields)
            VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (integration_id) DO NOTHING RETURNING 1
            """, [.text(integrationId), .text(t.accessToken), .text(t.refreshToken), .int(t.expiresAtMicros),
                  .timestamp(now), .int(t.refreshExpiresAtMicros), .text(t.callbackFieldsJSON)])).isEmpty
    }

    public func tokenIntegrationIds() async throws -> [String] {
        try await sql.query("SELECT integration_id FROM tradesync_tokens ORDER BY integration_id").compactMap { $0.text(0) }
    }

    public func deleteTokens(integrationId: String) async throws {
        try await sql.execute("DELETE FROM tradesync_tokens WHERE integration_id = ?", [.text(integrationId)])
    }

    public func saveOAuthState(_ r: OAuthStateRecord) async throws {
        // Expired states are of no use to anyone: drop them on the way.
        try await sql.execute("DELETE FROM tradesync_oauth_states WHERE expires_at_micros < ?", [.int(currentMicros())])
        try await sql.execute("""
            INSERT INTO tradesync_oauth_states (state, integration_id, redirect_uri, code_verifier, expires_at_micros)
            VALUES (?, ?, ?, ?, ?)
            """, [.text(r.state), .text(r.integrationId), .text(r.redirectURI), .text(r.codeVerifier), .int(r.expiresAtMicros)])
    }

    public func takeOAuthState(_ state: String) async throws -> OAuthStateRecord? {
        try await sql.query("""
            DELETE FROM tradesync_oauth_states WHERE state = ?
            RETURNING state, integration_id, redirect_uri, code_verifier, expires_at_micros
            """, [.text(state)]).first.map { r in
            OAuthStateRecord(state: r.text(0) ?? "", integrationId: r.text(1) ?? "", redirectURI: r.text(2) ?? "",
                             codeVerifier: r.text(3), expiresAtMicros: r.int(4) ?? 0)
        }
    }
}
