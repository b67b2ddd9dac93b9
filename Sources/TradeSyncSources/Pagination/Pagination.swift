public import TradeSyncCore

/// A stream's `paginate:` block: the registry of strategies, and the keys every kind shares.
public struct Pagination: Sendable, ConfigDecodable {
    /// Every pagination strategy, once. Adding one is a new file and a line here.
    public static let strategies: [any PaginationStrategy.Type] = [
        NoPagination.self,
        PageNumberPagination.self,
        OffsetPagination.self,
        PageTokenPagination.self,
        GraphQLRelayPagination.self,
        LinkHeaderPagination.self,
        QueryLanguagePagination.self,
    ]

    /// The `kind` as written (`continuation_token` and `page_token` share a strategy).
    public var kind: String
    public var strategy: any PaginationStrategy
    /// Where a response states the listing's total record count (`totalCount`,
    /// `totalReviewCount`): receiving fewer records fails the stream.
    public var totalPath: String?

    public init(kind: String? = nil, _ strategy: any PaginationStrategy, totalPath: String? = nil) {
        self.kind = kind ?? type(of: strategy).kind
        self.strategy = strategy
        self.totalPath = totalPath
    }

    public static let none = Pagination(NoPagination())

    public static func decode(_ node: ConfigNode) -> Pagination? {
        guard let o = node.object() else { return nil }
        guard let kindNode = o.child("kind") else {
            o.missing("kind")
            o.skipRest()
            return nil
        }
        guard let kind = String.decode(kindNode) else {
            o.skipRest()
            return nil
        }
        guard let type = strategies.first(where: { $0.kinds.contains(kind) }) else {
            let names = strategies.flatMap { $0.kinds }
            if let s = closestMatch(to: kind, in: names) {
                kindNode.error("unknown value '\(kind)'; did you mean '\(s)'?")
            } else {
                kindNode.error("unknown value '\(kind)' (expected one of: \(names.joined(separator: ", ")))")
            }
            o.skipRest()
            return nil
        }
        let strategy = type.decodeAny(o, kind: kind)
        let totalPath: String? = o.optional("total_path")
        o.finish()
        guard let strategy else { return nil }
        return Pagination(kind: kind, strategy, totalPath: totalPath)
    }
}
