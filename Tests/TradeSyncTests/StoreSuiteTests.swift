import Foundation
import Testing
import TradeSyncCore
@testable import TradeSyncStore

/// Which real backend a store test runs against.
enum Backend: String, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

let postgresAdminURL = ProcessInfo.processInfo.environment["TRADESYNC_TEST_POSTGRES_URL"]

/// Opens a fresh, empty store: a new SQLite file, or a new PostgreSQL database created for
/// this test on the server named by TRADESYNC_TEST_POSTGRES_URL. Drops it afterwards.
/// A store as tests see it: every production role plus the test-only inspection reads.
typealias InspectableStore = SyncStore & StoreInspection

func withFreshStore(_ backend: Backend, _ body: (any InspectableStore) async throws -> Void) async throws {
    switch backend {
    case .sqlite:
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(path: dir + "/store.sqlite")
        do {
            try await body(store)
        } catch {
            try await store.close()
            throw error
        }
        try await store.close()
    case .postgres:
        guard let admin = postgresAdminURL else {
            if isCI {
                Issue.record("CI=true but TRADESYNC_TEST_POSTGRES_URL is not set: the PostgreSQL suite must run in CI")
            } else {
                print("⚠️  PostgreSQL store tests SKIPPED: set TRADESYNC_TEST_POSTGRES_URL=postgres://user@host:port/db (see README)")
            }
            return
        }
        let name = "tradesync_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let adminStore = try await PostgresStore.connect(url: admin)
        _ = try await adminStore.query("CREATE DATABASE \(name)")
        guard var components = URLComponents(string: admin) else { throw StoreError("bad admin URL") }
        components.path = "/" + name
        let store = try await PostgresStore.connect(url: components.string ?? admin)
        var failure: (any Error)?
        do {
            try await body(store)
        } catch {
            failure = error
        }
        try await store.close()
        _ = try? await adminStore.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        try await adminStore.close()
        if let failure { throw failure }
    }
}

let postgresEnabled = postgresAdminURL != nil || isCI

let jobsEntity = EntityModel(name: "jobs", table: "contractor_jobs", fields: [
    ModelField(name: "job_name", type: .string),
    ModelField(name: "status", type: .enumeration, values: ["scheduled", "completed"]),
    ModelField(name: "final_value", type: .decimal),
    ModelField(name: "completed_at", type: .timestamp),
    ModelField(name: "warranty", type: .boolean),
    ModelField(name: "visits", type: .integer),
    ModelField(name: "crew", type: .json),
    ModelField(name: "notes", type: .text),
    ModelField(name: "service_date", type: .date),
])
let reviewsEntity = EntityModel(name: "reviews", table: "contractor_reviews", fields: [
    ModelField(name: "rating", type: .integer),
    ModelField(name: "comment", type: .text),
])
let testModel = DataModel(entities: [jobsEntity, reviewsEntity])

func job(_ id: String, name: String, value: String = "150.00", visits: Int64 = 1) -> MappedRecord {
    MappedRecord(externalId: id, values: [
        .text(name), .text("scheduled"), .decimal(value),
        .timestamp(Timestamp.parse("2021-07-19T20:35:38.2876004Z") ?? 0), .boolean(true), .integer(visits),
        .json("[{\"name\":\"Ana\",\"role\":\"Technician\"}]"), .null, .date("2021-07-19"),
    ])
}

func makeConnection(_ store: any SyncStore, key: String = "austin-st") async throws -> ConnectionRecord {
    try await store.upsertConnection(ConnectionRecord(
        demoId: "demo-123", connectionKey: key, integrationType: "servicetitan",
        credentialsJSON: "{\"client_secret\":\"env:ST_SECRET\"}", configJSON: "{\"fields\":{\"tenant_id\":\"1\"}}",
        syncFrequency: "hourly", autoSync: true))
}

func page(_ c: ConnectionRecord, _ records: [MappedRecord], cursor: String?, entity: EntityModel = jobsEntity) -> PageWrite {
    PageWrite(integrationId: c.id, demoId: c.demoId, entity: entity, stream: "jobs", records: records, cursor: cursor,
              now: currentMicros())
}

/// One suite, every backend: the same assertions hold for SQLite and PostgreSQL.
@Suite(.serialized) struct StoreSuite {
    static let backends: [Backend] = postgresEnabled ? [.sqlite, .postgres] : [.sqlite]

