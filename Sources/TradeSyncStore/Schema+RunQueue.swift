import TradeSyncCore

extension Schema {
    /// The scheduler's queue: one row per schedule group of a connection, that is per set of
    /// streams that share a frequency (`streams`: `*` for the connection's own frequency, else
    /// the sorted stream names). Most connections have the `*` row alone. The run lease stays
    /// per connection, so two groups of one connection never run at once. Times are µs since
    /// the epoch, compared as numbers on both stores, like the leases'.
    static let runQueueMigration = Migration(version: 5, name: "run queue: schedule, requests and claims") { d in
        [
            """
            CREATE TABLE IF NOT EXISTS tradesync_schedule (
                integration_id \(key(d)) NOT NULL REFERENCES contractor_integrations(id) ON DELETE CASCADE,
                streams \(key(d)) NOT NULL DEFAULT '*',
                provider \(key(d)) NOT NULL,
                frequency TEXT NOT NULL,
                next_due_at_micros \(bigint(d)),
                requested_at_micros \(bigint(d)),
                attempts INTEGER NOT NULL DEFAULT 0,
                last_outcome TEXT,
                last_finished_at_micros \(bigint(d)),
                claimed_by TEXT,
                claimed_at_micros \(bigint(d)),
                claim_expires_at_micros \(bigint(d)),
                PRIMARY KEY (integration_id, streams)
            )
            """,
            // When a row is due: a request's time, else the schedule's. Claims walk this index in
            // order and stop at the first free row, instead of sorting the whole queue.
            """
            CREATE INDEX IF NOT EXISTS tradesync_schedule_due
            ON tradesync_schedule ((COALESCE(requested_at_micros, next_due_at_micros)))
            """,
            "CREATE INDEX IF NOT EXISTS tradesync_schedule_claims ON tradesync_schedule (provider, claim_expires_at_micros)",
        ]
    }
}
