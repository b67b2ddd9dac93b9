import Foundation
public import TradeSyncCore

/// OAuth 2.0 authorization code with refresh tokens (Google, Jobber, QuickBooks): a person
/// consents once (`tradesync connect`), then the refresh token is spent and rotated.
public struct AuthorizationCodeGrant: OAuthGrant {
    public static let kind = "oauth2_authorization_code"

    public var authorizeURL: String?
    public var tokenURL: String?
    public var scopes: [String] = []
    public var scopeSeparator = " "
    /// Extra query parameters on the authorize URL (Google: access_type=offline, prompt=consent).
    public var authorizeParams = NamedMap<String>()
    public var clientAuth = ClientAuthStyle.form
    /// Each refresh returns a new refresh token and kills the old one (Jobber, QuickBooks).
    /// Documentation only: the refresh flow always handles rotation.
    public var refreshTokenRotates = false
    public var tokenLifetimeSeconds = 3600
    /// Callback query parameters kept as connection fields (QuickBooks `realmId`).
    public var callbackFields: [String] = []
    /// The provider supports PKCE (RFC 7636): `connect` sends an S256 code challenge.
    public var pkce = false
    /// Where `disconnect` revokes the refresh token (RFC 7009), if the provider has such an endpoint.
    public var revokeURL: String?

    public static func decode(_ o: ConfigObject) -> AuthorizationCodeGrant? {
        var c = AuthorizationCodeGrant()
        c.authorizeURL = o.optional("authorize_url")
        c.tokenURL = o.optional("token_url")
        c.scopes = o.optional("scopes") ?? []
        c.scopeSeparator = o.optional("scope_separator") ?? " "
        c.authorizeParams = o.optional("authorize_params") ?? NamedMap()
        c.clientAuth = o.optional("client_auth") ?? .form
        c.refreshTokenRotates = o.optional("refresh_token_rotates") ?? false
        c.tokenLifetimeSeconds = o.optional("token_lifetime_seconds") ?? 3600
        c.callbackFields = o.optional("callback_fields") ?? []
        c.pkce = o.optional("pkce") ?? false
        c.revokeURL = o.optional("revoke_url")
        if c.authorizeURL == nil { o.missingUnlessWritten("authorize_url") }
        if c.tokenURL == nil { o.missingUnlessWritten("token_url") }
        return c
    }

    public func authenticator(_ context: AuthContext) throws -> any Authenticator {
        OAuth2RefreshToken(client: try client(context), persistence: try context.persistence(), transport: context.transport,
                           retry: context.retry)
    }
}

