import CSQLite
import Foundation
public import TradeSyncCore

/// The page write: one transaction per page (records, cursor, kept failures, run counts).
extension SQLiteStore {
    public func applyPage(_ page: PageWrite) async throws -> PageOutcome {
        try await withDB { db in
            try db.transaction {
                if let fence = page.fence { try checkFence(db, page.integrationId, fence) }
                let known = try existing(db, integrationId: page.integrationId, entity: page.entity,
                                         externalIds: page.records.map(\.externalId))
                let plan = PagePlan.make(page, existing: known, newId: newIdentifier)
                try apply(db, plan)
                return plan.outcome
            }
        }
    }

    public func existing(integrationId: String, entity: EntityModel, externalIds: [String]) async throws
        -> [String: StoredIdentity]
    {
        try await withDB { db in try existing(db, integrationId: integrationId, entity: entity, externalIds: externalIds) }
    }

    /// Internal ids and stored hashes of a page's external ids, in one statement per page (the
    /// ids travel as one JSON array), straight from the entity table: the id map is a view of it.
    /// CROSS JOIN pins the page's ids as the outer loop, one probe of the table's
    /// (integration_id, external_id) index per id: left to itself the planner may scan the
    /// integration's rows once per id.
    private func existing(_ db: SQLiteConnection, integrationId: String, entity: EntityModel, externalIds: [String]) throws
        -> [String: StoredIdentity]
    {
        // A page without records (a lookup stream's kept payloads) names no entity table.
        guard !externalIds.isEmpty else { return [:] }
        let lookup = try db.prepare("""
            SELECT t.external_id, t.id, t.source_hash, t.raw_page, t.raw_hash
            FROM json_each(?2) AS x
            CROSS JOIN \(Schema.quote(entity.table)) t ON t.integration_id = ?1 AND t.external_id = x.value
            """)
        defer { lookup.reset() }
        lookup.bind(1, integrationId)
        lookup.bind(2, JSONValue.array(externalIds.map { .string($0) }).jsonText)
        var out: [String: StoredIdentity] = [:]
        while try lookup.step() {
            if let ext = lookup.text(0), let id = lookup.text(1), let hash = lookup.text(2) {
                out[ext] = StoredIdentity(internalId: id, hash: hash, rawPage: lookup.int(3), rawHash: lookup.int(4))
            }
        }
        return out
    }

