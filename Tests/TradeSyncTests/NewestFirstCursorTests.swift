import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncStore

/// Google reviews: the API sorts (`orderBy=updateTime desc`) but cannot filter, so the stream
/// reads newest first and stops at the stored cursor (`cursor.stop_when_older`).
@Suite(.serialized) struct NewestFirstCursorTests {
    @Test func theCursorKeepsOneTimestampPerContext() {
        let ctx = ["account": "accounts/1", "location": "locations/2"]
        #expect(NewestFirstCursor.key(ctx) == "account=accounts/1&location=locations/2")
        #expect(NewestFirstCursor.key([:]) == "")
        let c = NewestFirstCursor(byContext: ["b": "2025-01-02T00:00:00Z", "a": "2025-01-01T00:00:00Z"])
        #expect(c.text == #"{"a":"2025-01-01T00:00:00Z","b":"2025-01-02T00:00:00Z"}"#)
        #expect(NewestFirstCursor(stored: c.text) == c)
        #expect(NewestFirstCursor(stored: c.text).value(for: "new location") == nil, "a new context is read in full")
        // A plain timestamp (a cursor stored without contexts) stands for every context.
        let plain = NewestFirstCursor(stored: "2025-01-01T00:00:00Z")
        #expect(plain.value(for: "anything") == "2025-01-01T00:00:00Z")
        #expect(NewestFirstCursor(stored: nil).value(for: "") == nil)
    }

    @Test(arguments: StoreSuite.backends)
    func aRunWithNothingNewReadsOnePagePerLocationAndAnEditedReviewIsPickedUp(backend: Backend) async throws {
        try await SyncHarness.with(backend) { h in
            let runner = h.runner()
            let only = SyncOptions(streams: ["reviews"])
            let locations = h.config.google.accounts * h.config.google.locationsPerAccount
            let perLocation = h.config.google.reviewsPerLocation
            let pagesPerLocation = (perLocation + 49) / 50
            #expect(pagesPerLocation > 1, "the sandbox must have more than one page per location for this test")

            let first = try await runner.run(h.google, options: only)
            #expect(first.status == .success, "\(first.error ?? "")")
            #expect(first.inserted == h.sandbox.googleReviewCount())
            #expect(first.streams.first?.pages == locations * pagesPerLocation)
            let stored = try #require(try await h.store.cursor(integrationId: h.google.id, stream: "reviews"))
            #expect(NewestFirstCursor(stored: stored).byContext.count == locations)

            // Nothing new: the first page of each location already reaches the cursor.
            let second = try await runner.run(h.google, options: only)
            #expect(second.status == .success, "\(second.error ?? "")")
            #expect(second.streams.first?.pages == locations)
            #expect(second.fetched == locations * min(50, perLocation))
            #expect(second.inserted == 0 && second.updated == 0)
            #expect(try await h.store.cursor(integrationId: h.google.id, stream: "reviews") == stored)

            // Two reviews of the second location are edited: they come first and are updated.
            let edited = h.sandbox.editGoogleReviews(location: 1, count: 2)
            let third = try await runner.run(h.google, options: only)
            #expect(third.status == .success, "\(third.error ?? "")")
            #expect(third.updated == 2 && third.inserted == 0)
            #expect(third.streams.first?.pages == locations)
            let entity = try #require(h.project.dataModel.entity("reviews"))
            let rows = try await h.store.rows(entity: entity, integrationId: h.google.id)
            for id in edited {
                #expect((rows[id]?.values["comment"] ?? nil)?.contains("(Update 1:") == true, "\(id)")
            }
            let moved = try #require(try await h.store.cursor(integrationId: h.google.id, stream: "reviews"))
            #expect(moved != stored)

            // A location the cursor does not know (added since) is read to its end.
            var partial = NewestFirstCursor(stored: moved)
            let firstKey = try #require(partial.byContext.keys.sorted().first)
            partial.byContext[firstKey] = nil
            _ = try await h.store.applyPage(PageWrite(
                integrationId: h.google.id, demoId: h.google.demoId, entity: entity, stream: "reviews", records: [],
                cursor: partial.text, now: currentMicros()))
            let fourth = try await runner.run(h.google, options: only)
            #expect(fourth.streams.first?.pages == pagesPerLocation + (locations - 1))
            #expect(fourth.inserted == 0 && fourth.updated == 0)
            #expect(NewestFirstCursor(stored: try await h.store.cursor(integrationId: h.google.id, stream: "reviews")).byContext.count == locations)

            // --full-refresh still reads everything.
            let full = try await runner.run(h.google, options: SyncOptions(streams: ["reviews"], fullRefresh: true))
            #expect(full.fetched == h.sandbox.googleReviewCount())
        }
    }
}
