public import TradeSyncCore

/// One way a provider authenticates API calls (`auth.kind`). Each is one type in one file: its
/// YAML keys under `auth:` (only its own; `kind`, `credentials` and `headers` are shared), its
/// validation, and the `Authenticator` it builds for a connection. Listed once in
/// `AuthConfig.methods`.
public protocol AuthMethod: Sendable {
    static var kind: String { get }
    /// Reads this kind's keys from the `auth` mapping. Returns nil when they are unusable.
    static func decode(_ object: ConfigObject) -> Self?
    /// Credential slots the kind needs declared under `auth.credentials`.
    var requiredSlots: [String] { get }
    /// The authenticator for one connection.
    func authenticator(_ context: AuthContext) throws -> any Authenticator
}

extension AuthMethod {
    public var requiredSlots: [String] { [] }

    /// `decode` erased to the protocol, for the registry.
    public static func decodeAny(_ object: ConfigObject) -> (any AuthMethod)? { decode(object) }
}

/// What a connection gives an auth method to build its authenticator from.
public struct AuthContext: Sendable {
    /// Resolved credential values by slot.
    public var credentials: [String: String]
    /// The token endpoint after the connection's and environment's overrides.
    public var tokenURL: String?
    public var transport: any HTTPTransport
    public var retry: RetryPolicy
    /// Where an authorization-code connection keeps its tokens; throws when the deployment
    /// cannot keep them (no `secrets_key`).
    public var persistence: @Sendable () throws -> any TokenPersistence

    public init(credentials: [String: String], tokenURL: String?, transport: any HTTPTransport, retry: RetryPolicy,
                persistence: @escaping @Sendable () throws -> any TokenPersistence) {
        self.credentials = credentials
        self.tokenURL = tokenURL
        self.transport = transport
        self.retry = retry
        self.persistence = persistence
    }

    public func credential(_ slot: String) throws -> String {
        guard let value = credentials[slot] else { throw AuthError.missingCredential(slot) }
        return value
    }
}

/// The OAuth 2.0 grants: what a token request needs.
public protocol OAuthGrant: AuthMethod {
    var tokenURL: String? { get }
    var clientAuth: ClientAuthStyle { get }
    /// Used when a token response carries no `expires_in`.
    var tokenLifetimeSeconds: Int { get }
}

extension OAuthGrant {
    public var requiredSlots: [String] { ["client_id", "client_secret"] }

    /// The token endpoint client for a connection: its credentials, and its token URL when
    /// overridden (a sandbox, an environment).
    public func client(credentials: [String: String], tokenURL override: String?) throws -> OAuthClient {
        guard let tokenURL = override ?? tokenURL else { throw AuthError.tokenEndpoint(status: 0, error: "no token_url") }
        guard let id = credentials["client_id"] else { throw AuthError.missingCredential("client_id") }
        guard let secret = credentials["client_secret"] else { throw AuthError.missingCredential("client_secret") }
        return OAuthClient(tokenURL: tokenURL, clientId: id, clientSecret: secret, style: clientAuth, scopes: [],
                           defaultLifetimeSeconds: tokenLifetimeSeconds)
    }

    public func client(_ context: AuthContext) throws -> OAuthClient {
        try client(credentials: context.credentials, tokenURL: context.tokenURL)
    }
}

/// No credentials on API calls (public APIs, or providers without an API).
public struct NoAuth: AuthMethod {
    public static let kind = "none"
    public init() {}
    public static func decode(_ object: ConfigObject) -> NoAuth? { NoAuth() }
    public func authenticator(_ context: AuthContext) throws -> any Authenticator { NoAuthentication() }
}
