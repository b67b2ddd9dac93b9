import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncSources
import TradeSyncStore

/// QuickBooks deletions end to end over real HTTP: read from the emulator's CDC endpoint,
/// weighed by the delete guard, applied as soft deletes on both backends.
@Suite(.serialized) struct SoftDeleteTests {
    static func customers(_ h: SyncHarness, _ qb: ConnectionRecord) async throws -> [String: StoredRow] {
        try await h.store.rows(entity: try #require(h.project.dataModel.entity("customers")), integrationId: qb.id)
    }

    static func deleted(_ rows: [String: StoredRow]) -> Set<String> {
        Set(rows.filter { ($0.value.values[DeletionWrite.field] ?? nil) != nil }.keys)
    }

    /// The shipped project with the customers' `max_delete_ratio` raised, as an operator would
    /// for a real clean-up.
    static func raisedLimit(_ project: Project) throws -> Project {
        var project = project
        let i = try #require(project.integrations.firstIndex { $0.config.provider == "quickbooks" })
        let s = try #require(project.integrations[i].config.streams.entries.firstIndex { $0.name == "customers" })
        project.integrations[i].config.streams.entries[s].value.deletes?.maxDeleteRatio = 1
        return project
    }

    @Test(arguments: StoreSuite.backends)
    func deletionsAreSoftAppliedAndABatchOverTheRatioIsHeldBack(backend: Backend) async throws {
        try await SyncHarness.with(backend, sandbox: QuickBooksSyncTests.configuration()) { h in
            let qb = try await QuickBooksSyncTests.connection(h)
            let runner = QuickBooksSyncTests.runner(h)
            let only = SyncOptions(streams: ["customers"])
            let first = try await runner.run(qb, options: only)
            #expect(first.status == .success, "\(first.error ?? "")")
            #expect(first.deleted == 0, "a first full sync reads no deletions")
            let total = h.sandbox.quickBooksRecordCount("Customer")
            #expect(try await Self.customers(h, qb).count == total)

            let gone = Set(h.sandbox.deleteQuickBooks("Customer", count: 2))
            #expect(gone.count == 2)
            // A dry run says what it would delete and marks nothing.
            let preview = try await runner.run(qb, options: SyncOptions(streams: ["customers"], dryRun: true))
            #expect(preview.deleted == 2, "\(preview.error ?? "")")
            #expect(Self.deleted(try await Self.customers(h, qb)).isEmpty, "the dry run marked nothing")

            let second = try await runner.run(qb, options: only)
            #expect(second.status == .success, "\(second.error ?? "")")
            #expect(second.deleted == 2)
            let afterTwo = try await Self.customers(h, qb)
            #expect(afterTwo.count == total, "soft deletes keep the rows")
            #expect(Self.deleted(afterTwo) == gone)
            let logged = try #require(try await h.store.runs(integrationId: qb.id, limit: 1).first)
            #expect(try JSONValue.parse(logged.detailsJSON)["streams"]?["customers"]?["deleted"] == .integer(2),
                    "\(logged.detailsJSON)")

            // A glitch-sized batch: most of the customers at once.
            let most = h.sandbox.deleteQuickBooks("Customer", count: 120)
            #expect(most.count == 120)
            let third = try await runner.run(qb, options: only)
            #expect(third.status == .partial, "\(third.error ?? "")")
            #expect(third.deleted == 0)
            let reason = third.error ?? ""
            #expect(reason.contains("would delete 120 of \(total - 2) rows"), "\(reason)")
            #expect(reason.contains("max_delete_ratio 0.1"), "\(reason)")
            #expect(Self.deleted(try await Self.customers(h, qb)) == gone, "nothing more was deleted")

            // Raised to 1: the same deletions (the held-back cursor did not move) go through.
            let raised = SyncRunner(
                project: try Self.raisedLimit(h.project), store: h.store, transport: h.transport,
                resolver: CredentialResolver(environment: QuickBooksSyncTests.environment(h)), retry: runner.retry,
                holder: "qb-raised", sealer: TestKeys.sealer, deploymentFile: "examples/austin-hvac/tradesync.yaml")
            let fourth = try await raised.run(qb, options: only)
            #expect(fourth.status == .success, "\(fourth.error ?? "")")
            #expect(fourth.deleted == 120)
            let end = try await Self.customers(h, qb)
            #expect(end.count == total)
            #expect(Self.deleted(end) == gone.union(most))
        }
    }

    /// A deleted invoice and a deleted payment are kept as rows but are no longer revenue: the
    /// monthly roll-up equals the one recomputed from the live rows, and its counts drop by one.
    @Test(arguments: StoreSuite.backends)
    func aDeletedInvoiceOrPaymentLeavesTheMonthlyRevenue(backend: Backend) async throws {
        try await SyncHarness.with(backend, sandbox: QuickBooksSyncTests.configuration()) { h in
            let qb = try await QuickBooksSyncTests.connection(h)
            let runner = QuickBooksSyncTests.runner(h)
            let first = try await runner.run(qb)
            #expect(first.status == .success, "\(first.error ?? "")")
            let before = try await QuickBooksSyncTests.rollup(h, qb)
            #expect(before == (try await QuickBooksSyncTests.expectedRollup(h, qb)))

            let invoice = h.sandbox.deleteQuickBooks("Invoice", count: 1)
            let payment = h.sandbox.deleteQuickBooks("Payment", count: 1)
            #expect(invoice.count == 1 && payment.count == 1)
            let second = try await runner.run(qb)
            #expect(second.status == .success, "\(second.error ?? "")")
            #expect(second.deleted == 2, "\(second.error ?? "")")
            for (entity, ids) in [("invoices", invoice), ("payments", payment)] {
                let rows = try await h.store.rows(entity: try #require(h.project.dataModel.entity(entity)), integrationId: qb.id)
                #expect(Self.deleted(rows) == Set(ids), "\(entity)")
            }
            let after = try await QuickBooksSyncTests.rollup(h, qb)
            #expect(after == (try await QuickBooksSyncTests.expectedRollup(h, qb)), "the view leaves deleted rows out")
            #expect(after != before, "the deleted invoice and payment were revenue")
        }
    }
}
