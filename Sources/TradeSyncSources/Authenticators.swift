import Foundation
import TradeSyncCore

/// Adds credentials to API requests. One implementation per auth kind.
public protocol Authenticator: Sendable {
    func authorize(_ request: inout HTTPRequestData) async throws
    /// The API answered 401: forget cached tokens so the next call fetches new ones.
    func invalidate() async
    /// Tokens this authenticator has obtained or sent, so that errors can be redacted of them.
    func secretValues() async -> [String]
}

extension Authenticator {
    public func secretValues() async -> [String] { [] }
}

public enum AuthError: DispositionedError {
    /// The refresh token is dead (`invalid_grant`): a person must authorise the connection again.
    case needsReauthorization(String)
    /// The token endpoint refused or failed. Carries the OAuth error code, never a secret.
    case tokenEndpoint(status: Int, error: String)
    /// No answer from the token endpoint (`host:port` and the cause in words).
    case unreachable(endpoint: String, reason: String)
    case missingCredential(String)
    case noRefreshToken

    public var description: String {
        switch self {
        case .needsReauthorization(let why): return "the connection needs to be authorised again (\(why))"
        case .tokenEndpoint(let status, let error): return "token endpoint answered HTTP \(status): \(error)"
        case .unreachable(let endpoint, let reason): return "cannot reach the token endpoint \(endpoint): \(reason)"
        case .missingCredential(let slot): return "credential '\(slot)' is not available"
        case .noRefreshToken: return "the connection has no refresh token yet: connect it first"
        }
    }

    /// A dead refresh token needs a person; every other failure here would fail every stream alike.
    public var disposition: ErrorDisposition {
        if case .needsReauthorization(let why) = self { return .reauthorize(reason: why) }
        return .failRun
    }
}

/// Where the client authenticates itself at the token endpoint.
public enum ClientAuthStyle: Sendable {
    case form, basic
}

public struct OAuthClient: Sendable {
    public var tokenURL: String
    public var clientId: String
    public var clientSecret: String
    public var style: ClientAuthStyle
    public var scopes: [String]
    public var defaultLifetimeSeconds: Int

    public init(tokenURL: String, clientId: String, clientSecret: String, style: ClientAuthStyle, scopes: [String] = [],
                defaultLifetimeSeconds: Int = 3600) {
        self.tokenURL = tokenURL
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.style = style
        self.scopes = scopes
        self.defaultLifetimeSeconds = defaultLifetimeSeconds
    }

    /// Posts a grant to the token endpoint and reads the token response.
    public func requestToken(_ grant: [(String, String)], transport: any HTTPTransport, retry: RetryPolicy) async throws
        -> TokenResponse
    {
        var form = grant
        var request = HTTPRequestData(method: "POST", url: tokenURL)
        request.setHeader("Content-Type", "application/x-www-form-urlencoded")
        request.setHeader("Accept", "application/json")
        switch style {
        case .form:
            form.append(("client_id", clientId))
            form.append(("client_secret", clientSecret))
        case .basic:
            let pair = Data((clientId + ":" + clientSecret).utf8).base64EncodedString()
            request.setHeader("Authorization", "Basic " + pair)
        }
        request.body = URLEncoding.form(form)
        let classifier = ResponseClassifier(.token, policy: retry)
        var attempt = 0
        while true {
            attempt += 1
            let response: HTTPResponseData
            do {
                response = try await transport.send(request, timeout: retry.requestTimeout)
            } catch let error as CancellationError {
                throw error
            } catch {
                let cause = TransportCause(error)
                guard let wait = retry.afterTransportFailure(cause, attempt: attempt) else {
                    throw AuthError.unreachable(endpoint: endpoint(of: tokenURL), reason: cause.words)
                }
                try await Task.sleep(for: wait)
                continue
            }
            let json: JSONValue
            switch classifier.classify(response, url: shown(tokenURL), attempt: attempt, reauthorized: false,
                                       nowSeconds: nowMicros() / 1_000_000) {
            case .ok(let body): json = body
            case .retry(let wait, _):
                try await Task.sleep(for: wait)
                continue
            case .fail(let error):
                throw error
            case .reauthorize:
                // Not a token endpoint verdict (it is where new credentials come from).
                throw AuthError.tokenEndpoint(status: response.status, error: "HTTP \(response.status)")
            }
            guard let access = json["access_token"]?.stringValue, !access.isEmpty else {
                throw AuthError.tokenEndpoint(status: response.status, error: "no access_token in the response")
            }
            let lifetime = json["expires_in"]?.scalarText.flatMap { Int($0) } ?? defaultLifetimeSeconds
            // Intuit names it `x_refresh_token_expires_in` (100 days); the draft standard drops the x_.
            let refreshLifetime = (json["refresh_token_expires_in"] ?? json["x_refresh_token_expires_in"])?.scalarText
                .flatMap { Int($0) }
            return TokenResponse(accessToken: access, refreshToken: json["refresh_token"]?.stringValue,
                                 expiresInSeconds: lifetime, refreshExpiresInSeconds: refreshLifetime, raw: json)
        }
    }
}

