import Crypto
import Foundation
public import TradeSyncConfig
public import TradeSyncCore
import TradeSyncSources
import TradeSyncStore

/// Why a connection could not be authorised. Nothing is stored when one of these is thrown.
public enum ConnectError: Error, Sendable, CustomStringConvertible {
    case notAuthorizationCode(connection: String, kind: String)
    case noAuthorizeURL(String)
    /// The person declined, or the provider refused (`error` on the callback).
    case denied(error: String, description: String?)
    case stateMismatch
    case stateExpired
    case missingCode
    /// The token endpoint refused the code: expired, already used, or another client's.
    case exchangeRefused(String)
    case noRefreshToken(provider: String)
    case timedOut(seconds: Int)

    public var description: String {
        switch self {
        case .notAuthorizationCode(let c, let kind):
            return "connection \(c) authenticates with \(kind): only oauth2_authorization_code connections are connected with `connect`"
        case .noAuthorizeURL(let p): return "\(p): no authorize_url (integration or connection)"
        case .denied(let error, let description):
            return "the authorization was not granted (\(error)\(description.map { ": \($0)" } ?? "")); nothing was stored"
        case .stateMismatch:
            return "the callback's state does not match a pending authorization of this connection (forged, or already used); nothing was stored"
        case .stateExpired:
            return "the authorization took longer than 10 minutes and its state expired; run connect again"
        case .missingCode: return "the callback carries no code; nothing was stored"
        case .exchangeRefused(let why):
            return "the provider refused the authorization code (\(why)): it expired or was already used; run connect again"
        case .noRefreshToken(let p):
            return "\(p) returned no refresh token, so the connection could not sync unattended"
                + " (Google: authorize_params access_type=offline and prompt=consent)"
        case .timedOut(let s): return "no callback within \(s) seconds; nothing was stored"
        }
    }
}

/// A URL to send the person to, and what the callback must carry back.
public struct AuthorizationRequest: Sendable {
    public var url: String
    public var state: String
    public var redirectURI: String
    public var connection: ConnectionRecord
}

/// The OAuth 2.0 authorization-code flow of one connection: authorization URL (random single-use
/// `state` bound to the connection, 10 minutes; PKCE S256 where the integration says so), then
/// the callback (state checked, code exchanged, tokens sealed, callback fields kept, status
/// `connected`). The CLI's `connect` and a future web server share it.
public struct OAuthConnector: Sendable {
    public let project: Project
    // Internal: they speak the store's and the sources' types; `Workspace.oauth()` makes one.
    let vault: TokenVault
    let transport: any HTTPTransport
    let resolver: CredentialResolver
    let retry: RetryPolicy
    public static let stateLifetimeSeconds: Int64 = 600
    public static let defaultRedirectURI = "http://127.0.0.1:8765/oauth/callback"

    init(project: Project, vault: TokenVault, transport: any HTTPTransport, resolver: CredentialResolver,
         retry: RetryPolicy = RetryPolicy()) {
        self.project = project
        self.vault = vault
        self.transport = transport
        self.resolver = resolver
        self.retry = retry
    }

    var store: any SyncStore { vault.store }

    func runtime(_ connection: ConnectionRecord) throws -> ConnectionRuntime {
        let runtime = try ConnectionRuntime(record: connection, project: project, resolver: resolver)
        let auth = runtime.integration.auth
        guard auth.method is AuthorizationCodeGrant else {
            throw ConnectError.notAuthorizationCode(connection: connection.connectionKey, kind: auth.kind)
        }
        return runtime
    }

    /// Refreshes the connection's access token at the provider now, `times` times, each under the
    /// credential lease with the rotated token stored before use: proves the stored refresh token
    /// works, and lets several processes hammer one rotating token in tests. Returns how many
    /// refreshes succeeded and how many the provider refused (`invalid_grant`).
    public func refresh(_ connection: ConnectionRecord, times: Int) async throws -> (refreshed: Int, refused: Int) {
        let runtime = try runtime(connection)
        let authenticator = OAuth2RefreshToken(
            client: try runtime.oauthClient(),
            persistence: vault.persistence(integrationId: connection.id, holder: LeaseHolder.make(),
                                           seed: runtime.credentials["refresh_token"]),
            transport: transport, retry: retry)
        var refreshed = 0
        var refused = 0
        for _ in 0..<max(1, times) {
            do {
                _ = try await authenticator.forceRefresh()
                refreshed += 1
            } catch AuthError.needsReauthorization {
                refused += 1
            }
        }
        return (refreshed, refused)
    }

