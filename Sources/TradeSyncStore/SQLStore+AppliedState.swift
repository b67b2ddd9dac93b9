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

    public func rawPayloads(integrationId: String, stream: String, after: String?, limit: Int) async throws -> [RawPayload] {
        guard try await hasTable("tradesync_raw_records") else { return [] }
        return try await sql.query("""
            SELECT external_id, payload FROM tradesync_raw_records
            WHERE integration_id = ?1 AND stream = ?2 AND (?3 IS NULL OR external_id > ?3)
            ORDER BY external_id LIMIT ?4
            """, [.text(integrationId), .text(stream), .text(after), .int(limit)]).map {
            RawPayload(externalId: $0.text(0) ?? "", compressed: $0.bytes(1) ?? [])
        }
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
