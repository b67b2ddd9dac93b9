import Foundation
import PostgresNIO
import Testing
import TradeSyncConfig
import TradeSyncCore
import TradeSyncSandbox
@testable import TradeSyncStore

/// The slow half of the reliability suite runs when TRADESYNC_RELIABILITY=1 (CI sets it).
let reliabilityEnabled = ProcessInfo.processInfo.environment["TRADESYNC_RELIABILITY"] == "1" || isCI

/// A fresh PostgreSQL database on the test server, for a `--store` override; dropped by `drop`.
struct ScratchDatabase {
    let url: String
    let name: String
    let admin: PostgresStore

    static func create() async throws -> ScratchDatabase {
        let adminURL = try #require(postgresAdminURL, "TRADESYNC_TEST_POSTGRES_URL must be set")
        let name = "tradesync_rel_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try await PostgresStore.connect(url: adminURL)
        _ = try await admin.query("CREATE DATABASE \(name)")
        var components = try #require(URLComponents(string: adminURL))
        components.path = "/" + name
        return ScratchDatabase(url: try #require(components.string), name: name, admin: admin)
    }

    func drop() async {
        _ = try? await admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        try? await admin.close()
    }
}

/// Runs a real `tradesync` process against the sandbox and kills it at random instants.
@Suite(.serialized) struct ReliabilityTests {
    static let backends = StoreSuite.backends

    func launch(_ dir: String, config: SandboxConfiguration, store: String?, extra: [String] = [],
                output: String? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CrashRecoveryTests.binary)
        p.arguments = ["sync", "st", "--deployment", dir + "/tradesync.yaml", "--stream", "jobs", "--quiet"]
            + (store.map { ["--store", $0] } ?? []) + extra
        var env = ProcessInfo.processInfo.environment
        env["CRASH_ST_CLIENT_ID"] = config.serviceTitan.clientId
        env["CRASH_ST_CLIENT_SECRET"] = config.serviceTitan.clientSecret
        env["CRASH_ST_APP_KEY"] = config.serviceTitan.appKey
        p.environment = env
        if let output {
            FileManager.default.createFile(atPath: output, contents: nil)
            p.standardOutput = FileHandle(forWritingAtPath: output)
            p.standardError = FileHandle(forWritingAtPath: output)
        } else {
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
        }
        try p.run()
        return p
    }

    func openStore(_ dir: String, _ scratch: ScratchDatabase?) async throws -> any InspectableStore {
        if let scratch { return try await PostgresStore.connect(url: scratch.url) }
        return try SQLiteStore(path: dir + "/store.sqlite")
    }

