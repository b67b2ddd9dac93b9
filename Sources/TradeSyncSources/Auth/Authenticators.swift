import Foundation
import Metrics
public import TradeSyncCore

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

/// Where the client authenticates itself at the token endpoint (`client_auth`).
public enum ClientAuthStyle: String, ConfigEnum, Sendable {
    /// client_id and client_secret in the form body.
    case form
    /// HTTP Basic with client_id:client_secret (QuickBooks).
    case basic
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

    /// Posts a grant to the token endpoint and reads the token response. Every request is counted
    /// by grant type and outcome (`tradesync_token_refreshes_total`): a refresh token that stops
    /// working shows as `refused` before any run fails for it.
    public func requestToken(_ grant: [(String, String)], transport: any HTTPTransport, retry: RetryPolicy) async throws
        -> TokenResponse
    {
        let grantType = grant.first { $0.0 == "grant_type" }?.1 ?? "unknown"
        do {
            let response = try await sendTokenRequest(grant, transport: transport, retry: retry)
            SourceMetrics.tokenRequest(grantType: grantType, outcome: "success")
            return response
        } catch let error as CancellationError {
            throw error
        } catch let error as AuthError {
            switch error {
            case .unreachable: SourceMetrics.tokenRequest(grantType: grantType, outcome: "unreachable")
            case .needsReauthorization: SourceMetrics.tokenRequest(grantType: grantType, outcome: "refused")
            default: SourceMetrics.tokenRequest(grantType: grantType, outcome: "error")
            }
            throw error
        } catch {
            SourceMetrics.tokenRequest(grantType: grantType, outcome: "error")
            throw error
        }
    }

    func sendTokenRequest(_ grant: [(String, String)], transport: any HTTPTransport, retry: RetryPolicy) async throws
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
            case .ok(let body, _): json = body
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

public struct NoAuthentication: Authenticator {
    public init() {}
    public func authorize(_ request: inout HTTPRequestData) async throws {}
    public func invalidate() async {}
}
