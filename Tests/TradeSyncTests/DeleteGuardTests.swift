import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine

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
