import Foundation
import Testing
import TradeSyncCore
@testable import TradeSyncSources

/// Responses that are valid JSON but break the stream's declared contract. Each used to end
/// the stream as if it were the last page: a run "succeeded" with records missing.
@Suite struct PaginatorContractTests {
    struct Violation: CustomTestStringConvertible, Sendable {
        var name: String
        var pagination: any PaginationStrategy
        var records = "data"
        var recordsOptional = false
        var totalPath: String?
        var serve: @Sendable (HTTPRequestData, [String: String]) -> HTTPResponseData
        /// Words the error must contain.
        var message: String
        /// Requests sent in all (a broken page is fetched again up to the policy's 5 attempts).
        var requests: Int
        var testDescription: String { name }
    }

    static let stList = PageNumberPagination(pageParam: "page", sizeParam: "pageSize", size: 10, start: 1, hasMorePath: JSONPath("hasMore"))
    static let stExport = PageTokenPagination(tokenParam: "from", tokenPath: JSONPath("continueFrom"), sizeParam: nil, size: nil,
                                                   hasMorePath: JSONPath("hasMore"))
    static let google = PageTokenPagination(tokenParam: "pageToken", tokenPath: JSONPath("nextPageToken"), sizeParam: "pageSize",
                                                 size: 8, hasMorePath: nil)
    static let relay = GraphQLRelayPagination(sizeVariable: "first", tokenVariable: "after", tokenPath: JSONPath("data.jobs.pageInfo.endCursor"),
                                                   hasMorePath: JSONPath("data.jobs.pageInfo.hasNextPage"), size: 10)

    static func json(_ v: JSONValue) -> HTTPResponseData { ScriptedTransport.json(v) }

    /// A ServiceTitan export whose first page is fine and whose continuation token comes from `token`.
    static func export(token: @escaping @Sendable (Int) -> JSONValue?) -> @Sendable (HTTPRequestData, [String: String]) -> HTTPResponseData {
        { _, q in
            let start = Int(q["from"] ?? "0") ?? 0
            var body = JSONObject([(key: "data", value: JSONValue.array(Array(items.dropFirst(start).prefix(10)))), (key: "hasMore", value: true)])
            if let t = token(start) { body["continueFrom"] = t }
            return json(.object(body))
        }
    }

