import Foundation
import Testing
import TradeSyncCore
import TradeSyncSandbox

/// The sandbox serves export pages rendered once (so benchmarks measure the client); a change at
/// the source must still show on the next read.
struct RenderedExportTests {
    @Test func aRenderedExportIsServedAgainUntilTheSourceChanges() async throws {
        try await SandboxTests.withSandbox({ $0.serviceTitan.jobs = 1_200; $0.serviceTitan.exportPageSize = 500 }) { sandbox in
            let token = try await SandboxTests.stToken(sandbox)
            let first = try await SandboxTests.drainExport(sandbox, token: token)
            let again = try await SandboxTests.drainExport(sandbox, token: token)
            #expect(first.pages == 3)
            #expect(again.records == first.records)
            #expect(again.cursor == first.cursor)
            let touched = Set(sandbox.touchServiceTitanJobs(count: 3))
            let after = try await SandboxTests.drainExport(sandbox, token: token)
            #expect(after.records != first.records, "the touched jobs are served with their change")
            let ids = after.records.compactMap { $0["id"]?.scalarText }
            #expect(ids.count == 1_200 && Set(ids).count == 1_200, "every job once")
            let tail = after.records.suffix(3).compactMap { $0["id"]?.scalarText.flatMap { Int64($0) } }
            #expect(Set(tail) == touched, "changed jobs come last, as modified most recently")
        }
    }
}
