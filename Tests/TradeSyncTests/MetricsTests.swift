import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import Testing
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncServer
import TradeSyncSources

/// One sample line of the Prometheus text format: `name{label="value",…} number`.
struct PromSample: Sendable, Equatable {
    var name: String
    var labels: [String: String]
    var value: Double

    static func parse(_ text: String) -> [PromSample] {
        text.split(separator: "\n").compactMap { raw in
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#"), let space = line.lastIndex(of: " "),
                let value = Double(line[line.index(after: space)...])
            else { return nil }
            let series = String(line[..<space])
            guard let brace = series.firstIndex(of: "{") else { return PromSample(name: series, labels: [:], value: value) }
            var labels: [String: String] = [:]
            // Label values here never hold `",` or escapes (provider names, statuses, entities).
            for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)]
                .components(separatedBy: "\",") where !pair.isEmpty {
                guard let eq = pair.firstIndex(of: "=") else { continue }
                labels[String(pair[..<eq])] = String(pair[pair.index(eq, offsetBy: 2)...]).replacingOccurrences(of: "\"", with: "")
            }
            return PromSample(name: String(series[..<brace]), labels: labels, value: value)
        }
    }
}

extension Array where Element == PromSample {
    /// The sum over every series of `name` whose labels include `labels`.
    func total(_ name: String, _ labels: [String: String] = [:]) -> Double {
        filter { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
    }
}

/// What one real sync against the sandbox leaves in `/metrics`.
struct ScrapedSync: Sendable {
    var text: String
    var contentType: String?
    var results: [RunResult]
    /// Requests the sandbox served during the syncs (API and token endpoint).
    var served: Int
    var serviceTitanTokenRequests: Int
    var webhookStatus: Int

    /// Syncs ServiceTitan once and Yelp twice (the first Yelp request answered 500 once, then
    /// retried), delivers one signed Indeed application, and scrapes `/metrics`, all recorded
    /// into a registry of the test's own through the Prometheus backend.
    static func run() async throws -> ScrapedSync {
        var config = SandboxConfiguration()
        config.serviceTitan.jobs = 60
        config.serviceTitan.customers = 30
        config.serviceTitan.estimates = 20
        config.serviceTitan.invoices = 25
        config.serviceTitan.technicians = 5
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        let environment = [
            "SERVICETITAN_CLIENT_ID": config.serviceTitan.clientId, "SERVICETITAN_CLIENT_SECRET": config.serviceTitan.clientSecret,
            "SERVICETITAN_APP_KEY": config.serviceTitan.appKey, "YELP_API_KEY": config.yelp.apiKey,
            "INDEED_APPLY_SECRET": "monitoring-secret",
        ]
        do {
            let scraped = try await ServerFixture.withWorkspace(environment: environment, movedTo: sandbox.baseURL) { workspace in
                let metrics = ServerMetrics()
                let connections = try await workspace.connections()
                let st = try #require(connections.first { $0.connectionKey == "austin-servicetitan" })
                let yelp = try #require(connections.first { $0.connectionKey == "austin-yelp" })
                sandbox.inject(FaultRule(pathContains: "/yelp/", times: 1, fault: .serverError))
                let before = sandbox.requestCount
                let results = try await withMetricsFactory(metrics.factory) {
                    [try await workspace.sync(st), try await workspace.sync(yelp), try await workspace.sync(yelp)]
                }
                let served = sandbox.requestCount - before
                return try await ServerFixture.serve(workspace, metrics: metrics) { base in
                    let body = Array(IndeedApplySender.application(0).jsonText.utf8)
                    let delivered = try await ServerFixture.post(
                        base + "/webhooks/indeed/austin-indeed", body: body,
                        headers: [("X-Indeed-Signature", IndeedApplySender.signature(body, secret: "monitoring-secret"))])
                    let scrape = try await ServerFixture.get(base + "/metrics")
                    #expect(scrape.status == 200)
                    return ScrapedSync(text: scrape.body, contentType: scrape.contentType, results: results, served: served,
                                       serviceTitanTokenRequests: sandbox.tokenRequestCount(provider: "servicetitan"),
                                       webhookStatus: delivered.status)
                }
            }
            await sandbox.stop()
            return scraped
        } catch {
            await sandbox.stop()
            throw error
        }
    }
}

@Suite struct MetricsTests {
    @Test func aRealSandboxSyncShowsInMetricsWithItsCounts() async throws {
        let scraped = try await ScrapedSync.run()
        let samples = PromSample.parse(scraped.text)
        #expect(scraped.contentType?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(scraped.results.allSatisfy { $0.status == .success }, "\(scraped.results.map(\.error))")

        // Runs by status.
        #expect(samples.total("tradesync_runs_total", ["provider": "servicetitan", "status": "success", "sync_type": "manual"]) == 1)
        #expect(samples.total("tradesync_runs_total", ["provider": "yelp", "status": "success"]) == 2)
        #expect(samples.total("tradesync_runs_total", ["provider": "indeed", "sync_type": "webhook", "status": "success"]) == 1)
        #expect(samples.total("tradesync_runs_total", ["status": "failed"]) == 0)

        // Records by outcome: what the runs themselves reported, per provider, entity and outcome.
        var expected: [String: Double] = [:]
        for r in scraped.results {
            for s in r.streams {
                for (outcome, n) in [("inserted", s.inserted), ("updated", s.updated), ("unchanged", s.unchanged), ("failed", s.failed)] {
                    expected["\(r.integration)|\(s.entity)|\(outcome)", default: 0] += Double(n)
                }
            }
        }
        #expect(expected.values.reduce(0, +) > 100)
        for (key, count) in expected {
            let parts = key.split(separator: "|").map(String.init)
            #expect(samples.total("tradesync_records_total", ["provider": parts[0], "entity": parts[1], "outcome": parts[2]]) == count,
                    "\(key)")
        }
        // The second Yelp run found everything unchanged.
        #expect(samples.total("tradesync_records_total", ["provider": "yelp", "outcome": "unchanged"]) > 0)
        #expect(samples.total("tradesync_records_total", ["provider": "indeed", "entity": "applicants", "outcome": "inserted"]) == 1)

