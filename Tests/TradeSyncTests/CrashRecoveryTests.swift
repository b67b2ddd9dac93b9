import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
import TradeSyncSandbox
import TradeSyncStore

/// Kills a real `tradesync sync` process with SIGKILL in the middle of a sync and runs it again.
@Suite(.serialized) struct CrashRecoveryTests {
    static let binary = Repo.root + "/.build/debug/tradesync"

    /// A project folder with the shipped configuration and a deployment whose ServiceTitan
    /// connection points at the sandbox.
    func makeProject(port: Int) throws -> String {
        let dir = try temporaryDirectory()
        for item in ["integrations.d", "mappings"] {
            try FileManager.default.copyItem(atPath: Repo.root + "/" + item, toPath: dir + "/" + item)
        }
        try """
            store: sqlite:store.sqlite
            contractors:
              - id: demo-crash
                connections:
                  - id: st
                    integration: servicetitan
                    base_url: http://127.0.0.1:\(port)/servicetitan
                    token_url: http://127.0.0.1:\(port)/servicetitan/connect/token
                    fields: { tenant_id: "1234567" }
                    credentials:
                      client_id: env:CRASH_ST_CLIENT_ID
                      client_secret: env:CRASH_ST_CLIENT_SECRET
                      app_key: env:CRASH_ST_APP_KEY
            """.write(toFile: dir + "/tradesync.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    func launch(_ dir: String, config: SandboxConfiguration) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CrashRecoveryTests.binary)
        p.arguments = ["sync", "st", "--deployment", dir + "/tradesync.yaml", "--stream", "jobs", "--quiet"]
        var env = ProcessInfo.processInfo.environment
        env["CRASH_ST_CLIENT_ID"] = config.serviceTitan.clientId
        env["CRASH_ST_CLIENT_SECRET"] = config.serviceTitan.clientSecret
        env["CRASH_ST_APP_KEY"] = config.serviceTitan.appKey
        p.environment = env
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        return p
    }

    @Test func aSyncKilledMidRunResumesWithoutLossOrDuplicates() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CrashRecoveryTests.binary),
                     "build the executable first (swift build --build-tests)")
        var config = SandboxConfiguration()
        config.serviceTitan.jobs = 40_000
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        // Slow pages, so that the kill lands in the middle of the feed.
        sandbox.inject(FaultRule(pathContains: "/export/jobs", afterMatching: 0, times: 1_000, fault: .slow(milliseconds: 40)))
        let dir = try makeProject(port: sandbox.port)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let total = sandbox.serviceTitanRecordCount("jobs")

        let first = try launch(dir, config: config)
        // Wait until some pages are committed, then kill without warning.
        var committedAtKill = 0
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            guard FileManager.default.fileExists(atPath: dir + "/store.sqlite") else { continue }
            let probe = try SQLiteStore(path: dir + "/store.sqlite")
            let n = (try? await probe.rowCount(table: "contractor_jobs")) ?? 0
            try await probe.close()
            if n >= 3_000 {
                kill(first.processIdentifier, SIGKILL)
                committedAtKill = n
                break
            }
        }
        await waitForExit(first)
        #expect(first.terminationReason == .uncaughtSignal, "the sync was killed, not finished")
        #expect(committedAtKill > 0 && committedAtKill < total, "killed mid-run (\(committedAtKill) of \(total))")

        sandbox.clearFaults()
        let second = try launch(dir, config: config)
        await waitForExit(second)
        #expect(second.terminationStatus == 0)

        let store = try SQLiteStore(path: dir + "/store.sqlite")
        #expect(try await store.rowCount(table: "contractor_jobs") == total, "every sandbox job, once")
        #expect(try await store.rowCount(table: "contractor_data_mappings") == total, "one id mapping per job")
        let project = ProjectLoader.load(root: dir, environment: { _ in "set" })
        let connection = try #require(try await store.connections(demoId: "demo-crash").first)
        let rows = try await store.rows(entity: try #require(project.dataModel.entity("jobs")), integrationId: connection.id)
        #expect(rows.count == total, "distinct external ids")
        let runs = try await store.runs(integrationId: connection.id, limit: 5)
        #expect(runs.map(\.status) == [.success, .failed], "the killed run is marked interrupted, the second succeeded")
        #expect(runs.last?.errorMessage?.contains("interrupted") == true)
        // The second run resumed from the checkpoint rather than starting over.
        #expect((runs.first?.fetched ?? total) < total)
        #expect((runs.first?.inserted ?? 0) + committedAtKill <= total)
        try await store.close()
        await sandbox.stop()
    }
}
