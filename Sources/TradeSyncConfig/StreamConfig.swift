import TradeSyncCore

public enum HTTPMethodName: String, ConfigEnum, Sendable {
    case GET, POST
}

public enum PaginationKind: String, ConfigEnum, Sendable {
    case none
    /// `page` + `pageSize`, stop on `hasMore: false` or a short page (ServiceTitan lists).
    case pageNumber = "page_number"
    /// An offset and a limit (QuickBooks STARTPOSITION, Yelp offset, SerpApi start).
    case offset
    /// A token from the response sent back as a parameter; absent token = last page (Google).
    case pageToken = "page_token"
    /// Like page_token, and the last token is the incremental cursor (ServiceTitan exports).
    case continuationToken = "continuation_token"
    /// GraphQL relay: `first`/`after`, `pageInfo { endCursor hasNextPage }` (Jobber).
    case graphqlRelay = "graphql_relay"
}

public enum StreamTransform: String, ConfigEnum, Sendable {
    case none
    /// Google Performance API: adds a 30-day `dailyRange` and flattens the nested time series
    /// to one record per metric and day (`{id, location, dailyMetric, date, value}`).
    case googleDailyMetrics = "google_daily_metrics"
}

public enum CursorKind: String, ConfigEnum, Sendable {
    case continuationToken = "continuation_token"
    case timestamp
}

public enum CursorFormat: String, ConfigEnum, Sendable {
    case iso8601
    case date
    case epochMillis = "epoch_millis"
}

/// One stream of a provider: how to request it, page through it, find its records and resume.
public struct StreamConfig: Sendable, ConfigDecodable {
    /// The model entity the stream fills.
    public var entity: Located<String>?
    /// `<provider>/<stream>`: the file `mappings/<provider>/<stream>.yaml`.
    public var mapping: Located<String>?
    public var description: String?
    public var request = RequestConfig()
    public var paginate = PaginateConfig()
    /// Path to the array of records in a response; empty = the response is the array.
    public var records = ""
    /// A response without the records field is an empty page, not a broken one: for APIs
    /// that omit empty lists (Google's `reviews`, QuickBooks' `QueryResponse: {}`).
    public var recordsOptional = false
    /// Path to the external id inside a record.
    public var primaryKey = "id"
    public var cursor: CursorConfig?
    public var parent: ParentConfig?
    /// Declared provider enums: value maps on these source fields must cover every value.
    public var enums = NamedMap<[String]>()
    /// Fetched only to resolve lookups (job types); not stored.
    public var lookupOnly = false
    /// A provider adapter that turns responses into records (`google_daily_metrics`).
    public var transform: StreamTransform = .none
    public var location = SourceLocation(file: "", line: 1, column: 1)
    public var keyPath = ""

    public init() {}

    public static func decode(_ node: ConfigNode) -> StreamConfig? {
        guard let o = node.object() else { return nil }
        var c = StreamConfig()
        c.location = node.location
        c.keyPath = node.keyPath
        c.lookupOnly = o.optional("lookup_only") ?? false
        c.entity = c.lookupOnly ? o.optional("entity") : o.required("entity")
        c.mapping = c.lookupOnly ? o.optional("mapping") : o.required("mapping")
        c.description = o.optional("description")
        c.request = o.required("request") ?? RequestConfig()
        c.paginate = o.optional("paginate") ?? PaginateConfig()
        c.records = o.optional("records") ?? ""
        c.recordsOptional = o.optional("records_optional") ?? false
        c.primaryKey = o.optional("primary_key") ?? "id"
        c.cursor = o.optional("cursor")
        c.parent = o.optional("parent")
        c.enums = o.optional("enums") ?? NamedMap()
        c.transform = o.optional("transform") ?? .none
        if let cursor = c.cursor, cursor.kind == .continuationToken, c.paginate.kind != .continuationToken {
            node.sink.add(Diagnostic(.error, cursor.location, keyPath: ConfigNode.render(node.path + ["cursor", "kind"]),
                                     "a continuation_token cursor needs paginate.kind: continuation_token"))
        }
        if let cursor = c.cursor, cursor.stopWhenOlder, c.paginate.kind == .none {
            node.sink.add(Diagnostic(.warning, cursor.location, keyPath: ConfigNode.render(node.path + ["cursor", "stop_when_older"]),
                                     "has no effect: the stream is one page (paginate.kind: none)"))
        }
        o.finish()
        return c
    }
}

public struct RequestConfig: Sendable, ConfigDecodable {
    public var method = HTTPMethodName.GET
    /// Relative to the connection's base URL, or absolute (`https://…`) for providers spread over hosts.
    public var path = Located("", at: SourceLocation(file: "", line: 1, column: 1), keyPath: "")
    public var params = NamedMap<String>()
    public var headers = NamedMap<String>()
    /// POST body template (GraphQL query document for Jobber).
    public var body: String?

    public init() {}

