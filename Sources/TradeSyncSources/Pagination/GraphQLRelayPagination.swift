public import TradeSyncCore

/// GraphQL relay (Jobber): `first`/`after` variables, `pageInfo { endCursor hasNextPage }`.
public struct GraphQLRelayPagination: PaginationStrategy {
    public static let kinds = ["graphql_relay"]

    public var sizeVariable: String
    public var tokenVariable: String
    public var tokenPath: JSONPath
    public var hasMorePath: JSONPath
    /// The page size the next request asks for: `limit` unless the provider's query-cost
    /// budget (`extensions.cost`) says less fits.
    public var size: Int
    /// The configured page size: never asked above.
    public var limit: Int
    /// The cursor the next request sends as `after`; null for the first page.
    public var token: String?
    /// Wait for the cost bucket to refill before the next request.
    public var pauseBeforeNext: Duration?

    public init(sizeVariable: String = "first", tokenVariable: String = "after", tokenPath: JSONPath = JSONPath("pageInfo.endCursor"),
                hasMorePath: JSONPath = JSONPath("pageInfo.hasNextPage"), size: Int = 50) {
        self.sizeVariable = sizeVariable
        self.tokenVariable = tokenVariable
        self.tokenPath = tokenPath
        self.hasMorePath = hasMorePath
        self.size = size
        self.limit = size
    }

    public static func decode(_ o: ConfigObject, kind: String) -> GraphQLRelayPagination? {
        let sizeVariable: String = o.optional("size_param") ?? "first"
        let size = PagingRead.pageSize(o)
        let tokenVariable: String = o.optional("token_param") ?? "after"
        let tokenPath: String = o.optional("token_path") ?? "pageInfo.endCursor"
        let hasMorePath: String = o.optional("has_more_path") ?? "pageInfo.hasNextPage"
        return GraphQLRelayPagination(sizeVariable: sizeVariable, tokenVariable: tokenVariable, tokenPath: JSONPath(tokenPath),
                                      hasMorePath: JSONPath(hasMorePath), size: size ?? 50)
    }

    public func prepare(_ request: inout PageRequest) {
        request.variables[sizeVariable] = .integer(Int64(size))
        request.variables[tokenVariable] = token.map { .string($0) } ?? .null
    }

    public mutating func advance(after response: PageResponse, recordCount: Int) throws -> Bool {
        let more = try PagingRead.flag(response.json, hasMorePath)
        let next = try PagingRead.pageToken(response.json, tokenPath)
        if more, next == nil {
            throw ContractViolation("'\(hasMorePath)' is true but '\(tokenPath)' is null, so the next page cannot be requested")
        }
        if let next { token = next }
        if let cost = GraphQLQueryCost(response.json) { budget(cost) }
        return more
    }

    /// Sizes the next page to the provider's cost budget: the cost per record is the last
    /// query's requested cost over the records it asked for (an upper bound: the query's fixed
    /// part is counted per record). The next page is as large as the whole bucket allows (at most
    /// `limit`); when less than half of that is available now, wait for the restore rate
    /// instead of sending a query that would be throttled, or a run of tiny pages.
    mutating func budget(_ cost: GraphQLQueryCost) {
        let perRecord = max(1, (cost.requested + size - 1) / max(1, size))
        let target = max(1, min(limit, cost.maximum / perRecord))
        let affordable = cost.available / perRecord
        pauseBeforeNext = nil
        if affordable >= target {
            size = target
        } else if affordable >= max(1, target / 2) {
            size = affordable
        } else {
            size = target
            pauseBeforeNext = cost.wait(for: target * perRecord)
        }
    }

    public func shrunk(requested: Int, maximum: Int) -> GraphQLRelayPagination? {
        guard size > 1 else { return nil }
        var copy = self
        // Proportionally, with a tenth to spare for the query's fixed part.
        copy.size = max(1, min(size - 1, size * maximum * 9 / (max(1, requested) * 10)))
        copy.pauseBeforeNext = nil
        return copy
    }

    public var tokenSource: String? { tokenPath.description }

    public func resuming(from token: String) -> GraphQLRelayPagination {
        var copy = self
        copy.token = token
        return copy
    }
}
