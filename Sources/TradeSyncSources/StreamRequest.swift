import Foundation
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

/// How a stream pages. One case per paginator; each keeps its state in `PageState`.
public enum PaginationSpec: Sendable {
    case none
    /// `page`/`pageSize`; stops on has-more false, a short page or an empty page.
    case pageNumber(pageParam: String, sizeParam: String?, size: Int?, start: Int, hasMorePath: JSONPath?)
    /// An offset and a limit; stops on a short or empty page.
    case offset(offsetParam: String, sizeParam: String, size: Int, start: Int)
    /// A token from the response sent back; stops when the token is absent (or has-more false).
    case pageToken(tokenParam: String, tokenPath: JSONPath, sizeParam: String?, size: Int?, hasMorePath: JSONPath?)
    /// GraphQL relay: `first`/`after` variables, `pageInfo { endCursor hasNextPage }`.
    case graphqlRelay(sizeVariable: String, tokenVariable: String, tokenPath: JSONPath, hasMorePath: JSONPath, size: Int)
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
        try await fetch(base) { $0 }
    }

    /// Sends a request and hands its parsed JSON body to `interpret`. A `ContractViolation`
    /// thrown by `interpret` is treated like a transient fault: the same request is sent again
    /// (with backoff, within the retry policy's attempts) before the stream fails.
    public func fetch<T>(_ base: HTTPRequestData, interpret: (JSONValue) throws -> T) async throws -> T {
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
                    return try interpret(json)
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

/// Pages through one stream request. Call `next()` until it returns nil.
///
/// Every page is checked against the stream's declared contract (records list, page token,
/// has-more flag, stated total): a page that breaks it is fetched again and, if it keeps
/// breaking it, fails the stream. A malformed page must never look like the last page, or a
/// run reports success with records missing.
public struct Paginator: Sendable {
    public let requester: Requester
    public let request: RequestSpec
    public let pagination: PaginationSpec
    public let records: JSONPath
    public let transform: RecordTransform
    /// The fan-out scope of this request (a Google location), kept on adapted records.
    public var scope: String?
    /// A response without the records field is an empty page (Google omits empty lists,
    /// QuickBooks answers `QueryResponse: {}`). Otherwise a missing field is an error.
    public var recordsOptional = false
    /// Where the provider states how many records the whole listing has (ServiceTitan
    /// `totalCount`, Google `totalReviewCount`): fewer records received is an error.
    public var totalPath: JSONPath?
    var token: String?
    var number = 0
    var offset: Int
    var page: Int
    var finished = false
    /// Tokens sent (or about to be sent) in this pagination: one coming back means a loop.
    var seenTokens: Set<String> = []
    var received = 0
    var statedTotal: Int?
    /// Hash of the previous page's records: numbered and offset pages carry no token that
    /// could repeat, but a provider that ignores the page parameter repeats the page itself.
    var previousPage: Int?

    public init(requester: Requester, request: RequestSpec, pagination: PaginationSpec, records: JSONPath,
                transform: RecordTransform = .none, startToken: String? = nil, recordsOptional: Bool = false,
                totalPath: JSONPath? = nil) {
        self.requester = requester
        self.request = request
        self.pagination = pagination
        self.records = records
        self.transform = transform
        self.token = startToken
        self.recordsOptional = recordsOptional
        self.totalPath = totalPath
        if let startToken { seenTokens.insert(startToken) }
        switch pagination {
        case .pageNumber(_, _, _, let start, _): page = start; offset = 0
        case .offset(_, _, _, let start): offset = start; page = 0
        default: page = 0; offset = 0
        }
    }

    func buildRequest() -> HTTPRequestData {
        var params = request.params
        var variables = JSONObject()
        switch pagination {
        case .none: break
        case .pageNumber(let pageParam, let sizeParam, let size, _, _):
            params.append((pageParam, String(page)))
            if let sizeParam, let size { params.append((sizeParam, String(size))) }
        case .offset(let offsetParam, let sizeParam, let size, _):
            params.append((offsetParam, String(offset)))
            params.append((sizeParam, String(size)))
        case .pageToken(let tokenParam, _, let sizeParam, let size, _):
            if let sizeParam, let size { params.append((sizeParam, String(size))) }
            if let token { params.append((tokenParam, token)) }
        case .graphqlRelay(let sizeVariable, let tokenVariable, _, _, let size):
            variables[sizeVariable] = .integer(Int64(size))
            variables[tokenVariable] = token.map { .string($0) } ?? .null
        }
        var url = request.url
        if !params.isEmpty {
            let query = params.map { URLEncoding.encode($0.name) + "=" + URLEncoding.queryValue($0.value) }.joined(separator: "&")
            url += (url.contains("?") ? "&" : "?") + query
        }
        var r = HTTPRequestData(method: request.method, url: url, headers: request.headers)
        r.setHeader("Accept", "application/json")
        if let body = request.body {
            var payload = JSONObject()
            payload["query"] = .string(body)
            payload["variables"] = .object(variables)
            r.body = Array(JSONValue.object(payload).jsonText.utf8)
            r.setHeader("Content-Type", "application/json")
        }
        return r
    }

    /// What one response says, once it has passed the contract checks.
    struct Step {
        var items: [JSONValue]
        var nextToken: String?
        var last: Bool
        var total: Int?
    }

    /// The next page, or nil after the last one.
    public mutating func next() async throws -> Page? {
        if finished { return nil }
        number += 1
        let http = buildRequest()
        // The checks run inside the requester's retry loop, so a broken page is fetched again.
        let current = self
        let step = try await requester.fetch(http) { json in try current.interpret(json) }
        switch pagination {
        case .pageNumber: page += 1
        case .offset: offset += step.items.count
        case .pageToken, .graphqlRelay:
            if let next = step.nextToken {
                token = next
                seenTokens.insert(next)
            }
        case .none: break
        }
        received += step.items.count
        previousPage = step.items.isEmpty ? nil : step.items.hashValue
        if let total = step.total {
            // The smallest stated total: records deleted while we page must not fail the run.
            statedTotal = min(statedTotal ?? total, total)
        }
        if step.last, let statedTotal, let totalPath, received < statedTotal {
            // Not refetched: the shortfall is spread over pages already handed out.
            throw FetchError.contractViolation(
                url: shown(http.url),
                reason: "provider reported \(statedTotal) records at '\(totalPath)', received \(received)")
        }
        finished = step.last
        return Page(records: step.items, nextToken: token, isLast: step.last, number: number)
    }

    /// Checks a response against the stream's contract and reads its records and paging state.
    func interpret(_ json: JSONValue) throws -> Step {
        let items: [JSONValue]
        switch transform {
        case .none: items = try recordList(json)
        case .googleDailyMetrics: items = GoogleDailyMetrics.flatten(json, location: scope)
        }
        var step = Step(items: items, nextToken: nil, last: false, total: nil)
        switch pagination {
        case .none:
            step.last = true
        case .pageNumber(_, _, let size, _, let hasMorePath):
            if let hasMorePath {
                step.last = try !Self.flag(json, hasMorePath)
            } else {
                step.last = items.isEmpty || (size.map { items.count < $0 } ?? true)
            }
        case .offset(_, _, let size, _):
            step.last = items.count < size
        case .pageToken(_, let tokenPath, _, _, let hasMorePath):
            step.nextToken = try Self.pageToken(json, tokenPath)
            if let hasMorePath {
                let more = try Self.flag(json, hasMorePath)
                if more, step.nextToken == nil {
                    throw ContractViolation(
                        "'\(hasMorePath)' is true but there is no page token at '\(tokenPath)', so the next page cannot be requested")
                }
                step.last = !more
            } else {
                // Google's convention: the last page has no token.
                step.last = step.nextToken == nil
            }
        case .graphqlRelay(_, _, let tokenPath, let hasMorePath, _):
            let more = try Self.flag(json, hasMorePath)
            step.nextToken = try Self.pageToken(json, tokenPath)
            if more, step.nextToken == nil {
                throw ContractViolation("'\(hasMorePath)' is true but '\(tokenPath)' is null, so the next page cannot be requested")
            }
            step.last = !more
        }
        if items.isEmpty, number > 1 { step.last = true }
        switch pagination {
        case .pageNumber(let param, _, _, _, _), .offset(let param, _, _, _):
            if !items.isEmpty, items.hashValue == previousPage {
                throw ContractViolation(
                    "page \(number) has the same records as page \(number - 1): the provider ignores '\(param)', so the stream would loop (check paginate.\(Self.paramKey(pagination)))")
            }
        default: break
        }
        if !step.last, let next = step.nextToken, seenTokens.contains(next) {
            throw ContractViolation(
                "repeated page token '\(Self.abbreviated(next))' at '\(Self.tokenPath(pagination)?.description ?? "")': the stream would loop")
        }
        if let totalPath {
            switch json.value(at: totalPath) {
            case nil, .null?: break
            case .integer(let n)?: step.total = Int(n)
            case .string(let s)? where Int(s) != nil: step.total = Int(s)
            case let other?:
                throw ContractViolation("'\(totalPath)' is \(Self.kind(other)), not a record count")
            }
        }
        return step
    }

    func recordList(_ json: JSONValue) throws -> [JSONValue] {
        if records.segments.isEmpty {
            guard case .array(let a) = json else {
                throw ContractViolation("the response is \(Self.kind(json)), not a list of records")
            }
            return a
        }
        switch json.value(at: records) {
        case .array(let a)?: return a
        case .null?: return []
        case nil:
            // Only the records field itself may be left out, not the object around it.
            let parent = JSONPath(records.description.split(separator: ".").dropLast().joined(separator: "."))
            if recordsOptional, case .object? = parent.segments.isEmpty ? json : json.value(at: parent) { return [] }
            throw ContractViolation("no records list at '\(records)' (the response has \(Self.keys(json)))")
        case let other?:
            throw ContractViolation("'\(records)' is \(Self.kind(other)), not a list of records")
        }
    }

    static func flag(_ json: JSONValue, _ path: JSONPath) throws -> Bool {
        switch json.value(at: path) {
        case .bool(let b)?: return b
        case nil: throw ContractViolation("no has-more flag at '\(path)' (the response has \(keys(json)))")
        case let other?: throw ContractViolation("'\(path)' is \(kind(other)), not true or false")
        }
    }

    /// A usable page token: a non-empty string or an integer. Absent, null or "" = no token.
    static func pageToken(_ json: JSONValue, _ path: JSONPath) throws -> String? {
        switch json.value(at: path) {
        case nil, .null?: return nil
        case .string(let s)?: return s.isEmpty ? nil : s
        case .integer(let i)?: return String(i)
        case let other?:
            throw ContractViolation("'\(path)' is \(kind(other)), not a page token (check paginate.token_path)")
        }
    }

    static func tokenPath(_ p: PaginationSpec) -> JSONPath? {
        switch p {
        case .pageToken(_, let path, _, _, _), .graphqlRelay(_, _, let path, _, _): return path
        default: return nil
        }
    }

    static func paramKey(_ p: PaginationSpec) -> String {
        if case .offset = p { return "offset_param" }
        return "page_param"
    }

    static func kind(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return "a boolean (\(b))"
        case .integer(let i): return "a number (\(i))"
        case .number(let n): return "a number (\(n.prefix(20)))"
        case .string: return "a string"
        case .array(let a): return "a list of \(a.count)"
        case .object: return "an object"
        }
    }

    static func keys(_ v: JSONValue) -> String {
        guard case .object(let o) = v else { return kind(v) + " at the top" }
        if o.entries.isEmpty { return "no keys" }
        let names = o.keys.prefix(8).map { "'\($0.prefix(40))'" }.joined(separator: ", ")
        return "keys " + names + (o.entries.count > 8 ? ", …" : "")
    }

    static func abbreviated(_ token: String) -> String {
        token.count > 24 ? token.prefix(24) + "…" : token
    }
}
