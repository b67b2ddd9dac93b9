public import TradeSyncCore
import TradeSyncStore

/// One connection as `tradesync connections` (and a status page) shows it: the record, what it
/// has synced, and when its tokens expire. Reads no secret: expiry times are stored beside the
/// sealed tokens, so it needs no key.
public struct ConnectionOverview: Sendable, Equatable {
    public var connection: ConnectionRecord
    /// Records inserted or updated over all runs.
    public var recordsSynced: Int
    public var accessTokenExpiresAt: Int64?
    /// When the refresh token itself dies (QuickBooks: 100 days); nil when unknown or none.
    public var refreshTokenExpiresAt: Int64?

    /// Internal: callers ask `Workspace.overview()`.
    static func all(_ store: any SyncStore) async throws -> [ConnectionOverview] {
        let summaries = Dictionary(try await store.summary().map { ($0.integrationId, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [ConnectionOverview] = []
        for c in try await store.connections(demoId: nil) {
            let tokens = try await store.loadTokens(integrationId: c.id)
            out.append(ConnectionOverview(
                connection: c, recordsSynced: summaries[c.id]?.recordsSynced ?? 0,
                accessTokenExpiresAt: tokens?.expiresAtMicros, refreshTokenExpiresAt: tokens?.refreshExpiresAtMicros))
        }
        return out
    }
}
