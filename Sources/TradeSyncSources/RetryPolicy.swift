import TradeSyncCore

/// Exponential backoff with full jitter; `Retry-After` wins when the server sends it.
public struct RetryPolicy: Sendable {
    public var maxAttempts = 5
    public var baseDelay: Duration = .milliseconds(500)
    public var maxDelay: Duration = .seconds(30)
    /// A `Retry-After` longer than this ends the run as deferred instead of sleeping.
    public var maxRetryAfter: Duration = .seconds(120)
    public var requestTimeout: Duration = .seconds(60)
    /// How long establishing a connection may take, separate from the request timeout: an
    /// unreachable host must fail in seconds, not after a whole request timeout.
    public var connectTimeout: Duration = .seconds(10)

    /// Attempts for a connection that is refused, a host that does not resolve or a failed TLS
    /// handshake: faults that do not heal within a backoff.
    static let persistentTransportAttempts = 3
    static let persistentTransportDelay: Duration = .milliseconds(250)

    public init() {}

    public static let immediate: RetryPolicy = {
        var p = RetryPolicy()
        p.baseDelay = .milliseconds(1)
        p.maxDelay = .milliseconds(5)
        return p
    }()

    public func backoff(attempt: Int) -> Duration {
        let exp = min(Double(attempt), 20)
        let base = Double(baseDelay.components.seconds) + Double(baseDelay.components.attoseconds) / 1e18
        let cap = Double(maxDelay.components.seconds) + Double(maxDelay.components.attoseconds) / 1e18
        let ceiling = min(cap, base * pow2(exp))
        return .nanoseconds(Int64(Double.random(in: 0...ceiling) * 1e9))
    }

    func pow2(_ e: Double) -> Double {
        var r = 1.0
        var i = 0.0
        while i < e { r *= 2; i += 1 }
        return r
    }

    /// How long to wait after a failed send, or nil to give up. A refused connection, an
    /// unknown host or a failed TLS handshake will not heal in seconds: a couple of quick
    /// retries, not minutes of backoff.
    func afterTransportFailure(_ cause: TransportCause, attempt: Int) -> Duration? {
        let limit = cause.isPersistent ? min(maxAttempts, Self.persistentTransportAttempts) : maxAttempts
        guard attempt < limit else { return nil }
        let wait = backoff(attempt: attempt)
        return cause.isPersistent ? min(wait, Self.persistentTransportDelay) : wait
    }

    /// The wait a `Retry-After` header asks for: delta-seconds, or an HTTP date (RFC 9110
    /// IMF-fixdate, `Wed, 21 Oct 2015 07:28:00 GMT`) against `nowSeconds`. A date in the past
    /// is no wait; a value that is neither is read as 1 s.
    public static func retryAfter(_ header: String?, nowSeconds: Int64) -> Duration? {
        guard let header else { return nil }
        let text = header.trimmingSpaces
        if let s = Int(text), s >= 0 { return .seconds(s) }
        if let date = httpDate(text) { return .seconds(max(0, date - nowSeconds)) }
        return .seconds(1)
    }

    /// Unix seconds of an IMF-fixdate; nil for anything else.
    static func httpDate(_ text: String) -> Int64? {
        // "Wed, 21 Oct 2015 07:28:00 GMT"
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
              let day = Int(parts[1]), let year = Int64(parts[3]),
              let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
                .firstIndex(of: String(parts[2])).map({ Int64($0) + 1 })
        else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int64($0) }
        guard clock.count == 3, (1...31).contains(day), clock[0] < 24, clock[1] < 60, clock[2] < 61 else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm), proleptic Gregorian.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return days * 86400 + clock[0] * 3600 + clock[1] * 60 + clock[2]
    }
}
