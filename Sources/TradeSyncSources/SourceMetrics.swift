import Metrics

/// The metric names this module records (swift-metrics; the server's backend exports them as
/// Prometheus text). Listed with their labels in docs/operations.md.
public enum SourceMetrics {
    /// Counter, labels `provider`, `status` (the HTTP status, or `error` when no answer came).
    public static let providerResponses = "tradesync_provider_responses_total"
    /// Counter, labels `grant_type` (`refresh_token`, `client_credentials`, `authorization_code`),
    /// `outcome` (`success`, `refused`, `unreachable`, `error`).
    public static let tokenRefreshes = "tradesync_token_refreshes_total"

    static func tokenRequest(grantType: String, outcome: String) {
        Counter(label: tokenRefreshes, dimensions: [("grant_type", grantType), ("outcome", outcome)]).increment()
    }
}
