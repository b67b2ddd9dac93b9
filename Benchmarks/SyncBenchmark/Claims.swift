import Foundation
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine

/// The queue's benchmark (`Benchmarks/claims`), claim-only: no sync runs. `claims-setup` registers
/// `--connections` hourly connections and queues them all due now; `claims` runs one worker that
/// claims and completes runs until none is due, and reports how many it took and when.
func claimsBenchmark(_ args: Arguments) async throws {
    let project = ProjectLoader.load(root: args.project, deploymentFiles: [])
    guard let location = StoreLocation(parsing: args.store, relativeTo: "") else {
        FileHandle.standardError.write(Data("unknown store \(args.store)\n".utf8))
        exit(2)
    }
    let workspace = try await Workspace.open(project: project, deployment: nil,
                                             inputs: WorkspaceInputs(storeOverride: location, environment: { _ in nil }))
    if args.mode == "claims-setup" {
        _ = try await workspace.migrate()
        for i in 0..<args.connections {
            _ = try await workspace.register(ConnectionRecord(
                demoId: "bench-\(i % 100)", connectionKey: "claims-\(i)", integrationType: "servicetitan",
                configJSON: ConnectionSettings(fields: ["tenant_id": "1"], schedule: "hourly").jsonText,
                syncFrequency: "hourly", autoSync: true))
        }
        let tick = try await RunScheduler(workspace: workspace, settings: SchedulerSettings(jitter: { _ in 0 })).tick()
        report(["mode": "claims-setup", "due": .integer(Int64(tick.due))])
    } else {
        let worker = RunWorker(workspace: workspace, settings: SchedulerSettings())
        let start = Date()
        var claims = 0
        while try await worker.claimAndComplete() { claims += 1 }
        let end = Date()
        report(["mode": "claims", "label": .string(args.label), "claims": .integer(Int64(claims)),
                "started": .number(String(format: "%.6f", start.timeIntervalSince1970)),
                "ended": .number(String(format: "%.6f", end.timeIntervalSince1970))])
    }
    try await workspace.close()
}
