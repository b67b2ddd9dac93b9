import Foundation
import Testing
import TradeSyncCore
@testable import TradeSyncStore

/// `PagePlan.make` is the one place that decides insert / update / unchanged; these cases pin it.
struct PagePlanTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        /// (external id, value) in page order.
        var page: [(String, String)]
        /// external id → (internal id, stored value): the rows the store holds.
        var stored: [String: (String, String)]
        var outcome: PageOutcome
        /// One letter per record: i = insert, u = update, = = unchanged.
        var actions: String
        /// External ids of the rows inserted / updated, in order.
        var inserts: [String]
        var updates: [String]
        var testDescription: String { name }
    }

    static func record(_ id: String, _ value: String) -> MappedRecord {
        MappedRecord(externalId: id, values: [.text(value)])
    }

    static let cases: [Case] = [
        Case(name: "empty page", page: [], stored: [:], outcome: PageOutcome(), actions: "", inserts: [], updates: []),
        Case(name: "all new", page: [("1", "a"), ("2", "b")], stored: [:], outcome: PageOutcome(inserted: 2),
             actions: "ii", inserts: ["1", "2"], updates: []),
        Case(name: "stored and equal", page: [("1", "a")], stored: ["1": ("x1", "a")], outcome: PageOutcome(unchanged: 1),
             actions: "=", inserts: [], updates: []),
        Case(name: "stored and changed", page: [("1", "b")], stored: ["1": ("x1", "a")], outcome: PageOutcome(updated: 1),
             actions: "u", inserts: [], updates: ["1"]),
        Case(name: "repeated in one page: insert, then update, then unchanged",
             page: [("7", "first"), ("7", "second"), ("7", "second")], stored: [:],
             outcome: PageOutcome(inserted: 1, updated: 1, unchanged: 1), actions: "iu=", inserts: ["7"], updates: []),
        Case(name: "repeated stored record changed twice: one update row, counted twice",
             page: [("1", "b"), ("1", "c")], stored: ["1": ("x1", "a")], outcome: PageOutcome(updated: 2), actions: "uu",
             inserts: [], updates: ["1"]),
        Case(name: "mixed", page: [("1", "a"), ("2", "z"), ("3", "c")], stored: ["1": ("x1", "a"), "2": ("x2", "x2v")],
             outcome: PageOutcome(inserted: 1, updated: 1, unchanged: 1), actions: "=ui", inserts: ["3"], updates: ["2"]),
    ]

    /// Raw payload pointers (`keep_raw`): which rows point at the page's payloads, which only
    /// move their pointer, and which stored pages lose rows.
    struct RawCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// (external id, value, payload hash) in page order.
        var page: [(String, String, Int64)]
        /// external id → (stored value, payload hash, raw page).
        var stored: [String: (String, Int64?, Int64?)]
        var repoints: [String]
        var released: [Int64: Int]
        var pointing: Int
        var testDescription: String { name }
    }

    static let rawCases: [RawCase] = [
        RawCase(name: "new rows point at the page", page: [("1", "a", 10), ("2", "b", 20)], stored: [:], repoints: [],
                released: [:], pointing: 2),
        RawCase(name: "same values, same payload: nothing", page: [("1", "a", 10)], stored: ["1": ("a", 10, 5)],
                repoints: [], released: [:], pointing: 0),
        RawCase(name: "same values, new payload: repointed, old page released", page: [("1", "a", 11)],
                stored: ["1": ("a", 10, 5)], repoints: ["1"], released: [5: 1], pointing: 1),
        RawCase(name: "updated rows move off their pages", page: [("1", "b", 11), ("2", "c", 21), ("3", "d", 31)],
                stored: ["1": ("a", 10, 5), "2": ("x", 20, 5), "3": ("y", 30, 6)], repoints: [], released: [5: 2, 6: 1],
                pointing: 3),
        RawCase(name: "kept before pages (no pointer): pointed, nothing released", page: [("1", "a", 10)],
                stored: ["1": ("a", nil, nil)], repoints: ["1"], released: [:], pointing: 1),
        RawCase(name: "repeat: unchanged first, changed payload later, released once", page: [("1", "a", 10), ("1", "a", 12), ("1", "a", 13)],
                stored: ["1": ("a", 10, 5)], repoints: ["1"], released: [5: 1], pointing: 1),
        RawCase(name: "repeat: repointed, then updated: one update row", page: [("1", "a", 11), ("1", "b", 12)],
                stored: ["1": ("a", 10, 5)], repoints: [], released: [5: 1], pointing: 1),
    ]

    @Test(arguments: rawCases)
    func rowsPointAtThePagesPayloads(_ c: RawCase) throws {
        let records = c.page.map { Self.record($0.0, $0.1) }
        var page = PageWrite(integrationId: "i", demoId: "d", entity: EntityModel(name: "e", table: "t", fields: []),
                             stream: "s", records: records, cursor: nil, now: 0)
        page.rawPage = RawPage(compressed: [1], hashes: c.page.map(\.2))
        var existing: [String: StoredIdentity] = [:]
        for (ext, (value, rawHash, rawPage)) in c.stored {
            existing[ext] = StoredIdentity(internalId: "x" + ext, hash: Self.record(ext, value).contentHash,
                                           rawPage: rawPage, rawHash: rawHash)
        }
        var n = 0
        let plan = PagePlan.make(page, existing: existing) {
            n += 1
            return "new\(n)"
        }
        #expect(plan.repoints.map { records[$0.index].externalId } == c.repoints)
        #expect(plan.releasedPages == c.released)
        #expect(plan.pointingRows == c.pointing)
        // Every row written points at its id's last record on the page.
        for row in plan.inserts + plan.updates + plan.repoints {
            let ext = records[row.index].externalId
            let last = try #require(records.lastIndex { $0.externalId == ext })
            #expect(row.index == last)
        }
        // Without payloads nothing is repointed or released.
        page.rawPage = nil
        let plain = PagePlan.make(page, existing: existing) { "id" }
        #expect(plain.repoints.isEmpty && plain.releasedPages.isEmpty && plain.pointingRows == 0)
    }

    @Test(arguments: cases)
    func planClassifiesEveryRecordOnce(_ c: Case) {
        let records = c.page.map { Self.record($0.0, $0.1) }
        let page = PageWrite(integrationId: "i", demoId: "d", entity: EntityModel(name: "e", table: "t", fields: []),
                             stream: "s", records: records, cursor: nil, now: 0)
        var existing: [String: StoredIdentity] = [:]
        for (ext, (id, value)) in c.stored {
            existing[ext] = StoredIdentity(internalId: id, hash: Self.record(ext, value).contentHash)
        }
        var n = 0
        let plan = PagePlan.make(page, existing: existing) {
            n += 1
            return "new\(n)"
        }
        #expect(plan.outcome == c.outcome)
        let letters = plan.steps.map { step -> Character in
            switch step.action {
            case .insert: return "i"
            case .update: return "u"
            case .unchanged: return "="
            }
        }
        #expect(String(letters) == c.actions)
        #expect(plan.inserts.map { records[$0.index].externalId } == c.inserts)
        #expect(plan.updates.map { records[$0.index].externalId } == c.updates)
        // Rows are written in their last version, under their stored id or a new one.
        for row in plan.inserts + plan.updates {
            let ext = records[row.index].externalId
            #expect(records[row.index].values == records.last { $0.externalId == ext }?.values)
            #expect(plan.steps.allSatisfy { $0.externalId != ext || $0.internalId == row.internalId })
        }
        for row in plan.updates { #expect(row.internalId == c.stored[records[row.index].externalId]?.0) }
        // Every insert takes a new id of its own; stored ids are never reused for a new row.
        let insertIds = plan.inserts.map(\.internalId)
        #expect(Set(insertIds).count == insertIds.count)
        #expect(insertIds.allSatisfy { id in id.hasPrefix("new") })
        #expect(n == insertIds.count, "one new id per inserted row, none for the id map")
        // An update keeps the hash it replaces, for `plan` diffs.
        for step in plan.steps {
            if case .update(let previous) = step.action, let value = c.stored[step.externalId]?.1,
                plan.steps.first(where: { $0.externalId == step.externalId }).map({ $0 == step }) == true
            {
                #expect(previous == Self.record(step.externalId, value).contentHash)
            }
        }
    }
}

