import Foundation
import Testing
import TradeSyncCore
@testable import TradeSyncStore

/// `applyPage(_:after:)`: a page written while the previous one commits. Its rows may be
/// written meanwhile, but nothing of it is visible before `previous` returns, and nothing at all
/// when `previous` throws: the cursor never passes a page that did not commit.
@Suite(.serialized) struct PageOverlapTests {
    struct PreviousFailed: Error {}

    static func page(_ c: ConnectionRecord, ids: Range<Int>, cursor: String) -> PageWrite {
        var builder = RawPageBuilder()
        for i in ids { builder.append(externalId: "\(i)", text: "{\"id\":\(i)}") }
        var write = TradeSyncTests.page(
            c, ids.map { MappedRecord(externalId: "\($0)", values: jobsEntity.fields.map { $0.type == .string ? .text("v") : .null }) },
            cursor: cursor)
        write.rawPage = builder.finish()
        write.replayable = true
        return write
    }

    @Test(arguments: StoreSuite.backends)
    func aPageCommitsOnlyAfterThePreviousOne(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            _ = try await store.applyPage(Self.page(c, ids: 0..<3, cursor: "c1"))
            // While the previous page is still "committing", this page's rows and cursor are not visible.
            let second = Self.page(c, ids: 3..<6, cursor: "c2")
            let outcome = try await store.applyPage(second, after: { () async throws -> Void in
                let rows = try await store.rows(entity: jobsEntity, integrationId: c.id).count
                let cursor = try await store.cursor(integrationId: c.id, stream: "jobs")
                #expect(rows == 3)
                #expect(cursor == "c1")
            })
            #expect(outcome.inserted == 3)
            #expect(try await store.rows(entity: jobsEntity, integrationId: c.id).count == 6)
            #expect(try await store.cursor(integrationId: c.id, stream: "jobs") == "c2")

            // The previous page failed: this one writes nothing, not even its raw payloads.
            let pagesBefore = try await store.rawPages(integrationId: c.id, stream: "jobs", entity: jobsEntity)
            await #expect(throws: PreviousFailed.self) {
                _ = try await store.applyPage(Self.page(c, ids: 6..<9, cursor: "c3"), after: { throw PreviousFailed() })
            }
            #expect(try await store.rows(entity: jobsEntity, integrationId: c.id).count == 6)
            #expect(try await store.cursor(integrationId: c.id, stream: "jobs") == "c2")
            #expect(try await store.rawPages(integrationId: c.id, stream: "jobs", entity: jobsEntity) == pagesBefore)

            // Two pages in flight at once, as a run overlaps them: both land, the later cursor last.
            let third = Task { try await store.applyPage(Self.page(c, ids: 9..<12, cursor: "c4")) }
            _ = try await store.applyPage(Self.page(c, ids: 12..<15, cursor: "c5"), after: { _ = try await third.value })
            #expect(try await store.rows(entity: jobsEntity, integrationId: c.id).count == 12)
            #expect(try await store.cursor(integrationId: c.id, stream: "jobs") == "c5")
        }
    }
}
