public import TradeSyncCore

/// What to do with one HTTP response: the whole response policy (status codes, Retry-After,
/// bodies that are not JSON, GraphQL errors inside a 200, OAuth error codes) as a pure
/// function, shared by API requests (`Requester`) and the token endpoint (`OAuthClient`), and
/// table-tested without HTTP. The loops only send, sleep and count.
///
/// Model: Airbyte's `DefaultErrorHandler` + `HttpResponseFilter` (a response → an action).
public struct ResponseClassifier: Sendable {
    public enum Endpoint: Sendable {
        /// A stream's API request.
        case api
        /// An OAuth token endpoint (RFC 6749 §5.2 errors).
        case token
    }

    public enum Verdict: Sendable {
        /// A usable body; with `records` set, the records list is left unbuilt in it and `records`
        /// says where each record lies in the body (`JSONListing`).
        case ok(JSONValue, records: [Range<Int>]? = nil)
        /// Send the same request again after `after`.
        case retry(after: Duration, reason: String)
        /// The credentials were refused once: forget them (refresh) and send again.
        case reauthorize
        /// Final: the error says what it means for the run (`ErrorDisposition`).
        case fail(any DispositionedError)
    }

    public var endpoint: Endpoint
    public var policy: RetryPolicy
    /// Where a page's records are, to leave them unbuilt (nil: the body is built whole).
    public var records: JSONPath?

    public init(_ endpoint: Endpoint, policy: RetryPolicy, records: JSONPath? = nil) {
        self.endpoint = endpoint
        self.policy = policy
        self.records = records
    }

    /// - Parameters:
    ///   - url: the request URL as shown in messages (no query string).
    ///   - attempt: 1 for the first send; retries stop at `policy.maxAttempts`.
    ///   - reauthorized: the credentials were already refreshed once for this request.
    ///   - nowSeconds: Unix time, for a `Retry-After` given as an HTTP date.
    public func classify(_ response: HTTPResponseData, url: String, attempt: Int, reauthorized: Bool,
                         nowSeconds: Int64) -> Verdict {
        let canRetry = attempt < policy.maxAttempts
        let retryAfter = RetryPolicy.retryAfter(response.header("Retry-After"), nowSeconds: nowSeconds)
        switch endpoint {
        case .api: return api(response, url: url, attempt: attempt, canRetry: canRetry, reauthorized: reauthorized, retryAfter: retryAfter,
                              nowSeconds: nowSeconds)
        case .token: return token(response, attempt: attempt, canRetry: canRetry, retryAfter: retryAfter)
        }
    }

    private func api(_ response: HTTPResponseData, url: String, attempt: Int, canRetry: Bool, reauthorized: Bool,
                     retryAfter: Duration?, nowSeconds: Int64) -> Verdict {
        switch response.status {
        case 200..<300:
            let json: JSONValue
            var spans: [Range<Int>]?
            switch Self.parse(response, records: records) {
            case .success(let parsed): (json, spans) = (parsed.envelope, parsed.records)
            case .failure(let notJSON):
                return canRetry ? .retry(after: policy.backoff(attempt: attempt), reason: notJSON.reason)
                    : .fail(FetchError.malformedResponse(url: url, reason: notJSON.reason))
            }
            // GraphQL reports throttling and auth failures inside a 200: errors and no data,
            // or a throttle notice (which may come with partial data).
            if let errors = json["errors"]?.arrayValue, !errors.isEmpty,
                (json["data"].map { $0.isNull } ?? true)
                    || errors.contains(where: { $0["extensions"]?["code"]?.stringValue == "THROTTLED" })
            {
                let code = errors.first?["extensions"]?["code"]?.stringValue ?? ""
                if code == "THROTTLED", let cost = GraphQLQueryCost(json) {
                    // The answer says what the query costs and how fast the bucket refills: wait
                    // exactly that long. A query costed above the whole bucket never passes; the
                    // paginator asks for a smaller page instead.
                    if cost.requested > cost.maximum {
                        return .fail(FetchError.queryTooCostly(requested: cost.requested, maximum: cost.maximum, url: url))
                    }
                    let wait = cost.wait(for: cost.requested)
                    if wait > policy.maxRetryAfter {
                        return .fail(FetchError.rateLimited(retryAfterSeconds: Int(wait.components.seconds), url: url))
                    }
                    if canRetry { return .retry(after: wait, reason: "GraphQL THROTTLED (cost \(cost.requested), \(cost.available) available)") }
                }
                if code == "THROTTLED", canRetry { return .retry(after: policy.backoff(attempt: attempt + 2), reason: "GraphQL THROTTLED") }
                if code == "UNAUTHENTICATED", !reauthorized { return .reauthorize }
                return .fail(FetchError.graphQL(url: url, message: errors.first?["message"]?.stringValue ?? "unknown error"))
            }
            return .ok(json, records: spans)
        case 401 where !reauthorized:
            return .reauthorize
        case 429:
            // A spent daily quota (Yelp's ACCESS_LIMIT_REACHED) says so in its headers: nothing
            // left, and when it resets. Retrying before then only burns attempts: defer to it.
            if let reset = Self.quotaReset(response, nowSeconds: nowSeconds) {
                return .fail(FetchError.rateLimited(retryAfterSeconds: reset, url: url))
            }
            let wait = retryAfter ?? policy.backoff(attempt: attempt)
            if wait > policy.maxRetryAfter || !canRetry {
                return .fail(FetchError.rateLimited(retryAfterSeconds: Int(wait.components.seconds), url: url))
            }
            return .retry(after: wait, reason: "429")
        case 500..<600 where canRetry:
            return .retry(after: min(retryAfter ?? policy.backoff(attempt: attempt), policy.maxDelay), reason: "HTTP \(response.status)")
        default:
            return .fail(FetchError.http(status: response.status, url: url, message: ProviderErrorDetail.summary(response.body)))
        }
    }

