import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncSources
@testable import TradeSyncStore

/// A clock the test moves by hand (µs since the epoch).
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var micros: Int64
    init(_ micros: Int64) { self.micros = micros }
    var now: Int64 { lock.withLock { micros } }
    func set(_ value: Int64) { lock.withLock { micros = value } }
    var scheduler: SchedulerClock { SchedulerClock { [self] in now } }
}

/// The scheduler and a worker over real stores and the sandbox, with the clock in the test's
/// hands: due runs run on time, a missed run runs once, failures back off then show `error`.
@Suite(.serialized) struct SchedulerTests {
    static let backends = StoreSuite.backends
    static let second: Int64 = 1_000_000

    /// Only austin-servicetitan is scheduled (the others stop syncing on their own), on a small sandbox.
    func withScheduledServiceTitan(_ backend: Backend, environment: (@Sendable (String) -> String?)? = nil,
                                   _ body: (Workspace, ConnectionRecord, ManualClock, SchedulerSettings) async throws -> Void)
        async throws
    {
        var config = SyncHarness.sandboxConfiguration(jobs: 60)
        config.serviceTitan.customers = 20
        config.serviceTitan.estimates = 10
        config.serviceTitan.invoices = 10
        try await SyncHarness.with(backend, sandbox: config) { h in
            for c in try await h.store.connections(demoId: nil) where c.id != h.serviceTitan.id {
                var off = c
                off.autoSync = false
                _ = try await h.store.upsertConnection(off)
            }
            let workspace = Workspace(
                project: h.project, deployment: nil, location: .sqlite(path: "unused"), store: h.store, transport: h.transport,
                inputs: WorkspaceInputs(environment: environment ?? h.environment),
                resolver: CredentialResolver(environment: environment ?? h.environment), sealing: .success(TestKeys.sealer))
            let clock = ManualClock(currentMicros() / 1_000_000 * 1_000_000)
            let settings = SchedulerSettings(claimSeconds: 30, backoffBaseSeconds: 60, jitter: { _ in 0 }, clock: clock.scheduler)
            try await body(workspace, h.serviceTitan, clock, settings)
        }
    }

    @Test(arguments: backends)
    func dueConnectionsRunOnTimeAndAMissedRunRunsOnce(backend: Backend) async throws {
        try await withScheduledServiceTitan(backend) { workspace, st, clock, settings in
            let scheduler = RunScheduler(workspace: workspace, settings: settings)
            let worker = RunWorker(workspace: workspace, settings: settings, name: "w1")
            let t0 = clock.now
            let tick = try await scheduler.tick()
            #expect(tick.added == 1)
            #expect(tick.due == 1)
            // Never synced: due at once.
            let first = try #require(try await worker.runNext())
            #expect(first.connectionId == st.id)
            #expect(first.outcome == "success")
            #expect(try await worker.runNext() == nil)
            let entry = try #require(try await workspace.scheduleEntries().first { $0.integrationId == st.id })
            #expect(entry.frequency == "hourly")
            #expect(entry.nextDueAtMicros == t0 + 3600 * Self.second)
            // Not before it is due; on time once it is.
            clock.set(t0 + 3599 * Self.second)
            #expect(try await worker.runNext() == nil)
            #expect(try await scheduler.tick().due == 0)
            clock.set(t0 + 3600 * Self.second)
            #expect(try await scheduler.tick().due == 1)
            #expect(try await worker.runNext()?.outcome == "success")
            // Ten hours of downtime: one run, then the next is an hour after it.
            let late = t0 + 3600 * 11 * Self.second
            clock.set(late)
            let missed = try await scheduler.tick()
            #expect(missed.due == 1)
            #expect(missed.oldestDueAgeSeconds == 9 * 3600)
            #expect(try await worker.runNext()?.outcome == "success")
            #expect(try await worker.runNext() == nil)
            #expect(try await workspace.scheduleEntries().first?.nextDueAtMicros == late + 3600 * Self.second)
            let runs = try await workspace.runs(connectionId: st.id, limit: 10)
            #expect(runs.count == 3)
            #expect(runs.allSatisfy { $0.syncType == "scheduled" && $0.status == .success })
        }
    }

