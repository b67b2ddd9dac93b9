public import TradeSyncCore

extension SQLStore: Migrator {
    public func migrate(model: DataModel) async throws -> MigrationReport {
        try await migrate(model: model, through: Int.max)
    }

    /// Applies the versioned migrations up to `through` only: tests build a store as an older
    /// release left it, to migrate it from there.
    func migrate(model: DataModel, through: Int) async throws -> MigrationReport {
        let d = dialect
        return try await sql.transaction { db in
            for statement in d.migrationLock { try await db.execute(statement) }
            try await db.execute(Schema.migrationsTable(d))
            var report = MigrationReport()
            let applied = Set(try await db.query("SELECT version FROM tradesync_migrations").compactMap { $0.int(0) })
            let now = currentMicros()
            for m in Schema.migrations where !applied.contains(Int64(m.version)) && m.version <= through {
                for statement in m.statements(d) { try await db.execute(statement) }
                try await db.execute("INSERT INTO tradesync_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                                     [.int(m.version), .text(m.name), .timestamp(now)])
                report.appliedVersions.append(m.version)
            }
            for entity in model.entities {
                let existing = try await SQLStore.columnNames(db, entity.table)
                if existing.isEmpty {
                    for statement in Schema.createEntityTable(entity, d) { try await db.execute(statement) }
                    report.createdTables.append(entity.table)
                    for f in entity.fields { try await SQLStore.recordColumn(db, entity.table, f, now) }
                    continue
                }
                for c in Schema.rawPointerColumns(d) where !existing.contains(c.name) {
                    try await db.execute("ALTER TABLE \(Schema.quote(entity.table)) ADD COLUMN \(c.name) \(c.type)")
                }
                for f in entity.fields where !existing.contains(f.name) {
                    try await db.execute("""
                        ALTER TABLE \(Schema.quote(entity.table)) ADD COLUMN \(Schema.quote(f.name)) \(Schema.columnType(f.type, d))
                        """)
                    try await SQLStore.recordColumn(db, entity.table, f, now)
                    report.addedColumns.append("\(entity.table).\(f.name)")
                }
            }
            // Recreated every time: it reads only the run log, and a changed definition needs no
            // migration of its own.
            for statement in Schema.summaryView(d) { try await db.execute(statement) }
            for statement in RevenueRollup.statements(model, d) { try await db.execute(statement) }
            // Likewise the id map, over the entity tables as they are now (a new entity adds a
            // branch); before migration 8 the id map is still a table.
            if applied.contains(Int64(Schema.idMapAsView.version)) || report.appliedVersions.contains(Schema.idMapAsView.version) {
                for statement in Schema.idMapView(model, d) { try await db.execute(statement) }
            }
            return report
        }
    }

    static func recordColumn(_ db: any SQLExecutor, _ table: String, _ f: ModelField, _ now: Int64) async throws {
        try await db.execute("""
            INSERT INTO tradesync_model_columns (table_name, column_name, column_type, added_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (table_name, column_name) DO NOTHING
            """, [.text(table), .text(f.name), .text(f.type.rawValue), .timestamp(now)])
    }

    static func columnNames(_ db: any SQLExecutor, _ table: String) async throws -> [String] {
        try await db.query(db.dialect.columnNamesQuery, [.text(table)]).compactMap { $0.text(0) }
    }
}
