import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncSources
@testable import TradeSyncStore

/// The shipped project with one value dropped from the ServiceTitan job-status map: the jobs
/// with that status fail mapping.
func projectForgettingJobStatus(_ status: String) throws -> Project {
    var project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
    let index = try #require(project.mappings.firstIndex { $0.name == "servicetitan/jobs" })
    var field = try #require(project.mappings[index].config.fields["status"])
    field.map?.entries.removeAll { $0.name == status }
    // The shipped mapping stores an unknown status as null; these tests want the record to fail.
    field.onUnmapped = .fail
    let fieldIndex = try #require(project.mappings[index].config.fields.entries.firstIndex { $0.name == "status" })
    project.mappings[index].config.fields.entries[fieldIndex].value = field
    return project
}

/// Nothing lost, no second writer, the run log tells the truth, no secret in any output.
@Suite(.serialized) struct HardeningTests {
    static let backends = StoreSuite.backends

    @Test(arguments: backends)
    func aRecordThatFailsMappingIsKeptAndAYAMLFixAloneBringsItIn(backend: Backend) async throws {
        let broken = try projectForgettingJobStatus("Hold")
        try await SyncHarness.with(backend) { h in
            let total = h.sandbox.serviceTitanRecordCount("jobs")
            let first = try await h.runner(project: broken).run(h.serviceTitan, options: SyncOptions(streams: ["jobs"]))
            #expect(first.status == .partial)
            #expect(first.failed > 0 && first.inserted + first.failed == total)
            let kept = try await h.store.keptFailures(integrationId: h.serviceTitan.id, stream: "jobs", limit: 10_000)
            #expect(kept.count == first.failed, "every failed record is kept")
            #expect(kept.allSatisfy { $0.reason == "status: unmapped value 'Hold'" && $0.attempts == 1 })
            let raw = try JSONValue.parse(Array(try #require(kept.first).rawJSON.utf8))
            #expect(raw["jobStatus"]?.stringValue == "Hold", "the raw payload is kept as fetched")

            // A dry run with the fix reports what the retry would recover, and keeps them all.
            let preview = try await h.runner().run(h.serviceTitan, options: SyncOptions(streams: ["jobs"], dryRun: true))
            #expect(preview.streams.first?.recovered == first.failed)
            #expect(preview.inserted == first.failed)
            let stillKept = try await h.store.keptFailures(integrationId: h.serviceTitan.id, stream: "jobs", limit: 10_000)
            #expect(stillKept.count == first.failed && stillKept.allSatisfy { $0.attempts == 1 })
            #expect(try await h.count("jobs", h.serviceTitan) == first.inserted)

            // Still broken: the kept records are tried again, and stay kept.
            let second = try await h.runner(project: broken).run(h.serviceTitan, options: SyncOptions(streams: ["jobs"]))
            #expect(second.status == .partial)
            #expect(second.fetched == 0, "the cursor moved past them: nothing is fetched again")
            #expect(second.streams.first?.retried == first.failed)
            #expect(second.streams.first?.recovered == 0)
            let again = try await h.store.keptFailures(integrationId: h.serviceTitan.id, stream: "jobs", limit: 10_000)
            #expect(again.count == first.failed && again.allSatisfy { $0.attempts == 2 })

            // The YAML fix alone brings them in, on an incremental run that fetches nothing new.
            let fixed = try await h.runner().run(h.serviceTitan, options: SyncOptions(streams: ["jobs"]))
            #expect(fixed.status == .success)
            #expect(fixed.streams.first?.recovered == first.failed)
            #expect(fixed.inserted == first.failed)
            #expect(try await h.count("jobs", h.serviceTitan) == total)
            #expect(try await h.store.keptFailures(integrationId: h.serviceTitan.id, stream: nil, limit: 10).isEmpty)
            let log = try #require(try await h.store.runs(integrationId: h.serviceTitan.id, limit: 1).first)
            #expect(log.inserted == first.failed && log.status == .success)
        }
    }

    @Test(arguments: backends)
    func theRunLogCountsEachPageAsItCommits(backend: Backend) async throws {
        try await SyncHarness.with(backend) { h in
            let r = try await h.runner().run(h.serviceTitan)
            let logs = try await h.store.runs(integrationId: h.serviceTitan.id, limit: 1)
            let log = try #require(logs.first)
            #expect(log.fetched == r.fetched && log.inserted == r.inserted && log.updated == r.updated)
            #expect(log.unchanged == r.unchanged && log.failed == r.failed)
            #expect(log.inserted > 0)
        }
    }

    @Test(arguments: backends)
    func aRunThatLosesItsLeaseStopsBeforeWritingAgain(backend: Backend) async throws {
        try await SyncHarness.with(backend, sandbox: SyncHarness.sandboxConfiguration(jobs: 6_000)) { h in
            h.sandbox.inject(FaultRule(pathContains: "/export/jobs", afterMatching: 0, times: 1_000, fault: .slow(milliseconds: 150)))
            let runner = h.runner()
            let task = Task { try await runner.run(h.serviceTitan, options: SyncOptions(streams: ["jobs"])) }
            let deadline = Date().addingTimeInterval(60)
            while try await h.count("jobs", h.serviceTitan) == 0, Date() < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            // Another worker takes the connection over (as after an expired lease).
            #expect(try await h.store.acquireLease(integrationId: h.serviceTitan.id, holder: "thief", ttlSeconds: 600,
                                                   takeOverFrom: runner.holder))
            let atTakeover = try await h.count("jobs", h.serviceTitan)
            await #expect(throws: LeaseLostError.self) { _ = try await task.value }
            #expect(try await h.count("jobs", h.serviceTitan) == atTakeover, "no page is written after the lease is lost")
            #expect(atTakeover < h.sandbox.serviceTitanRecordCount("jobs"))
            let log = try #require(try await h.store.runs(integrationId: h.serviceTitan.id, limit: 1).first)
            #expect(log.status == .failed)
            #expect(log.inserted == atTakeover, "the log counts exactly what the run committed")
            #expect(try await h.store.leaseHolder(integrationId: h.serviceTitan.id) == "thief")
        }
    }