    static let violations: [Violation] = [
        Violation(name: "records field missing", pagination: stList,
                  serve: { _, _ in json(["page": 1, "hasMore": false]) }, message: "no records list at 'data'", requests: 5),
        Violation(name: "records field is an object", pagination: stList,
                  serve: { _, _ in json(["data": ["id": 1], "hasMore": false]) }, message: "'data' is an object, not a list", requests: 5),
        Violation(name: "wrong shape: {\"unexpected\": true}", pagination: stExport,
                  serve: { _, _ in json(["unexpected": true]) }, message: "no records list at 'data' (the response has keys 'unexpected')", requests: 5),
        Violation(name: "Google-style {} without records_optional", pagination: google, records: "reviews",
                  serve: { _, _ in json([:]) }, message: "no records list at 'reviews'", requests: 5),
        Violation(name: "records_optional still needs the object around the field", pagination: stList, records: "QueryResponse.Invoice",
                  recordsOptional: true, serve: { _, _ in json(["hasMore": false]) }, message: "no records list at 'QueryResponse.Invoice'", requests: 5),
        Violation(name: "has-more flag missing", pagination: stList,
                  serve: { _, _ in json(["data": [["id": 1]]]) }, message: "no has-more flag at 'hasMore'", requests: 5),
        Violation(name: "has-more flag is a string", pagination: stExport,
                  serve: { _, _ in json(["data": [], "hasMore": "true", "continueFrom": "x"]) }, message: "'hasMore' is a string, not true or false",
                  requests: 5),
        Violation(name: "continuation token absent while hasMore is true", pagination: stExport,
                  serve: export { _ in nil }, message: "'hasMore' is true but there is no page token at 'continueFrom'", requests: 5),
        Violation(name: "continuation token empty while hasMore is true", pagination: stExport,
                  serve: export { _ in "" }, message: "there is no page token", requests: 5),
        Violation(name: "token is a boolean", pagination: stExport,
                  serve: export { _ in true }, message: "'continueFrom' is a boolean (true), not a page token", requests: 5),
        Violation(name: "token is an object", pagination: stExport,
                  serve: export { _ in ["offset": 10] }, message: "'continueFrom' is an object, not a page token", requests: 5),
        Violation(name: "token is a list", pagination: stExport,
                  serve: export { _ in [10] }, message: "'continueFrom' is a list of 1, not a page token", requests: 5),
        Violation(name: "token is a fractional number", pagination: stExport,
                  serve: export { _ in .number("10.5") }, message: "'continueFrom' is a number (10.5), not a page token", requests: 5),
        // A token_path that points at something constant (here `page`): page 1 is requested again and again.
        Violation(name: "token never advances (wrong token_path)",
                  pagination: PageTokenPagination(tokenParam: "from", tokenPath: JSONPath("page"), sizeParam: nil, size: nil, hasMorePath: JSONPath("hasMore")),
                  serve: { _, _ in json(["page": 1, "hasMore": true, "data": .array(Array(items.prefix(10)))]) },
                  message: "repeated page token '1' at 'page': the stream would loop", requests: 6),
        Violation(name: "Google token repeats", pagination: google, records: "reviews",
                  serve: { _, _ in json(["reviews": .array(Array(items.prefix(8))), "nextPageToken": "same"]) },
                  message: "repeated page token 'same'", requests: 6),
        // A page_param the provider does not know (`pageNumber` for ServiceTitan): page 1 again and again.
        Violation(name: "page number ignored by the provider", pagination: stList,
                  serve: { _, _ in json(["hasMore": true, "data": .array(Array(items.prefix(10)))]) },
                  message: "page 2 has the same records as page 1: the provider ignores 'page', so the stream would loop (check paginate.page_param)",
                  requests: 6),
        Violation(name: "offset ignored by the provider", pagination: OffsetPagination(offsetParam: "start", sizeParam: "limit", size: 10, start: 0),
                  serve: { _, _ in json(["data": .array(Array(items.prefix(10)))]) },
                  message: "page 2 has the same records as page 1: the provider ignores 'start'", requests: 6),
        Violation(name: "GraphQL relay: hasNextPage true, endCursor null", pagination: relay, records: "data.jobs.nodes",
                  serve: { _, _ in json(["data": ["jobs": ["nodes": [["id": 1]], "pageInfo": ["endCursor": nil, "hasNextPage": true]]]]) },
                  message: "'data.jobs.pageInfo.hasNextPage' is true but 'data.jobs.pageInfo.endCursor' is null", requests: 5),
        Violation(name: "GraphQL relay: hasNextPage missing", pagination: relay, records: "data.jobs.nodes",
                  serve: { _, _ in json(["data": ["jobs": ["nodes": [["id": 1]], "pageInfo": ["endCursor": "a"]]]]) },
                  message: "no has-more flag at 'data.jobs.pageInfo.hasNextPage'", requests: 5),
        // Three full pages, then the provider "ends" early: 23 records received of 30 stated.
        Violation(name: "fewer records than the stated total", pagination: stList, totalPath: "totalCount",
                  serve: { _, q in
                      let page = Int(q["page"] ?? "") ?? 0
                      let slice = Array(items.dropFirst((page - 1) * 10).prefix(10))
                      return json(["hasMore": .bool(page < 3), "totalCount": 30, "data": .array(slice)])
                  }, message: "provider reported 30 records at 'totalCount', received 23", requests: 3),
        Violation(name: "Google reviews: token dropped early, total catches it", pagination: google, records: "reviews",
                  recordsOptional: true, totalPath: "totalReviewCount",
                  serve: { _, _ in json(["reviews": .array(Array(items.prefix(8))), "totalReviewCount": 23]) },
                  message: "provider reported 23 records at 'totalReviewCount', received 8", requests: 1),
        Violation(name: "total is not a number", pagination: stList, totalPath: "totalCount",
                  serve: { _, _ in json(["hasMore": false, "totalCount": true, "data": []]) }, message: "'totalCount' is a boolean (true), not a record count",
                  requests: 5),
    ]

    @Test(arguments: violations)
    func aPageThatBreaksTheContractFailsTheStream(_ v: Violation) async throws {
        let transport = ScriptedTransport(v.serve)
        let requester = Requester(transport: transport, authenticator: NoAuthentication(), retry: .immediate)
        var p = Paginator(requester: requester, request: RequestSpec(method: "GET", url: "http://x/list?api_key=SECRET"), pagination: v.pagination,
                          records: JSONPath(v.records), recordsOptional: v.recordsOptional, totalPath: v.totalPath.map(JSONPath.init))
        var received = 0
        do {
            while let page = try await p.next() { received += page.records.count }
            Issue.record("the stream ended normally after \(received) records: the broken page was taken for the last one")
        } catch let error as FetchError {
            guard case .contractViolation(_, let reason) = error else {
                Issue.record("expected a contract violation, got \(error)")
                return
            }
            #expect(reason.contains(v.message), "\(reason)")
            #expect(!error.description.contains("SECRET"))
        }
        #expect(transport.requests.count == v.requests)
    }

