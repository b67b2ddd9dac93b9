import Foundation
import PostgresNIO
import TradeSyncCore

/// The page write: one transaction per page (records, id map, cursor, kept failures, run counts), set-based.
extension PostgresStore {
    static func recordsetType(_ t: FieldType) -> String {
        switch t {
        case .string, .text, .enumeration: return "text"
        case .integer: return "bigint"
        case .decimal: return "numeric"
        case .boolean: return "boolean"
        case .timestamp: return "timestamptz"
        case .date: return "date"
        case .json: return "jsonb"
        }
    }

    /// One JSON object per row, for `json_to_recordset`: typed by the recordset definition,
    /// so PostgreSQL converts numeric, timestamp and date text itself.
    static func rowsJSON(_ rows: [PagePlan.Row], of page: PageWrite) -> String {
        let entity = page.entity
        var out = "["
        out.reserveCapacity(rows.count * 256)
        for (n, row) in rows.enumerated() {
            let record = page.records[row.index]
            if n > 0 { out += "," }
            out += "{\"id\":"
            JSONValue.writeString(row.internalId, to: &out)
            out += ",\"external_id\":"
            JSONValue.writeString(record.externalId, to: &out)
            out += ",\"source_hash\":\"" + record.contentHash + "\""
            for (i, _) in entity.fields.enumerated() {
                out += ",\"f\(i)\":"
                let value = i < record.values.count ? record.values[i] : .null
                switch value {
                case .null: out += "null"
                case .integer(let v): out += String(v)
                case .boolean(let b): out += b ? "true" : "false"
                case .json(let text): out += text
                default: JSONValue.writeString(value.canonicalText ?? "", to: &out)
                }
            }
            out += "}"
        }
        return out + "]"
    }

    /// The id mappings (and stored hashes) of a page's external ids. Written as one index
    /// lookup per id (scalar subqueries): a join or `= ANY` lets the planner, with statistics
    /// from when the table was small, scan every mapping of the integration for every page.
    /// Rows: (external id, mapping id, internal id, stored hash).
    func existing(on c: PostgresConnection, integrationId: String, entity: EntityModel, ids: [String]) async throws
        -> [(String, String, String, String?)]
    {
        guard !ids.isEmpty else { return [] }
        return try await query(on: c, """
            SELECT s.e, s.mapping_id, s.internal_id,
                   (SELECT t.source_hash FROM \(Schema.quote(entity.table)) t WHERE t.id = s.internal_id)
            FROM (
                SELECT x.e,
                       (SELECT m.id FROM contractor_data_mappings m
                        WHERE m.integration_id = $1 AND m.entity_type = $2 AND m.external_id = x.e) AS mapping_id,
                       (SELECT m.internal_id FROM contractor_data_mappings m
                        WHERE m.integration_id = $1 AND m.entity_type = $2 AND m.external_id = x.e) AS internal_id
                FROM unnest($3::text[]) AS x(e)
                OFFSET 0
            ) s
            WHERE s.mapping_id IS NOT NULL
            """, try PostgresStore.binds([integrationId, entity.name, ids])).map {
            try $0.decode((String, String, String, String?).self)
        }
    }

    public func existing(integrationId: String, entity: EntityModel, externalIds: [String]) async throws
        -> [String: StoredIdentity]
    {
        let ids = Array(Set(externalIds))
        let rows = try await client.withConnection { c in
            try await self.existing(on: c, integrationId: integrationId, entity: entity, ids: ids)
        }
        var out: [String: StoredIdentity] = [:]
        for (ext, _, internalId, hash) in rows { out[ext] = StoredIdentity(internalId: internalId, hash: hash) }
        return out
    }

    public func applyPage(_ page: PageWrite) async throws -> PageOutcome {
        try await transaction { c in
            if let fence = page.fence {
                // The row lock taken here holds off a concurrent lease takeover until this commits.
                let held = try await self.query(on: c, """
                    UPDATE tradesync_leases SET expires_at_micros = $1 WHERE integration_id = $2 AND holder = $3 RETURNING 1
                    """, try PostgresStore.binds([currentMicros() + Int64(fence.ttlSeconds) * 1_000_000, page.integrationId,
                                                  fence.holder]))
                if held.isEmpty { throw LeaseLostError(holder: fence.holder) }
            }
            let rows = try await self.existing(on: c, integrationId: page.integrationId, entity: page.entity,
                                               ids: Array(Set(page.records.map(\.externalId))))
            var known: [String: StoredIdentity] = [:]
            var mappingIds: [String: String] = [:]
            for (ext, mappingId, internalId, hash) in rows {
                known[ext] = StoredIdentity(internalId: internalId, hash: hash)
                mappingIds[ext] = mappingId
            }
            let plan = PagePlan.make(page, existing: known, newId: newIdentifier)
            let outcome = plan.outcome
            try await self.writeRecords(on: c, plan, mappingIds: mappingIds)
            try await self.writeFailures(on: c, page)
            if let run = page.run {
                _ = try await self.query(on: c, """
                    UPDATE contractor_sync_logs SET records_fetched = records_fetched + $1,
                        records_inserted = records_inserted + $2, records_updated = records_updated + $3,
                        records_unchanged = records_unchanged + $4, records_failed = records_failed + $5
                    WHERE id = $6
                    """, try PostgresStore.binds([Int64(run.fetched), Int64(outcome.inserted), Int64(outcome.updated),
                                                  Int64(outcome.unchanged), Int64(run.failed), run.runId]))
            }
            return outcome
        }
    }