/// The dry run's view: a plan computed through `RecordReader` matches what `applyPage` then does,
/// and computing it writes nothing. On both backends.
@Suite(.serialized) struct PagePreviewSuite {
    @Test(arguments: StoreSuite.backends)
    func aPlanThroughTheReaderPredictsTheWriteAndWritesNothing(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            _ = try await store.applyPage(page(c, [job("1", name: "A"), job("2", name: "B")], cursor: "t1"))
            let reader: any RecordReader = store
            let next = page(c, [job("1", name: "A"), job("2", name: "B2"), job("3", name: "C"), job("3", name: "C2")],
                            cursor: "t2")
            let plan = try await reader.plan(next)
            #expect(plan.outcome == PageOutcome(inserted: 1, updated: 2, unchanged: 1))
            #expect(plan.inserts.map { next.records[$0.index].externalId } == ["3"])
            // Nothing was written by planning.
            #expect(try await store.cursor(integrationId: c.id, stream: "jobs") == "t1")
            #expect(try await store.rows(entity: jobsEntity, integrationId: c.id).count == 2)
            #expect(try await store.mappingCount(integrationId: c.id, entity: "jobs") == 2)
            let rows = try await store.rows(entity: jobsEntity, integrationId: c.id)
            #expect(plan.steps.first { $0.externalId == "2" }?.internalId == rows["2"]?.id)
            // Applying does what the plan said.
            #expect(try await store.applyPage(next) == plan.outcome)
            #expect(try await store.rows(entity: jobsEntity, integrationId: c.id)["3"]?.values["job_name"] == "C2")
            // Again: "3" is stored as C2, so the page's C and then its C2 are updates.
            #expect(try await reader.plan(next).outcome == PageOutcome(updated: 2, unchanged: 2))
        }
    }

    @Test(arguments: StoreSuite.backends)
    func existingReportsMappedIdsAndTheirHashes(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            _ = try await store.applyPage(page(c, [job("1", name: "A")], cursor: nil))
            let known = try await store.existing(integrationId: c.id, entity: jobsEntity, externalIds: ["1", "2", "1"])
            #expect(Set(known.keys) == ["1"])
            #expect(known["1"]?.hash == job("1", name: "A").contentHash)
            #expect(try await store.existing(integrationId: c.id, entity: jobsEntity, externalIds: []).isEmpty)
        }
    }
}
