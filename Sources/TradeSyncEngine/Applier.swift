public import Foundation
import TradeSyncConfig
public import TradeSyncCore
import TradeSyncStore

/// A saved plan no longer describes what `apply` would do.
public struct StalePlanError: Error, Sendable, CustomStringConvertible {
    public var what: String
    public init(what: String) { self.what = what }
    public var description: String {
        "the saved plan is stale: \(what) changed since it was made; run `tradesync plan` again"
    }
}

/// What `apply` did.
public struct ApplyReport: Sendable {
    public var plan: DeploymentPlan
    public var migration: MigrationReport?
    /// Rows rewritten from kept raw payloads, and kept failures the new mappings wrote.
    public var rowsRewritten = 0
    public var failuresFixed = 0
    public var newlyFailed = 0
    public var gitCommit: String?
    public var applied: Bool { plan.hasChanges }
    public init(plan: DeploymentPlan) { self.plan = plan }
}

/// Executes a plan: migrations and connections (the deployer), removed connections marked
/// (their rows stay), rows re-mapped from their kept payloads page by page (each page one
/// transaction, fenced by the connection's run lease), then the applied state and the apply
/// record. The applied state is written last: an apply that stops half way leaves the mappings
/// unapplied, so the next `plan` shows them again and `apply` redoes the re-map, whose pages
/// already written come out unchanged.
struct Applier: Sendable {
    let project: Project
    let deployment: DeploymentConfig?
    let store: any SyncStore
    let planner: Planner
    let movedOrigins: OriginMoves
    let holder = "apply-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"

    func apply(expected: DeploymentPlan?) async throws -> ApplyReport {
        let (plan, desired) = try await planner.plan(try await PlanStoreView.read(store))
        if let expected {
            if expected.version != plan.version { throw StalePlanError(what: "the plan format (version \(expected.version))") }
            if expected.configHash != plan.configHash { throw StalePlanError(what: "the configuration") }
            if expected.storeHash != plan.storeHash { throw StalePlanError(what: "the store") }
        }
        var report = ApplyReport(plan: plan)
        guard plan.hasChanges else { return report }

        let deployed = try await Deployer.deploy(project: project, deployment: deployment, store: store,
                                                 movedOrigins: movedOrigins)
        report.migration = deployed.migration
        // A connection back in the configuration is no longer marked removed.
        let removed = try await store.removedConnectionIds()
        for c in deployed.connections where removed.contains(c.id) { try await store.markConnectionRemoved(id: c.id, at: nil) }
        var dropped: [(kind: String, name: String)] = []
        let all = try await store.connections(demoId: nil)
        for change in plan.connections where change.action == .remove {
            if let c = all.first(where: { "\($0.demoId)/\($0.connectionKey)" == change.connection }) {
                try await store.markConnectionRemoved(id: c.id, at: currentMicros())
                try await store.setConnectionStatus(id: c.id, status: .disconnected, error: "removed from the configuration")
            }
            dropped += [("connection", change.connection), ("schedule", change.connection)]
        }

        let view = try await PlanStoreView.read(store)
        for change in plan.mappings {
            if change.action == .remove { dropped.append(("mapping", change.mapping)) }
            for effect in change.effects where effect.notRemapped == nil {
                try await remap(effect, desired: desired, view: view, into: &report)
            }
        }

        report.gitCommit = Applier.gitCommit(at: project.root)
        let summary = JSONValue.object(JSONObject([
            (key: "connections", value: .integer(Int64(plan.connections.count))),
            (key: "schema", value: .integer(Int64(plan.schema.count))),
            (key: "mappings", value: .integer(Int64(plan.mappings.count))),
            (key: "rows_rewritten", value: .integer(Int64(report.rowsRewritten))),
            (key: "failures_fixed", value: .integer(Int64(report.failuresFixed))),
        ])).jsonText
        try await store.recordApply(desired.items, dropped: dropped, record: ApplyRecord(
            id: newIdentifier(), appliedAt: currentMicros(), configHash: plan.configHash, gitCommit: report.gitCommit,
            summaryJSON: summary))
        return report
    }

