public import TradeSyncCore

extension SQLStore: RunQueue {
    /// Due at `?1` and free: never claimed, or claimed by a worker that stopped renewing. A
    /// request is due from when it was made (written as one expression, so the index serves it).
    static let dueAndFree = """
        COALESCE(requested_at_micros, next_due_at_micros) <= ?1
        AND (claimed_by IS NULL OR claim_expires_at_micros < ?1)
        """

    public func schedule(_ entries: [ScheduleEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await sql.transaction { db in
            for e in entries {
                try await db.execute("""
                    INSERT INTO tradesync_schedule (integration_id, streams, provider, frequency, next_due_at_micros, attempts)
                    VALUES (?1, ?5, ?2, ?3, ?4, 0)
                    ON CONFLICT (integration_id, streams) DO UPDATE SET provider = excluded.provider,
                        frequency = excluded.frequency, next_due_at_micros = excluded.next_due_at_micros, attempts = 0
                    WHERE tradesync_schedule.frequency <> excluded.frequency
                    """, [.text(e.integrationId), .text(e.provider), .text(e.frequency), .int(e.nextDueAtMicros),
                      .text(e.streams)])
            }
        }
    }

    public func unschedule(integrationId: String, streams: String) async throws {
        try await sql.execute("DELETE FROM tradesync_schedule WHERE integration_id = ?1 AND streams = ?2",
                              [.text(integrationId), .text(streams)])
    }

    public func scheduleEntries() async throws -> [ScheduleEntry] {
        try await sql.query("""
            SELECT integration_id, provider, frequency, next_due_at_micros, requested_at_micros, attempts, last_outcome,
                   claimed_by, claim_expires_at_micros, streams
            FROM tradesync_schedule ORDER BY integration_id, streams
            """).map { r in
            ScheduleEntry(integrationId: r.text(0) ?? "", streams: r.text(9) ?? "*", provider: r.text(1) ?? "", frequency: r.text(2) ?? "",
                          nextDueAtMicros: r.int(3), requestedAtMicros: r.int(4), attempts: Int(r.int(5) ?? 0),
                          lastOutcome: r.text(6), claimedBy: r.text(7), claimExpiresAtMicros: r.int(8))
        }
    }

    public func requestRun(integrationId: String, provider: String, frequency: String, now: Int64) async throws -> Bool {
        // Each statement changes a row only when no request is queued, so two requests at once
        // queue one run between them.
        if !(try await sql.query("""
            UPDATE tradesync_schedule SET requested_at_micros = ?1
            WHERE integration_id = ?2 AND streams = '*' AND requested_at_micros IS NULL RETURNING 1
            """, [.int(now), .text(integrationId)])).isEmpty { return true }
        return !(try await sql.query("""
            INSERT INTO tradesync_schedule (integration_id, provider, frequency, requested_at_micros, attempts)
            VALUES (?1, ?2, ?3, ?4, 0) ON CONFLICT (integration_id, streams) DO NOTHING RETURNING 1
            """, [.text(integrationId), .text(provider), .text(frequency), .int(now)])).isEmpty
    }

    public func claimNextRun(worker: String, now: Int64, claimSeconds: Int, caps: [String: Int]) async throws -> RunClaim? {
        let d = dialect
        return try await sql.transaction { db -> RunClaim? in
            var full: [String] = []
            if !caps.isEmpty {
                for (provider, running) in try await SQLStore.runningByProvider(db, now: now, provider: nil)
                where running >= caps[provider] ?? Int.max {
                    full.append(provider)
                }
            }
            var binds: [SQLValue] = [.int(now)]
            var excluded = ""
            if !full.isEmpty {
                excluded = " AND provider NOT IN (" + full.enumerated().map { "?\($0.offset + 2)" }.joined(separator: ", ") + ")"
                binds += full.map { .text($0) }
            }
            guard let row = try await db.query("""
                SELECT integration_id, provider, frequency, attempts, requested_at_micros, claimed_by, streams
                FROM tradesync_schedule q WHERE \(SQLStore.dueAndFree)\(excluded)
                AND NOT EXISTS (SELECT 1 FROM tradesync_schedule o WHERE o.integration_id = q.integration_id
                                AND o.streams <> q.streams AND o.claimed_by IS NOT NULL AND o.claim_expires_at_micros >= ?1)
                ORDER BY COALESCE(requested_at_micros, next_due_at_micros) LIMIT 1\(d.claimLocking)
                """, binds).first, let id = row.text(0), let provider = row.text(1),
                let streams = row.text(6)
            else { return nil }
            if let cap = caps[provider] {
                // Claims of one capped provider take turns, so two workers cannot both take its last slot.
                for statement in d.providerClaimLock { try await db.execute(statement, [.text("tradesync_cap:" + provider)]) }
                let running = try await SQLStore.runningByProvider(db, now: now, provider: provider)
                if (running.first?.1 ?? 0) >= cap { return nil }
            }
            try await db.execute("""
                UPDATE tradesync_schedule SET claimed_by = ?1, claimed_at_micros = ?2, claim_expires_at_micros = ?3
                WHERE integration_id = ?4 AND streams = ?5
                """, [.text(worker), .int(now), .int(now + Int64(claimSeconds) * 1_000_000), .text(id), .text(streams)])
            return RunClaim(integrationId: id, streams: streams, provider: provider, frequency: row.text(2) ?? "",
                            attempts: Int(row.int(3) ?? 0), requested: row.int(4) != nil, claimedAtMicros: now,
                            takenOverFrom: row.text(5))
        }
    }

    /// Unexpired claims per provider (one provider's, or every provider's).
    static func runningByProvider(_ db: any SQLExecutor, now: Int64, provider: String?) async throws -> [(String, Int)] {
        try await db.query("""
            SELECT provider, COUNT(*) FROM tradesync_schedule
            WHERE claimed_by IS NOT NULL AND claim_expires_at_micros >= ?1 AND (?2 IS NULL OR provider = ?2)
            GROUP BY provider
            """, [.int(now), .text(provider)]).map { ($0.text(0) ?? "", Int($0.int(1) ?? 0)) }
    }

    public func renewClaim(integrationId: String, streams: String, worker: String, now: Int64,
                           claimSeconds: Int) async throws -> Bool {
        !(try await sql.query("""
            UPDATE tradesync_schedule SET claim_expires_at_micros = ?1
            WHERE integration_id = ?2 AND streams = ?4 AND claimed_by = ?3 RETURNING 1
            """, [.int(now + Int64(claimSeconds) * 1_000_000), .text(integrationId), .text(worker), .text(streams)])).isEmpty
    }

    public func completeRun(integrationId: String, streams: String, worker: String, completion: RunCompletion, now: Int64) async throws {
        try await sql.execute("""
            UPDATE tradesync_schedule SET next_due_at_micros = ?1, attempts = ?2, last_outcome = ?3,
                last_finished_at_micros = ?4,
                requested_at_micros = CASE WHEN requested_at_micros > claimed_at_micros THEN requested_at_micros END,
                claimed_by = NULL, claimed_at_micros = NULL, claim_expires_at_micros = NULL
            WHERE integration_id = ?5 AND streams = ?7 AND claimed_by = ?6
            """, [.int(completion.nextDueAtMicros), .int(completion.attempts), .text(completion.outcome), .int(now),
                  .text(integrationId), .text(worker), .text(streams)])
    }

    public func releaseClaim(integrationId: String, streams: String, worker: String) async throws {
        try await sql.execute("""
            UPDATE tradesync_schedule SET claimed_by = NULL, claimed_at_micros = NULL, claim_expires_at_micros = NULL
            WHERE integration_id = ?1 AND streams = ?3 AND claimed_by = ?2
            """, [.text(integrationId), .text(worker), .text(streams)])
    }

    public func queueStats(now: Int64) async throws -> QueueStats {
        let r = try await sql.query("""
            SELECT COALESCE(SUM(CASE WHEN \(SQLStore.dueAndFree) THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN claimed_by IS NOT NULL AND claim_expires_at_micros >= ?1 THEN 1 ELSE 0 END), 0),
                   MIN(CASE WHEN \(SQLStore.dueAndFree) THEN COALESCE(requested_at_micros, next_due_at_micros) END)
            FROM tradesync_schedule
            """, [.int(now)]).first
        return QueueStats(due: Int(r?.int(0) ?? 0), running: Int(r?.int(1) ?? 0), oldestDueAtMicros: r?.int(2))
    }
}

extension SQLDialect {
    /// How a claim locks the row it picked: PostgreSQL workers in other processes skip it
    /// instead of waiting; SQLite's one writer needs nothing.
    var claimLocking: String { self == .postgres ? " FOR UPDATE SKIP LOCKED" : "" }
    /// Serialises claims of one capped provider until the transaction ends (one bind: a key).
    var providerClaimLock: [String] { self == .postgres ? ["SELECT pg_advisory_xact_lock(hashtext(?1))"] : [] }
}
