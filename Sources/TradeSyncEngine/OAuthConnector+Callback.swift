public import TradeSyncCore
import TradeSyncStore

extension OAuthConnector {
    /// Handles a callback that arrives without its request in hand (`tradesync serve`'s
    /// `/oauth/callback`, where the flow was started by another HTTP request): the pending
    /// authorization its `state` names says which connection it is for. The state is spent
    /// whatever the outcome, as in `complete(_:callback:)`.
    public func complete(callback query: [String: String]) async throws -> ConnectionRecord {
        let pending = try await query["state"].asyncMap { try await store.takeOAuthState($0) } ?? nil
        if let error = query["error"] {
            throw ConnectError.denied(error: error, description: query["error_description"])
        }
        guard let pending, let connection = try await store.connection(id: pending.integrationId) else {
            throw ConnectError.stateMismatch
        }
        return try await exchange(pending, connection: connection, callback: query)
    }
}
