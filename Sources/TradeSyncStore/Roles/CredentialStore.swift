import TradeSyncCore

/// OAuth tokens and pending authorizations. Token columns are opaque text to the store: the
/// engine seals them before they get here (its `TokenVault` is the only caller that should).
public protocol CredentialStore: Sendable {
    func loadTokens(integrationId: String) async throws -> StoredTokens?
    /// Compare-and-swap on the refresh token: writes only if the stored refresh token is still
    /// `expectedRefreshToken` (nil: only if none is stored).
    func replaceTokens(integrationId: String, expectedRefreshToken: String?, with tokens: StoredTokens) async throws -> Bool
    /// Connections that have stored tokens (key rotation walks them).
    func tokenIntegrationIds() async throws -> [String]
    /// Forgets a connection's tokens (disconnect); its synced data stays.
    func deleteTokens(integrationId: String) async throws

    /// Records a pending OAuth authorization (`connect`).
    func saveOAuthState(_ state: OAuthStateRecord) async throws
    /// Removes and returns a pending authorization: a state is good for one callback only.
    func takeOAuthState(_ state: String) async throws -> OAuthStateRecord?
}
