import Foundation
import Testing
import TradeSyncCore
@testable import TradeSyncSources

/// A provider in a box for paginator tables: answers each request from `respond`, recording
/// the requests it saw. (End-to-end paging is tested against the sandbox over real HTTP.)
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    let lock = NSLock()
    var requests: [HTTPRequestData] = []
    let respond: @Sendable (HTTPRequestData, [String: String]) -> HTTPResponseData

    init(_ respond: @escaping @Sendable (HTTPRequestData, [String: String]) -> HTTPResponseData) { self.respond = respond }

    func send(_ request: HTTPRequestData, timeout: Duration) async throws -> HTTPResponseData {
        lock.withLock { requests.append(request) }
        var query: [String: String] = [:]
        if let q = request.url.firstIndex(of: "?") {
            for pair in request.url[request.url.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                query[kv[0]] = kv.count > 1 ? kv[1] : ""
            }
        }
        return respond(request, query)
    }

    static func json(_ v: JSONValue, status: Int = 200, headers: [(name: String, value: String)] = []) -> HTTPResponseData {
        HTTPResponseData(status: status, headers: headers, body: Array(v.jsonText.utf8))
    }
}

let items: [JSONValue] = (1...23).map { ["id": .integer(Int64($0))] }

func ids(_ pages: [Page]) -> [Int64] {
    pages.flatMap(\.records).compactMap { if case .integer(let i)? = $0["id"] { return i } else { return nil } }
}

func drain(_ transport: ScriptedTransport, _ pagination: any PaginationStrategy, records: String, body: String? = nil,
           startToken: String? = nil) async throws -> [Page] {
    let requester = Requester(transport: transport, authenticator: NoAuthentication(), retry: .immediate)
    var p = Paginator(requester: requester, request: RequestSpec(method: body == nil ? "GET" : "POST", url: "http://x/list", body: body),
                      pagination: pagination, records: JSONPath(records), startToken: startToken)
    var pages: [Page] = []
    while let page = try await p.next() { pages.append(page) }
    return pages
}

@Suite struct PaginatorTable {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var pagination: any PaginationStrategy
        var records: String
        var body: String?
        var serve: @Sendable (HTTPRequestData, [String: String]) -> HTTPResponseData
        var expectedRequests: Int
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "page number + hasMore (ServiceTitan lists)",
             pagination: PageNumberPagination(pageParam: "page", sizeParam: "pageSize", size: 10, start: 1, hasMorePath: JSONPath("hasMore")),
             records: "data", serve: { _, q in
                 let page = Int(q["page"] ?? "") ?? 0, size = Int(q["pageSize"] ?? "") ?? 0
                 let slice = Array(items.dropFirst((page - 1) * size).prefix(size))
                 return ScriptedTransport.json(["page": .integer(Int64(page)), "hasMore": .bool(page * size < items.count), "data": .array(slice)])
             }, expectedRequests: 3),
        Case(name: "page number without hasMore stops on a short page",
             pagination: PageNumberPagination(pageParam: "page", sizeParam: "limit", size: 10, start: 0, hasMorePath: nil),
             records: "", serve: { _, q in
                 let page = Int(q["page"] ?? "") ?? 0
                 return ScriptedTransport.json(.array(Array(items.dropFirst(page * 10).prefix(10))))
             }, expectedRequests: 3),
        Case(name: "offset + limit (QuickBooks STARTPOSITION, Yelp offset)",
             pagination: OffsetPagination(offsetParam: "offset", sizeParam: "limit", size: 5, start: 0),
             records: "reviews", serve: { _, q in
                 let o = Int(q["offset"] ?? "") ?? 0, l = Int(q["limit"] ?? "") ?? 0
                 return ScriptedTransport.json(["reviews": .array(Array(items.dropFirst(o).prefix(l))), "total": 23])
             }, expectedRequests: 5),
        Case(name: "page token, absent on the last page (Google)",
             pagination: PageTokenPagination(tokenParam: "pageToken", tokenPath: JSONPath("nextPageToken"), sizeParam: "pageSize", size: 8, hasMorePath: nil),
             records: "reviews", serve: { _, q in
                 let start = Int(q["pageToken"].flatMap { $0.split(separator: "-").last.map(String.init) } ?? "0") ?? 0
                 var body = JSONObject([(key: "reviews", value: JSONValue.array(Array(items.dropFirst(start).prefix(8))))])
                 if start + 8 < items.count { body["nextPageToken"] = .string("tok-\(start + 8)") }
                 return ScriptedTransport.json(.object(body))
             }, expectedRequests: 3),
        Case(name: "continuation token + hasMore (ServiceTitan export)",
             pagination: PageTokenPagination(tokenParam: "from", tokenPath: JSONPath("continueFrom"), sizeParam: nil, size: nil, hasMorePath: JSONPath("hasMore")),
             records: "data", serve: { _, q in
                 let start = Int(q["from"] ?? "0") ?? 0
                 let end = min(start + 10, items.count)
                 return ScriptedTransport.json(["hasMore": .bool(end < items.count), "continueFrom": .string(String(end)),
                                                "data": .array(Array(items[start..<end]))])
             }, expectedRequests: 3),
        Case(name: "GraphQL relay (Jobber)",
             pagination: GraphQLRelayPagination(sizeVariable: "first", tokenVariable: "after", tokenPath: JSONPath("data.jobs.pageInfo.endCursor"),
                                       hasMorePath: JSONPath("data.jobs.pageInfo.hasNextPage"), size: 10),
             records: "data.jobs.nodes", body: "query($first: Int, $after: String) { jobs(first: $first, after: $after) { nodes { id } } }",
             serve: { r, _ in
                 let vars = (try? JSONValue.parse(r.body ?? []))?["variables"]
                 let start = vars?["after"]?.stringValue.flatMap { Int($0) } ?? 0
                 let first = Int(vars?["first"]?.scalarText ?? "") ?? 0
                 let end = min(start + first, items.count)
                 return ScriptedTransport.json(["data": ["jobs": ["nodes": .array(Array(items[start..<end])),
                     "pageInfo": ["endCursor": .string(String(end)), "hasNextPage": .bool(end < items.count)]]]])
             }, expectedRequests: 3),
    ]

    @Test(arguments: cases)
    func readsEveryRecordOnce(_ c: Case) async throws {
        let transport = ScriptedTransport(c.serve)
        let pages = try await drain(transport, c.pagination, records: c.records, body: c.body)
        #expect(ids(pages) == Array(1...23))
        #expect(transport.requests.count == c.expectedRequests)
        #expect(pages.last?.isLast == true)
    }

    @Test func aContinuationFeedResumesFromItsToken() async throws {
        let transport = ScriptedTransport(PaginatorTable.cases[4].serve)
        let pages = try await drain(transport, PaginatorTable.cases[4].pagination, records: "data", startToken: "20")
        #expect(ids(pages) == [21, 22, 23])
        #expect(pages.last?.nextToken == "23", "the last token is what the next run resumes from")
    }
}

