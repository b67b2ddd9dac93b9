public import TradeSyncCore

public enum FetchError: DispositionedError {
    case http(status: Int, url: String, message: String)
    /// A 2xx whose body is not JSON at all (truncated, empty, an HTML page).
    case malformedResponse(url: String, reason: String)
    /// Valid JSON that breaks the stream's declared contract: no records list, no usable page
    /// token while more pages are announced, a token seen before, fewer records than the
    /// provider's stated total. Never the end of a stream: the stream fails.
    case contractViolation(url: String, reason: String)
    /// The provider asked us to wait longer than the run may: checkpoint and defer.
    case rateLimited(retryAfterSeconds: Int, url: String)
    case transport(url: String, reason: String)
    case graphQL(url: String, message: String)
    /// A GraphQL query costed above the whole bucket: no wait makes it pass; a smaller page may.
    case queryTooCostly(requested: Int, maximum: Int, url: String)

    public var description: String {
        switch self {
        case .http(let s, let u, let m): return "HTTP \(s) from \(u)\(m.isEmpty ? "" : ": " + m)"
        case .malformedResponse(let u, let r): return "malformed response from \(u): \(r)"
        case .contractViolation(let u, let r): return "response from \(u) breaks the stream's contract: \(r)"
        case .rateLimited(let s, let u): return "rate limited by \(u): retry after \(s) s"
        case .transport(let u, let r): return "cannot reach \(endpoint(of: u)): \(r) (\(u))"
        case .graphQL(let u, let m): return "GraphQL error from \(u): \(m)"
        case .queryTooCostly(let r, let m, let u):
            return "GraphQL query to \(u) costs \(r) points, more than the provider's whole bucket of \(m), even for one record per page"
        }
    }

    public var disposition: ErrorDisposition {
        switch self {
        case .rateLimited(let seconds, _): return .deferRun(retryAfterSeconds: seconds)
        // A 401 that survives a credential refresh answers every stream the same way.
        case .http(401, _, _): return .failRun
        default: return .failStream
        }
    }
}

/// Thrown by a `Requester.fetch` interpreter for a page that parsed but breaks the stream's
/// contract. The page is fetched again (a broken proxy or a half-deployed provider may answer
/// properly next time); if it never does, the stream fails with `FetchError.contractViolation`.
public struct ContractViolation: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
