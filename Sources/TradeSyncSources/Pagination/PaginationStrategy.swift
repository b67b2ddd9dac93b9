public import TradeSyncCore

/// One way of paging through a listing. Each strategy is one type in one file: its `kinds`
/// (the `paginate.kind` values it answers to), its YAML decoding (only its own keys; anything
/// else is an unknown key with a did-you-mean), what it adds to a request, and how a response
/// moves it on. A value of the type is both the configuration and the position in the listing:
/// `advance(after:recordCount:)` moves it to the next page. Strategies are listed once, in
/// `Pagination.strategies`.
///
/// Model: Airbyte's `PaginationStrategy` (a strategy sees the whole response) and Redpanda
/// Connect's one-file components.
public protocol PaginationStrategy: Sendable {
    /// `paginate.kind` values; the first is the canonical one.
    static var kinds: [String] { get }
    /// Reads this strategy's keys (`kind` and `total_path` are read by `Pagination`).
    /// Returns nil when they are unusable; the reasons are in the object's sink.
    static func decode(_ object: ConfigObject, kind: String) -> Self?
    /// Adds this page's parameters (or a whole URL) to the request for the current page.
    func prepare(_ request: inout PageRequest)
    /// Moves to the page after `response`; returns false when `response` was the last page.
    /// Throws `ContractViolation` for a response that breaks the stream's contract.
    mutating func advance(after response: PageResponse, recordCount: Int) throws -> Bool
    /// The token the next request sends (continuation feeds store it as the cursor).
    var token: String? { get }
    /// Where the token comes from, for the repeated-token message.
    var tokenSource: String? { get }
    /// Numbered strategies: the parameter a provider might ignore, and its key, for the
    /// repeated-page message. Nil for strategies whose token would repeat instead.
    var pageParameter: (param: String, key: String)? { get }
    /// The same strategy, continuing after a stored token.
    func resuming(from token: String) -> Self
    /// How long to wait before the next request (a GraphQL cost bucket refilling); nil: no wait.
    var pauseBeforeNext: Duration? { get }
    /// The same page asked with fewer records, for a query costed above the provider's whole
    /// budget (`requested` points of `maximum`); nil when it cannot shrink.
    func shrunk(requested: Int, maximum: Int) -> Self?
}

extension PaginationStrategy {
    public var token: String? { nil }
    public var tokenSource: String? { nil }
    public var pageParameter: (param: String, key: String)? { nil }
    public func resuming(from token: String) -> Self { self }
    public var pauseBeforeNext: Duration? { nil }
    public func shrunk(requested: Int, maximum: Int) -> Self? { nil }
    public static var kind: String { kinds[0] }

    /// `decode` erased to the protocol, for the registry.
    static func decodeAny(_ object: ConfigObject, kind: String) -> (any PaginationStrategy)? {
        decode(object, kind: kind)
    }
}

/// What a strategy sees of one response: status, headers, the parsed body and where it came from.
public struct PageResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var json: JSONValue
    /// The URL of the page (query string included): a `Link` target may be relative to it.
    public var url: String
    /// The body as received: the records' own bytes are kept from it (`keep_raw`).
    public var body: [UInt8]
    /// Where each record lies in `body` when the records were left unbuilt; `json` then has an
    /// empty list in their place (`JSONListing`).
    public var records: [Range<Int>]?

    public init(status: Int = 200, headers: [(name: String, value: String)] = [], json: JSONValue, url: String,
                body: [UInt8] = [], records: [Range<Int>]? = nil) {
        self.status = status
        self.headers = headers
        self.json = json
        self.url = url
        self.body = body
        self.records = records
    }

    /// Every value of a header (a response may repeat one, as `Link` often is).
    public func headers(_ name: String) -> [String] {
        let lowered = name.lowercased()
        return headers.filter { $0.name.lowercased() == lowered }.map(\.value)
    }
}

/// What a strategy adds to one page's request.
public struct PageRequest: Sendable {
    /// The stream's own query parameters. A strategy that writes paging into one of them
    /// (QuickBooks' `query`) rewrites it here; the others leave them alone.
    public var baseParams: [(name: String, value: String)] = []
    /// Query parameters, after the stream's own.
    public var params: [(name: String, value: String)] = []
    /// GraphQL variables (sent when the stream has a `body`).
    public var variables = JSONObject()
    /// A URL the provider gave for this page: sent as is, instead of the stream's URL and parameters.
    public var url: String?

    public init(baseParams: [(name: String, value: String)] = []) {
        self.baseParams = baseParams
    }
}

/// Reads shared by several strategies: the page size and the fields strategies inspect.
public enum PagingRead {
    /// `page_size` checked against the provider's documented `max_page_size`.
    public static func pageSize(_ o: ConfigObject) -> Int? {
        let size: Located<Int>? = o.optional("page_size")
        let max: Int? = o.optional("max_page_size")
        if let size {
            if size.value < 1 {
                o.node.sink.add(Diagnostic(.error, size.location, keyPath: size.keyPath, "must be at least 1"))
            } else if let max, size.value > max {
                o.node.sink.add(Diagnostic(.error, size.location, keyPath: size.keyPath,
                                           "\(size.value) is above the provider's maximum page size \(max)"))
            }
        }
        return size?.value
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
}
