import Testing
import TradeSyncCore
@testable import TradeSyncSources

/// The whole response policy, table-tested without HTTP: one response in, one verdict out.
@Suite struct ResponseClassifierTable {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var endpoint: ResponseClassifier.Endpoint = .api
        var status: Int
        var headers: [(name: String, value: String)] = []
        var body: String
        var attempt = 1
        var reauthorized = false
        /// `ok`, `retry <seconds>s`, `retry`, `reauthorize`, or `fail <disposition>: <text the message contains>`.
        var expected: String
        var testDescription: String { name }
    }

    /// 2026-12-02 12:00:00 UTC.
    static let now: Int64 = 1_796_212_800
    static let policy: RetryPolicy = {
        var p = RetryPolicy()
        p.maxAttempts = 5
        p.maxRetryAfter = .seconds(120)
        p.maxDelay = .seconds(30)
        return p
    }()

    static let google403 = #"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#
    static let google401 = #"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#
    static let intuit400 = #"{"Fault":{"Error":[{"Message":"Invalid query","Detail":"QueryParserError: Encountered \" \"FROMM\"","code":"4000"}],"type":"ValidationFault"}}"#
    static let yelp401 = #"{"error":{"code":"TOKEN_INVALID","description":"Invalid access token or authorization header."}}"#

    static func throttled(requested: Int, available: Int, maximum: Int, rate: Int) -> String {
        #"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],"extensions":{"cost":{"requestedQueryCost":"#
            + "\(requested)" + #","actualQueryCost":null,"throttleStatus":{"maximumAvailable":"# + "\(maximum)"
            + #","currentlyAvailable":"# + "\(available)" + #","restoreRate":"# + "\(rate)" + "}}}}"
    }

    static let cases: [Case] = [
        Case(name: "200 JSON", status: 200, body: #"{"data":[]}"#, expected: "ok"),
        Case(name: "200 empty body, retries left", status: 200, body: "", expected: "retry"),
        Case(name: "200 empty body, last attempt", status: 200, body: "", attempt: 5,
             expected: "fail failStream: malformed response from http://x/list: an empty body (HTTP 200)"),
        Case(name: "200 HTML maintenance page, last attempt", status: 200, headers: [("Content-Type", "text/html")],
             body: "<html><title>Down for maintenance</title></html>", attempt: 5,
             expected: "fail failStream: not JSON but an HTML page ('Down for maintenance') (HTTP 200, text/html"),
        Case(name: "429 Retry-After seconds", status: 429, headers: [("Retry-After", "7")], body: "", expected: "retry 7s"),
        Case(name: "429 Retry-After HTTP date 30 s ahead", status: 429, headers: [("Retry-After", "Wed, 02 Dec 2026 12:00:30 GMT")],
             body: "", expected: "retry 30s"),
        Case(name: "429 Retry-After HTTP date in the past", status: 429, headers: [("Retry-After", "Wed, 02 Dec 2026 11:59:00 GMT")],
             body: "", expected: "retry 0s"),
        Case(name: "429 Retry-After beyond what a run may wait: defer", status: 429, headers: [("Retry-After", "3600")], body: "",
             expected: "fail deferRun(3600): rate limited by http://x/list: retry after 3600 s"),
        Case(name: "429 on the last attempt: defer", status: 429, headers: [("Retry-After", "5")], body: "", attempt: 5,
             expected: "fail deferRun(5): rate limited"),
        Case(name: "503 Retry-After", status: 503, headers: [("Retry-After", "2")], body: "", expected: "retry 2s"),
        Case(name: "503 long Retry-After is capped at the backoff ceiling", status: 503, headers: [("Retry-After", "100")], body: "",
             expected: "retry 30s"),
        Case(name: "503 on the last attempt", status: 503, body: "upstream timeout", attempt: 5,
             expected: "fail failStream: HTTP 503 from http://x/list: upstream timeout"),
        Case(name: "401 once: refresh the credentials", status: 401, body: google401, expected: "reauthorize"),
        Case(name: "401 again after a refresh: the run fails (Google shape)", status: 401, body: google401, reauthorized: true,
             expected: "fail failRun: HTTP 401 from http://x/list: Request had invalid authentication credentials. (UNAUTHENTICATED)"),
        Case(name: "401 again (Yelp shape)", status: 401, body: yelp401, reauthorized: true,
             expected: "fail failRun: Invalid access token or authorization header. (TOKEN_INVALID)"),
        Case(name: "403 (Google shape) fails the stream", status: 403, body: google403,
             expected: "fail failStream: HTTP 403 from http://x/list: The caller does not have permission (PERMISSION_DENIED)"),
        Case(name: "400 (Intuit Fault)", status: 400, body: intuit400,
             expected: "fail failStream: Invalid query: QueryParserError"),
        Case(name: "GraphQL THROTTLED inside a 200", status: 200,
             body: #"{"data":{"jobs":null},"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]}"#, expected: "retry"),
        Case(name: "GraphQL THROTTLED on the last attempt", status: 200,
             body: #"{"data":{"jobs":null},"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]}"#, attempt: 5,
             expected: "fail failStream: GraphQL error from http://x/list: Throttled"),
        Case(name: "GraphQL THROTTLED with a cost: wait for the restore rate", status: 200,
             body: throttled(requested: 5_000, available: 1_000, maximum: 10_000, rate: 500), expected: "retry 9s"),
        Case(name: "GraphQL THROTTLED above the whole bucket: a smaller page, not a wait", status: 200,
             body: throttled(requested: 15_754, available: 10_000, maximum: 10_000, rate: 500),
             expected: "fail failStream: costs 15754 points, more than the provider's whole bucket of 10000"),
        Case(name: "GraphQL THROTTLED whose wait is longer than a run may: defer", status: 200,
             body: throttled(requested: 9_000, available: 0, maximum: 10_000, rate: 10), expected: "fail deferRun(901): rate limited"),
        Case(name: "429 with a spent daily quota (Yelp): defer to the reset, no retries", status: 429,
             headers: [("RateLimit-Remaining", "0"), ("RateLimit-ResetTime", "2026-12-03T00:00:00+00:00")],
             body: #"{"error":{"code":"ACCESS_LIMIT_REACHED","description":"You've reached the access limit for this client."}}"#,
             expected: "fail deferRun(43200): retry after 43200 s"),
        Case(name: "429 with quota left is a plain retry", status: 429,
             headers: [("RateLimit-Remaining", "12"), ("RateLimit-ResetTime", "2026-12-03T00:00:00+00:00")], body: "", expected: "retry"),
        Case(name: "GraphQL UNAUTHENTICATED: refresh once", status: 200,
             body: #"{"errors":[{"message":"Unauthenticated","extensions":{"code":"UNAUTHENTICATED"}}]}"#, expected: "reauthorize"),
        Case(name: "GraphQL errors beside data are data", status: 200,
             body: #"{"data":{"jobs":{"nodes":[]}},"errors":[{"message":"field deprecated"}]}"#, expected: "ok"),
        Case(name: "token: 200", endpoint: .token, status: 200, body: #"{"access_token":"a","expires_in":3600}"#, expected: "ok"),
        Case(name: "token: invalid_grant needs a person", endpoint: .token, status: 400,
             body: #"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
             expected: "fail reauthorize(invalid_grant: Token has been expired or revoked.): the connection needs to be authorised again"),
        Case(name: "token: invalid_client fails the run", endpoint: .token, status: 401,
             body: #"{"error":"invalid_client","error_description":"Unauthorized"}"#,
             expected: "fail failRun: token endpoint answered HTTP 401: invalid_client: Unauthorized"),
        Case(name: "token: 429 Retry-After", endpoint: .token, status: 429, headers: [("Retry-After", "3")], body: "", expected: "retry 3s"),
        Case(name: "token: 500 retries", endpoint: .token, status: 500, body: "", expected: "retry"),
        Case(name: "token: 500 on the last attempt", endpoint: .token, status: 500, body: "", attempt: 5,
             expected: "fail failRun: token endpoint answered HTTP 500: HTTP 500"),
        Case(name: "token: a 200 HTML page on the last attempt", endpoint: .token, status: 200,
             body: "<!DOCTYPE html><title>Sign in</title>", attempt: 5,
             expected: "fail failRun: the response is an HTML page ('Sign in'), not a token"),
        Case(name: "token: a 401 is not a refresh", endpoint: .token, status: 401, body: "", expected: "fail failRun: HTTP 401"),
    ]

    static func render(_ v: ResponseClassifier.Verdict) -> String {
        switch v {
        case .ok: return "ok"
        case .retry(let after, _): return "retry \(after.components.seconds)s"
        case .reauthorize: return "reauthorize"
        case .fail(let e):
            let d: String
            switch e.disposition {
            case .failStream: d = "failStream"
            case .failRun: d = "failRun"
            case .deferRun(let s): d = "deferRun(\(s))"
            case .reauthorize(let why): d = "reauthorize(\(why))"
            }
            return "fail \(d): \(e.description)"
        }
    }

    @Test(arguments: cases)
    func aResponseHasOneVerdict(_ c: Case) {
        let classifier = ResponseClassifier(c.endpoint, policy: Self.policy)
        let response = HTTPResponseData(status: c.status, headers: c.headers, body: Array(c.body.utf8))
        let got = Self.render(classifier.classify(response, url: "http://x/list", attempt: c.attempt, reauthorized: c.reauthorized,
                                                  nowSeconds: Self.now))
        if c.expected == "retry" {
            #expect(got.hasPrefix("retry "), "\(got)")
        } else if c.expected.hasPrefix("fail ") {
            let (head, text) = (c.expected.prefix { $0 != ":" }, c.expected.drop { $0 != ":" }.dropFirst(2))
            #expect(got.hasPrefix(head + ": "), "\(got)")
            #expect(got.contains(text), "\(got)")
        } else {
            #expect(got == c.expected)
        }
    }

    @Test func httpDatesAreIMFFixdates() {
        #expect(RetryPolicy.httpDate("Wed, 21 Oct 2015 07:28:00 GMT") == 1_445_412_480)
        #expect(RetryPolicy.httpDate("Wed, 02 Dec 2026 12:00:00 GMT") == Self.now)
        #expect(RetryPolicy.httpDate("Sun, 29 Feb 2032 23:59:59 GMT") == 1_961_711_999)
        #expect(RetryPolicy.httpDate("21 Oct 2015 07:28:00") == nil)
        #expect(RetryPolicy.retryAfter("soon", nowSeconds: Self.now) == .seconds(1))
    }

    @Test func transportAndAuthErrorsCarryTheirDisposition() {
        #expect(FetchError.transport(url: "u", reason: "r").disposition == .failStream)
        #expect(FetchError.contractViolation(url: "u", reason: "r").disposition == .failStream)
        #expect(AuthError.unreachable(endpoint: "e:443", reason: "r").disposition == .failRun)
        #expect(AuthError.noRefreshToken.disposition == .failRun)
        #expect(AuthError.needsReauthorization("invalid_grant").disposition == .reauthorize(reason: "invalid_grant"))
    }
}
