import Logging
import TradeSyncCore

/// A stream's request with every template already rendered.
public struct RequestSpec: Sendable {
    public var method: String
    /// Absolute URL; may already carry a query string.
    public var url: String
    public var params: [(name: String, value: String)]
    public var headers: [(name: String, value: String)]
    /// GraphQL document (POST); page variables are sent in `variables`.
    public var body: String?

    public init(method: String, url: String, params: [(name: String, value: String)] = [],
                headers: [(name: String, value: String)] = [], body: String? = nil) {
        self.method = method
        self.url = url
        self.params = params
        self.headers = headers
        self.body = body
    }
}

public struct Page: Sendable {
    public var records: [JSONValue]
    /// The token that continues after this page (continuation feeds store it as the cursor).
    public var nextToken: String?
    public var isLast: Bool
    public var number: Int
}

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

    public var description: String {
        switch self {
        case .http(let s, let u, let m): return "HTTP \(s) from \(u)\(m.isEmpty ? "" : ": " + m)"
        case .malformedResponse(let u, let r): return "malformed response from \(u): \(r)"
        case .contractViolation(let u, let r): return "response from \(u) breaks the stream's contract: \(r)"
        case .rateLimited(let s, let u): return "rate limited by \(u): retry after \(s) s"
        case .transport(let u, let r): return "cannot reach \(endpoint(of: u)): \(r) (\(u))"
        case .graphQL(let u, let m): return "GraphQL error from \(u): \(m)"
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

/// Strips the query string from a URL for messages (query strings may carry API keys).
func shown(_ url: String) -> String {
    if let q = url.firstIndex(of: "?") { return String(url[..<q]) }
    return url
}

/// `host:port` of a URL (default port from the scheme), for transport messages.
func endpoint(of url: String) -> String {
    var rest = Substring(url)
    var port = 80
    if let r = rest.range(of: "://") {
        if rest[..<r.lowerBound].lowercased() == "https" { port = 443 }
        rest = rest[r.upperBound...]
    }
    let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    let hostPort = authority.split(separator: "@").last.map(String.init) ?? String(authority)
    if hostPort.hasPrefix("[") {
        // IPv6 literal: the port (if any) follows the bracket.
        return hostPort.contains("]:") ? hostPort : "\(hostPort):\(port)"
    }
    return hostPort.contains(":") ? hostPort : "\(hostPort):\(port)"
}