    @Test(arguments: backends)
    func aRequestedSyncIsQueuedOnceAndRunsAsManual(backend: Backend) async throws {
        try await withScheduledServiceTitan(backend) { workspace, st, clock, settings in
            let worker = RunWorker(workspace: workspace, settings: settings, name: "w1")
            #expect(try await workspace.requestSync(connectionId: st.id) == .queued)
            #expect(try await workspace.requestSync(connectionId: st.id) == .alreadyQueued)
            do {
                _ = try await workspace.requestSync(connectionId: "nope")
                Issue.record("an unknown connection was queued")
            } catch is UnknownConnectionError {}
            // Requests carry the system clock's time: the worker claims after them.
            clock.set(currentMicros() + Self.second)
            #expect(try await worker.runNext()?.outcome == "success")
            #expect(try await worker.runNext() == nil)
            #expect(try await workspace.runs(connectionId: st.id, limit: 5).map(\.syncType) == ["manual"])
            #expect(try await workspace.requestSync(connectionId: st.id) == .queued)
        }
    }

    @Test(arguments: backends)
    func aFailedRunIsRetriedWithBackoffThenTheConnectionShowsError(backend: Backend) async throws {
        // No credentials resolve: every run fails at once.
        try await withScheduledServiceTitan(backend, environment: { _ in nil }) { workspace, st, clock, settings in
            let scheduler = RunScheduler(workspace: workspace, settings: settings)
            let worker = RunWorker(workspace: workspace, settings: settings, name: "w1")
            let t0 = clock.now
            try await scheduler.tick()
            #expect(try await worker.runNext()?.outcome == "failed (attempt 1, retry in 60s)")
            var entry = try #require(try await workspace.scheduleEntries().first)
            #expect(entry.attempts == 1)
            #expect(entry.nextDueAtMicros == t0 + 60 * Self.second)
            clock.set(t0 + 59 * Self.second)
            #expect(try await worker.runNext() == nil)
            clock.set(t0 + 60 * Self.second)
            #expect(try await worker.runNext()?.outcome == "failed (attempt 2, retry in 120s)")
            entry = try #require(try await workspace.scheduleEntries().first)
            #expect(entry.nextDueAtMicros == t0 + 180 * Self.second)
            clock.set(t0 + 180 * Self.second)
            // max_attempts (3, the default): the third failure waits for the next scheduled time.
            #expect(try await worker.runNext()?.outcome == "failed (gave up after 3 attempts)")
            entry = try #require(try await workspace.scheduleEntries().first)
            #expect(entry.attempts == 0)
            #expect(entry.nextDueAtMicros == (t0 + 180 * Self.second) + 3600 * Self.second)
            let connection = try #require(try await workspace.connections().first { $0.id == st.id })
            #expect(connection.status == .error)
            #expect(connection.lastError?.hasPrefix("failed 3 runs in a row") == true)
        }
    }

