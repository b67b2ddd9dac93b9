import Logging
import Foundation
import Hummingbird
import Testing
import TradeSyncCore
@testable import TradeSyncSources

/// A listing paged by `Link` headers, served over real HTTP on loopback in the shapes GitHub
/// and Shopify use, plus broken ones. 23 items; `per_page`/`limit` sets the page size.
final class LinkHeaderServer: @unchecked Sendable {
    private var task: Task<Void, Never>?
    private(set) var port = 0
    static let items = (1...23).map { #"{"id":\#($0)}"# }

    static func page(_ start: Int, _ size: Int) -> String {
        "[" + items.dropFirst(start).prefix(size).joined(separator: ",") + "]"
    }

    static func json(_ text: String, links: [String]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let name = HTTPFields.Element.Name("Link") { for link in links { headers.append(HTTPFields.Element(name: name, value: link)) } }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    func start() async throws {
        let router = Router()
        // GitHub: absolute URLs, page + per_page, next/last/first/prev in one header.
        router.get("gh/issues") { request, _ -> Response in
            let q = request.uri.queryParameters
            let page = q["page"].flatMap { Int($0) } ?? 1
            let size = q["per_page"].flatMap { Int($0) } ?? 30
            let base = "http://127.0.0.1:\(self.port)/gh/issues?per_page=\(size)"
            let last = (Self.items.count + size - 1) / size
            var rels = [#"<\#(base)&page=1>; rel="first""#, #"<\#(base)&page=\#(last)>; rel="last""#]
            if page > 1 { rels.append(#"<\#(base)&page=\#(page - 1)>; rel="prev""#) }
            if page < last { rels.insert(#"<\#(base)&page=\#(page + 1)>; rel="next""#, at: 0) }
            return Self.json(Self.page((page - 1) * size, size), links: [rels.joined(separator: ", ")])
        }
        // Shopify: an opaque page_info cursor, a relative target, unquoted rel, a comma in the URL.
        router.get("shop/orders.json") { request, _ -> Response in
            let q = request.uri.queryParameters
            let start = q["page_info"].flatMap { Int($0.dropFirst(2)) } ?? 0
            let size = q["limit"].flatMap { Int($0) } ?? 50
            var links: [String] = []
            if start > 0 { links.append("</shop/orders.json?limit=\(size)&page_info=pi\(max(0, start - size))&fields=id,name>; rel=previous") }
            if start + size < Self.items.count {
                links.append("</shop/orders.json?limit=\(size)&page_info=pi\(start + size)&fields=id,name>; rel=next")
            }
            return Self.json(#"{"orders":\#(Self.page(start, size))}"#, links: links)
        }
        // The next link in a second Link header line, with a second rel in one value.
        router.get("split/items") { request, _ -> Response in
            let page = request.uri.queryParameters["p"].flatMap { Int($0) } ?? 0
            let next = page < 4 ? [#"<http://127.0.0.1:\#(self.port)/split/items?p=\#(page + 1)>; rel="next nofollow""#] : []
            return Self.json(Self.page(page * 5, 5), links: [#"<http://127.0.0.1:\#(self.port)/split/items>; rel="first""#] + next)
        }
        // A provider that links page 2 back to itself.
        router.get("loop/items") { request, _ -> Response in
            let page = request.uri.queryParameters["p"].flatMap { Int($0) } ?? 1
            return Self.json(Self.page((page - 1) * 5, 5), links: [#"<http://127.0.0.1:\#(self.port)/loop/items?p=2>; rel="next""#])
        }
        // A next link to another host: following it would hand it our credentials.
        router.get("cross/items") { _, _ -> Response in
            Self.json(Self.page(0, 5), links: [#"<http://evil.example:\#(self.port)/cross/items?p=2>; rel="next""#])
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var app = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            })
        app.logger.logLevel = .critical
        let application = app
        task = Task {
            try? await application.run()
            continuation.finish()
        }
        var iterator = ports.makeAsyncIterator()
        port = try #require(await iterator.next())
    }

    func stop() { task?.cancel() }
}

@Suite(.serialized) struct LinkHeaderPaginationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var path: String
        var strategy: LinkHeaderPagination
        var records: String
        /// Requests expected, or the failure expected.
        var requests: Int?
        var error: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "GitHub: absolute next among first/last/prev", path: "gh/issues",
             strategy: LinkHeaderPagination(sizeParam: "per_page", size: 5), records: "", requests: 5),
        Case(name: "Shopify: relative target, unquoted rel, comma in the URL", path: "shop/orders.json",
             strategy: LinkHeaderPagination(sizeParam: "limit", size: 10), records: "orders", requests: 3),
        Case(name: "next in a second Link header, among two rels", path: "split/items",
             strategy: LinkHeaderPagination(), records: "", requests: 5),
        Case(name: "a link back to a page already fetched is a loop", path: "loop/items",
             strategy: LinkHeaderPagination(), records: "", error: "repeated page token"),
        Case(name: "a link to another origin is refused", path: "cross/items",
             strategy: LinkHeaderPagination(), records: "", error: "credentials are not sent to another origin"),
    ]

    @Test(arguments: cases)
    func pagesFollowTheLinkHeader(_ c: Case) async throws {
        let server = LinkHeaderServer()
        try await server.start()
        defer { server.stop() }
        let transport = AsyncHTTPTransport()
        let requester = Requester(transport: transport, authenticator: NoAuthentication(), retry: .immediate)
        var paginator = Paginator(requester: requester, request: RequestSpec(method: "GET", url: "http://127.0.0.1:\(server.port)/\(c.path)"),
                                  pagination: c.strategy, records: JSONPath(c.records))
        var pages: [Page] = []
        do {
            while let page = try await paginator.next() { pages.append(page) }
            await transport.shutdown()
        } catch {
            await transport.shutdown()
            let expected = try #require(c.error, "unexpected failure: \(error)")
            #expect("\(error)".contains(expected), "\(error)")
            return
        }
        #expect(c.error == nil, "expected a failure")
        #expect(pages.count == c.requests)
        #expect(ids(pages) == Array(1...23), "each id exactly once, in order")
    }

    @Test func linkValuesAreSplitOutsideAngleBrackets() {
        let links = LinkHeaderPagination.links(#"<https://x.test/a?f=id,name&p=2>; rel="next last", <https://x.test/a?p=1>;rel=prev; title="a, b""#)
        #expect(links.map(\.target) == ["https://x.test/a?f=id,name&p=2", "https://x.test/a?p=1"])
        #expect(links.map(\.rels) == [["next", "last"], ["prev"]])
        #expect(LinkHeaderPagination.resolve("/b?p=2", against: "http://h:1/a/c?x=1") == "http://h:1/b?p=2")
        #expect(LinkHeaderPagination.resolve("d?p=2", against: "http://h:1/a/c?x=1") == "http://h:1/a/d?p=2")
    }
}

/// Strategies decode their own keys from Core's config tree: no YAML library involved.
@Suite struct PaginationDecodingTests {
    static func paginate(_ pairs: [(String, ConfigTree.Scalar.Resolved, String)]) -> (Pagination?, [String]) {
        var line = 0
        func scalar(_ text: String, _ resolved: ConfigTree.Scalar.Resolved, column: Int) -> ConfigTree {
            .scalar(ConfigTree.Scalar(text, resolved: resolved, mark: ConfigTree.Mark(line: line, column: column)))
        }
        let mapping = ConfigTree.Mapping(pairs.map { key, resolved, value in
            line += 1
            return (key: scalar(key, .text, column: 3), value: scalar(value, resolved, column: 5 + key.count))
        }, mark: ConfigTree.Mark(line: 1, column: 3))
        let sink = DiagnosticSink()
        let p = Pagination.decode(ConfigNode(node: .mapping(mapping), path: ["paginate"], file: "x.yaml", sink: sink))
        return (p, sink.diagnostics.map(\.description))
    }

    @Test func linkHeaderReadsOnlyItsOwnKeys() throws {
        let (p, messages) = Self.paginate([("kind", .text, "link_header"), ("size_param", .text, "per_page"),
                                           ("page_size", .int(100), "100"), ("max_page_size", .int(100), "100"),
                                           ("next_url", .text, "next")])
        let s = try #require(p?.strategy as? LinkHeaderPagination)
        #expect(s.size == 100 && s.sizeParam == "per_page" && s.rel == "next")
        #expect(messages == ["x.yaml:5:3: error: paginate.next_url: unknown key (expected one of: kind, size_param, page_size, max_page_size, rel, total_path)"])
    }

    @Test func aKeyOfAnotherKindIsUnknown() {
        let (_, messages) = Self.paginate([("kind", .text, "none"), ("page_size", .int(5), "5")])
        #expect(messages == ["x.yaml:2:3: error: paginate.page_size: unknown key (expected one of: kind, total_path)"])
    }

    @Test func anUnknownKindIsReportedOnceWithASuggestion() {
        let (p, messages) = Self.paginate([("kind", .text, "link_headers"), ("rel", .text, "next")])
        #expect(p == nil)
        #expect(messages == ["x.yaml:1:9: error: paginate.kind: unknown value 'link_headers'; did you mean 'link_header'?"])
    }

    @Test func everyKindIsRegisteredOnce() {
        let kinds = Pagination.strategies.flatMap { $0.kinds }
        #expect(Set(kinds).count == kinds.count)
        #expect(kinds.contains("link_header"))
    }
}