    /// Rewrites one connection's stream from its kept payloads under the new mapping.
    func remap(_ effect: DeploymentPlan.DataEffect, desired: PlanDesiredState, view: PlanStoreView,
               into report: inout ApplyReport) async throws
    {
        guard let c = desired.connections.first(where: { $0.name == effect.connection }),
            let stored = view.connection(demoId: c.demoId, key: c.key)
        else { return }
        // Reasons of records that now fail are kept: free of credential values, as a sync keeps them.
        let (remapper, _) = try await RawPayloadRemapper.make(
            project: project, integration: c.integration, stream: effect.stream, redactor: planner.secrets(desired).0,
            connectionId: stored.id, reader: store)
        guard let remapper else { return }
        // One writer per connection: a sync running now would interleave its pages with these.
        guard try await store.acquireLease(integrationId: stored.id, holder: holder, ttlSeconds: 60, takeOverFrom: nil) else {
            throw RunnerError.alreadyRunning(c.key)
        }
        let fence = LeaseFence(holder: holder, ttlSeconds: 60)
        do {
            let kept = try await store.keptFailures(integrationId: stored.id, stream: effect.stream, limit: Int(Int32.max))
            let keptIds = Set(kept.map(\.externalId))
            var position: KeptRawPosition?
            repeat {
                let batch = try await store.keptRaws(integrationId: stored.id, stream: effect.stream, entity: remapper.entity,
                                                     from: position)
                position = batch.next
                var records: [MappedRecord] = []
                var failures: [FailedRecord] = []
                for raw in batch.records where !keptIds.contains(raw.externalId) {
                    switch remapper.remap(raw) {
                    case .mapped(let record): records.append(record)
                    case .failed(let reason):
                        // As a sync would: the row stays as it is and the record is kept as failed.
                        failures.append(FailedRecord(externalId: raw.externalId, reason: reason,
                                                     rawJSON: raw.record?.jsonText ?? "null"))
                    }
                }
                guard !records.isEmpty || !failures.isEmpty else { continue }
                let write = PageWrite(integrationId: stored.id, demoId: stored.demoId, entity: remapper.entity,
                                      stream: effect.stream, records: records, cursor: nil, now: currentMicros(),
                                      fence: fence, failures: failures)
                let outcome = try await store.applyPage(write)
                report.rowsRewritten += outcome.updated + outcome.inserted
                report.newlyFailed += failures.count
            } while position != nil
            // Kept failures the new mapping maps: written, their failure cleared, their payload kept.
            for chunk in stride(from: 0, to: kept.count, by: RawPayloadRemapper.pageSize) {
                var records: [MappedRecord] = []
                var resolved: [String] = []
                var raws = RawPageBuilder()
                for k in kept[chunk..<min(chunk + RawPayloadRemapper.pageSize, kept.count)] {
                    if case .mapped(let record) = remapper.remap(kept: k) {
                        records.append(record)
                        resolved.append(k.externalId)
                        raws.append(externalId: record.externalId, text: k.rawJSON)
                    }
                }
                guard !records.isEmpty else { continue }
                var write = PageWrite(integrationId: stored.id, demoId: stored.demoId, entity: remapper.entity,
                                      stream: effect.stream, records: records, cursor: nil, now: currentMicros(),
                                      fence: fence, resolvedFailures: resolved)
                write.rawPage = raws.finish()
                let outcome = try await store.applyPage(write)
                report.rowsRewritten += outcome.updated + outcome.inserted
                report.failuresFixed += records.count
            }
        } catch {
            try? await store.releaseLease(integrationId: stored.id, holder: holder)
            throw error
        }
        try await store.releaseLease(integrationId: stored.id, holder: holder)
    }

    /// The commit the project is at, when it is in a git work tree (`git rev-parse HEAD`).
    static func gitCommit(at directory: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory, "rev-parse", "HEAD"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        do { try process.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.count == 40 ? text : nil
    }
}
