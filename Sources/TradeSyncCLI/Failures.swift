import ArgumentParser
import Foundation
import TradeSyncCore
import TradeSyncEngine

struct Failures: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List records that failed mapping and are kept for retry.",
        discussion: """
            A record that fails mapping is kept with its raw payload and the reason, and every later
            run maps it again under the mapping of that day before it fetches: fixing the YAML is
            enough to bring it in. This lists what is still kept, oldest first.
            Exit status: 0, or 1 on an error.
            """
    )

    @OptionGroup var options: DeploymentOptions

    @Argument(help: "Connection id from the deployment file (default: all).")
    var connection: String?

    @Option(help: "Only this stream.")
    var stream: String?

    @Option(help: "How many records at most.")
    var limit = 50

    @Flag(help: "Also print each record's raw payload.")
    var raw = false

    func run() async throws {
        let (kept, names) = try await options.withWorkspace { workspace in
            let connections = try await workspace.connections()
            let connectionId = try storedConnectionId(connection, in: connections)
            let names = Dictionary(connections.map { ($0.id, $0.connectionKey) }, uniquingKeysWith: { a, _ in a })
            return (try await workspace.failures(connectionId: connectionId, stream: stream, limit: max(1, limit)), names)
        }
        if kept.isEmpty {
            print("no kept failed records")
            return
        }
        var rows = [["connection", "stream", "external id", "attempts", "first failed", "last failed", "reason"]]
        for k in kept {
            rows.append([
                names[k.integrationId] ?? k.integrationId, k.stream, k.externalId, String(k.attempts),
                String(Timestamp.iso8601(micros: k.firstFailedAt).prefix(19)) + "Z",
                String(Timestamp.iso8601(micros: k.lastFailedAt).prefix(19)) + "Z", k.reason,
            ])
        }
        print(RunTable.table(rows))
        if raw {
            for k in kept { print("\(k.stream) \(k.externalId): \(k.rawJSON)") }
        }
    }
}
