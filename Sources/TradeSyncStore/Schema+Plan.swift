/// Migration 7 (`plan` / `apply`): the records' last raw payloads, what was applied, and the
/// apply log. Kept in its own file because other migrations are added beside it.
extension Schema {
    static func blob(_ d: SQLDialect) -> String { d == .postgres ? "BYTEA" : "BLOB" }

    static let rawAndAppliedState = Migration(version: 7, name: "raw payloads, applied state, apply records") { d in
        [
            // The last payload of each record as fetched, deflated (`keep_raw`): `plan` re-maps
            // it under a changed mapping, `apply` rewrites the rows from it, without refetching.
            """
            CREATE TABLE IF NOT EXISTS tradesync_raw_records (
                integration_id \(key(d)) NOT NULL REFERENCES contractor_integrations(id) ON DELETE CASCADE,
                stream \(key(d)) NOT NULL,
                external_id \(key(d)) NOT NULL,
                payload \(blob(d)) NOT NULL,
                PRIMARY KEY (integration_id, stream, external_id)
            )
            """,
            // What the store was last brought in line with, one row per item: `connection`
            // (demo id/key), `mapping` (provider/stream), `schedule` (demo id/key), `model`.
            // `detail` is the item's non-secret description (credential references, not values),
            // so `plan` can say which fields changed.
            """
            CREATE TABLE IF NOT EXISTS tradesync_applied_state (
                kind TEXT NOT NULL,
                name TEXT NOT NULL,
                hash TEXT NOT NULL,
                detail \(json(d)) NOT NULL,
                applied_at \(ts(d)) NOT NULL,
                PRIMARY KEY (kind, name)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS tradesync_applies (
                id \(key(d)) PRIMARY KEY,
                applied_at \(ts(d)) NOT NULL,
                config_hash TEXT NOT NULL,
                git_commit TEXT,
                summary \(json(d)) NOT NULL
            )
            """,
            // A connection removed from the configuration keeps its rows: it is marked, not deleted.
            "ALTER TABLE contractor_integrations ADD COLUMN removed_at \(ts(d))",
        ]
    }
}
