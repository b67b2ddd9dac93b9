public import TradeSyncCore

/// An offset and a limit (QuickBooks STARTPOSITION, Yelp offset, SerpApi start). Stops on a
/// short or empty page.
public struct OffsetPagination: PaginationStrategy {
    public static let kinds = ["offset"]

    public var offsetParam: String
    public var sizeParam: String
    public var size: Int
    /// The offset the next request asks for.
    public var offset: Int

    public init(offsetParam: String = "offset", sizeParam: String = "limit", size: Int = 100, start: Int = 0) {
        self.offsetParam = offsetParam
        self.sizeParam = sizeParam
        self.size = size
        self.offset = start
    }

    public static func decode(_ o: ConfigObject, kind: String) -> OffsetPagination? {
        let offsetParam: String = o.optional("offset_param") ?? "offset"
        let sizeParam: String? = o.optional("size_param")
        let size = PagingRead.pageSize(o)
        let start: Int = o.optional("start") ?? 0
        if sizeParam == nil { o.missingUnlessWritten("size_param") }
        return OffsetPagination(offsetParam: offsetParam, sizeParam: sizeParam ?? "limit", size: size ?? 100, start: start)
    }

    public func prepare(_ request: inout PageRequest) {
        request.params.append((offsetParam, String(offset)))
        request.params.append((sizeParam, String(size)))
    }

    public mutating func advance(after response: PageResponse, recordCount: Int) throws -> Bool {
        offset += recordCount
        return recordCount >= size
    }

    public var pageParameter: (param: String, key: String)? { (offsetParam, "offset_param") }
}
