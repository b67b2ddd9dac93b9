import ArgumentParser
import Foundation
import TradeSyncCore
import TradeSyncEngine

struct Connections: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the deployment's connections: status, last sync, records, token expiry, last error.",
        discussion: """
            One row per connection in the store. A refresh token that expires within 7 days is flagged
            with a warning: the connection must be authorised again (`tradesync connect`) before then.
            Reads no secret (expiry times are stored beside the sealed tokens), so it needs no key.
            Exit status: 0 on success, 1 on an error, 64 on a command-line usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    /// Refresh tokens closer than this to their expiry are flagged.
    static let warningWindowMicros: Int64 = 7 * 24 * 3600 * 1_000_000

    func run() async throws {
        let overview = try await options.withWorkspace { try await $0.overview() }
        let rows = ConnectionRow.rows(overview)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        var table = [["connection", "integration", "status", "last sync", "records", "access expires", "refresh expires", "last error"]]
        for r in rows {
            table.append([r.id, r.integration, r.status, r.lastSync ?? "-", String(r.records), r.accessTokenExpiresAt ?? "-",
                          (r.refreshTokenExpiresAt ?? "-") + (r.warning == nil ? "" : " (!)"), r.lastError ?? ""])
        }
        print(RunTable.table(table))
        for r in rows { if let w = r.warning { print("warning: \(r.id): \(w)") } }
    }
}

/// One connection as `connections` shows it.
struct ConnectionRow: Encodable {
    var id: String
    var contractor: String
    var integration: String
    var status: String
    var lastSync: String?
    var records: Int
    var accessTokenExpiresAt: String?
    var refreshTokenExpiresAt: String?
    var lastError: String?
    var warning: String?

    enum CodingKeys: String, CodingKey {
        case id, contractor, integration, status, records, warning
        case lastSync = "last_sync"
        case accessTokenExpiresAt = "access_token_expires_at"
        case refreshTokenExpiresAt = "refresh_token_expires_at"
        case lastError = "last_error"
    }

    static func iso(_ micros: Int64) -> String { String(Timestamp.iso8601(micros: micros).prefix(19)) + "Z" }

    static func rows(_ overview: [ConnectionOverview], now: Int64 = Int64(Date().timeIntervalSince1970 * 1_000_000))
        -> [ConnectionRow]
    {
        overview.map { o in
            let c = o.connection
            var warning: String?
            if let refresh = o.refreshTokenExpiresAt, refresh - now < Connections.warningWindowMicros {
                let days = max(0, (refresh - now) / (24 * 3600 * 1_000_000))
                warning = refresh <= now
                    ? "the refresh token has expired: run `tradesync connect \(c.connectionKey)`"
                    : "the refresh token expires in \(days) day\(days == 1 ? "" : "s"): run `tradesync connect \(c.connectionKey)` before then"
            }
            return ConnectionRow(
                id: c.connectionKey, contractor: c.demoId, integration: c.integrationType, status: c.status.rawValue,
                lastSync: c.lastSyncedAt.map(iso), records: o.recordsSynced,
                accessTokenExpiresAt: o.accessTokenExpiresAt.map(iso), refreshTokenExpiresAt: o.refreshTokenExpiresAt.map(iso),
                lastError: c.lastError, warning: warning)
        }
    }
}