        // The run-duration histogram: one observation per run.
        #expect(samples.total("tradesync_run_duration_seconds_count", ["provider": "yelp"]) == 2)
        #expect(samples.total("tradesync_run_duration_seconds_count", ["provider": "servicetitan"]) == 1)
        #expect(samples.total("tradesync_run_duration_seconds_bucket", ["provider": "servicetitan", "le": "+Inf"]) == 1)
        #expect(samples.total("tradesync_run_duration_seconds_sum", ["provider": "servicetitan"]) > 0)

        // Provider responses by status: every request the sandbox served is one response counted,
        // either an API answer or a token request.
        #expect(samples.total("tradesync_provider_responses_total", ["provider": "yelp", "status": "500"]) == 1)
        #expect(samples.total("tradesync_provider_responses_total", ["provider": "yelp", "status": "200"]) >= 4)
        #expect(samples.total("tradesync_provider_responses_total", ["provider": "servicetitan", "status": "200"]) >= 5)
        let tokens = samples.total("tradesync_token_refreshes_total", ["grant_type": "client_credentials", "outcome": "success"])
        #expect(tokens == Double(scraped.serviceTitanTokenRequests))
        #expect(tokens >= 1)
        #expect(samples.total("tradesync_provider_responses_total") + samples.total("tradesync_token_refreshes_total")
                == Double(scraped.served))

        // The webhook delivery.
        #expect(scraped.webhookStatus == 200)
        #expect(samples.total("tradesync_webhook_deliveries_total", ["provider": "indeed", "outcome": "stored"]) == 1)

