public import TradeSyncCore

/// A provider that sells requests by the unit (SerpApi: one credit per search) states what is
/// left at an endpoint that costs nothing. Before a stream spends anything the engine reads it;
/// a run that needs more requests than are left ends `deferred` without spending any.
///
/// ```yaml
/// budget: { path: /account.json, remaining: total_searches_left, retry_after_seconds: 86400 }
/// ```
public struct BudgetConfig: Sendable, ConfigDecodable {
    /// Relative to the connection's base URL; authenticated like the stream.
    public var path: String
    /// Path in the answer to the number of requests left.
    public var remaining: String
    /// When a deferred run is worth retrying (the provider does not say when credits return).
    public var retryAfterSeconds: Int

    public static func decode(_ node: ConfigNode) -> BudgetConfig? {
        guard let o = node.object() else { return nil }
        let path: String? = o.required("path")
        let remaining: String? = o.required("remaining")
        let retry: Int? = o.optional("retry_after_seconds")
        o.finish()
        guard let path, let remaining else { return nil }
        return BudgetConfig(path: path, remaining: remaining, retryAfterSeconds: retry ?? 86_400)
    }
}
