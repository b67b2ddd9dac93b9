public import TradeSyncCore

/// GraphQL relay (Jobber): `first`/`after` variables, `pageInfo { endCursor hasNextPage }`.
public struct GraphQLRelayPagination: PaginationStrategy {
    public static let kinds = ["graphql_relay"]

    public var sizeVariable: String
    public var tokenVariable: String
    public var tokenPath: JSONPath
    public var hasMorePath: JSONPath
    public var size: Int
    /// The cursor the next request sends as `after`; null for the first page.
    public var token: String?

    public init(sizeVariable: String = "first", tokenVariable: String = "after", tokenPath: JSONPath = JSONPath("pageInfo.endCursor"),
                hasMorePath: JSONPath = JSONPath("pageInfo.hasNextPage"), size: Int = 50) {
        self.sizeVariable = sizeVariable
        self.tokenVariable = tokenVariable
        self.tokenPath = tokenPath
        self.hasMorePath = hasMorePath
        self.size = size
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

    public mutating func advance(after response: PageResponse, records: [JSONValue]) throws -> Bool {
        let more = try PagingRead.flag(response.json, hasMorePath)
        let next = try PagingRead.pageToken(response.json, tokenPath)
        if more, next == nil {
            throw ContractViolation("'\(hasMorePath)' is true but '\(tokenPath)' is null, so the next page cannot be requested")
        }
        if let next { token = next }
        return more
    }

    public var tokenSource: String? { tokenPath.description }

    public func resuming(from token: String) -> GraphQLRelayPagination {
        var copy = self
        copy.token = token
        return copy
    }
}
