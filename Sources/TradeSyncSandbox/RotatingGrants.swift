/// Authorization codes and refresh tokens of a provider whose refresh tokens rotate (Jobber,
/// QuickBooks Online): every refresh spends the presented token and issues a new one, so of two
/// refreshes with the same token exactly one wins, as at the real providers.
struct RotatingGrants: Sendable {
    struct Grant: Sendable {
        /// The company the consent was given for (QuickBooks' realmId; empty for Jobber).
        var realm: String
        /// When the chain of refresh tokens started (Intuit counts the refresh token's
        /// lifetime from the consent, not from the last refresh).
        var consented: Int64
        var expires: Int64?
    }

    struct Code: Sendable {
        var redirectURI: String
        var realm: String
        var expires: Int64
    }

    private(set) var refreshTokens: [String: Grant] = [:]
    private var codes: [String: Code] = [:]
    /// Refreshes answered with invalid_grant (a spent, revoked or unknown token).
    private(set) var invalidGrants = 0
    /// Token-endpoint requests.
    private(set) var requests = 0

    mutating func countRequest() { requests += 1 }

    mutating func countInvalidGrant() { invalidGrants += 1 }

    mutating func add(_ token: String, _ grant: Grant) { refreshTokens[token] = grant }

    mutating func revoke(_ token: String) -> Bool { refreshTokens.removeValue(forKey: token) != nil }

    /// Spends `old` and issues `new` in one step; nil when `old` is not alive at `now`.
    mutating func rotate(_ old: String, to new: String, now: Int64) -> Grant? {
        guard let grant = refreshTokens.removeValue(forKey: old) else { return nil }
        if let expires = grant.expires, expires <= now { return nil }
        refreshTokens[new] = grant
        return grant
    }

    func isAlive(_ token: String, now: Int64) -> Bool {
        guard let grant = refreshTokens[token] else { return false }
        return grant.expires.map { $0 > now } ?? true
    }

    mutating func addCode(_ code: String, _ value: Code) { codes[code] = value }

    /// Codes are single-use: taking one removes it.
    mutating func takeCode(_ code: String) -> Code? { codes.removeValue(forKey: code) }
}

/// The OAuth authorize step shared by Jobber and QuickBooks: the sandbox's user consents at
/// once and is redirected back with a code (and whatever `extra` pairs the provider adds).
enum ConsentRedirect {
    static func location(redirect: String, pairs: [(String, String)], state: String?) -> String {
        var all = pairs
        if let state { all.append(("state", state)) }
        return redirect + (redirect.contains("?") ? "&" : "?") + FormFields.encode(all)
    }
}
