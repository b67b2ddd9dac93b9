import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox

/// The share of a stream's rows a run may soft-delete, and the words a held-back run reports.
@Suite struct DeleteGuardTests {
    @Test func underOrAtTheRatioPasses() {
        #expect(DeleteGuard(wouldDelete: 2, storedRows: 150, maxRatio: 0.1).allows)
        #expect(DeleteGuard(wouldDelete: 15, storedRows: 150, maxRatio: 0.1).allows, "exactly the ratio is allowed")
        #expect(DeleteGuard(wouldDelete: 0, storedRows: 0, maxRatio: 0.1).allows)
    }

    @Test func aboveTheRatioHoldsBackAndNamesTheCounts() {
        let g = DeleteGuard(wouldDelete: 140, storedRows: 150, maxRatio: 0.1)
        #expect(!g.allows)
        #expect(g.heldBackReason == "deletes held back: would delete 140 of 150 rows, above max_delete_ratio 0.1; nothing was deleted")
        #expect(DeleteGuard(wouldDelete: 16, storedRows: 150, maxRatio: 0.1).allows == false)
        #expect(DeleteGuard(wouldDelete: 140, storedRows: 150, maxRatio: 1).allows, "a raised limit lets it through")
    }
}

/// `deletes:` in the shipped QuickBooks file decodes, and its default ratio is 0.1.
@Suite struct DeletesConfigTests {
    static func stream(_ yaml: String) -> (DeletesConfig?, [String]) {
        let dir = NSTemporaryDirectory() + "deletes-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = Repo.fixtures + "/broken/_base"
        try? FileManager.default.copyItem(atPath: base, toPath: dir)
        let path = dir + "/integrations.d/acme.yaml"
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let changed = text.replacingOccurrences(of: "      jobStatus: [Scheduled, InProgress, Completed]\n",
                                                with: "      jobStatus: [Scheduled, InProgress, Completed]\n" + yaml)
        try? changed.write(toFile: path, atomically: true, encoding: .utf8)
        let project = ProjectLoader.load(root: dir, environment: fakeEnvironment)
        let deletes = project.integrations.first?.config.streams["jobs"]?.deletes
        return (deletes, project.diagnostics.map(\.description))
    }

    @Test func aFullBlockDecodesWithTheDefaultRatio() {
        let (d, diagnostics) = Self.stream("""
                deletes:
                  request:
                    path: "/v2/tenant/{connection.tenant_id}/deleted"
                    params: { kind: jobs }
                  since_param: since
                  records: data
                  when: { status: Deleted }
                  id: jobId

            """)
        #expect(diagnostics == [])
        let deletes = try? #require(d)
        #expect(deletes?.markerField == "status")
        #expect(deletes?.markerValue == "Deleted")
        #expect(deletes?.id == "jobId")
        #expect(deletes?.sinceParam == "since")
        #expect(deletes?.records == "data")
        #expect(deletes?.request.params["kind"] == "jobs")
        #expect(deletes?.maxDeleteRatio == 0.1)
    }

    @Test(arguments: ["0", "1.5", "-0.2"])
    func aRatioOutsideZeroToOneIsAnError(_ ratio: String) {
        let (d, diagnostics) = Self.stream("""
                deletes:
                  request: { path: /deleted }
                  when: { status: Deleted }
                  max_delete_ratio: \(ratio)

            """)
        #expect(d == nil)
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.contains("streams.jobs.deletes.max_delete_ratio: max_delete_ratio must be above 0 and at most 1") == true)
    }

    @Test func aRatioThatIsNotANumberIsAnError() {
        let (_, diagnostics) = Self.stream("""
                deletes:
                  request: { path: /deleted }
                  when: { status: Deleted }
                  max_delete_ratio: lots

            """)
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.contains("max_delete_ratio: expected a number") == true)
    }
}

/// The deletions read out of a real CDC answer of the QuickBooks emulator, over HTTP.
@Suite struct DeletionBatchTests {
    static func customersDeletes() throws -> DeletesConfig {
        let project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
        let stream = try #require(project.integration("quickbooks")?.streams["customers"])
        return try #require(stream.deletes)
    }

    @Test func onlyTheEntriesMarkedDeletedCount() async throws {
        let deletes = try Self.customersDeletes()
        try await ProviderSandboxTests.withSandbox({ $0.quickbooks.customers = 150 }) { sandbox in
            let token = try await ProviderSandboxTests.quickBooksToken(sandbox)
            let touched = sandbox.touchQuickBooks("Customer", count: 3)
            let deleted = sandbox.deleteQuickBooks("Customer", count: 2)
            let since = Timestamp.iso8601(micros: Int64((Date().timeIntervalSince1970 - 3_600) * 1_000_000))
            let answer = try await ProviderSandboxTests.send(
                "\(sandbox.baseURL)/quickbooks/v3/company/\(sandbox.configuration.quickbooks.realmId)/cdc?entities=Customer&changedSince=\(since)&minorversion=75",
                headers: [("Authorization", "Bearer \(token)")])
            #expect(answer.status == 200, "\(answer.text.prefix(300))")
            let batch = DeletionBatch(answer: try #require(answer.json), deletes: deletes, primaryKey: "Id")
            #expect(Set(batch.externalIds) == Set(deleted))
            #expect(batch.externalIds.count == 2)
            #expect(batch.withoutId == 0)
            #expect(Set(touched).subtracting(deleted).isDisjoint(with: batch.externalIds), "a changed record is not a deletion")
        }
    }

    @Test func anAnswerWithoutTheEntityIsAnEmptyBatch() throws {
        let deletes = try Self.customersDeletes()
        let answer = try JSONValue.parse(#"{"CDCResponse":[{"QueryResponse":[{"startPosition":1,"maxResults":0,"totalCount":0}]}]}"#)
        #expect(DeletionBatch(answer: answer, deletes: deletes, primaryKey: "Id") == DeletionBatch(externalIds: []))
    }
}
