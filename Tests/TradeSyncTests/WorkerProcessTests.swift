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

    @Test(.enabled(if: postgresEnabled))
    func threeWorkerProcessesRunTwoHundredDueConnectionsEachExactlyOnce() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the executable first")
        var config = SandboxConfiguration()
        config.serviceTitan.jobs = 20
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        let scratch = try await ScratchDatabase.create()
        let dir = try makeProject(port: sandbox.port, store: scratch.url, count: 200)
        var processes: [Process] = []
        var failure: (any Error)?
        do {
            for i in 0..<3 {
                processes.append(try launchWorker(dir, config: config, workers: 2, log: dir + "/worker-\(i).log"))
            }
            let store = try await PostgresStore.connect(url: scratch.url)
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
                let log = (try? String(contentsOfFile: dir + "/worker-\(i).log", encoding: .utf8)) ?? ""
                #expect(log.contains("outcome=success"), "worker process \(i) ran nothing")
            }
            try await store.close()
            for p in processes {
                let seconds = try await terminate(p)
                #expect(seconds != nil, "a worker did not exit within 30 s of SIGTERM")
                #expect(p.terminationStatus == 0)
            }
        } catch {
            failure = error
        }
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        await scratch.drop()
        await sandbox.stop()
        try? FileManager.default.removeItem(atPath: dir)
        if let failure { throw failure }
    }

    @Test(.enabled(if: postgresEnabled))
    func aWorkerKilledMidRunHasItsRunTakenOver() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the executable first")
        var config = SandboxConfiguration()
        config.serviceTitan.jobs = 12_000
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        // Slow pages, so that the kill lands in the middle of the run.
        sandbox.inject(FaultRule(pathContains: "/export/jobs", afterMatching: 0, times: 1_000, fault: .slow(milliseconds: 150)))
        let scratch = try await ScratchDatabase.create()
        let dir = try makeProject(port: sandbox.port, store: scratch.url, count: 1)
        let total = sandbox.serviceTitanRecordCount("jobs")
        var processes: [Process] = []
        var failure: (any Error)?
        do {
            let first = try launchWorker(dir, config: config, workers: 1, log: dir + "/first.log")
            processes.append(first)
            let store = try await PostgresStore.connect(url: scratch.url)
            var deadline = Date().addingTimeInterval(60)
            var atKill = 0
            while Date() < deadline {
                try await Task.sleep(for: .milliseconds(50))
                let n = (try? await store.rowCount(table: "contractor_jobs")) ?? 0
                if n >= 1_500 {
                    kill(first.processIdentifier, SIGKILL)
                    atKill = n
                    break
                }
            }
            try #require(atKill > 0, "the first worker never committed a page")
            #expect(atKill < total, "the run finished before the kill")
            let second = try launchWorker(dir, config: config, workers: 1, log: dir + "/second.log")
            processes.append(second)
            deadline = Date().addingTimeInterval(90)
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
            let log = (try? String(contentsOfFile: dir + "/second.log", encoding: .utf8)) ?? ""
            #expect(log.contains("took over the expired claim of another worker"))
            try await store.close()
            let seconds = try await terminate(second)
            #expect(seconds != nil)
        } catch {
            failure = error
        }
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        await scratch.drop()
        await sandbox.stop()
        try? FileManager.default.removeItem(atPath: dir)
        if let failure { throw failure }
    }

    @Test(.enabled(if: postgresEnabled))
    func sigtermStopsARunAtAPageBoundaryAndLeavesItDue() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the executable first")
        var config = SandboxConfiguration()
        config.serviceTitan.jobs = 12_000
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        sandbox.inject(FaultRule(pathContains: "/export/jobs", afterMatching: 0, times: 1_000, fault: .slow(milliseconds: 150)))
        let scratch = try await ScratchDatabase.create()
        let dir = try makeProject(port: sandbox.port, store: scratch.url, count: 1)
        var processes: [Process] = []
        var failure: (any Error)?
        do {
            let worker = try launchWorker(dir, config: config, workers: 1, log: dir + "/worker.log")
            processes.append(worker)
            let store = try await PostgresStore.connect(url: scratch.url)
            let deadline = Date().addingTimeInterval(60)
            var started = false
            while Date() < deadline {
                try await Task.sleep(for: .milliseconds(50))
                if ((try? await store.rowCount(table: "contractor_jobs")) ?? 0) >= 1_500 { started = true; break }
            }
            try #require(started, "the worker never committed a page")
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
            try await store.close()
        } catch {
            failure = error
        }
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        await scratch.drop()
        await sandbox.stop()
        try? FileManager.default.removeItem(atPath: dir)
        if let failure { throw failure }
    }
}