    @Test(.enabled(if: reliabilityEnabled), arguments: backends)
    func twentyKillsAtRandomInstantsLoseDuplicateAndOrphanNothing(backend: Backend) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CrashRecoveryTests.binary),
                     "build the executable first (swift build --build-tests)")
        if backend == .postgres, postgresAdminURL == nil {
            Issue.record("TRADESYNC_TEST_POSTGRES_URL is not set")
            return
        }
        var config = SandboxConfiguration()
        config.serviceTitan.jobs = 12_000
        config.serviceTitan.exportPageSize = 100
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        sandbox.inject(FaultRule(pathContains: "/export/jobs", afterMatching: 0, times: 100_000, fault: .slow(milliseconds: 25)))
        let dir = try CrashRecoveryTests().makeProject(port: sandbox.port)
        let scratch = backend == .postgres ? try await ScratchDatabase.create() : nil
        let total = sandbox.serviceTitanRecordCount("jobs")
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        var attempts = 0
        while kills < 20, attempts < 80 {
            attempts += 1
            let p = try launch(dir, config: config, store: scratch?.url)
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...900, using: &generator)))
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                kills += 1
                await p.exited()
            } else {
                // The run finished first: new jobs give the next run something to be killed in.
                await p.exited()
                sandbox.addServiceTitanJobs(count: 1_500)
            }
        }
        #expect(kills == 20, "killed 20 times in \(attempts) runs")
        sandbox.clearFaults()
        let last = try launch(dir, config: config, store: scratch?.url, output: dir + "/last.txt")
        await last.exited()
        #expect(last.terminationStatus == 0, "\((try? String(contentsOfFile: dir + "/last.txt", encoding: .utf8)) ?? "")")

        let expected = sandbox.serviceTitanRecordCount("jobs")
        #expect(expected >= total)
        let store = try await openStore(dir, scratch)
        let connection = try #require(try await store.connections(demoId: "demo-crash").first)
        let project = ProjectLoader.load(root: dir, environment: { _ in "set" })
        let rows = try await store.rows(entity: try #require(project.dataModel.entity("jobs")), integrationId: connection.id)
        #expect(rows.count == expected, "every job once (distinct external ids)")
        #expect(try await store.rowCount(table: "contractor_jobs") == expected, "no duplicate rows")
        #expect(try await store.mappingCount(integrationId: connection.id, entity: "jobs") == expected, "no orphan or missing id mapping")
        let mappedIds = try await mappedInternalIds(store, connection.id)
        #expect(Set(rows.values.map(\.id)) == mappedIds, "every row has its mapping and every mapping its row")
        let runs = try await store.runs(integrationId: connection.id, limit: 1_000)
        #expect(!runs.contains { $0.status == .running }, "no run is left running")
        #expect(runs.reduce(0) { $0 + $1.inserted } == expected, "the sync log accounts for every inserted row, killed runs included")
        try await store.close()
        await scratch?.drop()
        await sandbox.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func mappedInternalIds(_ store: any SyncStore, _ integrationId: String) async throws -> Set<String> {
        if let pg = store as? PostgresStore {
            let rows = try await pg.query("SELECT internal_id FROM contractor_data_mappings WHERE integration_id = $1",
                                          try PostgresStore.binds([integrationId]))
            return Set(try rows.map { try $0.decode(String.self) })
        }
        guard let sqlite = store as? SQLiteStore else { return [] }
        return Set(try await sqlite.textColumn("SELECT internal_id FROM contractor_data_mappings WHERE integration_id = '\(integrationId)'"))
    }

    /// Every command's output and every text column of the store, searched for credential values
    /// after a provider echoed the requests that carried them.
    @Test func noSecretReachesAnyOutputOrTheStore() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CrashRecoveryTests.binary),
                     "build the executable first (swift build --build-tests)")
        var config = SandboxConfiguration()
        config.serviceTitan.jobs = 600
        config.serviceTitan.clientId = "MARKER-client-id-7f3a9"
        config.serviceTitan.clientSecret = "MARKER-client-secret/9x+b c"
        config.serviceTitan.appKey = "MARKER-app-key-5d2e1"
        let markers = [config.serviceTitan.clientId, config.serviceTitan.clientSecret, config.serviceTitan.appKey]
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        let dir = try CrashRecoveryTests().makeProject(port: sandbox.port)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var outputs: [String] = []
        func run(_ arguments: [String]) async throws {
            let out = dir + "/out-\(outputs.count).txt"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CrashRecoveryTests.binary)
            p.arguments = arguments
            var env = ProcessInfo.processInfo.environment
            env["CRASH_ST_CLIENT_ID"] = config.serviceTitan.clientId
            env["CRASH_ST_CLIENT_SECRET"] = config.serviceTitan.clientSecret
            env["CRASH_ST_APP_KEY"] = config.serviceTitan.appKey
            p.environment = env
            FileManager.default.createFile(atPath: out, contents: nil)
            p.standardOutput = FileHandle(forWritingAtPath: out)
            p.standardError = FileHandle(forWritingAtPath: out)
            try p.run()
            await p.exited()
            outputs.append(try String(contentsOfFile: out, encoding: .utf8))
        }
        let deployment = dir + "/tradesync.yaml"
        // The token endpoint echoes the form (client id and secret), then the API echoes its
        // request (bearer token, app key); then a clean sync, so the echoes sit beside real data.
        sandbox.inject(FaultRule(pathContains: "/connect/token", afterMatching: 0, times: 1, fault: .echoRequest))
        try await run(["sync", "st", "-d", deployment, "--stream", "jobs", "--quiet"])
        sandbox.inject(FaultRule(pathContains: "/export/jobs", afterMatching: 0, times: 1, fault: .echoRequest))
        sandbox.inject(FaultRule(pathContains: "/technicians", afterMatching: 0, times: 50, fault: .echoRequest))
        try await run(["sync", "st", "-d", deployment, "--quiet"])
        try await run(["sync", "st", "-d", deployment, "--stream", "jobs", "--dry-run", "--quiet"])
        try await run(["runs", "-d", deployment])
        try await run(["failures", "-d", deployment, "--raw"])
        try await run(["validate", dir])
        #expect(outputs[1].contains("[REDACTED]"), "the echo was shown, masked: \(outputs[1].prefix(2_000))")
        for (i, text) in outputs.enumerated() {
            for m in markers {
                #expect(!text.contains(m), "output \(i) shows a credential: \(text.prefix(3_000))")
            }
        }
        let store = try SQLiteStore(path: dir + "/store.sqlite")
        let texts = try await store.allText()
        #expect(!texts.isEmpty)
        for m in markers {
            #expect(!texts.contains { $0.contains(m) }, "a text column of the store holds a credential")
        }
        try await store.close()
        for file in ["store.sqlite", "store.sqlite-wal"] {
            let bytes = FileManager.default.contents(atPath: dir + "/" + file) ?? Data()
            for m in markers {
                #expect(bytes.range(of: Data(m.utf8)) == nil, "\(file) holds a credential")
            }
        }
        await sandbox.stop()
    }
}

extension SQLiteStore {
    /// Every text value of every table (for the secret sweep).
    func allText() async throws -> [String] {
        let tables = try await textColumn("SELECT name FROM sqlite_master WHERE type = 'table'")
        var out: [String] = []
        for t in tables {
            let columns = try await textColumn("SELECT name FROM pragma_table_info('\(t)')")
            for c in columns {
                out += try await textColumn("SELECT CAST(\(Schema.quote(c)) AS TEXT) FROM \(Schema.quote(t)) WHERE \(Schema.quote(c)) IS NOT NULL")
            }
        }
        return out
    }
}
