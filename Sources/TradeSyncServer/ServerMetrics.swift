import Foundation
public import Metrics
public import Prometheus
import TradeSyncEngine

/// The process's metrics backend: swift-prometheus behind the swift-metrics API, so the counters
/// the engine and the sources record where things happen (`EngineMetrics`, `SourceMetrics`, the
/// scheduler's queue gauges) come out of `GET /metrics` as Prometheus text.
///
/// `MetricsSystem.bootstrap` may run once per process, so `serve` and `worker` call
/// `ServerMetrics.bootstrap()`, which installs one backend and answers the same one to every
/// later call. Tests do not bootstrap: they make their own `ServerMetrics()`, record into it with
/// `withMetricsFactory(metrics.factory) { … }` (a task-local factory that every metric created
/// inside the task uses) and hand it to the router, so parallel tests never share counts.
public struct ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        // A run lasts from milliseconds (a webhook) to an hour (a first full sync): the default
        // buckets stop at 10 s.
        factory.durationHistogramBuckets[EngineMetrics.runDuration] = EngineMetrics.runDurationBuckets.map {
            Duration.milliseconds(Int64(($0 * 1000).rounded()))
        }
        self.factory = factory
    }

    /// The registry's metrics in the Prometheus text exposition format.
    public func text() -> String { registry.emitToString() }

    /// The content type Prometheus expects for `text()`.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Installs the process's backend once and returns it; later calls return the same one.
    @discardableResult
    public static func bootstrap() -> ServerMetrics {
        installed.withLock { current in
            if let current { return current }
            let metrics = ServerMetrics()
            MetricsSystem.bootstrap(metrics.factory)
            current = metrics
            return metrics
        }
    }

    /// The backend `bootstrap()` installed, if it ran.
    public static var bootstrapped: ServerMetrics? { installed.withLock { $0 } }

    private static let installed = LockedSlot<ServerMetrics?>(nil)
}

/// A value behind a lock (Synchronization's Mutex needs macOS 15; the package supports 14).
final class LockedSlot<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
