import CSQLite
import Foundation
import TradeSyncCore

/// The page write: one transaction per page (records, id map, cursor, kept failures, run counts).
extension SQLiteStore {
    public func applyPage(_ page: PageWrite) async throws -> PageOutcome {
        try withDB { db in
            try db.transaction { try writePage(db, page) }
        }
    }

    /// Id mappings and stored hashes of a page's external ids, in one statement per page
    /// (the ids travel as one JSON array). CROSS JOIN pins the page's ids as the outer loop:
    /// left to itself the planner may scan the whole id map once per id.
    private func existing(_ db: SQLiteConnection, _ page: PageWrite) throws -> [String: (id: String, hash: String?)] {
        let lookup = try db.prepare("""
            SELECT m.external_id, m.internal_id, t.source_hash
            FROM json_each(?3) AS x
            CROSS JOIN contractor_data_mappings m
              ON m.integration_id = ?1 AND m.entity_type = ?2 AND m.external_id = x.value
            LEFT JOIN \(Schema.quote(page.entity.table)) t ON t.id = m.internal_id
            """)
        lookup.bind(1, page.integrationId)
        lookup.bind(2, page.entity.name)
        lookup.bind(3, JSONValue.array(page.records.map { .string($0.externalId) }).jsonText)
        var out: [String: (id: String, hash: String?)] = [:]
        while try lookup.step() {
            if let ext = lookup.text(0), let id = lookup.text(1) { out[ext] = (id, lookup.text(2)) }
        }
        return out
    }

    private func writePage(_ db: SQLiteConnection, _ page: PageWrite) throws -> PageOutcome {
        if let fence = page.fence { try checkFence(db, page.integrationId, fence) }
        let outcome = try writeRecords(db, page)
        try writeFailures(db, page)
        if let run = page.run {
            let s = try db.prepare("""
                UPDATE contractor_sync_logs SET records_fetched = records_fetched + ?, records_inserted = records_inserted + ?,
                    records_updated = records_updated + ?, records_unchanged = records_unchanged + ?,
                    records_failed = records_failed + ?
                WHERE id = ?
                """)
            s.bind(1, Int64(run.fetched))
            s.bind(2, Int64(outcome.inserted))
            s.bind(3, Int64(outcome.updated))
            s.bind(4, Int64(outcome.unchanged))
            s.bind(5, Int64(run.failed))
            s.bind(6, run.runId)
            try s.run()
        }
        return outcome
    }

    /// Extends the lease if `fence.holder` still holds it; inside the page's transaction, so no
    /// other process can take it between the check and the commit (SQLite has one writer).
    private func checkFence(_ db: SQLiteConnection, _ integrationId: String, _ fence: LeaseFence) throws {
        let s = try db.prepare("UPDATE tradesync_leases SET expires_at_micros = ? WHERE integration_id = ? AND holder = ?")
        s.bind(1, currentMicros() + Int64(fence.ttlSeconds) * 1_000_000)
        s.bind(2, integrationId)
        s.bind(3, fence.holder)
        try s.run()
        if sqlite3_changes(db.handle) != 1 { throw LeaseLostError(holder: fence.holder) }
    }

    private func writeFailures(_ db: SQLiteConnection, _ page: PageWrite) throws {
        let now = Timestamp.iso8601(micros: page.now)
        if !page.resolvedFailures.isEmpty {
            let s = try db.prepare("""
                DELETE FROM tradesync_failed_records
                WHERE integration_id = ? AND stream = ? AND external_id IN (SELECT value FROM json_each(?))
                """)
            s.bind(1, page.integrationId)
            s.bind(2, page.stream)
            s.bind(3, JSONValue.array(page.resolvedFailures.map { .string($0) }).jsonText)
            try s.run()
        }
        guard !page.failures.isEmpty else { return }
        let s = try db.prepare("""
            INSERT INTO tradesync_failed_records
                (integration_id, stream, external_id, reason, raw, attempts, first_failed_at, last_failed_at)
            VALUES (?, ?, ?, ?, ?, 1, ?, ?)
            ON CONFLICT (integration_id, stream, external_id) DO UPDATE SET reason = excluded.reason, raw = excluded.raw,
                attempts = tradesync_failed_records.attempts + 1, last_failed_at = excluded.last_failed_at
            """)
        for f in page.failures {
            s.bind(1, page.integrationId)
            s.bind(2, page.stream)
            s.bind(3, f.externalId)
            s.bind(4, f.reason)
            s.bind(5, f.rawJSON)
            s.bind(6, now)
            s.bind(7, now)
            try s.run()
            sqlite3_reset(s.handle)
        }
    }

