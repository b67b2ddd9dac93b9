import Foundation
public import TradeSyncCore

/// OAuth 2.0 client credentials (ServiceTitan): `token_url`, `client_auth`,
/// `token_lifetime_seconds`; `scopes` is read but not sent yet.
public struct ClientCredentialsGrant: OAuthGrant {
    public static let kind = "oauth2_client_credentials"

    public var tokenURL: String?
    public var scopes: [String] = []
    public var clientAuth = ClientAuthStyle.form
    public var tokenLifetimeSeconds = 3600

    public static func decode(_ o: ConfigObject) -> ClientCredentialsGrant? {
        var c = ClientCredentialsGrant()
        c.tokenURL = o.optional("token_url")
        c.scopes = o.optional("scopes") ?? []
        c.clientAuth = o.optional("client_auth") ?? .form
        c.tokenLifetimeSeconds = o.optional("token_lifetime_seconds") ?? 3600
        if c.tokenURL == nil { o.missingUnlessWritten("token_url") }
        return c
    }

    public func authenticator(_ context: AuthContext) throws -> any Authenticator {
        OAuth2ClientCredentials(client: try client(context), transport: context.transport, retry: context.retry)
    }
}

/// OAuth 2.0 client credentials (ServiceTitan): the token is cached until a minute before it
/// expires, and concurrent callers share one token request (token endpoints are throttled).
public actor OAuth2ClientCredentials: Authenticator {
    let client: OAuthClient
    let transport: any HTTPTransport
    let retry: RetryPolicy
    var token: (value: String, expiresAt: Int64)?
    var inFlight: Task<(value: String, expiresAt: Int64), any Error>?
    public private(set) var tokenRequests = 0

    public init(client: OAuthClient, transport: any HTTPTransport, retry: RetryPolicy = RetryPolicy()) {
        self.client = client
        self.transport = transport
        self.retry = retry
    }

    public func authorize(_ request: inout HTTPRequestData) async throws {
        request.setHeader("Authorization", "Bearer " + (try await currentToken()))
    }

    func currentToken() async throws -> String {
        if let token, token.expiresAt - 60_000_000 > nowMicros() { return token.value }
        if let inFlight { return try await inFlight.value.value }
        let client = client
        let transport = transport
        let retry = retry
        tokenRequests += 1
        let task = Task {
            let r = try await client.requestToken([("grant_type", "client_credentials")] + scopeParam(client.scopes),
                                                  transport: transport, retry: retry)
            return (value: r.accessToken, expiresAt: nowMicros() + Int64(r.expiresInSeconds) * 1_000_000)
        }
        inFlight = task
        defer { inFlight = nil }
        let fresh = try await task.value
        token = fresh
        return fresh.value
    }

    public func invalidate() async { token = nil }

    public func secretValues() async -> [String] { token.map { [$0.value] } ?? [] }
}

