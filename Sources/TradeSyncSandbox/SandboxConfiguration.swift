// The sandbox's public configuration and fault types.

/// How the provider sandbox behaves: the seed of its generated data and each provider's
/// credentials and record counts.
public struct SandboxConfiguration: Sendable {
    /// Seed of every generated record: the same seed gives the same data.
    public var seed: UInt64 = 42
    public var serviceTitan = ServiceTitanSandboxConfiguration()
    public var google = GoogleSandboxConfiguration()
    public var jobber = JobberSandboxConfiguration()
    public var quickbooks = QuickBooksSandboxConfiguration()
    public var yelp = YelpSandboxConfiguration()
    public var serpapi = SerpApiSandboxConfiguration()
    public init() {}
}

/// The emulated ServiceTitan tenant.
public struct ServiceTitanSandboxConfiguration: Sendable {
    public var tenantId = "1234567"
    public var clientId = "sandbox-st-client"
    public var clientSecret = "sandbox-st-secret"
    public var appKey = "sandbox-st-app-key"
    public var tokenLifetimeSeconds = 900
    public var jobs = 1_200
    public var customers = 400
    public var estimates = 300
    public var invoices = 600
    public var technicians = 25
    /// Records per export page (ServiceTitan's export endpoints have no page-size parameter).
    public var exportPageSize = 500
    public init() {}
}

/// The emulated Google Business Profile grant.
public struct GoogleSandboxConfiguration: Sendable {
    public var clientId = "sandbox-google-client.apps.googleusercontent.com"
    public var clientSecret = "sandbox-google-secret"
    public var accounts = 1
    public var locationsPerAccount = 2
    public var reviewsPerLocation = 120
    public var postsPerLocation = 15
    /// Days of performance history: days before that (and days after today) have no values.
    public var insightDays = 30
    /// Like Jobber and QuickBooks (not Google itself): every refresh answers a new refresh token
    /// and the old one dies at once. For tests of concurrent refreshes.
    public var rotateRefreshTokens = false
    /// When set, token responses carry `refresh_token_expires_in` (QuickBooks: 100 days).
    public var refreshTokenLifetimeSeconds: Int?
    public init() {}
}

/// What a fault rule does to a matching request.
public enum SandboxFault: Sendable, Equatable {
    /// 429 with `Retry-After` (Google: RESOURCE_EXHAUSTED body; ServiceTitan: RFC 7807 body).
    case tooManyRequests(retryAfterSeconds: Int)
    /// 500 in the provider's error shape.
    case serverError
    /// Waits, then answers normally.
    case slow(milliseconds: Int)
    /// 200 with the real body cut in half (no longer valid JSON).
    case malformedJSON
    /// Every access token issued so far becomes invalid, before the matching request is
    /// authenticated: that request (if it carries a token) and later ones with old tokens get 401.
    case expireTokens
    /// 400 whose error text echoes the whole request back: URL with its query, every header and
    /// the body, as careless providers do. Whatever credential the request carried is in it.
    case echoRequest
}

/// Faults fire on requests whose path contains `pathContains`, starting with the
/// `afterMatching`-th matching request (0 = the next one), `times` times.
public struct FaultRule: Sendable {
    public var pathContains: String
    public var afterMatching: Int
    public var times: Int
    public var fault: SandboxFault

    public init(pathContains: String, afterMatching: Int = 0, times: Int = 1, fault: SandboxFault) {
        self.pathContains = pathContains
        self.afterMatching = afterMatching
        self.times = times
        self.fault = fault
    }
}