    @Test func theLeaseOutlivesARequestThatWaitsLongerThanItsLifetime() async throws {
        try await SyncHarness.with(.sqlite) { h in
            h.sandbox.inject(FaultRule(pathContains: "/export/jobs", afterMatching: 0, times: 1, fault: .slow(milliseconds: 3_000)))
            let runner = SyncRunner(project: h.project, store: h.store, transport: h.transport,
                                    resolver: CredentialResolver(environment: h.environment), holder: "slow-worker",
                                    leaseSeconds: 1)
            let task = Task { try await runner.run(h.serviceTitan, options: SyncOptions(streams: ["jobs"])) }
            try await Task.sleep(for: .milliseconds(1_800))
            // The first request has waited longer than the lease lives: the heartbeat kept it.
            let second = SyncRunner(project: h.project, store: h.store, transport: h.transport,
                                    resolver: CredentialResolver(environment: h.environment), holder: "eager-worker",
                                    leaseSeconds: 1)
            await #expect(throws: RunnerError.self) { _ = try await second.run(h.serviceTitan, options: SyncOptions(streams: ["jobs"])) }
            let r = try await task.value
            #expect(r.status == .success)
            #expect(r.inserted == h.sandbox.serviceTitanRecordCount("jobs"))
            let runs = try await h.store.runs(integrationId: h.serviceTitan.id, limit: 5)
            #expect(runs.map(\.status) == [.success], "the first run was never marked interrupted")
        }
    }

    @Test(arguments: backends)
    func aCredentialThatCannotBeResolvedLeavesAFailedRunAndTheReason(backend: Backend) async throws {
        try await SyncHarness.with(backend) { h in
            let env = h.environment
            let runner = SyncRunner(project: h.project, store: h.store, transport: h.transport,
                                    resolver: CredentialResolver(environment: { $0 == "SERVICETITAN_APP_KEY" ? nil : env($0) }),
                                    retry: .immediate)
            await #expect(throws: RunnerError.self) { _ = try await runner.run(h.serviceTitan) }
            let log = try #require(try await h.store.runs(integrationId: h.serviceTitan.id, limit: 1).first)
            #expect(log.status == .failed)
            #expect(log.errorMessage?.contains("SERVICETITAN_APP_KEY") == true)
            let connection = try #require(try await h.store.connection(id: h.serviceTitan.id))
            #expect(connection.status == .error)
            #expect(connection.lastError?.contains("environment variable is not set") == true)
            #expect(try await h.store.leaseHolder(integrationId: h.serviceTitan.id) == nil, "the lease is released")
        }
    }

