import AsyncHTTPClient
import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncSources
import TradeSyncStore

/// A sandbox on a free loopback port, the shipped project, a fresh store with the example
/// deployment's connections pointed at the sandbox through their base-URL overrides.
struct SyncHarness {
    let sandbox: ProviderSandbox
    let config: SandboxConfiguration
    let project: Project
    let store: any InspectableStore
    let transport: AsyncHTTPTransport
    let serviceTitan: ConnectionRecord
    let google: ConnectionRecord

    static func sandboxConfiguration(jobs: Int = 1_200) -> SandboxConfiguration {
        var c = SandboxConfiguration()
        c.serviceTitan.jobs = jobs
        c.serviceTitan.customers = 150
        c.serviceTitan.estimates = 120
        c.serviceTitan.invoices = 200
        c.google.reviewsPerLocation = 75
        return c
    }

    static func with(_ backend: Backend, sandbox config: SandboxConfiguration = sandboxConfiguration(),
                     project: Project? = nil, _ body: (SyncHarness) async throws -> Void) async throws {
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        let project = project ?? ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
        let deployment = try #require(project.deployments.first)
        let transport = AsyncHTTPTransport()
        var failure: (any Error)?
        try await withFreshStore(backend) { store in
            do {
                let report = try await Deployer.deploy(
                    project: project, deployment: deployment, store: store,
                    movedOrigins: OriginMoves([(from: "http://127.0.0.1:8099", to: sandbox.baseURL)]))
                let st = try #require(report.connections.first { $0.connectionKey == "austin-servicetitan" })
                let google = try #require(report.connections.first { $0.connectionKey == "austin-google" })
                try await TokenVault(store: store, sealer: TestKeys.sealer).replaceAll(
                    OAuthTokens(accessToken: nil, refreshToken: sandbox.issueGoogleRefreshToken(), expiresAt: nil),
                    integrationId: google.id, callbackFieldsJSON: nil)
                try await body(SyncHarness(sandbox: sandbox, config: config, project: project, store: store, transport: transport,
                                           serviceTitan: st, google: google))
            } catch {
                failure = error
            }
        }
        await transport.shutdown()
        await sandbox.stop()
        if let failure { throw failure }
    }

    var environment: @Sendable (String) -> String? {
        let c = config
        let values = [
            "SERVICETITAN_CLIENT_ID": c.serviceTitan.clientId, "SERVICETITAN_CLIENT_SECRET": c.serviceTitan.clientSecret,
            "SERVICETITAN_APP_KEY": c.serviceTitan.appKey, "GOOGLE_CLIENT_ID": c.google.clientId,
            "GOOGLE_CLIENT_SECRET": c.google.clientSecret,
        ]
        return { values[$0] }
    }

    var vault: TokenVault { TokenVault(store: store, sealer: TestKeys.sealer) }

    func runner(project: Project? = nil, holder: String = "test-\(UUID().uuidString.prefix(6))",
                sealer: SecretSealer? = TestKeys.sealer) -> SyncRunner {
        var retry = RetryPolicy()
        retry.baseDelay = .milliseconds(10)
        retry.maxDelay = .milliseconds(50)
        retry.requestTimeout = .seconds(20)
        return SyncRunner(project: project ?? self.project, store: store, transport: transport,
                          resolver: CredentialResolver(environment: environment), retry: retry, holder: holder, sealer: sealer,
                          deploymentFile: "examples/austin-hvac/tradesync.yaml")
    }

    func count(_ entity: String, _ connection: ConnectionRecord) async throws -> Int {
        let e = try #require(project.dataModel.entity(entity))
        return try await store.rows(entity: e, integrationId: connection.id).count
    }
}

@Suite(.serialized) struct SyncEngineTests {
    static let backends = StoreSuite.backends

