import TradeSyncCore

extension Schema {
    /// Per-contractor API tokens of `tradesync serve`: only a hash of each token is kept.
    static let apiTokensMigration = Migration(version: 6, name: "API tokens") { d in
        [
            // Times as µs since the epoch, compared as numbers on both stores (like the leases).
            """
            CREATE TABLE IF NOT EXISTS tradesync_api_tokens (
                id \(key(d)) PRIMARY KEY,
                token_sha256 TEXT NOT NULL UNIQUE,
                contractor_id TEXT,
                is_admin \(bool(d)) NOT NULL,
                label TEXT,
                created_at_micros \(bigint(d)) NOT NULL,
                last_used_at_micros \(bigint(d)),
                revoked_at_micros \(bigint(d))
            )
            """,
        ]
    }
}
