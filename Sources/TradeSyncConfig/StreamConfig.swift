public import TradeSyncCore
public import TradeSyncSources

public enum HTTPMethodName: String, ConfigEnum, Sendable {
    case GET, POST
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
    /// How the stream pages: one of `Pagination.strategies`, decoded by the strategy itself.
    public var paginate = Pagination.none
    /// Path to the array of records in a response; empty = the response is the array.
    public var records = ""
    /// A response without the records field is an empty page, not a broken one: for APIs
    /// that omit empty lists (Google's `reviews`, QuickBooks' `QueryResponse: {}`).
    public var recordsOptional = false
    /// Path to the external id inside a record.
    public var primaryKey = "id"
    public var cursor: CursorConfig?
    public var parent: ParentConfig?
    /// One pass per element of a list-valued connection field (`fan_out`).
    public var fanOut: FanOutConfig?
    /// Requests left, read before the stream spends any (`budget`).
    public var budget: BudgetConfig?
    /// Where the stream's deletions come from and the share of its rows a run may delete (`deletes`).
    public var deletes: DeletesConfig?
    /// Declared provider enums: value maps on these source fields must cover every value.
    public var enums = NamedMap<[String]>()
    /// Fetched only to resolve lookups (job types); not stored.
    public var lookupOnly = false
    /// A provider adapter that turns responses into records (`google_daily_metrics`).
    public var transform: Transform?
    /// Keep each record's last raw payload, compressed (`keep_raw`, on by default): what lets
    /// `plan` show a mapping change's effect on the data and `apply` re-map without refetching.
    public var keepRaw = true
    /// How often the stream syncs by default (`frequency`), when not at the connection's
    /// frequency: the integration's default for this stream; a deployment may override it.
    public var frequency: SyncFrequency?
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
        let paginate: Pagination? = o.optional("paginate")
        c.paginate = paginate ?? .none
        // A paginate block that did not decode is reported; checks against its kind would only add noise.
        let paginateKnown = paginate != nil || o.child("paginate") == nil
        c.records = o.optional("records") ?? ""
        c.recordsOptional = o.optional("records_optional") ?? false
        c.primaryKey = o.optional("primary_key") ?? "id"
        c.cursor = o.optional("cursor")
        c.parent = o.optional("parent")
        c.fanOut = o.optional("fan_out")
        c.budget = o.optional("budget")
        c.deletes = o.optional("deletes")
        c.enums = o.optional("enums") ?? NamedMap()
        c.transform = o.optional("transform")
        let keepRaw: Located<Bool>? = o.optional("keep_raw")
        c.keepRaw = keepRaw?.value ?? true
        c.frequency = o.optional("frequency", as: FrequencyValue.self)?.value
        if let cursor = c.cursor, cursor.kind == .continuationToken, paginateKnown,
           c.paginate.kind != "continuation_token" {
            node.sink.add(Diagnostic(.error, cursor.location, keyPath: ConfigNode.render(node.path + ["cursor", "kind"]),
                                     "a continuation_token cursor needs paginate.kind: continuation_token"))
        }
        if let cursor = c.cursor, cursor.stopWhenOlder, paginateKnown, c.paginate.kind == NoPagination.kind {
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
