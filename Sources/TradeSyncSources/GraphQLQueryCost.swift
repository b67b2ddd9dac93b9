public import TradeSyncCore

/// A GraphQL API's calculated query cost (Jobber, like Shopify): every answer states what the
/// query was costed at and the leaky bucket it drew from,
/// `extensions.cost {requestedQueryCost, actualQueryCost, throttleStatus {maximumAvailable,
/// currentlyAvailable, restoreRate}}`. A query is refused (`THROTTLED`, HTTP 200) when its
/// requested cost is above what is available; the bucket refills at `restoreRate` points a second.
public struct GraphQLQueryCost: Sendable, Equatable {
    public var requested: Int
    public var maximum: Int
    public var available: Int
    public var restoreRate: Int

    public init(requested: Int, maximum: Int, available: Int, restoreRate: Int) {
        self.requested = requested
        self.maximum = maximum
        self.available = available
        self.restoreRate = restoreRate
    }

    /// Nil when the answer has no (complete) cost block.
    public init?(_ json: JSONValue) {
        guard let cost = json["extensions"]?["cost"], let status = cost["throttleStatus"] else { return nil }
        func int(_ v: JSONValue?) -> Int? {
            switch v {
            case .integer(let i)?: return Int(i)
            case .number(let text)?: return Double(text).map { Int($0) }
            default: return nil
            }
        }
        guard let requested = int(cost["requestedQueryCost"]), let maximum = int(status["maximumAvailable"]),
            let available = int(status["currentlyAvailable"]), let rate = int(status["restoreRate"]), rate > 0
        else { return nil }
        self.init(requested: requested, maximum: maximum, available: available, restoreRate: rate)
    }

    /// How long until `points` are available (rounded up to whole seconds, plus one for the
    /// provider's clock).
    public func wait(for points: Int) -> Duration {
        let missing = max(0, points - available)
        guard missing > 0 else { return .zero }
        return .seconds((missing + restoreRate - 1) / restoreRate + 1)
    }
}