public struct TokenResponse: Sendable {
    public var accessToken: String
    public var refreshToken: String?
    public var expiresInSeconds: Int
    public var refreshExpiresInSeconds: Int?
    /// The whole response, for fields a caller declares (none are secrets beyond the tokens).
    public var raw: JSONValue = .null

    /// The response as tokens to store; `previousRefresh` stays when the provider did not rotate.
    public func tokens(previousRefresh: String?, previousRefreshExpiry: Int64? = nil) -> OAuthTokens? {
        guard let refresh = refreshToken ?? previousRefresh else { return nil }
        let now = nowMicros()
        return OAuthTokens(
            accessToken: accessToken, refreshToken: refresh, expiresAt: now + Int64(expiresInSeconds) * 1_000_000,
            refreshExpiresAt: refreshExpiresInSeconds.map { now + Int64($0) * 1_000_000 }
                ?? (refreshToken == nil ? previousRefreshExpiry : nil))
    }
}

func nowMicros() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) }

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

func scopeParam(_ scopes: [String]) -> [(String, String)] {
    scopes.isEmpty ? [] : [("scope", scopes.joined(separator: " "))]
}

/// Tokens of an authorization-code connection, as persisted in the store.
public struct OAuthTokens: Sendable, Equatable {
    public var accessToken: String?
    public var refreshToken: String
    /// µs since the epoch.
    public var expiresAt: Int64?
    /// When the refresh token dies (µs since the epoch), if the provider says.
    public var refreshExpiresAt: Int64?

    public init(accessToken: String?, refreshToken: String, expiresAt: Int64?, refreshExpiresAt: Int64? = nil) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresAt = expiresAt
        self.refreshExpiresAt = refreshExpiresAt
    }
}

/// Persistence of a connection's tokens (the store, through the engine).
public protocol TokenPersistence: Sendable {
    func loadTokens() async throws -> OAuthTokens?
    /// Stores `new` only if the stored refresh token is still `expected` (compare-and-swap);
    /// false when another process rotated it first.
    func replaceTokens(expected: String, with new: OAuthTokens) async throws -> Bool
    /// Takes the connection's short credential lease (one refresh at a time across processes);
    /// false while another holder has it.
    func acquireRefreshLease() async throws -> Bool
    func releaseRefreshLease() async
}

extension TokenPersistence {
    /// In-memory persistence has one process: nothing to serialise against.
    public func acquireRefreshLease() async throws -> Bool { true }
    public func releaseRefreshLease() async {}
}

public enum CredentialLease {
    /// A refresh is one token request: a lease that outlives this was left by a dead process.
    public static let ttlSeconds = 30
    /// How long a refresh waits for another process's refresh before giving up.
    public static let maxWait: Duration = .seconds(45)
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

/// A static API key in a header (Yelp: `Authorization: Bearer …`) or a query parameter (SerpApi: `api_key`).
public struct APIKeyAuthenticator: Authenticator {
    public enum Placement: Sendable { case header, query }
    let placement: Placement
    let name: String
    let prefix: String
    let key: String

    public init(placement: Placement, name: String, prefix: String, key: String) {
        self.placement = placement
        self.name = name
        self.prefix = prefix
        self.key = key
    }

    public func authorize(_ request: inout HTTPRequestData) async throws {
        switch placement {
        case .header: request.setHeader(name, prefix + key)
        case .query:
            request.url += (request.url.contains("?") ? "&" : "?") + URLEncoding.encode(name) + "=" + URLEncoding.queryValue(key)
        }
    }

    public func invalidate() async {}

    public func secretValues() async -> [String] { [key] }
}

public struct NoAuthentication: Authenticator {
    public init() {}
    public func authorize(_ request: inout HTTPRequestData) async throws {}
    public func invalidate() async {}
}