    @Test(arguments: backends)
    func streamsWithTheirOwnFrequencyRunInTheirOwnGroup(backend: Backend) async throws {
        try await withScheduledServiceTitan(backend) { workspace, st, clock, settings in
            // invoices daily (as `stream_frequencies: { invoices: daily }` stores it), the rest hourly.
            var connection = try #require(try await workspace.store.connection(id: st.id))
            var stored = try ConnectionSettings.decode(connection.configJSON, connection: connection.connectionKey)
            stored.schedule = "hourly"
            stored.streamSchedules = ["invoices": "daily"]
            connection.configJSON = stored.jsonText
            _ = try await workspace.store.upsertConnection(connection)
            let hourly = try #require(stored.streams).filter { $0 != "invoices" }
            let scheduler = RunScheduler(workspace: workspace, settings: settings)
            let worker = RunWorker(workspace: workspace, settings: settings, name: "w1")
            let t0 = clock.now
            #expect(try await scheduler.tick().added == 2)
            let entries = try await workspace.scheduleEntries()
            #expect(entries.map(\.streams) == ["*", "invoices"])
            #expect(entries.map(\.frequency) == ["hourly", "daily"])
            // A simulated day: every hour the scheduler ticks and the worker runs what is due.
            var outcomes: [String] = []
            for hour in 0..<24 {
                clock.set(t0 + Int64(hour) * 3600 * Self.second)
                try await scheduler.tick()
                while let step = try await worker.runNext() { outcomes.append(step.outcome) }
            }
            #expect(outcomes.count == 25)
            #expect(outcomes.allSatisfy { $0 == "success" })
            // The run log names the streams each run synced.
            let runs = try await workspace.runs(connectionId: st.id, limit: 100)
            #expect(runs.filter { $0.entityType == hourly.joined(separator: ",") }.count == 24)
            #expect(runs.filter { $0.entityType == "invoices" }.count == 1)
            #expect(runs.count == 25)
            let after = try await workspace.scheduleEntries()
            #expect(after.first { $0.streams == "invoices" }?.nextDueAtMicros == t0 + 86_400 * Self.second)
            // "Sync now" runs every stream, on the connection's main row.
            #expect(try await workspace.requestSync(connectionId: st.id) == .queued)
            clock.set(currentMicros() + Self.second)
            _ = try await worker.runNext()
            let manual = try #require(try await workspace.runs(connectionId: st.id, limit: 100).first { $0.syncType == "manual" })
            #expect(manual.entityType == stored.streams?.joined(separator: ","))
            // Back to one frequency: the invoices group leaves the queue.
            stored.streamSchedules = nil
            connection.configJSON = stored.jsonText
            _ = try await workspace.store.upsertConnection(connection)
            try await scheduler.tick()
            #expect(try await workspace.scheduleEntries().map(\.streams) == ["*"])
        }
    }

