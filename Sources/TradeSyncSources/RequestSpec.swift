import Foundation
public import TradeSyncCore

/// A stream's request with every template already rendered.
public struct RequestSpec: Sendable {
    public var method: String
    /// Absolute URL; may already carry a query string.
    public var url: String
    public var params: [(name: String, value: String)]
    public var headers: [(name: String, value: String)]
    /// GraphQL document (POST); page variables are sent in `variables`.
    public var body: String?
    /// GraphQL variables of the stream itself (the incremental cursor, `$updatedSince`), sent
    /// beside the page variables: a GraphQL API reads no query string.
    public var variables: [(name: String, value: JSONValue)] = []

    public init(method: String, url: String, params: [(name: String, value: String)] = [],
                headers: [(name: String, value: String)] = [], body: String? = nil) {
        self.method = method
        self.url = url
        self.params = params
        self.headers = headers
        self.body = body
    }

    /// `url` with `params` appended as a query string.
    public static func url(_ url: String, with params: [(name: String, value: String)]) -> String {
        guard !params.isEmpty else { return url }
        let query = params.map { URLEncoding.encode($0.name) + "=" + URLEncoding.queryValue($0.value) }.joined(separator: "&")
        return url + (url.contains("?") ? "&" : "?") + query
    }
}

public struct Page: Sendable {
    /// The records, as the paginator built them; empty when it left them as bytes (`spans`).
    var built: [JSONValue]
    /// The token that continues after this page (continuation feeds store it as the cursor).
    public var nextToken: String?
    public var isLast: Bool
    public var number: Int
    /// The response body and, when the paginator left the records unbuilt
    /// (`Paginator.recordsAsBytes`), where each lies in it: record `i` as the provider sent it
    /// is `body[spans[i]]`.
    public var body: [UInt8] = []
    public var spans: [Range<Int>]?

    public init(records: [JSONValue], nextToken: String?, isLast: Bool, number: Int) {
        built = records
        self.nextToken = nextToken
        self.isLast = isLast
        self.number = number
    }

    public var count: Int { spans?.count ?? built.count }

    /// The records as values, built here from their bytes when the paginator left them unbuilt
    /// (the bytes were checked whole when the page arrived).
    public var records: [JSONValue] {
        guard let spans else { return built }
        return spans.map { (try? JSONValue.parse(body[$0])) ?? .null }
    }

    /// Record `i` as sent: its bytes in the body, or its value written out when the records
    /// were built by a transform.
    public func rawBytes(_ i: Int) -> ArraySlice<UInt8> {
        if let spans { return body[spans[i]] }
        return ArraySlice(built[i].jsonText.utf8)
    }
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

