public import TradeSyncCore

extension SQLStore: StoreInspection {
    public func appliedMigrations() async throws -> [AppliedMigration] {
        try await sql.query("SELECT version, name FROM tradesync_migrations ORDER BY version").map {
            AppliedMigration(version: Int($0.int(0) ?? 0), name: $0.text(1) ?? "")
        }
    }

    public func columns(of table: String) async throws -> [String] {
        try await SQLStore.columnNames(sql, table)
    }

    public func rowCount(table: String) async throws -> Int {
        Int(try await sql.query("SELECT COUNT(*) FROM \(Schema.quote(table))").first?.int(0) ?? 0)
    }

    public func mappingCount(integrationId: String, entity: String) async throws -> Int {
        Int(try await sql.query("SELECT COUNT(*) FROM contractor_data_mappings WHERE integration_id = ? AND entity_type = ?",
                                [.text(integrationId), .text(entity)]).first?.int(0) ?? 0)
    }

    public func rawPages(integrationId: String, stream: String, entity: EntityModel) async throws -> [RawPageAccount] {
        try await sql.query("""
            SELECT p.id, p.live, (SELECT COUNT(*) FROM \(Schema.quote(entity.table)) t WHERE t.raw_page = p.id), p.records,
                   \(dialect == .postgres ? "octet_length" : "length")(p.payload)
            FROM tradesync_raw_pages p WHERE p.integration_id = ? AND p.stream = ? ORDER BY p.id
            """, [.text(integrationId), .text(stream)]).map {
            RawPageAccount(id: $0.int(0) ?? 0, live: Int($0.int(1) ?? 0), pointing: Int($0.int(2) ?? 0),
                           records: Int($0.int(3) ?? 0), bytes: Int($0.int(4) ?? 0))
        }
    }
}
