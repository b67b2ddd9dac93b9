import Foundation
import Metrics
import TradeSyncCore

/// The metric names the engine records with swift-metrics, where things happen: a run's end
/// (`SyncRunner.run`), a stream's end (`SyncRunner.syncStreams`), a webhook delivery
/// (`WebhookReceiver`). The process's backend (`ServerMetrics.bootstrap` in `serve`/`worker`)
/// exports them; without one they cost nothing. Every name and label is in docs/operations.md.
public enum EngineMetrics {
    /// Counter, labels `provider`, `status` (`success`, `partial`, `failed`, `deferred`), `sync_type`.
    public static let runs = "tradesync_runs_total"
    /// Counter, labels `provider`, `entity`, `outcome` (`inserted`, `updated`, `unchanged`, `failed`).
    public static let records = "tradesync_records_total"
    /// Timer (a Prometheus histogram in seconds), labels `provider`, `status`.
    public static let runDuration = "tradesync_run_duration_seconds"
    /// Counter, labels `provider`, `outcome` (`stored`, `unchanged`, `failed_mapping`,
    /// `bad_signature`, `unknown_connection`, `malformed`, `too_large`, `error`).
    public static let webhookDeliveries = "tradesync_webhook_deliveries_total"

    /// Buckets of the run-duration histogram, in seconds: runs take from under a second
    /// (a webhook, an unchanged incremental) to many minutes (a first full sync).
    public static let runDurationBuckets: [Double] = [0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600]

    /// A finished run (not a dry run, which changes nothing).
    static func run(_ result: RunResult, syncType: String) {
        let provider = result.integration
        Counter(label: runs, dimensions: [("provider", provider), ("status", result.status.rawValue),
                                          ("sync_type", syncType)]).increment()
        Timer(label: runDuration, dimensions: [("provider", provider), ("status", result.status.rawValue)],
              preferredDisplayUnit: .seconds)
            .recordNanoseconds(max(0, result.durationMs) * 1_000_000)
    }

    /// A finished stream's record counts.
    static func records(_ stream: StreamResult, provider: String) {
        for (outcome, count) in [("inserted", stream.inserted), ("updated", stream.updated),
                                 ("unchanged", stream.unchanged), ("failed", stream.failed)] {
            Counter(label: records, dimensions: [("provider", provider), ("entity", stream.entity), ("outcome", outcome)])
                .increment(by: count)
        }
    }

    static func webhook(provider: String, outcome: String) {
        Counter(label: webhookDeliveries, dimensions: [("provider", provider), ("outcome", outcome)]).increment()
    }
}
