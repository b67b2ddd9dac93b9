public import TradeSyncCore

/// One request, one page.
public struct NoPagination: PaginationStrategy {
    public static let kinds = ["none"]

    public init() {}

    public static func decode(_ object: ConfigObject, kind: String) -> NoPagination? { NoPagination() }

    public func prepare(_ request: inout PageRequest) {}

    public mutating func advance(after response: PageResponse, recordCount: Int) throws -> Bool { false }
}