    private func writeRecords(_ db: SQLiteConnection, _ page: PageWrite) throws -> PageOutcome {
        let entity = page.entity
        let table = Schema.quote(entity.table)
        let now = Timestamp.iso8601(micros: page.now)
        let fieldList = entity.fields.map { ", " + Schema.quote($0.name) }.joined()
        let fieldParams = entity.fields.indices.map { ", ?\($0 + 8)" }.joined()
        let assignments = entity.fields.enumerated().map { ", \(Schema.quote($1.name)) = ?\($0 + 8)" }.joined()
        let known = try existing(db, page)
        // Statements are built once per page; the connection caches them across pages.
        let update = try db.prepare("UPDATE \(table) SET source_hash = ?2, updated_at = ?3\(assignments) WHERE id = ?1")
        let touch = try db.prepare("""
            UPDATE contractor_data_mappings SET last_synced_at = ? WHERE integration_id = ? AND entity_type = ? AND external_id = ?
            """)
        let map = try db.prepare("""
            INSERT INTO contractor_data_mappings
                (id, integration_id, entity_type, external_id, internal_id, created_at, last_synced_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        let insert = try db.prepare("""
            INSERT INTO \(table) (id, demo_id, integration_id, external_id, source_hash, created_at, updated_at\(fieldList))
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7\(fieldParams))
            """)
        var outcome = PageOutcome()
        var seen: [String: (id: String, hash: String?)] = [:]
        for record in page.records {
            let previous = seen[record.externalId] ?? known[record.externalId]
            let internalId = previous?.id
            let storedHash = previous?.hash
            let hash = record.contentHash
            if let internalId { seen[record.externalId] = (internalId, hash) }
            if let internalId, let storedHash {
                if storedHash == hash {
                    outcome.unchanged += 1
                    continue
                }
                update.bind(1, internalId)
                update.bind(2, hash)
                update.bind(3, now)
                for (i, v) in record.values.enumerated() { update.bind(Int32(i + 8), v) }
                try update.run()
                sqlite3_reset(update.handle)
                touch.bind(1, now)
                touch.bind(2, page.integrationId)
                touch.bind(3, entity.name)
                touch.bind(4, record.externalId)
                try touch.run()
                sqlite3_reset(touch.handle)
                outcome.updated += 1
                continue
            }
            let id = internalId ?? newIdentifier()
            seen[record.externalId] = (id, hash)
            if internalId == nil {
                map.bind(1, newIdentifier())
                map.bind(2, page.integrationId)
                map.bind(3, entity.name)
                map.bind(4, record.externalId)
                map.bind(5, id)
                map.bind(6, now)
                map.bind(7, now)
                try map.run()
                sqlite3_reset(map.handle)
            }
            insert.bind(1, id)
            insert.bind(2, page.demoId)
            insert.bind(3, page.integrationId)
            insert.bind(4, record.externalId)
            insert.bind(5, hash)
            insert.bind(6, now)
            insert.bind(7, now)
            for (i, v) in record.values.enumerated() { insert.bind(Int32(i + 8), v) }
            try insert.run()
            sqlite3_reset(insert.handle)
            outcome.inserted += 1
        }
        if let cursor = page.cursor {
            let s = try db.prepare("""
                INSERT INTO tradesync_cursors (integration_id, stream, cursor, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (integration_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
                """)
            s.bind(1, page.integrationId)
            s.bind(2, page.stream)
            s.bind(3, cursor)
            s.bind(4, now)
            try s.run()
        }
        return outcome
    }

    public func previewPage(_ page: PageWrite) async throws -> PageOutcome {
        try withDB { db in PageOutcome.preview(page.records, stored: try existing(db, page).mapValues { $0.hash }) }
    }
}
