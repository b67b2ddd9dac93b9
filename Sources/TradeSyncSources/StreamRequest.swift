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
    case malformedResponse(url: String, reason: String)
    /// The provider asked us to wait longer than the run may: checkpoint and defer.
    case rateLimited(retryAfterSeconds: Int, url: String)
    case transport(url: String, reason: String)
    case graphQL(url: String, message: String)

    public var description: String {
        switch self {
        case .http(let s, let u, let m): return "HTTP \(s) from \(u)\(m.isEmpty ? "" : ": " + m)"
        case .malformedResponse(let u, let r): return "malformed response from \(u): \(r)"
        case .rateLimited(let s, let u): return "rate limited by \(u): retry after \(s) s"
        case .transport(let u, let r): return "cannot reach \(u): \(r)"
        case .graphQL(let u, let m): return "GraphQL error from \(u): \(m)"
        }
    }
}

/// Strips the query string from a URL for messages (query strings may carry API keys).
func shown(_ url: String) -> String {
    if let q = url.firstIndex(of: "?") { return String(url[..<q]) }
    return url
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
                guard attempt < retry.maxAttempts else {
                    throw FetchError.transport(url: url, reason: String(describing: type(of: error)))
                }
                logger.warning("request failed, retrying", metadata: ["url": "\(url)", "attempt": "\(attempt)"])
                try await Task.sleep(for: retry.backoff(attempt: attempt))
                continue
            }
            switch response.status {
            case 200..<300:
                let json: JSONValue
                do {
                    json = try JSONValue.parse(response.body)
                } catch {
                    guard attempt < retry.maxAttempts else {
                        throw FetchError.malformedResponse(url: url, reason: error.description)
                    }
                    logger.warning("malformed JSON, retrying", metadata: ["url": "\(url)", "attempt": "\(attempt)"])
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
                return json
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

    /// The provider's own words about an error: RFC 7807 title, Google error.message, OAuth error.
    func errorSummary(_ r: HTTPResponseData) -> String {
        guard let json = try? JSONValue.parse(r.body) else { return "" }
        let candidates: [String?] = [
            json["error"]?["message"]?.stringValue, json["title"]?.stringValue, json["error"]?.stringValue,
            json["fault"]?["error"]?.arrayValue?.first?["message"]?.stringValue,
            json["Fault"]?["Error"]?.arrayValue?.first?["Message"]?.stringValue, json["message"]?.stringValue,
        ]
        let text = candidates.compactMap { $0 }.first ?? ""
        return String(text.prefix(300))
    }
}

/// Pages through one stream request. Call `next()` until it returns nil.
public struct Paginator: Sendable {
    public let requester: Requester
    public let request: RequestSpec
    public let pagination: PaginationSpec
    public let records: JSONPath
    public let transform: RecordTransform
    /// The fan-out scope of this request (a Google location), kept on adapted records.
    public var scope: String?
    var token: String?
    var number = 0
    var offset: Int
    var page: Int
    var finished = false

    public init(requester: Requester, request: RequestSpec, pagination: PaginationSpec, records: JSONPath,
                transform: RecordTransform = .none, startToken: String? = nil) {
        self.requester = requester
        self.request = request
        self.pagination = pagination
        self.records = records
        self.transform = transform
        self.token = startToken
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

    /// The next page, or nil after the last one.
    public mutating func next() async throws -> Page? {
        if finished { return nil }
        number += 1
        let http = buildRequest()
        let json = try await requester.fetchJSON(http)
        let items: [JSONValue]
        switch transform {
        case .none:
            let found = records.segments.isEmpty ? json : json.value(at: records)
            switch found {
            case .array(let a)?: items = a
            case nil, .null?: items = []
            default:
                throw FetchError.malformedResponse(url: shown(http.url), reason: "'\(records)' is not a list")
            }
        case .googleDailyMetrics:
            items = GoogleDailyMetrics.flatten(json, location: scope)
        }
        var last = false
        switch pagination {
        case .none:
            last = true
        case .pageNumber(_, _, let size, _, let hasMorePath):
            if let hasMorePath {
                last = json.value(at: hasMorePath)?.boolValue != true
            } else {
                last = items.isEmpty || (size.map { items.count < $0 } ?? true)
            }
            page += 1
        case .offset(_, _, let size, _):
            last = items.count < size
            offset += items.count
        case .pageToken(_, let tokenPath, _, _, let hasMorePath):
            let next = json.value(at: tokenPath)?.scalarText
            if let next, !next.isEmpty { token = next } else { last = true }
            if let hasMorePath, json.value(at: hasMorePath)?.boolValue == false { last = true }
        case .graphqlRelay(_, _, let tokenPath, let hasMorePath, _):
            if let next = json.value(at: tokenPath)?.scalarText, !next.isEmpty { token = next }
            last = json.value(at: hasMorePath)?.boolValue != true
        }
        if items.isEmpty, number > 1 { last = true }
        finished = last
        return Page(records: items, nextToken: token, isLast: last, number: number)
    }
}
