import ArgumentParser
import Foundation
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sync connections now: fetch, map and upsert page by page.",
        discussion: """
            Without CONNECTION, syncs every connection of the deployment that has auto_sync on and an
            integration that can be synced. Each page's records, id mappings and cursor are written in
            one transaction, so an interrupted sync resumes without loss or duplicates.
            Exit status: 0 when every run succeeded, 1 on an error (configuration problems, a missing
            deployment file, a failed run), 2 when a run was partial or deferred, 64 on a command-line
            usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions

    @Argument(help: "Connection id from the deployment file (default: all auto-sync connections).")
    var connection: String?

    @Option(name: .customLong("stream"), help: "Only this stream (repeatable).")
    var streams: [String] = []

    @Flag(help: "Ignore stored cursors and read everything again.")
    var fullRefresh = false

    @Flag(help: "Fetch and map, write nothing; report what would be inserted or updated.")
    var dryRun = false

    @Flag(help: "No progress line.")
    var quiet = false

    func run() async throws {
        let exit = try await options.withWorkspace { workspace -> Int32 in
            let report = try await workspace.migrate()
            let targets = try chooseConnections(report.connections, project: workspace.project)
            var exit: Int32 = 0
            var results: [RunResult] = []
            for c in targets {
                let progress: ProgressLine? = quiet ? nil : ProgressLine(label: c.connectionKey)
                var syncOptions = SyncOptions(streams: streams.isEmpty ? nil : streams, fullRefresh: fullRefresh,
                                              dryRun: dryRun, syncType: "manual")
                if let progress { syncOptions.progress = { @Sendable p in progress.update(p) } }
                do {
                    let r = try await workspace.sync(c, options: syncOptions)
                    progress?.finish()
                    results.append(r)
                    if r.status != .success { exit = max(exit, r.status == .failed ? 1 : 2) }
                } catch {
                    progress?.finish()
                    printError("\(c.connectionKey): \(error)")
                    exit = 1
                }
            }
            print(RunTable.render(results))
            return exit
        }
        if exit != 0 { throw ExitCode(exit) }
    }

    func chooseConnections(_ all: [ConnectionRecord], project: Project) throws -> [ConnectionRecord] {
        if let connection {
            guard let c = all.first(where: { $0.connectionKey == connection }) else {
                let names = all.map(\.connectionKey)
                let hint = closestMatch(to: connection, in: names).map { "; did you mean '\($0)'?" } ?? ""
                throw CommandError("no connection '\(connection)' in the deployment\(hint)")
            }
            return [c]
        }
        return all.filter { c in
            c.autoSync && project.integration(c.integrationType)?.status == .available
        }
    }
}
