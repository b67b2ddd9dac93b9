public import TradeSyncCore

/// Pages through one stream request. Call `next()` until it returns nil.
///
/// The strategy (`PaginationStrategy`) decides what a request carries and whether a response
/// has a next page; the paginator owns what every strategy shares: finding the records, and
/// checking each page against the stream's declared contract (records list, repeated pages or
/// tokens, stated total). A page that breaks it is fetched again and, if it keeps breaking it,
/// fails the stream. A malformed page must never look like the last page, or a run reports
/// success with records missing.
public struct Paginator: Sendable {
    public let requester: Requester
    public let request: RequestSpec
    /// The strategy at the current position: it moves on as pages come in.
    public private(set) var strategy: any PaginationStrategy
    public let records: JSONPath
    /// A provider adapter that builds the records from the response, already bound to this
    /// request's fan-out context; nil when the records are a list at `records`.
    public let transform: (any RecordTransform)?
    /// A response without the records field is an empty page (Google omits empty lists,
    /// QuickBooks answers `QueryResponse: {}`). Otherwise a missing field is an error.
    public var recordsOptional = false
    /// Where the provider states how many records the whole listing has (ServiceTitan
    /// `totalCount`, Google `totalReviewCount`): fewer records received is an error.
    public var totalPath: JSONPath?
    /// Leaves a page's records unbuilt: the page carries the body and where each record lies in
    /// it (`Page.spans`), so a mapping reads only the fields it maps, straight from the bytes
    /// (`JSONFieldSet`), and `keep_raw` keeps each record as sent. The records are still checked
    /// whole when the page arrives. For records built by a transform it has no effect.
    public var recordsAsBytes = false
    var number = 0
    var finished = false
    /// Tokens sent (or about to be sent) in this pagination: one coming back means a loop.
    var seenTokens: Set<String> = []
    var received = 0
    var statedTotal: Int?
    /// Hash of the previous page's records: numbered and offset pages carry no token that
    /// could repeat, but a provider that ignores the page parameter repeats the page itself.
    var previousPage: Int?
    /// Where the requester leaves the records unbuilt (`recordsAsBytes`): a list of records
    /// found by path, not one answer (`$`) or a transform's.
    var listing: JSONPath? {
        recordsAsBytes && transform == nil && records.description != "$" ? records : nil
    }

    public init(requester: Requester, request: RequestSpec, pagination: any PaginationStrategy, records: JSONPath,
                transform: (any RecordTransform)? = nil, startToken: String? = nil, recordsOptional: Bool = false,
                totalPath: JSONPath? = nil) {
        self.requester = requester
        self.request = request
        self.strategy = startToken.map { pagination.resuming(from: $0) } ?? pagination
        self.records = records
        self.transform = transform
        self.recordsOptional = recordsOptional
        self.totalPath = totalPath
        if let startToken { seenTokens.insert(startToken) }
    }

    func buildRequest() -> HTTPRequestData {
        var page = PageRequest(baseParams: request.params)
        strategy.prepare(&page)
        let url: String
        if let given = page.url {
            url = given
        } else {
            url = RequestSpec.url(request.url, with: page.baseParams + page.params)
        }
        var r = HTTPRequestData(method: request.method, url: url, headers: request.headers)
        r.setHeader("Accept", "application/json")
        if let body = request.body {
            var payload = JSONObject()
            payload["query"] = .string(body)
            var variables = page.variables
            for v in request.variables where variables[v.name] == nil { variables[v.name] = v.value }
            payload["variables"] = .object(variables)
            r.body = Array(JSONValue.object(payload).jsonText.utf8)
            r.setHeader("Content-Type", "application/json")
        }
        return r
    }

    /// What one response says, once it has passed the contract checks.
    struct Step {
        var items: [JSONValue]
        var strategy: any PaginationStrategy
        var last: Bool
        var total: Int?
        var body: [UInt8] = []
        var spans: [Range<Int>]?
        var count: Int { spans?.count ?? items.count }
    }