    /// Records a pending authorization and builds the URL to open.
    public func begin(_ connection: ConnectionRecord, redirectURI: String = OAuthConnector.defaultRedirectURI) async throws
        -> AuthorizationRequest
    {
        let runtime = try runtime(connection)
        guard let auth = runtime.integration.auth.method as? AuthorizationCodeGrant else {
            throw ConnectError.notAuthorizationCode(connection: connection.connectionKey, kind: runtime.integration.auth.kind)
        }
        guard let authorizeURL = runtime.authorizeURL else { throw ConnectError.noAuthorizeURL(runtime.integration.provider) }
        guard let clientId = runtime.credentials["client_id"] else {
            throw RunnerError.credential(slot: "client_id", reference: "none", reason: "the connection does not reference it")
        }
        let state = OAuthConnector.randomToken()
        var verifier: String?
        var pairs: [(String, String)] = [
            ("response_type", "code"), ("client_id", clientId), ("redirect_uri", redirectURI), ("state", state),
        ]
        // Jobber's consent URL has no scope parameter (scopes are set on the app): send none rather than an empty one.
        if !auth.scopes.isEmpty { pairs.insert(("scope", auth.scopes.joined(separator: auth.scopeSeparator)), at: 3) }
        if auth.pkce {
            let v = OAuthConnector.randomToken()
            verifier = v
            pairs += [("code_challenge", OAuthConnector.s256(v)), ("code_challenge_method", "S256")]
        }
        pairs += auth.authorizeParams.entries.map { ($0.name, $0.value) }
        try await store.saveOAuthState(OAuthStateRecord(
            state: state, integrationId: connection.id, redirectURI: redirectURI,
            codeVerifier: try verifier.map { try vault.sealer.seal($0, context: TokenVault.context(connection.id, "code_verifier")) },
            expiresAtMicros: currentMicros() + OAuthConnector.stateLifetimeSeconds * 1_000_000))
        let url = authorizeURL + (authorizeURL.contains("?") ? "&" : "?") + String(decoding: URLEncoding.form(pairs), as: UTF8.self)
        return AuthorizationRequest(url: url, state: state, redirectURI: redirectURI, connection: connection)
    }

    /// Handles the callback's query for `request`; on success the connection is `connected`.
    public func complete(_ request: AuthorizationRequest, callback query: [String: String]) async throws -> ConnectionRecord {
        let connection = request.connection
        // Any callback spends the state: it is single use, whatever the outcome.
        let pending = try await query["state"].asyncMap { try await store.takeOAuthState($0) } ?? nil
        if let error = query["error"] {
            throw ConnectError.denied(error: error, description: query["error_description"])
        }
        guard let pending, pending.state == request.state, pending.integrationId == connection.id else {
            throw ConnectError.stateMismatch
        }
        return try await exchange(pending, connection: connection, callback: query)
    }

    /// The callback's second half, once its state matched a pending authorization: expiry,
    /// code exchange, tokens sealed, status `connected`.
    func exchange(_ pending: OAuthStateRecord, connection: ConnectionRecord, callback query: [String: String]) async throws
        -> ConnectionRecord
    {
        guard pending.expiresAtMicros > currentMicros() else { throw ConnectError.stateExpired }
        guard let code = query["code"], !code.isEmpty else { throw ConnectError.missingCode }
        let runtime = try runtime(connection)
        var grant = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", pending.redirectURI)]
        if let sealed = pending.codeVerifier {
            grant.append(("code_verifier", try vault.sealer.unseal(sealed, context: TokenVault.context(connection.id, "code_verifier"))))
        }
        let response: TokenResponse
        do {
            response = try await runtime.oauthClient().requestToken(grant, transport: transport, retry: retry)
        } catch AuthError.needsReauthorization(let why) {
            throw ConnectError.exchangeRefused("invalid_grant" + (why.isEmpty ? "" : ": \(why)"))
        }
        guard let tokens = response.tokens(previousRefresh: nil) else {
            throw ConnectError.noRefreshToken(provider: runtime.integration.displayName)
        }
        var fields = JSONObject()
        for name in (runtime.integration.auth.method as? AuthorizationCodeGrant)?.callbackFields ?? [] {
            if let value = query[name] { fields[OAuthConnector.snakeCase(name)] = .string(value) }
        }
        try await vault.replaceAll(tokens, integrationId: connection.id,
                                   callbackFieldsJSON: fields.entries.isEmpty ? nil : JSONValue.object(fields).jsonText)
        try await store.setConnectionStatus(id: connection.id, status: .connected, error: nil)
        return try await store.connection(id: connection.id) ?? connection
    }

    /// 32 random bytes, base64url: a `state` or a PKCE verifier (43 characters).
    static func randomToken() -> String {
        base64URL(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    static func s256(_ verifier: String) -> String { base64URL(Data(SHA256.hash(data: Data(verifier.utf8)))) }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// `realmId` → `realm_id`: callback parameters become connection fields.
    static func snakeCase(_ name: String) -> String {
        var out = ""
        for ch in name {
            if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
        }
        return out
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
