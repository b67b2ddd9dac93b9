/// The emulated providers (the raw value is each one's path prefix).
enum SandboxProvider: String, Sendable {
    case serviceTitan = "servicetitan"
    case google
    case jobber
    case quickbooks
    case yelp
    case serpapi
}

/// OAuth state of both providers: access tokens, Google refresh tokens and authorization codes.
struct TokenStore: Sendable {
    struct Access: Sendable {
        var provider: SandboxProvider
        var expires: Int64
    }

    struct Grant: Sendable {
        var scope: String
    }

    struct Code: Sendable {
        var redirectURI: String
        var scope: String
        var offline: Bool
        var expires: Int64
        /// PKCE S256 challenge the code is bound to, if the request sent one.
        var challenge: String?
    }

    private(set) var access: [String: Access] = [:]
    private(set) var refreshTokens: [String: Grant] = [:]
    private var codes: [String: Code] = [:]
    private(set) var requests: [SandboxProvider: Int] = [:]
    /// Token requests answered with invalid_grant.
    private(set) var invalidGrants = 0
    /// The emulated user clicks "Cancel" on the consent screen.
    var denyConsent = false

    mutating func countInvalidGrant() { invalidGrants += 1 }

    /// Spends `old` and issues `new` in one step: of two refreshes with the same token, one loses.
    mutating func rotateRefreshToken(_ old: String, to new: String) -> Grant? {
        guard let g = refreshTokens.removeValue(forKey: old) else { return nil }
        refreshTokens[new] = g
        return g
    }

    mutating func countRequest(_ provider: SandboxProvider) { requests[provider, default: 0] += 1 }

    mutating func issueAccess(_ provider: SandboxProvider, token: String, lifetimeSeconds: Int, now: Int64) {
        if access.count > 10_000 { access = access.filter { $0.value.expires > now } }
        access[token] = Access(provider: provider, expires: now + Int64(lifetimeSeconds) * SandboxTime.ticksPerSecond)
    }

    func isValid(_ token: String, for provider: SandboxProvider, now: Int64) -> Bool {
        guard let a = access[token] else { return false }
        return a.provider == provider && a.expires > now
    }

    /// `SandboxFault.expireTokens`: every access token issued so far stops working.
    mutating func expireAllAccessTokens() { access.removeAll() }

    mutating func addRefreshToken(_ token: String, scope: String) { refreshTokens[token] = Grant(scope: scope) }

    mutating func revokeRefreshToken(_ token: String) { refreshTokens[token] = nil }

    mutating func addCode(_ code: String, _ value: Code) { codes[code] = value }

    /// Codes are single-use: taking one removes it.
    mutating func takeCode(_ code: String) -> Code? { codes.removeValue(forKey: code) }
}

/// Everything the sandbox changes while it runs, behind one lock.
struct SandboxState: Sendable {
    var tokens = TokenStore()
    var faults = FaultBook()
    var jobs = JobOverlay()
    var reviews = GoogleReviewOverlay()
    var jobber = JobberState()
    var quickbooks = QuickBooksState()
    var yelp = YelpState()
    var serpapi = SerpApiState()
    var requestCount = 0
    var touchRandom: SeededRandom
    /// The last instant handed to a change: the sandbox clock never repeats or goes back.
    var lastChange: Int64 = ServiceTitanData.timelineEnd

    init(seed: UInt64) {
        touchRandom = SeededRandom(seed: seed ^ 0x7A5C_0FFE)
    }

    /// The sandbox clock for a new change: now, but strictly after every earlier change and
    /// every generated record.
    mutating func nextChangeTime() -> Int64 {
        lastChange = max(SandboxTime.now(), lastChange + 1)
        return lastChange
    }
}
