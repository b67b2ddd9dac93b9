import ArgumentParser
import Foundation
import TradeSyncCore
import TradeSyncEngine

struct Runs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show sync history from the sync log.",
        discussion: """
            Exit status: 0 on success, 1 on an error (configuration problems, a missing deployment file,
            an unknown connection, an unreachable store), 64 on a command-line usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions

    @Argument(help: "Connection id (default: all).")
    var connection: String?

    @Option(help: "How many runs.")
    var limit = 20

    func run() async throws {
        try await options.withWorkspace { workspace in
            let connections = try await workspace.connections()
            let connectionId = try storedConnectionId(connection, in: connections)
            let names = Dictionary(connections.map { ($0.id, $0.connectionKey) }, uniquingKeysWith: { a, _ in a })
            let runs = try await workspace.runs(connectionId: connectionId, limit: limit)
            var rows = [["started", "connection", "streams", "type", "status", "fetched", "inserted", "updated", "unchanged", "failed", "duration"]]
            for r in runs {
                rows.append([
                    String(Timestamp.iso8601(micros: r.startedAt).prefix(19)) + "Z", names[r.integrationId] ?? r.integrationId,
                    r.entityType, r.syncType, r.status.rawValue, String(r.fetched), String(r.inserted), String(r.updated),
                    String(r.unchanged), String(r.failed), r.durationMs.map { String(format: "%.2fs", Double($0) / 1000) } ?? "",
                ])
            }
            print(RunTable.table(rows))
        }
    }
}