    /// The next page, or nil after the last one.
    public mutating func next() async throws -> Page? {
        if finished { return nil }
        number += 1
        if let pause = strategy.pauseBeforeNext, pause > .zero { try await Task.sleep(for: pause) }
        var http = buildRequest()
        // The checks run inside the requester's retry loop, so a broken page is fetched again.
        var step: Step
        while true {
            let current = self
            do {
                step = try await requester.fetch(http, records: listing) { response in try current.interpret(response) }
                break
            } catch FetchError.queryTooCostly(let requested, let maximum, let url) {
                // A page costed above the provider's whole budget: ask for fewer records.
                guard let smaller = strategy.shrunk(requested: requested, maximum: maximum) else {
                    throw FetchError.queryTooCostly(requested: requested, maximum: maximum, url: url)
                }
                strategy = smaller
                http = buildRequest()
            }
        }
        strategy = step.strategy
        if !step.last, let token = strategy.token { seenTokens.insert(token) }
        received += step.count
        // Only a page-number/offset paginator can be served the same page again with a new
        // parameter; hashing every record of every page costs ~4% of a sync, so token and link
        // paginators (whose loops the token check catches) skip it.
        previousPage = step.count == 0 || strategy.pageParameter == nil ? nil : Self.recordsHash(step)
        if let total = step.total {
            // The smallest stated total: records deleted while we page must not fail the run.
            statedTotal = min(statedTotal ?? total, total)
        }
        if step.last, let statedTotal, let totalPath, received < statedTotal {
            // Not refetched: the shortfall is spread over pages already handed out.
            throw FetchError.contractViolation(
                url: shown(http.url),
                reason: "provider reported \(statedTotal) records at '\(totalPath)', received \(received)")
        }
        finished = step.last
        var page = Page(records: step.spans == nil ? step.items : [], nextToken: strategy.token, isLast: step.last, number: number)
        page.body = step.body
        page.spans = step.spans
        return page
    }

    /// Checks a response against the stream's contract and reads its records and paging state.
    func interpret(_ response: PageResponse) throws -> Step {
        let json = response.json
        var step = Step(items: [], strategy: strategy, last: true, total: nil)
        if let transform {
            step.items = transform.records(from: json)
        } else if let spans = response.records {
            step.body = response.body
            step.spans = spans
        } else {
            step.items = try recordList(json)
            // One answer that is the record (`$`): kept as sent too.
            if recordsAsBytes, records.description == "$", let whole = JSONListing.document(response.body) {
                step.body = response.body
                step.spans = [whole]
            }
        }
        var following = strategy
        var more = try following.advance(after: response, recordCount: step.count)
        if step.count == 0, number > 1 { more = false }
        if let (param, key) = strategy.pageParameter, step.count > 0, Self.recordsHash(step) == previousPage {
            throw ContractViolation(
                "page \(number) has the same records as page \(number - 1): the provider ignores '\(param)', so the stream would loop (check paginate.\(key))")
        }
        if more, let next = following.token, seenTokens.contains(next) {
            throw ContractViolation(
                "repeated page token '\(Self.abbreviated(next))' at '\(following.tokenSource ?? "")': the stream would loop")
        }
        step.strategy = following
        step.last = !more
        if let totalPath {
            switch json.value(at: totalPath) {
            case nil, .null?: break
            case .integer(let n)?: step.total = Int(n)
            case .string(let s)? where Int(s) != nil: step.total = Int(s)
            case let other?:
                throw ContractViolation("'\(totalPath)' is \(PagingRead.kind(other)), not a record count")
            }
        }
        return step
    }

    func recordList(_ json: JSONValue) throws -> [JSONValue] {
        // `records: $`: the answer is one record (a business's details), not a list.
        if records.description == "$" {
            guard case .object = json else { throw ContractViolation("the response is \(PagingRead.kind(json)), not a record") }
            return [json]
        }
        if records.segments.isEmpty {
            guard case .array(let a) = json else {
                throw ContractViolation("the response is \(PagingRead.kind(json)), not a list of records")
            }
            return a
        }
        switch json.value(at: records) {
        case .array(let a)?: return a
        case .null?: return []
        case nil:
            // Only the records field itself may be left out, not the object around it.
            let parent = JSONPath(records.description.split(separator: ".").dropLast().joined(separator: "."))
            if recordsOptional, case .object? = parent.segments.isEmpty ? json : json.value(at: parent) { return [] }
            throw ContractViolation("no records list at '\(records)' (the response has \(PagingRead.keys(json)))")
        case let other?:
            throw ContractViolation("'\(records)' is \(PagingRead.kind(other)), not a list of records")
        }
    }

    /// The page's records, hashed as bytes when they were left as bytes.
    static func recordsHash(_ step: Step) -> Int {
        guard let spans = step.spans else { return step.items.hashValue }
        var hasher = Hasher()
        step.body.withUnsafeBytes { body in
            for span in spans {
                hasher.combine(span.count)
                hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: body[span]))
            }
        }
        return hasher.finalize()
    }

    static func abbreviated(_ token: String) -> String {
        token.count > 24 ? token.prefix(24) + "…" : token
    }
}