        // Every name has the prefix.
        #expect(samples.allSatisfy { $0.name.hasPrefix("tradesync_") }, "\(Set(samples.map(\.name)))")
    }

    /// The Grafana dashboard loads (JSON with panels and queries) and asks only for metrics that
    /// `/metrics` exposes after a real sync.
    @Test func theDashboardLoadsAndUsesOnlyExposedMetrics() async throws {
        let path = Repo.root + "/examples/monitoring/grafana-dashboard.json"
        let data = try #require(FileManager.default.contents(atPath: path))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        #expect(panels.count >= 8)
        var names: Set<String> = []
        let pattern = try NSRegularExpression(pattern: "tradesync_[a-z_]+")
        for panel in panels {
            #expect(panel["title"] is String)
            let targets = try #require(panel["targets"] as? [[String: Any]], "\(panel["title"] ?? "?") has no queries")
            #expect(!targets.isEmpty)
            for target in targets {
                let expr = try #require(target["expr"] as? String)
                for m in pattern.matches(in: expr, range: NSRange(expr.startIndex..., in: expr)) {
                    names.insert(String(expr[Range(m.range, in: expr)!]))
                }
            }
        }
        #expect(names.contains("tradesync_runs_total"))
        #expect(names.contains("tradesync_run_duration_seconds_bucket"))

        let exposed = Set(PromSample.parse(try await ScrapedSync.run().text).map(\.name))
        // The queue gauges are recorded by the scheduler (`serve`'s), which a sync alone does not
        // run; they are checked against the operations guide instead.
        let scheduler: Set<String> = ["tradesync_queue_depth", "tradesync_oldest_due_age_seconds"]
        let missing = names.subtracting(exposed).subtracting(scheduler)
        #expect(missing.isEmpty, "the dashboard asks for metrics /metrics does not expose: \(missing.sorted())")

        // Every metric the dashboard or /metrics names is documented.
        let guide = try String(contentsOfFile: Repo.root + "/docs/operations.md", encoding: .utf8)
        for name in names.union(exposed) {
            let base = name.replacingOccurrences(of: "_bucket", with: "").replacingOccurrences(of: "_count", with: "")
                .replacingOccurrences(of: "_sum", with: "")
            #expect(guide.contains("`\(base)`"), "docs/operations.md does not document \(base)")
        }
        let scrape = try String(contentsOfFile: Repo.root + "/examples/monitoring/prometheus.yml", encoding: .utf8)
        #expect(scrape.contains("metrics_path: /metrics"))
    }

    /// Token requests by grant and outcome, against the sandbox's Google token endpoint over HTTP:
    /// a working refresh token, then the same token revoked (`invalid_grant`: `refused`).
    @Test func tokenRefreshesAreCountedByOutcome() async throws {
        let sandbox = ProviderSandbox(configuration: SandboxConfiguration())
        try await sandbox.start(port: 0)
        let transport = AsyncHTTPTransport()
        let metrics = ServerMetrics()
        do {
            let google = sandbox.configuration.google
            let client = OAuthClient(tokenURL: sandbox.baseURL + "/google/token", clientId: google.clientId,
                                     clientSecret: google.clientSecret, style: .form)
            let token = sandbox.issueGoogleRefreshToken()
            var retry = RetryPolicy()
            retry.baseDelay = .milliseconds(1)
            retry.maxDelay = .milliseconds(5)
            try await withMetricsFactory(metrics.factory) {
                let grant = [("grant_type", "refresh_token"), ("refresh_token", token)]
                _ = try await client.requestToken(grant, transport: transport, retry: retry)
                _ = try await client.requestToken(grant, transport: transport, retry: retry)
                sandbox.revokeGoogleRefreshToken(token)
                await #expect(throws: AuthError.self) { try await client.requestToken(grant, transport: transport, retry: retry) }
            }
            let samples = PromSample.parse(metrics.text())
            #expect(samples.total("tradesync_token_refreshes_total", ["grant_type": "refresh_token", "outcome": "success"]) == 2)
            #expect(samples.total("tradesync_token_refreshes_total", ["grant_type": "refresh_token", "outcome": "refused"]) == 1)
            #expect(samples.total("tradesync_token_refreshes_total") == 3)
        } catch {
            await transport.shutdown()
            await sandbox.stop()
            throw error
        }
        await transport.shutdown()
        await sandbox.stop()
    }

    @Test func healthAnswersAndReadyNeedsAMigratedStore() async throws {
        try await ServerFixture.withWorkspace(environment: [:], migrated: false) { workspace in
            try await ServerFixture.serve(workspace, metrics: ServerMetrics()) { base in
                let health = try await ServerFixture.get(base + "/health")
                #expect(health.status == 200 && health.body == "ok\n")
                let ready = try await ServerFixture.get(base + "/ready")
                #expect(ready.status == 503, "\(ready.body)")
                #expect(ready.body.contains("not migrated") || ready.body.contains("store unreachable"))
            }
            _ = try await workspace.migrate()
            try await ServerFixture.serve(workspace, metrics: ServerMetrics()) { base in
                let ready = try await ServerFixture.get(base + "/ready")
                #expect(ready.status == 200 && ready.body == "ready\n")
            }
        }
    }

    /// `serve` and `worker` bootstrap the process's backend once; a second call (another
    /// command in the same process, a test) gets the same one instead of swift-metrics' crash.
    @Test func bootstrapInstallsOneBackendPerProcess() {
        let first = ServerMetrics.bootstrap()
        let second = ServerMetrics.bootstrap()
        #expect(first.registry === second.registry)
        #expect(ServerMetrics.bootstrapped?.registry === first.registry)
        // Outside any task-local factory, the Metrics API records into the bootstrapped registry.
        Counter(label: "tradesync_bootstrap_probe_total", dimensions: [("test", "bootstrap")]).increment(by: 3)
        #expect(PromSample.parse(first.text()).total("tradesync_bootstrap_probe_total", ["test": "bootstrap"]) == 3)
    }

    /// Every log line of a run carries its `run_id` (and the connection), including the retry
    /// warnings of the transport and the debug line at the end.
    @Test func aRunsLogLinesCarryItsRunId() async throws {
        let sandbox = ProviderSandbox(configuration: {
            var c = SandboxConfiguration()
            c.yelp.competitors = 1
            return c
        }())
        try await sandbox.start(port: 0)
        let capture = LogCapture()
        var logger = Logger(label: "tradesync.test.capture") { _ in capture.handler }
        logger.logLevel = .trace
        do {
            try await ServerFixture.withWorkspace(environment: ["YELP_API_KEY": sandbox.configuration.yelp.apiKey],
                                                  movedTo: sandbox.baseURL, logger: logger) { workspace in
                let yelp = try #require(try await workspace.connections().first { $0.connectionKey == "austin-yelp" })
                sandbox.inject(FaultRule(pathContains: "/yelp/", times: 1, fault: .serverError))
                let result = try await workspace.sync(yelp)
                let runId = try #require(result.runId)
                let lines = capture.lines
                #expect(lines.contains { $0.message == "retrying" }, "\(lines.map(\.message))")
                #expect(lines.contains { $0.message == "run finished" })
                for line in lines {
                    #expect(line.metadata["run_id"] == runId, "'\(line.message)' has no run_id")
                    #expect(line.metadata["connection"] == "austin-yelp")
                }
            }
        } catch {
            await sandbox.stop()
            throw error
        }
        await sandbox.stop()
    }
}

/// Keeps what loggers made from it were given (metadata flattened to text). The handler is a
/// value, as swift-log expects, so each logger's metadata stays its own; the lines are shared.
final class LogCapture: @unchecked Sendable {
    struct Line: Sendable {
        var message: String
        var metadata: [String: String]
    }

    private let lock = NSLock()
    private var kept: [Line] = []

    var lines: [Line] {
        lock.lock()
        defer { lock.unlock() }
        return kept
    }

    func append(_ line: Line) {
        lock.lock()
        kept.append(line)
        lock.unlock()
    }

    var handler: Handler { Handler(capture: self) }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all: [String: String] = [:]
            for (k, v) in metadata { all[k] = "\(v)" }
            for (k, v) in event.metadata ?? [:] { all[k] = "\(v)" }
            capture.append(Line(message: "\(event.message)", metadata: all))
        }
    }
}