    private func token(_ response: HTTPResponseData, attempt: Int, canRetry: Bool, retryAfter: Duration?) -> Verdict {
        if (response.status == 429 || response.status >= 500), canRetry {
            return .retry(after: retryAfter ?? policy.backoff(attempt: attempt), reason: "HTTP \(response.status)")
        }
        guard (200..<300).contains(response.status) else {
            // OAuth's `error` + `error_description`, or whatever shape the server's error has.
            let detail = ProviderErrorDetail.summary(response.body)
            if (try? JSONValue.parse(response.body))?["error"]?.stringValue == "invalid_grant" {
                return .fail(AuthError.needsReauthorization(detail))
            }
            return .fail(AuthError.tokenEndpoint(status: response.status, error: detail.isEmpty ? "HTTP \(response.status)" : detail))
        }
        switch Self.parse(response, records: nil) {
        case .success(let parsed):
            return .ok(parsed.envelope)
        case .failure(let notJSON):
            // A 200 that is not JSON (a proxy's page, a cut-off body) may be a passing fault.
            if canRetry { return .retry(after: policy.backoff(attempt: attempt), reason: notJSON.reason) }
            let what = ProviderErrorDetail.htmlSummary(response.body) ?? (response.body.isEmpty ? "an empty body" : "not JSON")
            return .fail(AuthError.tokenEndpoint(status: response.status, error: "the response is \(what), not a token"))
        }
    }

    /// Seconds until a spent quota resets: `RateLimit-Remaining: 0` with `RateLimit-ResetTime`
    /// (an ISO 8601 instant, as Yelp sends). Nil when the answer does not say both.
    static func quotaReset(_ r: HTTPResponseData, nowSeconds: Int64) -> Int? {
        guard r.header("RateLimit-Remaining").map { $0.filter { $0 != " " } } == "0",
            let text = r.header("RateLimit-ResetTime"), let micros = Timestamp.parse(text.filter { $0 != " " })
        else { return nil }
        return Int(max(1, micros / 1_000_000 - nowSeconds))
    }

    struct NotJSON: Error {
        var reason: String
    }

    static func parse(_ response: HTTPResponseData, records: JSONPath?) -> Result<JSONListing, NotJSON> {
        guard !response.body.isEmpty else { return .failure(NotJSON(reason: "an empty body (HTTP \(response.status))")) }
        do {
            guard let records else { return .success(JSONListing(envelope: try JSONValue.parse(response.body), records: nil)) }
            return .success(try JSONListing.parse(response.body, recordsAt: records))
        } catch {
            return .failure(NotJSON(reason: notJSON(response, error)))
        }
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
}