/// OAuth 2.0 refresh-token flow (Google, Jobber, QuickBooks). A rotated refresh token is
/// stored before the new access token is used: losing it would lose the connection.
public actor OAuth2RefreshToken: Authenticator {
    let client: OAuthClient
    let transport: any HTTPTransport
    let persistence: any TokenPersistence
    let retry: RetryPolicy
    var cached: OAuthTokens?
    var inFlight: Task<OAuthTokens, any Error>?
    public private(set) var refreshes = 0
    /// Every token seen in this run: an old refresh token may still be echoed in an error.
    var seen: Set<String> = []

    public init(client: OAuthClient, persistence: any TokenPersistence, transport: any HTTPTransport,
                retry: RetryPolicy = RetryPolicy()) {
        self.client = client
        self.persistence = persistence
        self.transport = transport
        self.retry = retry
    }

    public func authorize(_ request: inout HTTPRequestData) async throws {
        request.setHeader("Authorization", "Bearer " + (try await accessToken()))
    }

    func valid(_ t: OAuthTokens?) -> String? {
        guard let t, let a = t.accessToken, let e = t.expiresAt, e - 60_000_000 > nowMicros() else { return nil }
        return a
    }

    func accessToken() async throws -> String {
        if let a = valid(cached) { return a }
        if let inFlight { return try await inFlight.value.accessToken ?? "" }
        let task = Task { try await self.refresh(always: false) }
        inFlight = task
        defer { inFlight = nil }
        let tokens = try await task.value
        cached = tokens
        remember(tokens)
        return tokens.accessToken ?? ""
    }

    /// Spends the stored refresh token now, whatever the access token's age (tests, and a
    /// provider that rejects a token before its stated expiry). Returns the new access token.
    @discardableResult
    public func forceRefresh() async throws -> String {
        let tokens = try await refresh(always: true)
        cached = tokens
        remember(tokens)
        return tokens.accessToken ?? ""
    }

    func remember(_ t: OAuthTokens) {
        seen.insert(t.refreshToken)
        if let a = t.accessToken { seen.insert(a) }
    }

    public func secretValues() async -> [String] { Array(seen) }

    /// `always`: spend the refresh token even if a valid access token is stored; else only
    /// refresh when none is.
    func refresh(always: Bool) async throws -> OAuthTokens {
        // Another process may have refreshed (and rotated) since we last looked.
        if !always {
            guard let stored = try await persistence.loadTokens() else { throw AuthError.noRefreshToken }
            remember(stored)
            if valid(stored) != nil { return stored }
        }
        // One refresh per connection at a time, across processes: a rotating refresh token
        // spent twice would be lost (the provider answers the second use with invalid_grant).
        try await takeRefreshLease()
        do {
            let tokens = try await refreshHoldingLease(always: always)
            await persistence.releaseRefreshLease()
            return tokens
        } catch {
            await persistence.releaseRefreshLease()
            throw error
        }
    }

    func takeRefreshLease() async throws {
        let clock = ContinuousClock()
        var deadline = clock.now + CredentialLease.maxWait
        var lastSeen = try await persistence.loadTokens()?.refreshToken
        var polls = 0
        while !(try await persistence.acquireRefreshLease()) {
            polls += 1
            // Others refreshing one after another is progress, not a stuck holder: only a
            // stored token that stops changing counts towards giving up.
            if polls % 10 == 0 {
                let current = try await persistence.loadTokens()?.refreshToken
                if current != lastSeen {
                    lastSeen = current
                    deadline = clock.now + CredentialLease.maxWait
                }
            }
            guard clock.now < deadline else {
                throw AuthError.tokenEndpoint(status: 0, error: "another process has been refreshing this connection's tokens for too long")
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 2...15)))
        }
    }

    func refreshHoldingLease(always: Bool) async throws -> OAuthTokens {
        // Re-read under the lease: the stored token is the only one that may be spent.
        guard let stored = try await persistence.loadTokens() else { throw AuthError.noRefreshToken }
        remember(stored)
        // A process that lost the race uses the winner's token.
        if !always, valid(stored) != nil { return stored }
        refreshes += 1
        let response: TokenResponse
        do {
            response = try await client.requestToken(
                [("grant_type", "refresh_token"), ("refresh_token", stored.refreshToken)], transport: transport, retry: retry)
        } catch AuthError.needsReauthorization(let why) {
            // A writer that does not take the lease (an older version) may have rotated it.
            if let latest = try await persistence.loadTokens(), latest.refreshToken != stored.refreshToken {
                remember(latest)
                if valid(latest) != nil { return latest }
                let again = try await client.requestToken(
                    [("grant_type", "refresh_token"), ("refresh_token", latest.refreshToken)], transport: transport, retry: retry)
                return try await persist(again, replacing: latest)
            }
            throw AuthError.needsReauthorization(why)
        }
        return try await persist(response, replacing: stored)
    }

    func persist(_ r: TokenResponse, replacing old: OAuthTokens) async throws -> OAuthTokens {
        let tokens = r.tokens(previousRefresh: old.refreshToken, previousRefreshExpiry: old.refreshExpiresAt)
            ?? OAuthTokens(accessToken: r.accessToken, refreshToken: old.refreshToken, expiresAt: nil)
        remember(tokens)
        // Stored before it is used: a rotated refresh token that only lived in memory would be lost.
        if try await persistence.replaceTokens(expected: old.refreshToken, with: tokens) { return tokens }
        // Lost the race: the stored tokens are newer than ours.
        if let latest = try await persistence.loadTokens(), valid(latest) != nil {
            remember(latest)
            return latest
        }
        throw AuthError.tokenEndpoint(status: 0, error: "tokens changed concurrently and no valid access token is stored")
    }

    public func invalidate() async {
        if let c = cached { cached = OAuthTokens(accessToken: nil, refreshToken: c.refreshToken, expiresAt: nil) }
        // The stored access token is as dead as ours.
        if let stored = try? await persistence.loadTokens(), stored.accessToken != nil {
            _ = try? await persistence.replaceTokens(
                expected: stored.refreshToken,
                with: OAuthTokens(accessToken: nil, refreshToken: stored.refreshToken, expiresAt: nil,
                                  refreshExpiresAt: stored.refreshExpiresAt))
        }
    }
}