@Suite struct RetryTable {
    /// Fails `failures` times in the given way, then answers.
    static func flaky(_ failures: Int, _ failure: @escaping @Sendable () -> HTTPResponseData) -> ScriptedTransport {
        let count = LockedCounter()
        return ScriptedTransport { _, _ in
            count.increment() <= failures ? failure() : ScriptedTransport.json(["data": [["id": 1]]])
        }
    }

    @Test(arguments: [
        ("429 with Retry-After", 2, 200),
        ("500", 3, 200),
        ("malformed JSON", 2, 200),
        ("500 past the attempt limit", 5, 500),
        ("404 is not retried", 1, 404),
    ])
    func retriesWhatCanBeRetried(name: String, failures: Int, outcome: Int) async throws {
        let transport = RetryTable.flaky(failures) {
            switch name {
            case "429 with Retry-After": return ScriptedTransport.json(["error": "slow down"], status: 429, headers: [("Retry-After", "0")])
            case "malformed JSON": return HTTPResponseData(status: 200, body: Array("{\"data\": [".utf8))
            case "404 is not retried": return ScriptedTransport.json(["title": "Not found"], status: 404)
            default: return ScriptedTransport.json(["error": "boom"], status: 500)
            }
        }
        let requester = Requester(transport: transport, authenticator: NoAuthentication(), retry: .immediate)
        do {
            let json = try await requester.fetchJSON(HTTPRequestData(url: "http://x/y"))
            #expect(outcome == 200)
            #expect(json["data"]?.arrayValue?.count == 1)
        } catch let error as FetchError {
            #expect(outcome != 200, "unexpected \(error)")
            if case .http(let status, _, let message) = error {
                #expect(status == outcome)
                if outcome == 404 { #expect(message == "Not found") }
            }
        }
        #expect(transport.requests.count == (outcome == 404 ? 1 : min(failures + 1, 5)))
    }

    @Test func aLongRetryAfterDefersInsteadOfSleeping() async throws {
        let transport = ScriptedTransport { _, _ in ScriptedTransport.json(["error": "quota"], status: 429, headers: [("Retry-After", "3600")]) }
        let requester = Requester(transport: transport, authenticator: NoAuthentication(), retry: .immediate)
        await #expect(throws: FetchError.self) { _ = try await requester.fetchJSON(HTTPRequestData(url: "http://x/y?api_key=SECRET")) }
        do {
            _ = try await requester.fetchJSON(HTTPRequestData(url: "http://x/y?api_key=SECRET"))
        } catch {
            #expect(!"\(error)".contains("SECRET"), "query strings (API keys) never appear in errors")
            guard case FetchError.rateLimited(let seconds, _) = error else { Issue.record("expected rateLimited"); return }
            #expect(seconds == 3600)
        }
        #expect(transport.requests.count == 2)
    }
}

final class LockedCounter: @unchecked Sendable {
    let lock = NSLock()
    var value = 0
    func increment() -> Int { lock.withLock { value += 1; return value } }
}