    @Test(arguments: backends)
    func migrationsAreVersionedAndIdempotent(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            let first = try await store.migrate(model: testModel)
            #expect(first.appliedVersions == [1, 2, 3, 4, 5, 6, 7, 8, 9])
            #expect(Set(first.createdTables) == ["contractor_jobs", "contractor_reviews"])
            let second = try await store.migrate(model: testModel)
            #expect(second.isNoOp)
            #expect(try await store.appliedMigrations().map(\.version) == [1, 2, 3, 4, 5, 6, 7, 8, 9])
            let columns = try await store.columns(of: "contractor_jobs")
            #expect(columns.prefix(10) == ["id", "demo_id", "integration_id", "external_id", "source_hash", "created_at",
                                           "updated_at", "raw_page", "raw_index", "raw_hash"])
            #expect(columns.dropFirst(10).map { $0 } == jobsEntity.fields.map(\.name))
            for table in ["contractor_integrations", "contractor_sync_logs", "contractor_data_mappings",
                          "contractor_integration_templates", "contractor_integration_summary"] {
                #expect(!(try await store.columns(of: table)).isEmpty, "\(table) exists")
            }
        }
    }

    @Test(arguments: backends)
    func addingAModelFieldAddsAColumn(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            _ = try await store.applyPage(page(c, [job("1", name: "Old")], cursor: nil))
            var grown = jobsEntity
            grown.fields.append(ModelField(name: "priority", type: .string))
            let report = try await store.migrate(model: DataModel(entities: [grown, reviewsEntity]))
            #expect(report.addedColumns == ["contractor_jobs.priority"])
            #expect(report.appliedVersions.isEmpty)
            #expect(try await store.columns(of: "contractor_jobs").last == "priority")
            // Existing rows keep their data; the new column is null until the next sync fills it.
            let rows = try await store.rows(entity: grown, integrationId: c.id)
            #expect(rows["1"]?.values["job_name"] == "Old")
            #expect(rows["1"]?.values["priority"] == .some(nil))
            #expect(try await store.migrate(model: DataModel(entities: [grown, reviewsEntity])).isNoOp)
        }
    }

    @Test(arguments: backends)
    func upsertsCountInsertsUpdatesAndUnchangedExactly(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            let first = try await store.applyPage(page(c, [job("1", name: "A"), job("2", name: "B"), job("3", name: "C")], cursor: "t1"))
            #expect(first == PageOutcome(inserted: 3, updated: 0, unchanged: 0))
            let again = try await store.applyPage(page(c, [job("1", name: "A"), job("2", name: "B"), job("3", name: "C")], cursor: "t2"))
            #expect(again == PageOutcome(inserted: 0, updated: 0, unchanged: 3))
            let changed = try await store.applyPage(page(c, [job("1", name: "A"), job("2", name: "B2", value: "99.95")], cursor: "t3"))
            #expect(changed == PageOutcome(inserted: 0, updated: 1, unchanged: 1))
            #expect(try await store.mappingCount(integrationId: c.id, entity: "jobs") == 3)
            #expect(try await store.cursor(integrationId: c.id, stream: "jobs") == "t3")
            let rows = try await store.rows(entity: jobsEntity, integrationId: c.id)
            #expect(rows.count == 3)
            let b = try #require(rows["2"])
            #expect(b.values["job_name"] == "B2")
            #expect(b.values["final_value"] == "99.95")
            #expect(b.values["completed_at"] == "2021-07-19T20:35:38.287600Z")
            #expect(b.values["warranty"] == "1")
            #expect(b.values["visits"] == "1")
            #expect(b.values["notes"] == .some(nil))
            #expect(b.values["service_date"] == "2021-07-19")
            let crew = try JSONValue.parse(try #require(b.values["crew"] ?? nil))
            #expect(crew.arrayValue?.first?["name"] == "Ana")
            // The internal id is stable across updates.
            let before = try #require(rows["1"]?.id)
            _ = try await store.applyPage(page(c, [job("1", name: "A-changed")], cursor: nil))
            #expect(try await store.rows(entity: jobsEntity, integrationId: c.id)["1"]?.id == before)
            #expect(try await store.cursor(integrationId: c.id, stream: "jobs") == "t3", "a nil cursor leaves it as it was")
        }
    }

    /// New rows reach PostgreSQL by COPY's text format, where a tab, a line break or a backslash
    /// in a value means something: every value must read back exactly as written, and an empty
    /// string must stay apart from NULL and from the text `\N`.
    @Test(arguments: backends)
    func valuesThatMeanSomethingToCopyReadBackExactly(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            let awkward = ["tab\there", "line\nbreak\r\n", "back\\slash \\N \\.", "\\N", "", "é ü 😀", "\\", "end\\"]
            let records = awkward.enumerated().map { i, text in
                MappedRecord(externalId: "ext\t\(i)\\", values: [
                    .text(text), .text("scheduled"), .decimal("-0.5"), .timestamp(0), .boolean(false), .integer(-7),
                    .json("{\"k\":\"a\\tb\\\\c\\n\",\"text\":\(JSONValue.string(text).jsonText)}"), .text(text), .null,
                ])
            }
            let outcome = try await store.applyPage(page(c, records, cursor: nil))
            #expect(outcome == PageOutcome(inserted: awkward.count, updated: 0, unchanged: 0))
            let rows = try await store.rows(entity: jobsEntity, integrationId: c.id)
            #expect(rows.count == awkward.count)
            for (i, text) in awkward.enumerated() {
                let row = try #require(rows["ext\t\(i)\\"])
                #expect(row.values["job_name"] == .some(text))
                #expect(row.values["notes"] == .some(text))
                #expect(row.values["service_date"] == .some(nil))
                #expect(row.values["final_value"] == "-0.5")
                #expect(row.values["warranty"] == "0")
                #expect(row.values["visits"] == "-7")
                #expect(row.values["completed_at"] == "1970-01-01T00:00:00Z")
                let crew = try JSONValue.parse(try #require(row.values["crew"] ?? nil))
                #expect(crew["k"] == "a\tb\\c\n")
                #expect(crew["text"] == .string(text))
            }
            // Stored exactly: the same page again changes nothing.
            #expect(try await store.applyPage(page(c, records, cursor: nil)) == PageOutcome(inserted: 0, updated: 0, unchanged: awkward.count))
        }
    }

    @Test(arguments: backends)
    func aRecordRepeatedInOnePageIsCountedOnceAsInsertThenAsUpdate(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            let outcome = try await store.applyPage(page(c, [job("7", name: "first"), job("7", name: "second"), job("7", name: "second")], cursor: nil))
            #expect(outcome == PageOutcome(inserted: 1, updated: 1, unchanged: 1))
            let rows = try await store.rows(entity: jobsEntity, integrationId: c.id)
            #expect(rows.count == 1)
            #expect(rows["7"]?.values["job_name"] == "second")
            #expect(try await store.mappingCount(integrationId: c.id, entity: "jobs") == 1)
        }
    }

    @Test(arguments: backends)
    func aFailedPageLeavesNoRowsNoMappingsAndNoCursor(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            // Only the jobs table exists: a page for an entity whose table is missing fails, and
            // the whole transaction must roll back.
            _ = try await store.migrate(model: DataModel(entities: [jobsEntity]))
            let c = try await makeConnection(store)
            let missing = EntityModel(name: "estimates", table: "contractor_estimates", fields: [ModelField(name: "name", type: .string)])
            await #expect(throws: (any Error).self) {
                _ = try await store.applyPage(page(c, [MappedRecord(externalId: "1", values: [.text("x")])], cursor: "c1", entity: missing))
            }
            #expect(try await store.mappingCount(integrationId: c.id, entity: "estimates") == 0)
            #expect(try await store.cursor(integrationId: c.id, stream: "jobs") == nil)
            // The store is still usable afterwards.
            #expect(try await store.applyPage(page(c, [job("1", name: "ok")], cursor: "c2")).inserted == 1)
        }
    }

    @Test(arguments: backends)
    func idMapsAreSeparatePerIntegrationAndEntity(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let a = try await makeConnection(store, key: "a")
            let b = try await makeConnection(store, key: "b")
            #expect(a.id != b.id)
            #expect(try await store.applyPage(page(a, [job("1", name: "A")], cursor: nil)).inserted == 1)
            #expect(try await store.applyPage(page(b, [job("1", name: "A")], cursor: nil)).inserted == 1)
            let review = MappedRecord(externalId: "1", values: [.integer(5), .text("great")])
            #expect(try await store.applyPage(page(a, [review], cursor: nil, entity: reviewsEntity)).inserted == 1)
            #expect(try await store.rows(entity: jobsEntity, integrationId: a.id).count == 1)
            #expect(try await store.rows(entity: reviewsEntity, integrationId: a.id)["1"]?.values["rating"] == "5")
        }
    }

    @Test(arguments: backends)
    func connectionsAreKeyedByContractorAndKey(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let first = try await makeConnection(store)
            var changed = first
            changed.syncFrequency = "daily"
            changed.autoSync = false
            changed.id = ""
            let second = try await store.upsertConnection(changed)
            #expect(second.id == first.id)
            #expect(second.syncFrequency == "daily")
            #expect(second.autoSync == false)
            #expect(try await store.connections(demoId: "demo-123").count == 1)
            #expect(try await store.connections(demoId: "other").isEmpty)
            try await store.setConnectionStatus(id: first.id, status: .needsReauth, error: "invalid_grant")
            let reloaded = try #require(try await store.connection(id: first.id))
            #expect(reloaded.status == .needsReauth)
            #expect(reloaded.lastError == "invalid_grant")
            #expect(try JSONValue.parse(reloaded.credentialsJSON)["client_secret"] == "env:ST_SECRET")
        }
    }

    @Test(arguments: backends)
    func templatesRoundTrip(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let t = IntegrationTemplate(
                integrationType: "yelp", displayName: "Yelp", description: "Reviews", authType: "api_key",
                status: "available", statusNote: nil, capabilities: ["reviews"], defaultFrequency: "hourly",
                docsURL: "https://docs.developer.yelp.com", configJSON: "{\"streams\":[]}")
            try await store.upsertTemplate(t)
            var renamed = t
            renamed.displayName = "Yelp Fusion"
            try await store.upsertTemplate(renamed)
            let all = try await store.templates()
            #expect(all.count == 1)
            #expect(all.first?.displayName == "Yelp Fusion")
            #expect(all.first?.capabilities == ["reviews"])
        }
    }

    @Test(arguments: backends)
    func runsAreLoggedAndSummarised(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            let started = currentMicros()
            let run = try await store.startRun(SyncRunStart(integrationId: c.id, demoId: c.demoId, entityType: "jobs",
                                                            syncType: "manual", startedAt: started))
            let running = try await store.runs(integrationId: c.id, limit: 10)
            #expect(running.first?.status == .running)
            // The page adds its counts to the run in its own transaction: they are there before the run ends.
            var write = page(c, [job("1", name: "A"), job("2", name: "B")], cursor: nil)
            write.run = RunCounts(runId: run, fetched: 3, failed: 1)
            write.failures = [FailedRecord(externalId: "3", reason: "unmapped status", rawJSON: "{\"id\":3}")]
            _ = try await store.applyPage(write)
            let counted = try #require(try await store.runs(integrationId: c.id, limit: 1).first)
            #expect(counted.status == .running && counted.fetched == 3 && counted.inserted == 2 && counted.failed == 1)
            try await store.finishRun(SyncRunFinish(
                runId: run, status: .success, completedAt: started + 1_500_000, durationMs: 1500, errorMessage: nil,
                detailsJSON: "{\"failures\":[{\"external_id\":\"3\",\"reason\":\"unmapped status\"}]}"))
            let failedRun = try await store.startRun(SyncRunStart(integrationId: c.id, demoId: c.demoId, entityType: "jobs",
                                                                  syncType: "scheduled", startedAt: started + 2_000_000))
            try await store.finishRun(SyncRunFinish(
                runId: failedRun, status: .failed, completedAt: started + 2_100_000, durationMs: 100, errorMessage: "HTTP 500",
                detailsJSON: "{}"))
            let kept = try await store.keptFailures(integrationId: c.id, stream: nil, limit: 10)
            #expect(kept.map(\.externalId) == ["3"] && kept.first?.rawJSON == "{\"id\":3}" && kept.first?.attempts == 1)
            let runs = try await store.runs(integrationId: c.id, limit: 10)
            #expect(runs.map(\.status) == [.failed, .success])
            let ok = try #require(runs.last)
            #expect(ok.fetched == 3 && ok.inserted == 2 && ok.failed == 1 && ok.durationMs == 1500)
            #expect(ok.syncType == "manual")
            #expect(ok.completedAt == started + 1_500_000)
            #expect(try JSONValue.parse(ok.detailsJSON)["failures"]?.arrayValue?.count == 1)
            #expect(runs.first?.errorMessage == "HTTP 500")
            let reloaded = try #require(try await store.connection(id: c.id))
            #expect(reloaded.lastSyncedAt == started + 1_500_000, "only a successful run moves last_synced_at")
            let summary = try #require(try await store.summary().first { $0.integrationId == c.id })
            #expect(summary.totalSyncs == 2)
            #expect(summary.successfulSyncs == 1)
            #expect(summary.failedSyncs == 1)
            #expect(summary.recordsSynced == 2)
            #expect(summary.recordsInserted == 2)
        }
    }

    @Test(arguments: backends)
    func aFencedPageCommitsOnlyWhileItsHolderHoldsTheLease(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            #expect(try await store.acquireLease(integrationId: c.id, holder: "a", ttlSeconds: 60, takeOverFrom: nil))
            var write = page(c, [job("1", name: "A")], cursor: "t1")
            write.fence = LeaseFence(holder: "a", ttlSeconds: 60)
            #expect(try await store.applyPage(write).inserted == 1)
            #expect(try await store.acquireLease(integrationId: c.id, holder: "b", ttlSeconds: 60, takeOverFrom: "a"))
            var late = page(c, [job("2", name: "B")], cursor: "t2")
            late.fence = LeaseFence(holder: "a", ttlSeconds: 60)
            await #expect(throws: LeaseLostError.self) { _ = try await store.applyPage(late) }
            #expect(try await store.rowCount(table: "contractor_jobs") == 1, "the fenced-out page wrote nothing")
            #expect(try await store.cursor(integrationId: c.id, stream: "jobs") == "t1", "nor its cursor")
            #expect(try await store.leaseHolder(integrationId: c.id) == "b")
        }
    }

    @Test(arguments: backends)
    func keptFailuresAreUpdatedByRepeatsAndClearedWhenResolved(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            var first = page(c, [], cursor: nil)
            first.failures = [FailedRecord(externalId: "7", reason: "old reason", rawJSON: "{}"),
                              FailedRecord(externalId: "8", reason: "r", rawJSON: "{}")]
            _ = try await store.applyPage(first)
            var second = page(c, [job("8", name: "now maps")], cursor: nil)
            second.failures = [FailedRecord(externalId: "7", reason: "new reason", rawJSON: "{\"v\":2}")]
            second.resolvedFailures = ["8"]
            _ = try await store.applyPage(second)
            let kept = try await store.keptFailures(integrationId: c.id, stream: "jobs", limit: 10)
            #expect(kept.count == 1)
            #expect(kept.first?.externalId == "7" && kept.first?.reason == "new reason" && kept.first?.attempts == 2)
            #expect(kept.first?.rawJSON == "{\"v\":2}")
            #expect(try await store.keptFailures(integrationId: c.id, stream: "other", limit: 10).isEmpty)
        }
    }

    @Test(arguments: backends)
    func aRunLeaseHasOneHolderUntilItIsReleasedExpiresOrItsHolderIsDeclaredDead(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            #expect(try await store.leaseHolder(integrationId: c.id) == nil)
            #expect(try await store.acquireLease(integrationId: c.id, holder: "a", ttlSeconds: 60, takeOverFrom: nil))
            #expect(try await store.acquireLease(integrationId: c.id, holder: "b", ttlSeconds: 60, takeOverFrom: nil) == false,
                    "a live lease held by another is not taken")
            #expect(try await store.acquireLease(integrationId: c.id, holder: "b", ttlSeconds: 60, takeOverFrom: "x") == false,
                    "a takeover names the holder it replaces")
            #expect(try await store.acquireLease(integrationId: c.id, holder: "a", ttlSeconds: 60, takeOverFrom: nil),
                    "the holder renews its own lease")
            #expect(try await store.leaseHolder(integrationId: c.id) == "a")
            try await store.releaseLease(integrationId: c.id, holder: "b")
            #expect(try await store.leaseHolder(integrationId: c.id) == "a", "only the holder releases")
            #expect(try await store.acquireLease(integrationId: c.id, holder: "b", ttlSeconds: 60, takeOverFrom: "a"))
            #expect(try await store.leaseHolder(integrationId: c.id) == "b")
            #expect(try await store.acquireLease(integrationId: c.id, holder: "a", ttlSeconds: 60, takeOverFrom: nil) == false,
                    "the replaced holder cannot take it back")
            try await store.releaseLease(integrationId: c.id, holder: "b")
            #expect(try await store.leaseHolder(integrationId: c.id) == nil)
            // An expired lease is free to anyone.
            #expect(try await store.acquireLease(integrationId: c.id, holder: "c", ttlSeconds: 0, takeOverFrom: nil))
            try await Task.sleep(for: .milliseconds(5))
            #expect(try await store.acquireLease(integrationId: c.id, holder: "d", ttlSeconds: 60, takeOverFrom: nil))
            #expect(try await store.leaseHolder(integrationId: c.id) == "d")
            // Leases are per connection.
            let other = try await makeConnection(store, key: "other")
            #expect(try await store.acquireLease(integrationId: other.id, holder: "e", ttlSeconds: 60, takeOverFrom: nil))
        }
    }

    @Test(arguments: backends)
    func ofManyConcurrentContendersExactlyOneTakesAFreeLease(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            let winners = try await withThrowingTaskGroup(of: String?.self) { group in
                for n in 0..<8 {
                    group.addTask {
                        try await store.acquireLease(integrationId: c.id, holder: "w\(n)", ttlSeconds: 60, takeOverFrom: nil)
                            ? "w\(n)" : nil
                    }
                }
                var out: [String] = []
                for try await w in group { if let w { out.append(w) } }
                return out
            }
            #expect(winners.count == 1)
            #expect(try await store.leaseHolder(integrationId: c.id) == winners.first)
        }
    }

    @Test(arguments: backends)
    func interruptedRunsOfOneConnectionAreMarkedFailed(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            let other = try await makeConnection(store, key: "other")
            let now = currentMicros()
            func start(_ conn: ConnectionRecord, _ at: Int64) async throws -> String {
                try await store.startRun(SyncRunStart(integrationId: conn.id, demoId: conn.demoId, entityType: "jobs",
                                                      syncType: "scheduled", startedAt: at))
            }
            let finished = try await start(c, now)
            try await store.finishRun(SyncRunFinish(runId: finished, status: .success, completedAt: now + 10, durationMs: 0,
                                                    errorMessage: nil, detailsJSON: "{}"))
            let dead1 = try await start(c, now + 1_000)
            let dead2 = try await start(c, now + 2_000)
            let elsewhere = try await start(other, now + 3_000)
            #expect(try await store.markInterruptedRuns(integrationId: c.id) == 2)
            #expect(try await store.markInterruptedRuns(integrationId: c.id) == 0, "already marked")
            let runs = try await store.runs(integrationId: c.id, limit: 10)
            #expect(runs.map(\.id) == [dead2, dead1, finished], "newest first")
            #expect(runs.map(\.status) == [.failed, .failed, .success])
            #expect(runs.first?.errorMessage?.hasPrefix("interrupted") == true)
            #expect(runs.first?.completedAt != nil)
            #expect(try await store.runs(integrationId: other.id, limit: 10).map(\.status) == [.running],
                    "another connection's run is not touched")
            #expect(try await store.runs(integrationId: nil, limit: 10).count == 4)
            #expect(try await store.runs(integrationId: nil, limit: 2).map(\.id) == [elsewhere, dead2])
        }
    }

    @Test(arguments: backends)
    func theCredentialLeaseSerialisesRefreshes(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            #expect(try await store.acquireCredentialLease(integrationId: c.id, holder: "a", ttlSeconds: 30))
            #expect(try await store.acquireCredentialLease(integrationId: c.id, holder: "b", ttlSeconds: 30) == false)
            #expect(try await store.acquireCredentialLease(integrationId: c.id, holder: "a", ttlSeconds: 30), "re-entrant")
            try await store.releaseCredentialLease(integrationId: c.id, holder: "b")
            #expect(try await store.acquireCredentialLease(integrationId: c.id, holder: "b", ttlSeconds: 30) == false,
                    "only the holder releases")
            try await store.releaseCredentialLease(integrationId: c.id, holder: "a")
            #expect(try await store.acquireCredentialLease(integrationId: c.id, holder: "b", ttlSeconds: 0))
            try await Task.sleep(for: .milliseconds(5))
            #expect(try await store.acquireCredentialLease(integrationId: c.id, holder: "c", ttlSeconds: 30), "expired")
            #expect(try await store.acquireCredentialLease(integrationId: c.id, holder: "b", ttlSeconds: 30) == false)
            // The run lease and the credential lease are independent.
            #expect(try await store.acquireLease(integrationId: c.id, holder: "b", ttlSeconds: 30, takeOverFrom: nil))
        }
    }

    @Test(arguments: backends)
    func tokensAreReplacedOnlyByWhoeverSawTheCurrentRefreshToken(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            #expect(try await store.loadTokens(integrationId: c.id) == nil)
            let first = StoredTokens(accessToken: "a1", refreshToken: "r1", expiresAtMicros: 100, refreshExpiresAtMicros: 1_000,
                                     callbackFieldsJSON: "{\"realmId\":\"9\"}")
            #expect(try await store.replaceTokens(integrationId: c.id, expectedRefreshToken: nil, with: first))
            #expect(try await store.loadTokens(integrationId: c.id) == first)
            let intruder = StoredTokens(accessToken: "x", refreshToken: "rx", expiresAtMicros: nil)
            #expect(try await store.replaceTokens(integrationId: c.id, expectedRefreshToken: nil, with: intruder) == false,
                    "nil expected: only when none is stored")
            // A refresh: the winner saw r1; the callback fields stay when the refresh brings none.
            let second = StoredTokens(accessToken: "a2", refreshToken: "r2", expiresAtMicros: 200)
            #expect(try await store.replaceTokens(integrationId: c.id, expectedRefreshToken: "r1", with: second))
            let stored = try #require(try await store.loadTokens(integrationId: c.id))
            #expect(stored.refreshToken == "r2" && stored.accessToken == "a2" && stored.expiresAtMicros == 200)
            #expect(stored.callbackFieldsJSON == "{\"realmId\":\"9\"}")
            #expect(stored.refreshExpiresAtMicros == nil)
            // The loser also saw r1, but r1 has been spent.
            let late = StoredTokens(accessToken: "a3", refreshToken: "r3", expiresAtMicros: 300)
            #expect(try await store.replaceTokens(integrationId: c.id, expectedRefreshToken: "r1", with: late) == false)
            #expect(try await store.loadTokens(integrationId: c.id)?.refreshToken == "r2")
            // Racing writers that all saw r2: exactly one wins.
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for n in 0..<8 {
                    group.addTask {
                        try await store.replaceTokens(integrationId: c.id, expectedRefreshToken: "r2",
                                                      with: StoredTokens(accessToken: "a", refreshToken: "race\(n)", expiresAtMicros: nil))
                    }
                }
                var count = 0
                for try await won in group where won { count += 1 }
                return count
            }
            #expect(wins == 1)
            #expect(try await store.loadTokens(integrationId: c.id)?.refreshToken.hasPrefix("race") == true)
            let other = try await makeConnection(store, key: "other")
            #expect(try await store.replaceTokens(integrationId: other.id, expectedRefreshToken: nil, with: first))
            #expect(try await store.tokenIntegrationIds() == [c.id, other.id].sorted())
            try await store.deleteTokens(integrationId: c.id)
            #expect(try await store.loadTokens(integrationId: c.id) == nil)
            #expect(try await store.tokenIntegrationIds() == [other.id])
        }
    }

    @Test(arguments: backends)
    func anOAuthStateIsTakenOnceAndExpiredStatesArePurged(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            let now = currentMicros()
            let live = OAuthStateRecord(state: "s-live", integrationId: c.id, redirectURI: "http://127.0.0.1:1/callback",
                                        codeVerifier: "v1", expiresAtMicros: now + 600_000_000)
            let stale = OAuthStateRecord(state: "s-stale", integrationId: c.id, redirectURI: "http://127.0.0.1:1/callback",
                                         codeVerifier: nil, expiresAtMicros: now - 1)
            try await store.saveOAuthState(stale)
            try await store.saveOAuthState(live)
            #expect(try await store.takeOAuthState("s-stale") == nil, "saving a state drops expired ones")
            #expect(try await store.takeOAuthState("s-live") == live)
            #expect(try await store.takeOAuthState("s-live") == nil, "a state is good for one callback only")
            #expect(try await store.takeOAuthState("never") == nil)
            // Two callbacks racing for one state: one gets it.
            try await store.saveOAuthState(OAuthStateRecord(state: "s-race", integrationId: c.id, redirectURI: "r",
                                                            codeVerifier: nil, expiresAtMicros: now + 600_000_000))
            let taken = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<4 { group.addTask { try await store.takeOAuthState("s-race") != nil } }
                var count = 0
                for try await got in group where got { count += 1 }
                return count
            }
            #expect(taken == 1)
        }
    }

    @Test(arguments: backends)
    func deletionsMarkOnlyTheGivenLiveRowsOnceAndAFencedOutWriteMarksNothing(backend: Backend) async throws {
        let customers = EntityModel(name: "customers", table: "contractor_customers", fields: [
            ModelField(name: "name", type: .string), ModelField(name: DeletionWrite.field, type: .timestamp),
        ])
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: DataModel(entities: [customers]))
            let c = try await makeConnection(store)
            let records = (1...5).map { MappedRecord(externalId: "\($0)", values: [.text("C\($0)"), .null]) }
            _ = try await store.applyPage(page(c, records, cursor: "t1", entity: customers))
            #expect(try await store.liveCount(integrationId: c.id, entity: customers) == 5)
            #expect(try await store.acquireLease(integrationId: c.id, holder: "a", ttlSeconds: 60, takeOverFrom: nil))
            let fence = LeaseFence(holder: "a", ttlSeconds: 60)
            let at: Int64 = 1_700_000_000_000_000
            func deletion(_ ids: [String], cursor: String, at now: Int64) -> DeletionWrite {
                DeletionWrite(integrationId: c.id, entity: customers, cursorKey: "customers#deletes", cursor: cursor,
                              externalIds: ids, now: now, fence: fence)
            }
            // "9" was never synced: nothing to mark.
            #expect(try await store.applyDeletions(deletion(["2", "4", "9", "2"], cursor: "d1", at: at)) == 2)
            let rows = try await store.rows(entity: customers, integrationId: c.id)
            #expect(rows.count == 5, "soft deletes keep the rows")
            let marked = rows.filter { ($0.value.values[DeletionWrite.field] ?? nil) != nil }.keys.sorted()
            #expect(marked == ["2", "4"])
            let stamp = try #require(rows["2"]?.values[DeletionWrite.field] ?? nil)
            #expect(Timestamp.parse(stamp) == at, "deleted_at is the write's time: \(stamp)")
            #expect(try await store.liveCount(integrationId: c.id, entity: customers) == 3)
            #expect(try await store.liveExternalIds(integrationId: c.id, entity: customers, among: ["1", "2", "5", "9"])
                == ["1", "5"], "deleted and never-synced ids are not live")
            #expect(try await store.cursor(integrationId: c.id, stream: "customers#deletes") == "d1")
            #expect(try await store.cursor(integrationId: c.id, stream: "jobs") == "t1", "the stream's cursor is its own")

            #expect(try await store.applyDeletions(deletion(["2", "4"], cursor: "d2", at: at + 1)) == 0, "idempotent")
            let again = try await store.rows(entity: customers, integrationId: c.id)
            #expect(again["2"]?.values[DeletionWrite.field] == rows["2"]?.values[DeletionWrite.field],
                    "a repeated deletion keeps the first deleted_at")

            #expect(try await store.acquireLease(integrationId: c.id, holder: "b", ttlSeconds: 60, takeOverFrom: "a"))
            await #expect(throws: LeaseLostError.self) {
                _ = try await store.applyDeletions(deletion(["1", "3"], cursor: "d3", at: at + 2))
            }
            #expect(try await store.liveCount(integrationId: c.id, entity: customers) == 3, "the fenced-out write marked nothing")
            #expect(try await store.cursor(integrationId: c.id, stream: "customers#deletes") == "d2", "nor moved its cursor")
        }
    }

    @Test(arguments: backends)
    func aPreviewCountsAsTheWriteWouldAndWritesNothing(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            _ = try await store.applyPage(page(c, [job("1", name: "A"), job("2", name: "B")], cursor: "t1"))
            let next = page(c, [job("1", name: "A"), job("2", name: "B2"), job("3", name: "C"), job("3", name: "C2")],
                            cursor: "t2")
            let preview = try await store.plan(next).outcome
            #expect(preview == PageOutcome(inserted: 1, updated: 2, unchanged: 1))
            #expect(try await store.rowCount(table: "contractor_jobs") == 2, "the preview wrote no row")
            #expect(try await store.mappingCount(integrationId: c.id, entity: "jobs") == 2, "nor a mapping")
            #expect(try await store.cursor(integrationId: c.id, stream: "jobs") == "t1", "nor the cursor")
            #expect(try await store.applyPage(next) == preview, "the write does what the preview said")
        }
    }

    @Test(arguments: backends)
    func errorsSayWhatKindTheyAre(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            let state = OAuthStateRecord(state: "s1", integrationId: c.id, redirectURI: "r", codeVerifier: nil,
                                         expiresAtMicros: currentMicros() + 60_000_000)
            try await store.saveOAuthState(state)
            let duplicate = await #expect(throws: StoreError.self) { try await store.saveOAuthState(state) }
            #expect(duplicate?.kind == .constraint, "\(String(describing: duplicate))")
            var orphan = state
            orphan.state = "s2"
            orphan.integrationId = "no-such-connection"
            let missing = await #expect(throws: StoreError.self) { try await store.saveOAuthState(orphan) }
            #expect(missing?.kind == .constraint, "a foreign key is a constraint too")
        }
    }

    @Test func aClosedStoreSaysSo() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(path: dir + "/store.sqlite")
        _ = try await store.migrate(model: testModel)
        try await store.close()
        let error = await #expect(throws: StoreError.self) { _ = try await store.connections(demoId: nil) }
        #expect(error?.kind == .closed)
        let pageError = await #expect(throws: StoreError.self) { _ = try await store.cursor(integrationId: "x", stream: "y") }
        #expect(pageError?.kind == .closed)
    }

    @Test func statementsAreWrittenOnceAndRenderedPerDialect() {
        let sql = "SELECT a FROM t WHERE (?1 IS NULL OR b = ?1) AND c = 'why?' AND d < ?2 AND e = ? LIMIT ?"
        let binds: [SQLValue] = [.text(nil), .timestamp(1), .json("{}"), .int(3)]
        #expect(SQLDialect.sqlite.render(sql, binds) == sql, "SQLite takes ? and ?N as written")
        #expect(SQLDialect.postgres.render(sql, binds) == """
            SELECT a FROM t WHERE ($1::text IS NULL OR b = $1::text) AND c = 'why?' AND d < $2::timestamptz \
            AND e = $3::jsonb LIMIT $4::bigint
            """, "a bare ? takes one more than the largest number so far, as in SQLite")
        #expect(SQLDialect.postgres.render("INSERT INTO t VALUES (?, ?, ?)", [.bool(true), .int(1), .json(nil)])
                == "INSERT INTO t VALUES ($1::boolean, $2::bigint, $3::jsonb)")
    }
}
