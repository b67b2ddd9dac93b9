import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
import TradeSyncSandbox
@testable import TradeSyncStore

/// Real `tradesync worker` processes on one PostgreSQL store, against the sandbox: many workers
/// run each due connection exactly once, and a worker killed mid-run has its run taken over.
@Suite(.serialized) struct WorkerProcessTests {
    static let binary = CrashRecoveryTests.binary

    /// A project whose deployment declares `count` ServiceTitan connections (jobs only) on the sandbox.
    func makeProject(port: Int, store: String, count: Int) throws -> String {
        let dir = try temporaryDirectory()
        for item in ["integrations.d", "mappings"] {
            try FileManager.default.copyItem(atPath: Repo.root + "/" + item, toPath: dir + "/" + item)
        }
        var yaml = "store: \(store)\ncontractors:\n  - id: demo-workers\n    connections:\n"
        for i in 0..<count {
            yaml += """
                      - id: st-\(i)
                        integration: servicetitan
                        frequency: hourly
                        streams: [jobs]
                        base_url: http://127.0.0.1:\(port)/servicetitan
                        token_url: http://127.0.0.1:\(port)/servicetitan/connect/token
                        fields: { tenant_id: "1234567" }
                        credentials:
                          client_id: env:WORKER_ST_CLIENT_ID
                          client_secret: env:WORKER_ST_CLIENT_SECRET
                          app_key: env:WORKER_ST_APP_KEY

                """
        }
        try yaml.write(toFile: dir + "/tradesync.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    func launchWorker(_ dir: String, config: SandboxConfiguration, workers: Int, log: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["worker", "-d", dir + "/tradesync.yaml", "--workers", "\(workers)", "--claim-seconds", "3",
                       "--poll-ms", "100"]
        var env = ProcessInfo.processInfo.environment
        env["WORKER_ST_CLIENT_ID"] = config.serviceTitan.clientId
        env["WORKER_ST_CLIENT_SECRET"] = config.serviceTitan.clientSecret
        env["WORKER_ST_APP_KEY"] = config.serviceTitan.appKey
        p.environment = env
        FileManager.default.createFile(atPath: log, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: log)
        p.standardError = FileHandle(forWritingAtPath: log)
        try p.run()
        return p
    }

    /// SIGTERM, then the seconds until the process exited (nil: still running after 30 s).
    func terminate(_ p: Process) async throws -> Double? {
        let started = Date()
        p.terminate()
        while p.isRunning {
            if Date().timeIntervalSince(started) > 30 { return nil }
            try await Task.sleep(for: .milliseconds(50))
        }
        return Date().timeIntervalSince(started)
    }

    /// What a test gets: the sandbox, a scratch PostgreSQL store, a project of `count` connections,
    /// and the worker processes it starts (SIGKILLed at the end if still running).
    final class Cluster: @unchecked Sendable {
        let config: SandboxConfiguration
        let sandbox: ProviderSandbox
        let dir: String
        let store: PostgresStore
        var processes: [Process] = []
        init(config: SandboxConfiguration, sandbox: ProviderSandbox, dir: String, store: PostgresStore) {
            self.config = config
            self.sandbox = sandbox
            self.dir = dir
            self.store = store
        }
    }

