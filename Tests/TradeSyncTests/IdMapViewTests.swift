import Foundation
import Testing
import TradeSyncCore
@testable import TradeSyncStore

/// Migration 8: `contractor_data_mappings` is a view over the entity tables. On both backends.
extension StoreSuite {
    /// The seed's columns of the id map, in order.
    static let idMapColumns = ["id", "integration_id", "entity_type", "external_id", "internal_id", "created_at",
                               "last_synced_at"]

    /// The id map as read, one line per mapping, sorted: every column, timestamps as µs.
    static func idMap(_ store: SQLStore) async throws -> [String] {
        let d = store.dialect
        return try await store.sql.query("""
            SELECT id, integration_id, entity_type, external_id, internal_id, \(d.micros("created_at")),
                   \(d.micros("last_synced_at"))
            FROM contractor_data_mappings
            """).map { r in
            (0..<5).map { r.text($0) ?? "NULL" }.joined(separator: " ") + " \(r.micros(5) ?? -1) \(r.micros(6) ?? -1)"
        }.sorted()
    }

    /// What the id map must show for `entity`: one mapping per stored row, under the row's id.
    static func expectedIdMap(_ store: SQLStore, _ entity: EntityModel) async throws -> [String] {
        let d = store.dialect
        return try await store.sql.query("""
            SELECT id, integration_id, external_id, \(d.micros("created_at")), \(d.micros("updated_at"))
            FROM \(Schema.quote(entity.table))
            """).map { r in
            let id = r.text(0) ?? "NULL"
            return "\(id) \(r.text(1) ?? "NULL") \(entity.name) \(r.text(2) ?? "NULL") \(id) \(r.micros(3) ?? -1) \(r.micros(4) ?? -1)"
        }.sorted()
    }

    @Test(arguments: backends)
    func migrationEightTurnsTheIdMapIntoAViewOfTheEntityRows(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let base = try #require(store as? SQLStore)
            // The store as release 7 left it: the id map a table, written beside every row.
            let old = try await base.migrate(model: testModel, through: 7)
            #expect(old.appliedVersions == [1, 2, 3, 4, 5, 6, 7])
            let c = try await makeConnection(store)
            _ = try await store.applyPage(page(c, [job("1", name: "A"), job("2", name: "B")], cursor: nil))
            let review = MappedRecord(externalId: "r1", values: [.integer(5), .text("great")])
            _ = try await store.applyPage(page(c, [review], cursor: nil, entity: reviewsEntity))
            let jobs = try await store.rows(entity: jobsEntity, integrationId: c.id)
            let reviews = try await store.rows(entity: reviewsEntity, integrationId: c.id)
            let earlier = currentMicros() - 60_000_000
            var mappings: [(String, String, String)] = jobs.map { ("jobs", $0.key, $0.value.id) }
            mappings += reviews.map { ("reviews", $0.key, $0.value.id) }
            // A mapping whose row is gone: lost by the migration (a later sync inserts it again).
            mappings.append(("jobs", "orphan", "no-such-row"))
            for (n, (entity, ext, internalId)) in mappings.enumerated() {
                try await base.sql.execute("""
                    INSERT INTO contractor_data_mappings
                        (id, integration_id, entity_type, external_id, internal_id, created_at, last_synced_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, [.text("map-\(n)"), .text(c.id), .text(entity), .text(ext), .text(internalId), .timestamp(earlier),
                          .timestamp(earlier)])
            }
            #expect(try await store.mappingCount(integrationId: c.id, entity: "jobs") == 3)

            let report = try await store.migrate(model: testModel)
            #expect(report.appliedVersions == [8, 9])
            #expect(try await store.columns(of: "contractor_data_mappings") == Self.idMapColumns)
            let view = try await Self.idMap(base)
            let expected = try await Self.expectedIdMap(base, jobsEntity) + Self.expectedIdMap(base, reviewsEntity)
            #expect(view == expected.sorted())
            #expect(view.count == 3, "two jobs and a review; the orphan mapping is gone")
            #expect(try await store.mappingCount(integrationId: c.id, entity: "jobs") == 2)
            #expect(try await store.mappingCount(integrationId: c.id, entity: "reviews") == 1)

            // A rewrite moves the mapping's last_synced_at with the row's updated_at.
            let rewritten = try await store.applyPage(page(c, [job("1", name: "A2"), job("3", name: "C")], cursor: nil))
            #expect(rewritten == PageOutcome(inserted: 1, updated: 1))
            let afterWrite = try await Self.idMap(base)
            #expect(afterWrite == (try await Self.expectedIdMap(base, jobsEntity) + Self.expectedIdMap(base, reviewsEntity)).sorted())
            #expect(afterWrite.count == 4)

            // A new entity, migrated in, joins the view.
            let estimates = EntityModel(name: "estimates", table: "contractor_estimates",
                                        fields: [ModelField(name: "name", type: .string)])
            let grown = DataModel(entities: testModel.entities + [estimates])
            #expect(try await store.migrate(model: grown).createdTables == ["contractor_estimates"])
            #expect(try await store.mappingCount(integrationId: c.id, entity: "estimates") == 0)
            _ = try await store.applyPage(page(c, [MappedRecord(externalId: "e1", values: [.text("Roof")])], cursor: nil,
                                               entity: estimates))
            #expect(try await store.mappingCount(integrationId: c.id, entity: "estimates") == 1)
            let all = try await Self.idMap(base)
            var want: [String] = []
            for e in grown.entities { want += try await Self.expectedIdMap(base, e) }
            #expect(all == want.sorted())
            #expect(all.count == 5)
            #expect(try await store.migrate(model: grown).isNoOp)
        }
    }

    @Test(arguments: backends)
    func aModelWithoutEntitiesHasAnEmptyIdMap(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let base = try #require(store as? SQLStore)
            _ = try await store.migrate(model: DataModel(entities: []))
            #expect(try await store.columns(of: "contractor_data_mappings") == Self.idMapColumns)
            #expect(try await Self.idMap(base).isEmpty)
            // And the entities' branches come with the model.
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            _ = try await store.applyPage(page(c, [job("1", name: "A")], cursor: nil))
            #expect(try await Self.idMap(base) == (try await Self.expectedIdMap(base, jobsEntity)))
        }
    }

    @Test(arguments: backends)
    func aLargeRunRefreshesTheStatisticsOfTheEntityTables(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let base = try #require(store as? SQLStore)
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            _ = try await store.applyPage(page(c, [job("1", name: "A")], cursor: nil))
            let run = try await store.startRun(SyncRunStart(integrationId: c.id, demoId: c.demoId, entityType: "jobs",
                                                            syncType: "manual", startedAt: currentMicros()))
            try await store.finishRun(SyncRunFinish(runId: run, status: .success, completedAt: currentMicros(), durationMs: 1,
                                                    errorMessage: nil, detailsJSON: "{}", analyze: true))
            #expect(try await store.runs(integrationId: c.id, limit: 1).first?.status == .success)
            guard backend == .postgres else { return }
            // The tables the page lookups probe now, not the id map (a view has no statistics).
            let analyzed = try await base.sql.query("""
                SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL ORDER BY relname
                """).compactMap { $0.text(0) }
            #expect(analyzed == ["contractor_jobs", "contractor_reviews"])
        }
    }
}
