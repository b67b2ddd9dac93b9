public import TradeSyncCore

/// `page` + `pageSize` (ServiceTitan lists). Stops on has-more false, or, without a has-more
/// flag, on a short or empty page.
public struct PageNumberPagination: PaginationStrategy {
    public static let kinds = ["page_number"]

    public var pageParam: String
    public var sizeParam: String?
    public var size: Int?
    public var hasMorePath: JSONPath?
    /// The page the next request asks for.
    public var page: Int

    public init(pageParam: String = "page", sizeParam: String? = nil, size: Int? = nil, start: Int = 1, hasMorePath: JSONPath? = nil) {
        self.pageParam = pageParam
        self.sizeParam = sizeParam
        self.size = size
        self.page = start
        self.hasMorePath = hasMorePath
    }

    public static func decode(_ o: ConfigObject, kind: String) -> PageNumberPagination? {
        let pageParam: String = o.optional("page_param") ?? "page"
        let sizeParam: String? = o.optional("size_param")
        let size = PagingRead.pageSize(o)
        let start: Int = o.optional("start") ?? 1
        let hasMorePath: String? = o.optional("has_more_path")
        // Without a has-more flag the end is a short page, which needs a size to compare with.
        if hasMorePath == nil && sizeParam == nil { o.missing("has_more_path") }
        return PageNumberPagination(pageParam: pageParam, sizeParam: sizeParam, size: size, start: start,
                                    hasMorePath: hasMorePath.map(JSONPath.init))
    }

    public func prepare(_ request: inout PageRequest) {
        request.params.append((pageParam, String(page)))
        if let sizeParam, let size { request.params.append((sizeParam, String(size))) }
    }

    public mutating func advance(after response: PageResponse, recordCount: Int) throws -> Bool {
        let more: Bool
        if let hasMorePath {
            more = try PagingRead.flag(response.json, hasMorePath)
        } else {
            more = recordCount > 0 && (size.map { recordCount >= $0 } ?? false)
        }
        page += 1
        return more
    }

    public var pageParameter: (param: String, key: String)? { (pageParam, "page_param") }
}
