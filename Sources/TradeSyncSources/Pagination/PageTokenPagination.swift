public import TradeSyncCore

/// A token from the response sent back as a parameter (Google `nextPageToken`). Without a
/// has-more flag an absent token marks the last page. As `continuation_token` (ServiceTitan
/// exports) the last token is also the stream's incremental cursor.
public struct PageTokenPagination: PaginationStrategy {
    public static let kinds = ["page_token", "continuation_token"]

    public var tokenParam: String
    public var tokenPath: JSONPath
    public var sizeParam: String?
    public var size: Int?
    public var hasMorePath: JSONPath?
    /// The token the next request sends; nil for the first page.
    public var token: String?

    public init(tokenParam: String = "pageToken", tokenPath: JSONPath = JSONPath("nextPageToken"), sizeParam: String? = nil,
                size: Int? = nil, hasMorePath: JSONPath? = nil) {
        self.tokenParam = tokenParam
        self.tokenPath = tokenPath
        self.sizeParam = sizeParam
        self.size = size
        self.hasMorePath = hasMorePath
    }

    public static func decode(_ o: ConfigObject, kind: String) -> PageTokenPagination? {
        let tokenParam: String = o.optional("token_param") ?? "pageToken"
        let tokenPath: String = o.optional("token_path") ?? "nextPageToken"
        let sizeParam: String? = o.optional("size_param")
        let size = PagingRead.pageSize(o)
        let hasMorePath: String? = o.optional("has_more_path")
        return PageTokenPagination(tokenParam: tokenParam, tokenPath: JSONPath(tokenPath), sizeParam: sizeParam, size: size,
                                   hasMorePath: hasMorePath.map(JSONPath.init))
    }

    public func prepare(_ request: inout PageRequest) {
        if let sizeParam, let size { request.params.append((sizeParam, String(size))) }
        if let token { request.params.append((tokenParam, token)) }
    }

    public mutating func advance(after response: PageResponse, recordCount: Int) throws -> Bool {
        let next = try PagingRead.pageToken(response.json, tokenPath)
        let more: Bool
        if let hasMorePath {
            more = try PagingRead.flag(response.json, hasMorePath)
            if more, next == nil {
                throw ContractViolation(
                    "'\(hasMorePath)' is true but there is no page token at '\(tokenPath)', so the next page cannot be requested")
            }
        } else {
            // Google's convention: the last page has no token.
            more = next != nil
        }
        // The last page's token is kept too: an export's final token is where the next run resumes.
        if let next { token = next }
        return more
    }

    public var tokenSource: String? { tokenPath.description }

    public func resuming(from token: String) -> PageTokenPagination {
        var copy = self
        copy.token = token
        return copy
    }
}