    struct Allowed: CustomTestStringConvertible, Sendable {
        var name: String
        var pagination: any PaginationStrategy
        var records = "data"
        var recordsOptional = false
        var totalPath: String?
        var serve: @Sendable (HTTPRequestData, [String: String]) -> HTTPResponseData
        var count: Int
        var testDescription: String { name }
    }

    static let allowed: [Allowed] = [
        Allowed(name: "explicit null records = empty page", pagination: stList,
                serve: { _, _ in json(["hasMore": false, "data": nil]) }, count: 0),
        Allowed(name: "explicit [] = empty page", pagination: stList,
                serve: { _, _ in json(["hasMore": false, "data": []]) }, count: 0),
        Allowed(name: "records_optional: Google omits an empty list", pagination: google, records: "reviews", recordsOptional: true,
                totalPath: "totalReviewCount", serve: { _, _ in json([:]) }, count: 0),
        Allowed(name: "records_optional: QuickBooks QueryResponse {}", pagination: OffsetPagination(offsetParam: "STARTPOSITION", sizeParam: "MAXRESULTS", size: 10, start: 1),
                records: "QueryResponse.Invoice", recordsOptional: true,
                serve: { _, _ in json(["QueryResponse": [:], "time": "2025-01-01T00:00:00Z"]) }, count: 0),
        Allowed(name: "stated total met (integer)", pagination: stList, totalPath: "totalCount",
                serve: { _, q in
                    let page = Int(q["page"] ?? "") ?? 0
                    return json(["hasMore": .bool(page < 3), "totalCount": 23, "data": .array(Array(items.dropFirst((page - 1) * 10).prefix(10)))])
                }, count: 23),
        Allowed(name: "stated total met (int64 as string), null total ignored", pagination: google, records: "reviews", totalPath: "totalReviewCount",
                serve: { _, q in
                    let start = Int(q["pageToken"] ?? "0") ?? 0
                    var body = JSONObject([(key: "reviews", value: JSONValue.array(Array(items.dropFirst(start).prefix(8))))])
                    body["totalReviewCount"] = start == 0 ? .string("23") : .null
                    if start + 8 < items.count { body["nextPageToken"] = .integer(Int64(start + 8)) }
                    return json(.object(body))
                }, count: 23),
        Allowed(name: "integer continuation tokens", pagination: stExport,
                serve: { _, q in
                    let start = Int(q["from"] ?? "0") ?? 0
                    let end = min(start + 10, items.count)
                    return json(["hasMore": .bool(end < items.count), "continueFrom": .integer(Int64(end)), "data": .array(Array(items[start..<end]))])
                }, count: 23),
        Allowed(name: "last export page repeats its token (nothing new)", pagination: stExport,
                serve: { _, q in json(["hasMore": false, "continueFrom": .string(q["from"] ?? "t0"), "data": []]) }, count: 0),
    ]

    @Test(arguments: allowed)
    func aResponseWithinTheContractIsAPage(_ a: Allowed) async throws {
        let transport = ScriptedTransport(a.serve)
        let requester = Requester(transport: transport, authenticator: NoAuthentication(), retry: .immediate)
        var p = Paginator(requester: requester, request: RequestSpec(method: "GET", url: "http://x/list"), pagination: a.pagination,
                          records: JSONPath(a.records), recordsOptional: a.recordsOptional, totalPath: a.totalPath.map(JSONPath.init))
        var got: [JSONValue] = []
        while let page = try await p.next() { got += page.records }
        #expect(got.count == a.count)
        #expect(Set(got.compactMap { $0["id"] }).count == a.count, "every record once")
    }

    /// One broken answer for page 2 (a proxy's hiccup): the page is fetched again and nothing is lost or doubled.
    @Test(arguments: ["wrong shape", "token missing", "token repeated"])
    func aPageBrokenOnceIsFetchedAgain(_ how: String) async throws {
        let broken = LockedCounter()
        let transport = ScriptedTransport { _, q in
            let start = Int(q["from"] ?? "0") ?? 0
            let end = min(start + 10, items.count)
            if start == 10, broken.increment() == 1 {
                switch how {
                case "wrong shape": return Self.json(["unexpected": true])
                case "token missing": return Self.json(["hasMore": true, "data": .array(Array(items[start..<end]))])
                default: return Self.json(["hasMore": true, "continueFrom": "10", "data": .array(Array(items[start..<end]))])
                }
            }
            return Self.json(["hasMore": .bool(end < items.count), "continueFrom": .string(String(end)), "data": .array(Array(items[start..<end]))])
        }
        let pages = try await drain(transport, Self.stExport, records: "data")
        #expect(ids(pages) == Array(1...23))
        #expect(transport.requests.count == 4)
    }
}