    func withCluster(jobs: Int, slowPages: Bool = false, count: Int, _ body: (Cluster) async throws -> Void) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the executable first")
        var config = SandboxConfiguration()
        config.serviceTitan.jobs = jobs
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        // Slow pages, so that a kill or a SIGTERM lands in the middle of the run.
        if slowPages {
            sandbox.inject(FaultRule(pathContains: "/export/jobs", afterMatching: 0, times: 1_000, fault: .slow(milliseconds: 150)))
        }
        let scratch = try await ScratchDatabase.create()
        var failure: (any Error)?
        var cluster: Cluster?
        do {
            let dir = try makeProject(port: sandbox.port, store: scratch.url, count: count)
            let c = Cluster(config: config, sandbox: sandbox, dir: dir, store: try await PostgresStore.connect(url: scratch.url))
            cluster = c
            try await body(c)
        } catch {
            failure = error
        }
        if let cluster {
            for p in cluster.processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
            try? await cluster.store.close()
            try? FileManager.default.removeItem(atPath: cluster.dir)
        }
        await scratch.drop()
        await sandbox.stop()
        if let failure { throw failure }
    }

    func launchWorker(_ cluster: Cluster, workers: Int, log: String) throws -> Process {
        let p = try launchWorker(cluster.dir, config: cluster.config, workers: workers, log: cluster.dir + "/" + log)
        cluster.processes.append(p)
        return p
    }

    /// Waits until the store holds at least `rows` jobs; false after `seconds`.
    func waitForJobs(_ cluster: Cluster, atLeast rows: Int, seconds: Double = 60) async throws -> Int? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            let n = (try? await cluster.store.rowCount(table: "contractor_jobs")) ?? 0
            if n >= rows { return n }
        }
        return nil
    }

    @Test(.enabled(if: postgresEnabled))
    func threeWorkerProcessesRunTwoHundredDueConnectionsEachExactlyOnce() async throws {
        try await withCluster(jobs: 20, count: 200) { cluster in
            for i in 0..<3 { _ = try launchWorker(cluster, workers: 2, log: "worker-\(i).log") }
            let store = cluster.store
            var finished: [SyncRunRecord] = []
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                try await Task.sleep(for: .milliseconds(250))
                finished = ((try? await store.runs(integrationId: nil, limit: 1000)) ?? []).filter { $0.status != .running }
                if finished.count >= 200 { break }
            }
            // Time for a duplicate to show if there were one.
            try await Task.sleep(for: .seconds(1))
            let runs = try await store.runs(integrationId: nil, limit: 1000)
            let byConnection = Dictionary(grouping: runs, by: \.integrationId)
            #expect(byConnection.count == 200)
            #expect(byConnection.values.allSatisfy { $0.count == 1 }, "a connection ran twice")
            #expect(runs.allSatisfy { $0.status == .success && $0.syncType == "scheduled" })
            let entries = try await store.scheduleEntries()
            #expect(entries.count == 200)
            #expect(entries.allSatisfy { $0.claimedBy == nil && $0.lastOutcome == "success" })
            // Every worker process took part (6 workers, 200 runs).
            for i in 0..<3 {
                let log = (try? String(contentsOfFile: cluster.dir + "/worker-\(i).log", encoding: .utf8)) ?? ""
                #expect(log.contains("outcome=success"), "worker process \(i) ran nothing")
            }
            for p in cluster.processes {
                let seconds = try await terminate(p)
                #expect(seconds != nil, "a worker did not exit within 30 s of SIGTERM")
                #expect(p.terminationStatus == 0)
            }
        }
    }

    @Test(.enabled(if: postgresEnabled))
    func aWorkerKilledMidRunHasItsRunTakenOver() async throws {
        try await withCluster(jobs: 12_000, slowPages: true, count: 1) { cluster in
            let store = cluster.store
            let total = cluster.sandbox.serviceTitanRecordCount("jobs")
            let first = try launchWorker(cluster, workers: 1, log: "first.log")
            let atKill = try #require(try await waitForJobs(cluster, atLeast: 1_500), "the first worker never committed a page")
            kill(first.processIdentifier, SIGKILL)
            #expect(atKill < total, "the run finished before the kill")
            let second = try launchWorker(cluster, workers: 1, log: "second.log")
            let deadline = Date().addingTimeInterval(90)
            var runs: [SyncRunRecord] = []
            while Date() < deadline {
                try await Task.sleep(for: .milliseconds(250))
                runs = try await store.runs(integrationId: nil, limit: 10)
                if runs.contains(where: { $0.status == .success }) { break }
            }
            // The dead worker's run is marked interrupted; the taken-over run finishes the feed.
            #expect(runs.count == 2)
            #expect(runs.first?.status == .success)
            #expect(runs.last?.status == .failed)
            #expect(runs.last?.errorMessage?.hasPrefix("interrupted") == true)
            #expect(try await store.rowCount(table: "contractor_jobs") == total)
            let log = (try? String(contentsOfFile: cluster.dir + "/second.log", encoding: .utf8)) ?? ""
            #expect(log.contains("took over the expired claim of another worker"))
            let seconds = try await terminate(second)
            #expect(seconds != nil)
        }
    }

    @Test(.enabled(if: postgresEnabled))
    func sigtermStopsARunAtAPageBoundaryAndLeavesItDue() async throws {
        try await withCluster(jobs: 12_000, slowPages: true, count: 1) { cluster in
            let store = cluster.store
            let worker = try launchWorker(cluster, workers: 1, log: "worker.log")
            _ = try #require(try await waitForJobs(cluster, atLeast: 1_500), "the worker never committed a page")
            let seconds = try await terminate(worker)
            #expect(seconds != nil, "the worker did not exit within 30 s of SIGTERM")
            #expect(worker.terminationStatus == 0)
            let run = try #require(try await store.runs(integrationId: nil, limit: 5).first)
            #expect(run.status == .failed)
            #expect(run.errorMessage?.hasPrefix("interrupted: the worker stopped at a page boundary") == true)
            // The claim and the lease are back, the run is still due, the connection is not in error.
            let entry = try #require(try await store.scheduleEntries().first)
            #expect(entry.claimedBy == nil)
            #expect((entry.nextDueAtMicros ?? .max) <= currentMicros())
            #expect(try await store.leaseHolder(integrationId: entry.integrationId) == nil)
            #expect(try await store.connection(id: entry.integrationId)?.status != .error)
            // Every committed page is whole: its records and the run's counts agree.
            #expect(try await store.rowCount(table: "contractor_jobs") == run.inserted)
        }
    }
}