    /// Applies a plan inside the page's transaction.
    private func apply(_ db: SQLiteConnection, _ plan: PagePlan) throws {
        let page = plan.page
        let rawPage = try writeRawPage(db, plan)
        try writeRecords(db, plan, rawPage: rawPage)
        try releaseRawPages(db, plan)
        try writeFailures(db, page)
        try writeRaws(db, page)
        if let cursor = page.cursor {
            let s = try db.prepare("""
                INSERT INTO tradesync_cursors (integration_id, stream, cursor, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (integration_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
                """)
            s.bind(1, page.integrationId)
            s.bind(2, page.stream)
            s.bind(3, cursor)
            s.bind(4, Timestamp.iso8601(micros: page.now))
            try s.run()
        }
        if let run = page.run {
            let s = try db.prepare("""
                UPDATE contractor_sync_logs SET records_fetched = records_fetched + ?, records_inserted = records_inserted + ?,
                    records_updated = records_updated + ?, records_unchanged = records_unchanged + ?,
                    records_failed = records_failed + ?
                WHERE id = ?
                """)
            s.bind(1, Int64(run.fetched))
            s.bind(2, Int64(plan.outcome.inserted))
            s.bind(3, Int64(plan.outcome.updated))
            s.bind(4, Int64(plan.outcome.unchanged))
            s.bind(5, Int64(run.failed))
            s.bind(6, run.runId)
            try s.run()
        }
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

    /// The page's raw payloads, when rows will point at them (`keep_raw`); their id.
    private func writeRawPage(_ db: SQLiteConnection, _ plan: PagePlan) throws -> Int64? {
        guard let raw = plan.page.rawPage, plan.pointingRows > 0 else { return nil }
        let s = try db.prepare("""
            INSERT INTO tradesync_raw_pages (integration_id, stream, payload, records, live) VALUES (?, ?, ?, ?, ?)
            """)
        s.bind(1, plan.page.integrationId)
        s.bind(2, plan.page.stream)
        s.bind(3, bytes: raw.compressed)
        s.bind(4, Int64(raw.hashes.count))
        s.bind(5, Int64(plan.pointingRows))
        try s.run()
        return sqlite3_last_insert_rowid(db.handle)
    }

    /// Stored raw pages that rows moved off: counted down, and dropped once no row points at them.
    private func releaseRawPages(_ db: SQLiteConnection, _ plan: PagePlan) throws {
        guard !plan.releasedPages.isEmpty else { return }
        let release = try db.prepare("UPDATE tradesync_raw_pages SET live = live - ? WHERE id = ?")
        let drop = try db.prepare("DELETE FROM tradesync_raw_pages WHERE id = ? AND live <= 0")
        for (id, rows) in plan.releasedPages.sorted(by: { $0.key < $1.key }) {
            release.bind(1, Int64(rows))
            release.bind(2, id)
            try release.run()
            sqlite3_reset(release.handle)
            drop.bind(1, id)
            try drop.run()
            sqlite3_reset(drop.handle)
        }
    }

    /// Payloads of a stream without rows (a looked-up stream), one row each, replacing the one before.
    private func writeRaws(_ db: SQLiteConnection, _ page: PageWrite) throws {
        guard !page.raws.isEmpty else { return }
        let s = try db.prepare("""
            INSERT INTO tradesync_raw_records (integration_id, stream, external_id, payload) VALUES (?, ?, ?, ?)
            ON CONFLICT (integration_id, stream, external_id) DO UPDATE SET payload = excluded.payload
            """)
        for raw in page.raws {
            s.bind(1, page.integrationId)
            s.bind(2, page.stream)
            s.bind(3, raw.externalId)
            s.bind(4, bytes: raw.compressed)
            try s.run()
            sqlite3_reset(s.handle)
        }
    }

    private func writeRecords(_ db: SQLiteConnection, _ plan: PagePlan, rawPage: Int64?) throws {
        let page = plan.page
        let entity = page.entity
        let table = Schema.quote(entity.table)
        let now = Timestamp.iso8601(micros: page.now)
        let fieldList = entity.fields.map { ", " + Schema.quote($0.name) }.joined()
        // Fields bind from ?11 on: ?8–?10 are the row's raw payload pointer.
        let fieldParams = entity.fields.indices.map { ", ?\($0 + 11)" }.joined()
        let assignments = entity.fields.enumerated().map { ", \(Schema.quote($1.name)) = ?\($0 + 11)" }.joined()
        let hashes = page.rawPage?.hashes
        func bindPointer(_ s: SQLiteStatement, _ index: Int) {
            if let rawPage, let hashes, index < hashes.count {
                s.bind(8, rawPage)
                s.bind(9, Int64(index))
                s.bind(10, hashes[index])
            } else {
                s.bind(8, nil as Int64?)
                s.bind(9, nil as Int64?)
                s.bind(10, nil as Int64?)
            }
        }
        if !plan.inserts.isEmpty {
            let insert = try db.prepare("""
                INSERT INTO \(table) (id, demo_id, integration_id, external_id, source_hash, created_at, updated_at, raw_page,
                    raw_index, raw_hash\(fieldList))
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10\(fieldParams))
                """)
            for row in plan.inserts {
                let record = page.records[row.index]
                insert.bind(1, row.internalId)
                insert.bind(2, page.demoId)
                insert.bind(3, page.integrationId)
                insert.bind(4, record.externalId)
                insert.bind(5, record.contentHash)
                insert.bind(6, now)
                insert.bind(7, now)
                bindPointer(insert, row.index)
                for (i, v) in record.values.enumerated() { insert.bind(Int32(i + 11), v) }
                try insert.run()
                sqlite3_reset(insert.handle)
            }
        }
        if !plan.updates.isEmpty {
            // Without raw payloads (`apply`'s rewrites) the row keeps pointing where it did.
            let pointer = rawPage == nil ? "" : ", raw_page = ?8, raw_index = ?9, raw_hash = ?10"
            let update = try db.prepare("UPDATE \(table) SET source_hash = ?2, updated_at = ?3\(pointer)\(assignments) WHERE id = ?1")
            for row in plan.updates {
                let record = page.records[row.index]
                update.bind(1, row.internalId)
                update.bind(2, record.contentHash)
                update.bind(3, now)
                if rawPage != nil { bindPointer(update, row.index) }
                for (i, v) in record.values.enumerated() { update.bind(Int32(i + 11), v) }
                try update.run()
                sqlite3_reset(update.handle)
            }
        }
        if let rawPage, let hashes, !plan.repoints.isEmpty {
            let repoint = try db.prepare("UPDATE \(table) SET raw_page = ?2, raw_index = ?3, raw_hash = ?4 WHERE id = ?1")
            for row in plan.repoints where row.index < hashes.count {
                repoint.bind(1, row.internalId)
                repoint.bind(2, rawPage)
                repoint.bind(3, Int64(row.index))
                repoint.bind(4, hashes[row.index])
                try repoint.run()
                sqlite3_reset(repoint.handle)
            }
        }
    }
}