    @Test func scheduleGroupsFollowTheStoredStreamSchedules() throws {
        func record(_ settings: ConnectionSettings) -> ConnectionRecord {
            ConnectionRecord(demoId: "d", connectionKey: "k", integrationType: "acme", status: .pending, credentialsJSON: "{}",
                             configJSON: settings.jsonText, syncFrequency: "hourly", autoSync: true)
        }
        let all = ConnectionSettings(streams: ["a", "b", "c"], schedule: "hourly")
        #expect(ScheduledConnection.groups(record(all), integration: nil)
                    == [ScheduleGroup(key: "*", frequency: "hourly", streams: nil)])
        var split = all
        split.streamSchedules = ["c": "daily", "a": "daily", "b": "hourly"]
        #expect(ScheduledConnection.groups(record(split), integration: nil) == [
            ScheduleGroup(key: "*", frequency: "hourly", streams: ["b"]),
            ScheduleGroup(key: "a,c", frequency: "daily", streams: ["a", "c"]),
        ])
        split.streamSchedules = ["a": "daily", "b": "daily", "c": "every 15m"]
        #expect(ScheduledConnection.groups(record(split), integration: nil) == [
            ScheduleGroup(key: "*", frequency: "manual", streams: []),
            ScheduleGroup(key: "a,b", frequency: "daily", streams: ["a", "b"]),
            ScheduleGroup(key: "c", frequency: "every 15m", streams: ["c"]),
        ])
    }

    /// The stored stream schedules: the deployment's `stream_frequencies`, else the stream's
    /// `frequency` in integrations.d; a stream at the connection's own frequency is left out.
    @Test(arguments: [
        (nil, nil, nil), ("every 6h", nil, "every 6h"), ("every 6h", "daily", "daily"), (nil, "hourly", nil),
    ] as [(String?, String?, String?)])
    func theDeployerStoresEachStreamsOwnSchedule(integrationDefault: String?, override: String?, stored: String?) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.removeItem(atPath: dir)
        try FileManager.default.copyItem(atPath: BrokenConfigurationCorpus.base, toPath: dir)
        if let integrationDefault {
            let path = dir + "/integrations.d/acme.yaml"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try text.replacingOccurrences(of: "    primary_key: id\n", with: "    primary_key: id\n    frequency: \(integrationDefault)\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
        }
        if let override {
            let path = dir + "/tradesync.yaml"
            try (try String(contentsOfFile: path, encoding: .utf8) + "        stream_frequencies: { jobs: \(override) }\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
        }
        let project = ProjectLoader.load(root: dir, environment: { _ in "set" })
        #expect(!project.diagnostics.hasErrors, "\(project.diagnostics.map(\.description))")
        let c = try #require(project.deployments.first?.contractors.first?.connections.first)
        let integration = try #require(project.integration("acme"))
        let settings = Deployer.settings(c, integration: integration)
        #expect(settings.schedule == "hourly")
        #expect(settings.streamSchedules == stored.map { ["jobs": $0] })
        // Every stream has its own frequency: the main row stays, for "sync now" only.
        let record = Deployer.connectionRecord(c, contractor: "demo-1", integration: integration)
        let groups = ScheduledConnection.groups(record, integration: integration)
        #expect(groups.map(\.key) == (stored == nil ? ["*"] : ["*", "jobs"]))
        #expect(groups.first?.frequency == (stored == nil ? "hourly" : "manual"))
    }

    @Test func aDeferredRunIsRescheduledAtTheProvidersResetTime() throws {
        let project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
        let settings = SchedulerSettings(jitter: { _ in 0 })
        let policy = SchedulePolicy(project: project, settings: settings)
        let now: Int64 = 1_000_000 * Self.second
        let claim = RunClaim(integrationId: "c", streams: "*", provider: "yelp", frequency: "daily", attempts: 1, requested: false,
                             claimedAtMicros: now, takenOverFrom: nil)
        var deferred = RunResult(runId: "r", connectionKey: "k", integration: "yelp", status: .deferred, streams: [],
                                 failures: [], durationMs: 1, error: "daily quota spent", dryRun: false)
        deferred.retryAfterSeconds = 7 * 3600
        let completion = policy.completion(after: deferred, claim: claim, frequency: .daily, now: now)
        // At the reset time, and a deferral is not a failure: the attempts stay as they were.
        #expect(completion == RunCompletion(nextDueAtMicros: now + 7 * 3600 * Self.second, attempts: 1, outcome: "deferred"))
        var ok = deferred
        ok.status = .success
        #expect(policy.completion(after: ok, claim: claim, frequency: .daily, now: now).nextDueAtMicros
                    == now + 86_400 * Self.second)
        #expect(policy.backoffSeconds(attempt: 1) == 60)
        #expect(policy.backoffSeconds(attempt: 3) == 240)
        #expect(policy.backoffSeconds(attempt: 30) == 3600)
    }

    @Test func frequenciesParseWithDiagnostics() throws {
        #expect(try SyncFrequency(parsing: "every 15m") == .every(seconds: 900))
        #expect(try SyncFrequency(parsing: "every 15m")?.description == "every 15m")
        #expect(try SyncFrequency(parsing: "every 2h")?.nextRun(after: 100) == 100 + 7200)
        #expect(try SyncFrequency(parsing: "cron \"*/5 * * * *\"")?.description == "cron:*/5 * * * *")
        #expect(try SyncFrequency(parsing: "cron:0 6 * * *")?.nextRun(after: 0) == 6 * 3600)
        #expect(try SyncFrequency(parsing: "weekly") == nil)
        #expect(try SyncFrequency(parsing: "manual")?.nextRun(after: 0) == nil)
        #expect(throws: CronSchedule.ParseError.self) { try SyncFrequency(parsing: "every 0m") }
        #expect(throws: CronSchedule.ParseError.self) { try SyncFrequency(parsing: "every 15x") }
        #expect(throws: CronSchedule.ParseError.self) { try SyncFrequency(parsing: "cron */5 * * * *") }
    }
}
