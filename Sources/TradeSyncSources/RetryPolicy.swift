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

    /// Seconds from a `Retry-After` header (delta-seconds form; HTTP dates are treated as 1 s).
    public static func retryAfter(_ header: String?) -> Duration? {
        guard let header else { return nil }
        if let s = Int(header.trimmingSpaces), s >= 0 { return .seconds(s) }
        return .seconds(1)
    }
}