/// The provider's own words in errors, for each provider's error body shape.
@Suite struct ProviderErrorDetailTests {
    @Test(arguments: [
        ("ServiceTitan 401 (RFC 7807, errors map)",
         #"{"type":"https://tools.ietf.org/html/rfc7235#section-3.1","title":"Unauthorized","status":401,"traceId":"00-4bf92f","errors":{"ST-App-Key":["ST-App-Key header missing or invalid"]}}"#,
         "Unauthorized (ST-App-Key: ST-App-Key header missing or invalid)"),
        ("RFC 7807 title + detail", #"{"type":"about:blank","title":"Not Found","status":404,"detail":"Job 42 was not found."}"#,
         "Not Found: Job 42 was not found."),
        ("RFC 7807 validation, unnamed field", #"{"title":"One or more validation errors occurred.","status":400,"errors":{"":["Rate limit is exceeded."]}}"#,
         "One or more validation errors occurred. (Rate limit is exceeded.)"),
        ("Google", #"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#,
         "The caller does not have permission (PERMISSION_DENIED)"),
        ("Google field violations",
         #"{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"read_mask","description":"Field is required"}]}]}}"#,
         "Request contains an invalid argument. (INVALID_ARGUMENT) — read_mask: Field is required"),
        ("Intuit Fault",
         #"{"Fault":{"Error":[{"Message":"Object Not Found","Detail":"Something you're trying to use has been made inactive.","code":"610","element":""}],"type":"ValidationFault"},"time":"2025-01-01T10:00:00.000-08:00"}"#,
         "Object Not Found: Something you're trying to use has been made inactive. (code 610)"),
        ("Intuit 401, lowercase keys",
         #"{"fault":{"error":[{"message":"message=AuthenticationFailed; errorCode=003200; statusCode=401","detail":"Token expired: 1234","code":"3200"}],"type":"AUTHENTICATION"},"time":"2025-01-01T10:00:00.000-08:00"}"#,
         "message=AuthenticationFailed; errorCode=003200; statusCode=401: Token expired: 1234 (code 3200)"),
        ("Yelp", #"{"error":{"code":"TOKEN_INVALID","description":"Invalid access token or authorization header."}}"#,
         "Invalid access token or authorization header. (TOKEN_INVALID)"),
        ("OAuth", #"{"error":"invalid_client","error_description":"Client authentication failed."}"#, "invalid_client: Client authentication failed."),
        ("SerpApi", #"{"error":"Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"}"#,
         "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"),
        ("plain text", "ST-App-Key header missing or invalid\n", "ST-App-Key header missing or invalid"),
        ("HTML", "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "an HTML page ('502 Bad Gateway')"),
    ])
    func theProvidersDetailIsShown(name: String, body: String, expected: String) {
        #expect(ProviderErrorDetail.summary(Array(body.utf8)) == expected, "\(name)")
    }

    @Test func longDetailsAreCapped() {
        let body = #"{"title":"Bad","detail":""# + String(repeating: "x", count: 5_000) + #""}"#
        let s = ProviderErrorDetail.summary(Array(body.utf8))
        #expect(s.count == ProviderErrorDetail.maxLength)
        #expect(s.hasSuffix("…"))
    }

    @Test func aFetchErrorCarriesTheDetail() async throws {
        let transport = ScriptedTransport { _, _ in
            ScriptedTransport.json(["title": "Unauthorized", "status": 401, "errors": ["ST-App-Key": ["ST-App-Key header missing or invalid"]]], status: 401)
        }
        let requester = Requester(transport: transport, authenticator: NoAuthentication(), retry: .immediate)
        do {
            _ = try await requester.fetchJSON(HTTPRequestData(url: "http://x/jpm/v2/tenant/1/export/jobs?from=abc"))
            Issue.record("expected a 401")
        } catch {
            #expect("\(error)" == "HTTP 401 from http://x/jpm/v2/tenant/1/export/jobs: Unauthorized (ST-App-Key: ST-App-Key header missing or invalid)")
        }
    }

    @Test func theTokenEndpointsDetailIsShown() async throws {
        let transport = ScriptedTransport { _, _ in
            ScriptedTransport.json(["error": "invalid_client", "error_description": "Client authentication failed."], status: 401)
        }
        let auth = OAuth2ClientCredentials(
            client: OAuthClient(tokenURL: "http://x/connect/token", clientId: "id", clientSecret: "VERY-SECRET", style: .form),
            transport: transport, retry: .immediate)
        var request = HTTPRequestData(url: "http://x/api")
        do {
            try await auth.authorize(&request)
            Issue.record("expected a token error")
        } catch {
            #expect("\(error)" == "token endpoint answered HTTP 401: invalid_client: Client authentication failed.")
            #expect(!"\(error)".contains("VERY-SECRET"))
        }
    }
}