    public static func decode(_ node: ConfigNode) -> RequestConfig? {
        guard let o = node.object() else { return nil }
        var c = RequestConfig()
        c.method = o.optional("method") ?? .GET
        if let p: Located<String> = o.required("path") { c.path = p }
        c.params = o.optional("params") ?? NamedMap()
        c.headers = o.optional("headers") ?? NamedMap()
        c.body = o.optional("body")
        if c.method == .POST, c.body == nil { o.missingUnlessWritten("body") }
        o.finish()
        return c
    }
}

public struct PaginateConfig: Sendable, ConfigDecodable {
    public var kind = PaginationKind.none
    public var pageParam = "page"
    public var sizeParam: String?
    public var pageSize: Int?
    public var start: Int?
    public var offsetParam = "offset"
    public var tokenParam = "pageToken"
    public var tokenPath = "nextPageToken"
    public var hasMorePath: String?
    /// The provider's documented maximum page size.
    public var maxPageSize: Int?
    /// Where a response states the listing's total record count (`totalCount`,
    /// `totalReviewCount`): receiving fewer records fails the stream.
    public var totalPath: String?

    public init() {}

    public static func decode(_ node: ConfigNode) -> PaginateConfig? {
        guard let o = node.object() else { return nil }
        var c = PaginateConfig()
        c.kind = o.required("kind") ?? .none
        c.pageParam = o.optional("page_param") ?? "page"
        c.sizeParam = o.optional("size_param")
        let size: Located<Int>? = o.optional("page_size")
        c.pageSize = size?.value
        c.start = o.optional("start")
        c.offsetParam = o.optional("offset_param") ?? "offset"
        c.tokenParam = o.optional("token_param") ?? (c.kind == .graphqlRelay ? "after" : "pageToken")
        c.tokenPath = o.optional("token_path") ?? (c.kind == .graphqlRelay ? "pageInfo.endCursor" : "nextPageToken")
        c.hasMorePath = o.optional("has_more_path") ?? (c.kind == .graphqlRelay ? "pageInfo.hasNextPage" : nil)
        c.maxPageSize = o.optional("max_page_size")
        c.totalPath = o.optional("total_path")
        if let size {
            if size.value < 1 {
                node.sink.add(Diagnostic(.error, size.location, keyPath: size.keyPath, "must be at least 1"))
            } else if let max = c.maxPageSize, size.value > max {
                node.sink.add(Diagnostic(.error, size.location, keyPath: size.keyPath,
                                         "\(size.value) is above the provider's maximum page size \(max)"))
            }
        }
        switch c.kind {
        case .pageNumber:
            if c.hasMorePath == nil && c.sizeParam == nil { o.missing("has_more_path") }
        case .offset:
            if c.sizeParam == nil { o.missingUnlessWritten("size_param") }
        default:
            break
        }
        o.finish()
        return c
    }
}

public struct CursorConfig: Sendable, ConfigDecodable {
    public var kind = CursorKind.timestamp
    /// The request parameter that carries the cursor.
    public var param: String?
    /// timestamp: the record field whose maximum becomes the next cursor.
    public var field: String?
    public var format = CursorFormat.iso8601
    /// timestamp: for providers that can sort but not filter (Google reviews, `orderBy=updateTime
    /// desc`): the request lists records newest first, and paging stops after the first page
    /// that holds a record older than the stored cursor. The request must sort by `field`,
    /// descending; the cursor still moves only once every page the run needs is in.
    public var stopWhenOlder = false
    public var location = SourceLocation(file: "", line: 1, column: 1)

    public static func decode(_ node: ConfigNode) -> CursorConfig? {
        guard let o = node.object() else { return nil }
        var c = CursorConfig()
        c.location = node.location
        c.kind = o.required("kind") ?? .timestamp
        c.param = o.optional("param")
        c.field = o.optional("field")
        c.format = o.optional("format") ?? .iso8601
        let stop: Located<Bool>? = o.optional("stop_when_older")
        c.stopWhenOlder = stop?.value ?? false
        if c.kind == .timestamp, c.field == nil { o.missingUnlessWritten("field") }
        if let stop, stop.value {
            if c.kind != .timestamp {
                node.sink.add(Diagnostic(.error, stop.location, keyPath: stop.keyPath,
                                         "stop_when_older compares record timestamps: it needs kind: timestamp"))
            } else if c.format != .iso8601 {
                node.sink.add(Diagnostic(.error, stop.location, keyPath: stop.keyPath,
                                         "stop_when_older compares timestamps: it needs format: iso8601"))
            }
        }
        o.finish()
        return c
    }
}

/// Fan-out: one request per record of another stream.
public struct ParentConfig: Sendable, ConfigDecodable {
    public var stream: Located<String>
    /// Template variable name ← path in the parent record, used as `{parent.name}`.
    public var bind: NamedMap<String>

    public static func decode(_ node: ConfigNode) -> ParentConfig? {
        guard let o = node.object() else { return nil }
        let stream: Located<String>? = o.required("stream")
        let bind: NamedMap<String>? = o.required("bind")
        o.finish()
        guard let stream else { return nil }
        return ParentConfig(stream: stream, bind: bind ?? NamedMap())
    }
}
