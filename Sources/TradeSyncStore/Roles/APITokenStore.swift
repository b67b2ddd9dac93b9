public import TradeSyncCore

/// The API's bearer tokens, hashed (`tradesync token`, and every API request's check).
public protocol APITokenStore: Sendable {
    func insertAPIToken(_ token: APITokenRecord) async throws
    func apiToken(id: String) async throws -> APITokenRecord?
    /// Every token, oldest first.
    func apiTokens() async throws -> [APITokenRecord]
    /// Marks the token revoked (once: a second revoke keeps the first time). False when there is no such token.
    func revokeAPIToken(id: String, at micros: Int64) async throws -> Bool
    func touchAPIToken(id: String, at micros: Int64) async throws
}