    @Test func aTokenEndpointThatRefusesIsReportedOncePerRun() async throws {
        try await SyncHarness.with(.sqlite) { h in
            let env = h.environment
            let runner = SyncRunner(project: h.project, store: h.store, transport: h.transport,
                                    resolver: CredentialResolver(environment: { $0 == "SERVICETITAN_CLIENT_SECRET" ? "wrong-secret" : env($0) }),
                                    retry: .immediate)
            let r = try await runner.run(h.serviceTitan)
            #expect(r.status == .failed)
            #expect(r.streams.count == 1, "the run stops at the first stream: every stream would fail the same way")
            #expect(r.streams.compactMap(\.error).count == 1)
            #expect(h.sandbox.tokenRequestCount(provider: "servicetitan") <= RetryPolicy().maxAttempts)
        }
    }

    @Test func theSQLiteStoreIsReadableByItsOwnerOnly() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(path: dir + "/store.sqlite")
        _ = try await store.migrate(model: testModel)
        for file in ["store.sqlite", "store.sqlite-wal"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/" + file)
            let mode = try #require(attributes[.posixPermissions] as? NSNumber).intValue
            #expect(mode & 0o777 == 0o600, "\(file) has mode \(String(mode, radix: 8))")
        }
        try await store.close()
    }

    @Test func secretsAreRedactedInEveryFormTheyTravelIn() {
        let redactor = SecretRedactor(["s3cr3t/key+1 x", "short", "tok_ABCDEFGH"])
        let text = """
            raw s3cr3t/key+1 x, query s3cr3t%2Fkey%2B1%20x, form s3cr3t%2Fkey%2B1+x, json s3cr3t\\/key+1 x, \
            short stays, token tok_ABCDEFGH
            """
        let out = redactor.redact(text)
        #expect(!out.contains("s3cr3t"))
        #expect(!out.contains("tok_ABCDEFGH"))
        #expect(out.contains("short stays"), "values under six characters are left alone")
    }

    /// An error detail shortened to fit can end inside a token: its first characters are still
    /// a secret, whatever follows the cut.
    @Test(arguments: [
        ("Bearer ya29.a0AfH6SMBx9kLmNoPqRsTuVwXyZ0123456789…", "ya29.a0AfH6S"),
        ("echo: {\"authorization\":\"Bearer ya29.a0AfH6SMBx9kLmNo", "ya29.a0AfH6S"),
        ("token ya29.a0AfH6SMBx9kLmNoPqRsTuVwXyZ0123456789abcdef and more", "ya29.a0AfH6S"),
    ])
    func aCutOffTokenIsStillMasked(text: String, secretStart: String) {
        let redactor = SecretRedactor(["ya29.a0AfH6SMBx9kLmNoPqRsTuVwXyZ0123456789abcdef"])
        let out = redactor.redact(text)
        #expect(!out.contains(secretStart), "\(out)")
        #expect(out.contains(SecretRedactor.mask))
    }

    @Test func textThatSharesOnlyAFewCharactersWithASecretStays() {
        let redactor = SecretRedactor(["ya29.a0AfH6SMBx9kLmNoPqRsTuVwXyZ0123456789abcdef"])
        #expect(redactor.redact("ya29.a0AfH6 is not enough") == "ya29.a0AfH6 is not enough")
    }
}

/// Connecting to PostgreSQL fails fast and says why.
@Suite struct PostgresConnectFailureTests {
    @Test func aPortWithNoServerIsRefusedQuicklyAndNamed() async throws {
        let port = freeLoopbackPort()
        let started = Date()
        do {
            _ = try await PostgresStore.connect(url: "postgres://postgres:pw@127.0.0.1:\(port)/x")
            Issue.record("connected to a port with no server")
        } catch {
            let text = String(describing: error)
            #expect(text.contains("127.0.0.1:\(port)"))
            #expect(text.contains("connection refused"))
            #expect(!text.contains("pw@"), "the password is not shown")
        }
        #expect(Date().timeIntervalSince(started) < 12)
    }

    @Test(.enabled(if: postgresEnabled)) func aMissingDatabaseIsNamed() async throws {
        let admin = try #require(postgresAdminURL, "TRADESYNC_TEST_POSTGRES_URL must be set in CI")
        var components = try #require(URLComponents(string: admin))
        components.path = "/no_such_database_here"
        do {
            _ = try await PostgresStore.connect(url: try #require(components.string))
            Issue.record("connected to a database that does not exist")
        } catch {
            #expect(String(describing: error).contains("database \"no_such_database_here\" does not exist"))
        }
    }
}

func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}