    func writeFailures(on c: PostgresConnection, _ page: PageWrite) async throws {
        let now = PostgresStore.iso(page.now)
        if !page.resolvedFailures.isEmpty {
            _ = try await query(on: c, """
                DELETE FROM tradesync_failed_records WHERE integration_id = $1 AND stream = $2 AND external_id = ANY($3::text[])
                """, try PostgresStore.binds([page.integrationId, page.stream, page.resolvedFailures]))
        }
        guard !page.failures.isEmpty else { return }
        // One row per external id: a record repeated in a page must not hit its own conflict twice.
        var latest: [String: FailedRecord] = [:]
        var order: [String] = []
        for f in page.failures {
            if latest[f.externalId] == nil { order.append(f.externalId) }
            latest[f.externalId] = f
        }
        let rows = order.compactMap { latest[$0] }
        _ = try await query(on: c, """
            INSERT INTO tradesync_failed_records
                (integration_id, stream, external_id, reason, raw, attempts, first_failed_at, last_failed_at)
            SELECT $1, $2, e, r, w, 1, $6::timestamptz, $6::timestamptz FROM unnest($3::text[], $4::text[], $5::text[]) AS x(e, r, w)
            ON CONFLICT (integration_id, stream, external_id) DO UPDATE SET reason = excluded.reason, raw = excluded.raw,
                attempts = tradesync_failed_records.attempts + 1, last_failed_at = excluded.last_failed_at
            """, try PostgresStore.binds([page.integrationId, page.stream, rows.map(\.externalId), rows.map(\.reason),
                                          rows.map(\.rawJSON), now]))
    }

    func writeRecords(on c: PostgresConnection, _ plan: PagePlan, mappingIds: [String: String]) async throws {
        let page = plan.page
        let entity = page.entity
        let table = Schema.quote(entity.table)
        let now = PostgresStore.iso(page.now)
        do {
            let fieldColumns = entity.fields.map { Schema.quote($0.name) }
            let recordset = (["id text", "external_id text", "source_hash text"]
                + entity.fields.enumerated().map { "f\($0) \(PostgresStore.recordsetType($1.type))" })
                .joined(separator: ", ")
            let newMappings = plan.newMappings
            if !newMappings.isEmpty {
                _ = try await self.query(on: c, """
                    INSERT INTO contractor_data_mappings
                        (id, integration_id, entity_type, external_id, internal_id, created_at, last_synced_at)
                    SELECT m, $1, $2, e, i, $5::timestamptz, $5::timestamptz
                    FROM unnest($3::text[], $4::text[], $6::text[]) AS x(e, i, m)
                    """, try PostgresStore.binds([
                        page.integrationId, entity.name, newMappings.map(\.externalId), newMappings.map(\.internalId), now,
                        newMappings.map(\.mappingId),
                    ]))
            }
            if !plan.inserts.isEmpty {
                _ = try await self.query(on: c, """
                    INSERT INTO \(table) (id, demo_id, integration_id, external_id, source_hash, created_at, updated_at\(fieldColumns.isEmpty ? "" : ", " + fieldColumns.joined(separator: ", ")))
                    SELECT x.id, $2, $3, x.external_id, x.source_hash, $4::timestamptz, $4::timestamptz\(entity.fields.indices.map { ", x.f\($0)" }.joined())
                    FROM json_to_recordset($1::json) AS x(\(recordset))
                    """, try PostgresStore.binds([PostgresStore.rowsJSON(plan.inserts, of: page), page.demoId, page.integrationId, now]))
            }
            if !plan.updates.isEmpty {
                let assignments = (["source_hash = x.source_hash", "updated_at = $2::timestamptz"]
                    + fieldColumns.enumerated().map { "\($1) = x.f\($0)" }).joined(separator: ", ")
                _ = try await self.query(on: c, """
                    UPDATE \(table) AS t SET \(assignments)
                    FROM json_to_recordset($1::json) AS x(\(recordset)) WHERE t.id = x.id
                    """, try PostgresStore.binds([PostgresStore.rowsJSON(plan.updates, of: page), now]))
                _ = try await self.query(on: c, """
                    UPDATE contractor_data_mappings SET last_synced_at = $1::timestamptz WHERE id = ANY($2::text[])
                    """, try PostgresStore.binds([now, plan.touchedExternalIds.compactMap { mappingIds[$0] }]))
            }
            if let cursor = page.cursor {
                _ = try await self.query(on: c, """
                    INSERT INTO tradesync_cursors (integration_id, stream, cursor, updated_at) VALUES ($1, $2, $3, $4::timestamptz)
                    ON CONFLICT (integration_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
                    """, try PostgresStore.binds([page.integrationId, page.stream, cursor, now]))
            }
        }
    }
}
