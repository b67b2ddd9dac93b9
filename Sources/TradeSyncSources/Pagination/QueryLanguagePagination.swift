import Foundation
public import TradeSyncCore

/// Paging written inside a query language parameter (QuickBooks Online's `query`): the
/// provider reads STARTPOSITION (1-based) and MAXRESULTS from the SQL text and ignores URL
/// parameters of those names, answering its default 100 — which, read as a short page, would
/// end the stream with records missing. Each request rewrites the `query_param` to
///
///     <query> [WHERE|AND <order_by> >= '<cursor>'] ORDERBY <order_by> STARTPOSITION n MAXRESULTS m
///
/// The cursor arrives as a second parameter of the same name (the stream's `cursor.param`
/// names the query parameter); it is folded into the SQL as a condition, never sent as such.
/// `>=` rather than `>`: QuickBooks times have one-second resolution, so a record changed in the
/// second the cursor was taken would otherwise be skipped forever; the boundary record comes
/// back once and is counted unchanged. Stops on a short or empty page.
public struct QueryLanguagePagination: PaginationStrategy {
    public static let kinds = ["query_language"]

    /// The request parameter holding the query text.
    public var queryParam: String
    /// The field the query is ordered by (and the cursor compared with).
    public var orderBy: String
    public var size: Int
    /// The position the next request asks for.
    public var position: Int

    public init(queryParam: String = "query", orderBy: String, size: Int = 1_000, start: Int = 1) {
        self.queryParam = queryParam
        self.orderBy = orderBy
        self.size = size
        self.position = start
    }

    public static func decode(_ o: ConfigObject, kind: String) -> QueryLanguagePagination? {
        let queryParam: String = o.optional("query_param") ?? "query"
        let orderBy: String? = o.optional("order_by")
        let size = PagingRead.pageSize(o)
        let start: Int = o.optional("start") ?? 1
        if orderBy == nil { o.missing("order_by") }
        guard let orderBy else { return nil }
        return QueryLanguagePagination(queryParam: queryParam, orderBy: orderBy, size: size ?? 1_000, start: start)
    }

    public func prepare(_ request: inout PageRequest) {
        let mine = request.baseParams.filter { $0.name == queryParam }.map(\.value)
        guard let base = mine.first else { return }
        request.baseParams.removeAll { $0.name == queryParam }
        request.baseParams.append((queryParam, Self.query(base, orderBy: orderBy, since: mine.dropFirst().last,
                                                            position: position, size: size)))
    }

    /// The query text for one page. A cursor holding a quote is dropped rather than spliced
    /// into the SQL (a timestamp never holds one): the page is then a full read, not an injection.
    public static func query(_ base: String, orderBy: String, since: String?, position: Int, size: Int) -> String {
        var sql = base.trimmingCharacters(in: .whitespaces)
        if let since, !since.isEmpty, !since.contains("'"), !since.contains("\\") {
            let hasWhere = sql.range(of: " where ", options: .caseInsensitive) != nil
            sql += (hasWhere ? " AND " : " WHERE ") + "\(orderBy) >= '\(since)'"
        }
        return sql + " ORDERBY \(orderBy) STARTPOSITION \(position) MAXRESULTS \(size)"
    }

    public mutating func advance(after response: PageResponse, recordCount: Int) throws -> Bool {
        position += recordCount
        return recordCount >= size
    }

    public var pageParameter: (param: String, key: String)? { (queryParam, "query_param") }
}
