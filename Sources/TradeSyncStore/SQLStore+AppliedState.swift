public import TradeSyncCore

extension SQLStore: AppliedStateWriter {
    /// A store not yet migrated to version 8 has applied nothing and kept no payload: `plan`
    /// reads it as such (it may not migrate), instead of failing on a missing table.
    func hasTable(_ name: String) async throws -> Bool {
        !(try await sql.query(dialect.columnNamesQuery, [.text(name)]).isEmpty)
    }

    public func hasSchema() async throws -> Bool { try await hasTable("contractor_integrations") }

    public func appliedState() async throws -> [AppliedItem] {
        guard try await hasTable("tradesync_applied_state") else { return [] }
        return try await sql.query("SELECT kind, name, hash, detail FROM tradesync_applied_state ORDER BY kind, name").map {
            AppliedItem(kind: $0.text(0) ?? "", name: $0.text(1) ?? "", hash: $0.text(2) ?? "", detailJSON: $0.text(3) ?? "{}")
        }
    }

    public func applies(limit: Int) async throws -> [ApplyRecord] {
        guard try await hasTable("tradesync_applies") else { return [] }
        return try await sql.query("""
            SELECT id, \(dialect.micros("applied_at")), config_hash, git_commit, summary FROM tradesync_applies
            ORDER BY applied_at DESC, id DESC LIMIT ?
            """, [.int(limit)]).map {
            ApplyRecord(id: $0.text(0) ?? "", appliedAt: $0.micros(1) ?? 0, configHash: $0.text(2) ?? "",
                        gitCommit: $0.text(3), summaryJSON: $0.text(4) ?? "{}")
        }
    }

    public func modelColumns() async throws -> [String: Set<String>] {
        guard try await hasTable("tradesync_model_columns") else { return [:] }
        var out: [String: Set<String>] = [:]
        for r in try await sql.query("SELECT table_name, column_name FROM tradesync_model_columns") {
            if let t = r.text(0), let c = r.text(1) { out[t, default: []].insert(c) }
        }
        return out
    }

    public func removedConnectionIds() async throws -> Set<String> {
        guard try await hasTable("tradesync_raw_records") else { return [] }
        return Set(try await sql.query("SELECT id FROM contractor_integrations WHERE removed_at IS NOT NULL").compactMap { $0.text(0) })
    }

    public func keptRaws(integrationId: String, stream: String, entity: EntityModel?, from: KeptRawPosition?) async throws
        -> (records: [KeptRaw], next: KeptRawPosition?)
    {
        guard try await hasTable("tradesync_raw_records") else { return ([], nil) }
        var position = from ?? KeptRawPosition()
        let hasPages = try await hasTable("tradesync_raw_pages")
        while let entity, hasPages, !position.inSingles {
            // A page's entries that rows still point at (a row that moved to a later page is read there).
            guard let page = try await sql.query("""
                SELECT id, payload FROM tradesync_raw_pages WHERE integration_id = ? AND stream = ? AND id > ?
                ORDER BY id LIMIT 1
                """, [.text(integrationId), .text(stream), .int(position.afterPage ?? 0)]).first, let id = page.int(0)
            else {
                position.inSingles = true
                break
            }
            position.afterPage = id
            guard let entries = RawPageBuilder.read(page.bytes(1) ?? []) else { continue }
            let ids = JSONValue.array(entries.map { .string($0.externalId) }).jsonText
            let live = try await sql.query("""
                SELECT external_id, raw_index FROM \(Schema.quote(entity.table))
                WHERE integration_id = ?1 AND raw_page = ?2 AND external_id IN (\(dialect.jsonArrayElements("?3")))
                """, [.text(integrationId), .int(id), .json(ids)])
            var records: [KeptRaw] = []
            for row in live {
                guard let ext = row.text(0), let index = row.int(1), index >= 0, Int(index) < entries.count,
                    entries[Int(index)].externalId == ext
                else { continue }
                records.append(KeptRaw(externalId: ext, record: entries[Int(index)].record))
            }
            if !records.isEmpty { return (records, position) }
        }
        // Payloads kept one per record, unless the record's row now points at a page.
        let superseded = entity.map { e in
            """
             AND NOT EXISTS (SELECT 1 FROM \(Schema.quote(e.table)) t
                WHERE t.integration_id = r.integration_id AND t.external_id = r.external_id AND t.raw_page IS NOT NULL)
            """
        } ?? ""
        let rows = try await sql.query("""
            SELECT r.external_id, r.payload FROM tradesync_raw_records r
            WHERE r.integration_id = ?1 AND r.stream = ?2 AND (?3 IS NULL OR r.external_id > ?3)\(hasPages ? superseded : "")
            ORDER BY r.external_id LIMIT ?4
            """, [.text(integrationId), .text(stream), .text(position.afterExternalId), .int(500)])
        guard let last = rows.last?.text(0) else { return ([], nil) }
        position.inSingles = true
        position.afterExternalId = last
        let records = rows.map { row in
            KeptRaw(externalId: row.text(0) ?? "",
                    record: RawCompression.inflate(row.bytes(1) ?? []).flatMap { try? JSONValue.parse($0) })
        }
        return (records, position)
    }

    public func recordApply(_ items: [AppliedItem], dropped: [(kind: String, name: String)], record: ApplyRecord?) async throws {
        let now = currentMicros()
        try await sql.transaction { db in
            for item in items {
                try await db.execute("""
                    INSERT INTO tradesync_applied_state (kind, name, hash, detail, applied_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (kind, name) DO UPDATE SET hash = excluded.hash, detail = excluded.detail,
                        applied_at = excluded.applied_at
                    """, [.text(item.kind), .text(item.name), .text(item.hash), .json(item.detailJSON), .timestamp(now)])
            }
            for d in dropped {
                try await db.execute("DELETE FROM tradesync_applied_state WHERE kind = ? AND name = ?", [.text(d.kind), .text(d.name)])
            }
            if let record {
                try await db.execute("""
                    INSERT INTO tradesync_applies (id, applied_at, config_hash, git_commit, summary) VALUES (?, ?, ?, ?, ?)
                    """, [.text(record.id), .timestamp(record.appliedAt), .text(record.configHash), .text(record.gitCommit),
                          .json(record.summaryJSON)])
            }
        }
    }

    public func markConnectionRemoved(id: String, at: Int64?) async throws {
        try await sql.execute("UPDATE contractor_integrations SET removed_at = ? WHERE id = ?", [.timestamp(at), .text(id)])
    }
}
