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

/// Turns a response into records when the records are not a plain array at a path.
public enum RecordTransform: String, Sendable {
    case none
    /// Google Performance API: nested time series → one record per location, metric and day,
    /// with the zero values Google omits put back.
    case googleDailyMetrics = "google_daily_metrics"
}

public struct Page: Sendable {
    public var records: [JSONValue]
    /// The token that continues after this page (continuation feeds store it as the cursor).
    public var nextToken: String?
    public var isLast: Bool
    public var number: Int
}

public enum FetchError: Error, Sendable, CustomStringConvertible {
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

/// Sends requests with authentication, retries and backoff.
public struct Requester: Sendable {
    public let transport: any HTTPTransport
    public let authenticator: any Authenticator
    public let retry: RetryPolicy
    public let logger: Logger

    public init(transport: any HTTPTransport, authenticator: any Authenticator, retry: RetryPolicy = RetryPolicy(),
                logger: Logger = Logger(label: "tradesync.sources")) {
        self.transport = transport
        self.authenticator = authenticator
        self.retry = retry
        self.logger = logger
    }

    /// Sends a request and returns its parsed JSON body, retrying what can be retried.
    public func fetchJSON(_ base: HTTPRequestData) async throws -> JSONValue {
        try await fetch(base) { $0.json }
    }

    /// Sends a request and hands its parsed JSON body to `interpret`. A `ContractViolation`
    /// thrown by `interpret` is treated like a transient fault: the same request is sent again
    /// (with backoff, within the retry policy's attempts) before the stream fails.
    public func fetch<T>(_ base: HTTPRequestData, interpret: (PageResponse) throws -> T) async throws -> T {
        var attempt = 0
        var reauthorized = false
        let url = shown(base.url)
        while true {
            attempt += 1
            var request = base
            try await authenticator.authorize(&request)
            let response: HTTPResponseData
            do {
                response = try await transport.send(request, timeout: retry.requestTimeout)
            } catch let error as CancellationError {
                throw error
            } catch {
                let cause = TransportCause(error)
                // A refused connection, an unknown host or a failed TLS handshake will not heal
                // in seconds: a couple of quick retries, not minutes of backoff.
                let limit = cause.isPersistent ? min(retry.maxAttempts, RetryPolicy.persistentTransportAttempts) : retry.maxAttempts
                guard attempt < limit else { throw FetchError.transport(url: url, reason: cause.words) }
                logger.warning("request failed, retrying",
                               metadata: ["url": "\(url)", "attempt": "\(attempt)", "cause": "\(cause.words)"])
                let wait = retry.backoff(attempt: attempt)
                try await Task.sleep(for: cause.isPersistent ? min(wait, RetryPolicy.persistentTransportDelay) : wait)
                continue
            }
            switch response.status {
            case 200..<300:
                let json: JSONValue
                do {
                    guard !response.body.isEmpty else { throw NotJSON(reason: "an empty body (HTTP \(response.status))") }
                    do {
                        json = try JSONValue.parse(response.body)
                    } catch {
                        throw NotJSON(reason: Requester.notJSON(response, error))
                    }
                } catch let error as NotJSON {
                    guard attempt < retry.maxAttempts else {
                        throw FetchError.malformedResponse(url: url, reason: error.reason)
                    }
                    logger.warning("malformed response, retrying", metadata: ["url": "\(url)", "attempt": "\(attempt)", "reason": "\(error.reason)"])
                    try await Task.sleep(for: retry.backoff(attempt: attempt))
                    continue
                }
                // GraphQL reports throttling and auth failures inside a 200.
                // A GraphQL failure: errors and no data, or a throttle notice (which may come with partial data).
                if let errors = json["errors"]?.arrayValue, !errors.isEmpty,
                    (json["data"].map { $0.isNull } ?? true)
                        || errors.contains(where: { $0["extensions"]?["code"]?.stringValue == "THROTTLED" })
                {
                    let code = errors.first?["extensions"]?["code"]?.stringValue ?? ""
                    if code == "THROTTLED", attempt < retry.maxAttempts {
                        try await Task.sleep(for: retry.backoff(attempt: attempt + 2))
                        continue
                    }
                    if code == "UNAUTHENTICATED", !reauthorized {
                        reauthorized = true
                        await authenticator.invalidate()
                        continue
                    }
                    throw FetchError.graphQL(url: url, message: errors.first?["message"]?.stringValue ?? "unknown error")
                }
                do {
                    return try interpret(PageResponse(status: response.status, headers: response.headers, json: json, url: base.url))
                } catch let violation as ContractViolation {
                    guard attempt < retry.maxAttempts else {
                        throw FetchError.contractViolation(url: url, reason: violation.reason)
                    }
                    logger.warning("response breaks the stream's contract, fetching the page again",
                                   metadata: ["url": "\(url)", "attempt": "\(attempt)", "reason": "\(violation.reason)"])
                    try await Task.sleep(for: retry.backoff(attempt: attempt))
                    continue
                }
            case 401 where !reauthorized:
                reauthorized = true
                logger.info("401: refreshing credentials", metadata: ["url": "\(url)"])
                await authenticator.invalidate()
                continue
            case 429:
                let wait = RetryPolicy.retryAfter(response.header("Retry-After")) ?? retry.backoff(attempt: attempt)
                if wait > retry.maxRetryAfter || attempt >= retry.maxAttempts {
                    throw FetchError.rateLimited(retryAfterSeconds: Int(wait.components.seconds), url: url)
                }
                logger.info("429: waiting", metadata: ["url": "\(url)", "seconds": "\(wait)"])
                try await Task.sleep(for: wait)
                continue
            case 500..<600 where attempt < retry.maxAttempts:
                let wait = RetryPolicy.retryAfter(response.header("Retry-After")) ?? retry.backoff(attempt: attempt)
                logger.warning("server error, retrying", metadata: ["url": "\(url)", "status": "\(response.status)", "attempt": "\(attempt)"])
                try await Task.sleep(for: min(wait, retry.maxDelay))
                continue
            default:
                throw FetchError.http(status: response.status, url: url, message: errorSummary(response))
            }
        }
    }

    private struct NotJSON: Error {
        var reason: String
    }

    /// What a 2xx body that is not JSON looks like, so that "the proxy answered with its
    /// maintenance page" is told apart from "the body was cut off".
    static func notJSON(_ r: HTTPResponseData, _ error: any Error) -> String {
        let type = r.header("Content-Type").map { $0.split(separator: ";").first.map(String.init) ?? $0 } ?? "no content type"
        if let page = ProviderErrorDetail.htmlSummary(r.body) {
            return "not JSON but \(page) (HTTP \(r.status), \(type), \(r.body.count) bytes)"
        }
        return "not valid JSON (HTTP \(r.status), \(type), \(r.body.count) bytes): \(error)"
    }

    /// The provider's own words about an error (see `ProviderErrorDetail`).
    func errorSummary(_ r: HTTPResponseData) -> String {
        ProviderErrorDetail.summary(r.body)
    }
}