    @Test(arguments: backends)
    func aFullSyncStoresEverySandboxRecordAndASecondInsertsNothing(backend: Backend) async throws {
        try await SyncHarness.with(backend) { h in
            let runner = h.runner()
            let st = try await runner.run(h.serviceTitan)
            #expect(st.status == .success, "\(st.error ?? "")")
            for entity in ["jobs", "customers", "estimates", "invoices", "technicians"] {
                let expected = h.sandbox.serviceTitanRecordCount(entity)
                #expect(st.streams.first { $0.entity == entity }?.inserted == expected, "\(entity)")
                #expect(try await h.count(entity, h.serviceTitan) == expected, "\(entity) rows")
                #expect(try await h.store.mappingCount(integrationId: h.serviceTitan.id, entity: entity) == expected)
            }
            let google = try await runner.run(h.google)
            #expect(google.status == .success, "\(google.error ?? "")")
            #expect(try await h.count("reviews", h.google) == h.sandbox.googleReviewCount())
            #expect(try await h.count("posts", h.google) == h.sandbox.googlePostCount())
            #expect(try await h.count("insights", h.google) > 0)

            // Ratings are numbers 1–5 (or null for STAR_RATING_UNSPECIFIED).
            let reviews = try await h.store.rows(entity: try #require(h.project.dataModel.entity("reviews")), integrationId: h.google.id)
            let ratings = Set(reviews.values.map { ($0.values["rating"] ?? nil) ?? "null" })
            #expect(ratings.isSubset(of: ["1", "2", "3", "4", "5", "null"]))
            #expect(ratings.contains("5"))

            let again = try await runner.run(h.serviceTitan)
            #expect(again.inserted == 0 && again.updated == 0)
            #expect(again.fetched == 0, "continuation tokens resume after the last record")
            let googleAgain = try await runner.run(h.google)
            #expect(googleAgain.inserted == 0 && googleAgain.updated == 0)
            #expect(googleAgain.unchanged == googleAgain.fetched)
            // Reviews are read newest first down to the stored cursor: one page per location.
            let locations = h.config.google.accounts * h.config.google.locationsPerAccount
            #expect(googleAgain.streams.first { $0.stream == "reviews" }?.pages == locations)
            #expect(googleAgain.fetched < google.fetched)

            let runs = try await h.store.runs(integrationId: h.serviceTitan.id, limit: 10)
            #expect(runs.count == 2)
            #expect(runs.last?.inserted == st.inserted)
            #expect(runs.last?.status == .success)
            #expect(try await h.store.connection(id: h.serviceTitan.id)?.status == .connected)
        }
    }

    @Test(arguments: backends)
    func anIncrementalSyncReadsOnlyWhatChanged(backend: Backend) async throws {
        try await SyncHarness.with(backend) { h in
            let runner = h.runner()
            _ = try await runner.run(h.serviceTitan, options: SyncOptions(streams: ["jobs"]))
            let touched = h.sandbox.touchServiceTitanJobs(count: 3)
            let added = h.sandbox.addServiceTitanJobs(count: 2)
            #expect(touched.count == 3 && added.count == 2)
            let r = try await runner.run(h.serviceTitan, options: SyncOptions(streams: ["jobs"]))
            #expect(r.fetched == 5)
            #expect(r.inserted == 2)
            #expect(r.updated == 3)
            let rows = try await h.store.rows(entity: try #require(h.project.dataModel.entity("jobs")), integrationId: h.serviceTitan.id)
            #expect(rows.count == h.sandbox.serviceTitanRecordCount("jobs"))
            for id in added { #expect(rows[String(id)] != nil) }
            let full = try await runner.run(h.serviceTitan, options: SyncOptions(streams: ["jobs"], fullRefresh: true))
            #expect(full.fetched == h.sandbox.serviceTitanRecordCount("jobs"))
            #expect(full.inserted == 0 && full.updated == 0)
        }
    }

    @Test func faultsAreRetriedAndTheRunStillMatchesTheSource() async throws {
        try await SyncHarness.with(.sqlite) { h in
            h.sandbox.inject(FaultRule(pathContains: "/export/jobs", afterMatching: 1, times: 1, fault: .tooManyRequests(retryAfterSeconds: 1)))
            h.sandbox.inject(FaultRule(pathContains: "/export/customers", afterMatching: 0, times: 2, fault: .serverError))
            h.sandbox.inject(FaultRule(pathContains: "/export/invoices", afterMatching: 0, times: 1, fault: .malformedJSON))
            h.sandbox.inject(FaultRule(pathContains: "/export/estimates", afterMatching: 0, times: 1, fault: .slow(milliseconds: 300)))
            h.sandbox.inject(FaultRule(pathContains: "/export/technicians", afterMatching: 0, times: 1, fault: .expireTokens))
            let r = try await h.runner().run(h.serviceTitan)
            #expect(r.status == .success, "\(r.error ?? "")")
            for entity in ["jobs", "customers", "estimates", "invoices", "technicians"] {
                #expect(try await h.count(entity, h.serviceTitan) == h.sandbox.serviceTitanRecordCount(entity), "\(entity)")
            }
            #expect(h.sandbox.tokenRequestCount(provider: "servicetitan") == 2, "one token, and one more after it expired mid-run")
        }
    }

    @Test func aRevokedRefreshTokenMarksTheConnectionForReauthorisation() async throws {
        try await SyncHarness.with(.sqlite) { h in
            let tokens = try #require(try await h.vault.load(integrationId: h.google.id)?.tokens)
            h.sandbox.revokeGoogleRefreshToken(tokens.refreshToken)
            let r = try await h.runner().run(h.google)
            #expect(r.status == .failed)
            #expect(r.error?.contains("invalid_grant") == true)
            #expect(r.error?.contains(tokens.refreshToken) == false, "the token never appears in errors")
            let c = try #require(try await h.store.connection(id: h.google.id))
            #expect(c.status == .needsReauth)
        }
    }

    @Test func recordsThatFailMappingAreLoggedAndTheRunGoesOn() async throws {
        // A project whose job-status map forgets "Hold": those jobs fail, every other job lands.
        var project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
        let index = try #require(project.mappings.firstIndex { $0.name == "servicetitan/jobs" })
        var status = try #require(project.mappings[index].config.fields["status"])
        status.map?.entries.removeAll { $0.name == "Hold" }
        status.onUnmapped = .fail  // the shipped mapping stores an unknown status as null
        let fieldIndex = try #require(project.mappings[index].config.fields.entries.firstIndex { $0.name == "status" })
        project.mappings[index].config.fields.entries[fieldIndex].value = status
        let frozen = project
        try await SyncHarness.with(.sqlite, project: frozen) { h in
            let r = try await h.runner().run(h.serviceTitan, options: SyncOptions(streams: ["jobs"]))
            #expect(r.status == .partial)
            #expect(r.failed > 0)
            #expect(r.inserted + r.failed == h.sandbox.serviceTitanRecordCount("jobs"))
            #expect(r.failures.allSatisfy { $0.reason == "status: unmapped value 'Hold'" && !$0.externalId.isEmpty })
            let log = try #require(try await h.store.runs(integrationId: h.serviceTitan.id, limit: 1).first)
            #expect(log.failed == r.failed)
            let logged = try JSONValue.parse(log.detailsJSON)["failures"]?.arrayValue ?? []
            #expect(logged.count == min(r.failed, SyncRunner.keptFailures))
            #expect(logged.first?["external_id"]?.stringValue == r.failures.first?.externalId)
        }
    }

    @Test func aConnectionSyncsFromAnotherServerSpeakingTheSameAPI() async throws {
        try await SyncHarness.with(.sqlite) { h in
            var otherConfig = SandboxConfiguration()
            otherConfig.seed = 7
            otherConfig.serviceTitan.jobs = 333
            otherConfig.serviceTitan.clientId = h.config.serviceTitan.clientId
            otherConfig.serviceTitan.clientSecret = h.config.serviceTitan.clientSecret
            otherConfig.serviceTitan.appKey = h.config.serviceTitan.appKey
            let other = ProviderSandbox(configuration: otherConfig)
            try await other.start(port: 0)
            defer { Task { await other.stop() } }
            var c = h.serviceTitan
            c = try await h.store.upsertConnection(c.movingOrigins(OriginMoves([(from: h.sandbox.baseURL, to: other.baseURL)])))
            let r = try await h.runner().run(c, options: SyncOptions(streams: ["jobs"]))
            #expect(r.status == .success)
            #expect(r.inserted == 333)
            #expect(other.requestCount > 0)
            #expect(h.sandbox.tokenRequestCount(provider: "servicetitan") == 0, "nothing went to the first server")
            await other.stop()
        }
    }

    @Test(arguments: backends)
    func aDryRunFetchesAndMapsButWritesNothing(backend: Backend) async throws {
        try await SyncHarness.with(backend) { h in
            let statusBefore = try await h.store.connection(id: h.serviceTitan.id)?.status
            // A dry run takes no lease: it runs beside another process's run and leaves its lease alone.
            #expect(try await h.store.acquireLease(integrationId: h.serviceTitan.id, holder: "another-worker", ttlSeconds: 60, takeOverFrom: nil))
            let r = try await h.runner().run(h.serviceTitan, options: SyncOptions(streams: ["jobs"], dryRun: true))
            #expect(r.dryRun)
            #expect(r.runId == nil)
            #expect(r.status == .success, "\(r.error ?? "")")
            #expect(r.inserted == h.sandbox.serviceTitanRecordCount("jobs"))
            #expect(try await h.store.leaseHolder(integrationId: h.serviceTitan.id) == "another-worker")
            #expect(try await h.count("jobs", h.serviceTitan) == 0)
            #expect(try await h.store.mappingCount(integrationId: h.serviceTitan.id, entity: "jobs") == 0)
            #expect(try await h.store.runs(integrationId: h.serviceTitan.id, limit: 5).isEmpty)
            #expect(try await h.store.cursor(integrationId: h.serviceTitan.id, stream: "jobs") == nil)
            #expect(try await h.store.connection(id: h.serviceTitan.id)?.status == statusBefore)
            try await h.store.releaseLease(integrationId: h.serviceTitan.id, holder: "another-worker")
            _ = try await h.runner().run(h.serviceTitan, options: SyncOptions(streams: ["jobs"]))
            h.sandbox.touchServiceTitanJobs(count: 4)
            let preview = try await h.runner().run(h.serviceTitan, options: SyncOptions(streams: ["jobs"], dryRun: true))
            #expect(preview.updated == 4 && preview.inserted == 0)
            #expect(try await h.store.runs(integrationId: h.serviceTitan.id, limit: 5).count == 1, "only the real run is logged")
        }
    }

    @Test func onlyOneRunPerConnectionAtATime() async throws {
        try await SyncHarness.with(.sqlite) { h in
            #expect(try await h.store.acquireLease(integrationId: h.serviceTitan.id, holder: "another-worker", ttlSeconds: 60, takeOverFrom: nil))
            await #expect(throws: RunnerError.self) { _ = try await h.runner().run(h.serviceTitan) }
            try await h.store.releaseLease(integrationId: h.serviceTitan.id, holder: "another-worker")
            #expect(try await h.runner().run(h.serviceTitan, options: SyncOptions(streams: ["technicians"])).status == .success)
        }
    }
}

/// Token endpoint that rotates the refresh token on every refresh, like Jobber and QuickBooks.
@Suite struct RefreshTokenRotationTests {
    @Test func aRotatedRefreshTokenIsStoredBeforeTheAccessTokenIsUsed() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(path: dir + "/s.sqlite")
        _ = try await store.migrate(model: DataModel(entities: []))
        let c = try await store.upsertConnection(ConnectionRecord(demoId: "d", connectionKey: "jobber", integrationType: "jobber",
                                                                  syncFrequency: "hourly", autoSync: true))
        let vault = TokenVault(store: store, sealer: TestKeys.sealer)
        #expect(try await vault.save(OAuthTokens(accessToken: nil, refreshToken: "r0", expiresAt: nil), integrationId: c.id,
                                     replacing: nil))
        let counter = LockedCounter()
        let persistence = vault.persistence(integrationId: c.id, holder: "rotation-test")
        let transport = ScriptedTransport { request, _ in
            let form = String(decoding: request.body ?? [], as: UTF8.self)
            let n = counter.increment()
            // The old refresh token dies on use; only the latest one works.
            guard form.contains("refresh_token=r\(n - 1)") else {
                return ScriptedTransport.json(["error": "invalid_grant", "error_description": "The provided refresh token is not valid."], status: 400)
            }
            return ScriptedTransport.json(["access_token": .string("a\(n)"), "refresh_token": .string("r\(n)"), "expires_in": 3600])
        }
        let auth = OAuth2RefreshToken(
            client: OAuthClient(tokenURL: "http://x/token", clientId: "id", clientSecret: "s", style: .form),
            persistence: persistence, transport: transport, retry: .immediate)
        var request = HTTPRequestData(url: "http://x/api")
        try await auth.authorize(&request)
        // By the time the access token is handed out, the rotated refresh token is stored.
        #expect(request.headers.first { $0.name == "Authorization" }?.value == "Bearer a1")
        #expect(try await vault.load(integrationId: c.id)?.tokens.refreshToken == "r1")
        // Concurrent callers share one refresh.
        await auth.invalidate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var r = HTTPRequestData(url: "http://x/api")
                    try await auth.authorize(&r)
                }
            }
            try await group.waitForAll()
        }
        #expect(transport.requests.count == 2)
        #expect(try await vault.load(integrationId: c.id)?.tokens.refreshToken == "r2")
        // A second process that still holds r1 does not lose the connection: it finds r2 stored.
        let stale = OAuth2RefreshToken(
            client: OAuthClient(tokenURL: "http://x/token", clientId: "id", clientSecret: "s", style: .form),
            persistence: persistence, transport: transport, retry: .immediate)
        var r = HTTPRequestData(url: "http://x/api")
        try await stale.authorize(&r)
        #expect(r.headers.first { $0.name == "Authorization" }?.value == "Bearer a2", "the stored, still valid token is reused")
        try await store.close()
    }
}
