import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncSources
import TradeSyncStore

/// Jobber, Yelp and SerpApi synced end to end over real HTTP against the sandbox's emulators,
/// on SQLite and PostgreSQL. Each connection of the example deployment is reached through its
/// `base_url` / `token_url` / `authorize_url` overrides alone, as a user would point it at
/// another server speaking the provider's API.
@Suite(.serialized) struct ProviderSyncTests {
    static let backends = StoreSuite.backends

    static func sandbox(_ configure: (inout SandboxConfiguration) -> Void = { _ in }) -> SandboxConfiguration {
        var c = SyncHarness.sandboxConfiguration(jobs: 50)
        c.jobber.clients = 130
        c.jobber.jobs = 140
        c.jobber.quotes = 70
        c.jobber.visits = 160
        c.jobber.users = 7
        configure(&c)
        return c
    }

    /// The example deployment's connection `key`, with only the overrides (and fields) given.
    static func pointed(_ h: SyncHarness, _ key: String, base: String, token: String? = nil, authorize: String? = nil,
                        fields: [String: JSONValue] = [:]) async throws -> ConnectionRecord {
        let all = try await h.store.connections(demoId: nil)
        var c = try #require(all.first { $0.connectionKey == key })
        var settings = try JSONDecoder().decode(ConnectionSettings.self, from: Data(c.configJSON.utf8))
        settings.baseURL = base
        settings.tokenURL = token
        settings.authorizeURL = authorize
        for (k, v) in fields { settings.fields[k] = v }
        c.configJSON = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        return try await h.store.upsertConnection(c)
    }

    static func environment(_ config: SandboxConfiguration) -> @Sendable (String) -> String? {
        let values = [
            "JOBBER_CLIENT_ID": config.jobber.clientId, "JOBBER_CLIENT_SECRET": config.jobber.clientSecret,
            "YELP_API_KEY": config.yelp.apiKey, "SERP_API_KEY": config.serpapi.apiKey,
        ]
        return { values[$0] }
    }

    static func runner(_ h: SyncHarness) -> SyncRunner {
        var retry = RetryPolicy()
        retry.baseDelay = .milliseconds(10)
        retry.maxDelay = .milliseconds(50)
        retry.requestTimeout = .seconds(20)
        return SyncRunner(project: h.project, store: h.store, transport: h.transport,
                          resolver: CredentialResolver(environment: environment(h.config)), retry: retry,
                          holder: "providers-\(UUID().uuidString.prefix(6))", sealer: TestKeys.sealer,
                          deploymentFile: "examples/austin-hvac/tradesync.yaml")
    }

    static func rows(_ h: SyncHarness, _ entity: String, _ c: ConnectionRecord) async throws -> [String: StoredRow] {
        try await h.store.rows(entity: try #require(h.project.dataModel.entity(entity)), integrationId: c.id)
    }

    /// Jobber through the authorization-code grant against the emulator.
    static func connectJobber(_ h: SyncHarness) async throws -> ConnectionRecord {
        let base = h.sandbox.baseURL + "/jobber"
        let c = try await pointed(h, "austin-jobber", base: base, token: base + "/api/oauth/token",
                                  authorize: base + "/api/oauth/authorize")
        let connector = OAuthConnector(project: h.project, vault: h.vault, transport: h.transport,
                                       resolver: CredentialResolver(environment: environment(h.config)))
        let request = try await connector.begin(c, redirectURI: ConnectFlowTests.redirectURI())
        #expect(request.url.hasPrefix(base + "/api/oauth/authorize?"))
        let callback = try await ConnectFlowTests().consent(h, request)
        let connected = try await connector.complete(request, callback: callback)
        #expect(connected.status == .connected)
        return connected
    }

    // MARK: Jobber

    @Test(arguments: backends)
    func jobberConnectsSyncsEveryStreamIncrementallyWithRotatingTokens(backend: Backend) async throws {
        try await SyncHarness.with(backend, sandbox: Self.sandbox()) { h in
            let c = try await Self.connectJobber(h)
            let runner = Self.runner(h)
            let first = try await runner.run(c)
            #expect(first.status == .success, "\(first.error ?? "")")
            #expect(first.failed == 0)
            for (stream, entity) in [("clients", "customers"), ("jobs", "jobs"), ("quotes", "estimates"), ("visits", "visits"),
                                     ("users", "technicians")] {
                let expected = h.sandbox.jobberRecordCount(stream)
                #expect(first.streams.first { $0.stream == stream }?.inserted == expected, "\(stream)")
                #expect(try await Self.rows(h, entity, c).count == expected, "\(entity) rows")
            }
            // Job statuses (lower case, ten values) all land on the model's statuses.
            let jobs = try await Self.rows(h, "jobs", c)
            let statuses = Set(jobs.values.map { ($0.values["status"] ?? nil) ?? "null" })
            #expect(statuses.isSubset(of: ["scheduled", "in_progress", "on_hold", "completed"]), "\(statuses)")
            #expect(statuses.count >= 3)
            let types = Set(jobs.values.map { ($0.values["job_type"] ?? nil) ?? "null" })
            #expect(types.isSubset(of: ["maintenance", "other"]) && types.contains("maintenance"))
            // Crew from the bounded assignedUsers(first: 10).
            let visits = try await Self.rows(h, "visits", c)
            #expect(visits.values.contains { (($0.values["assigned_crew"] ?? nil) ?? "").contains("Technician") })

            // Incremental: clients and quotes by the updatedAt filter, jobs newest first down to the cursor.
            let touchedClients = h.sandbox.touchJobber("clients", count: 4)
            let touchedJobs = h.sandbox.touchJobber("jobs", count: 3)
            #expect(touchedClients.count == 4 && touchedJobs.count == 3)
            let again = try await runner.run(c, options: SyncOptions(streams: ["clients", "quotes", "jobs"]))
            #expect(again.status == .success, "\(again.error ?? "")")
            let clients = try #require(again.streams.first { $0.stream == "clients" })
            #expect(clients.fetched == 4 && clients.updated == 4)
            #expect(again.streams.first { $0.stream == "quotes" }?.fetched == 0)
            let jobsAgain = try #require(again.streams.first { $0.stream == "jobs" })
            #expect(jobsAgain.pages == 1, "newest first: one page reaches the stored cursor")
            #expect(jobsAgain.updated == 3 && jobsAgain.inserted == 0)

            // Rotating refresh tokens: an expired access token is refreshed, the new refresh token
            // is stored, and the old one is refused by the provider from then on.
            let before = try #require(try await h.vault.load(integrationId: c.id)?.tokens.refreshToken)
            h.sandbox.inject(FaultRule(pathContains: "/jobber/api/graphql", fault: .expireTokens))
            let rotated = try await runner.run(c, options: SyncOptions(streams: ["users"]))
            #expect(rotated.status == .success, "\(rotated.error ?? "")")
            let after = try #require(try await h.vault.load(integrationId: c.id)?.tokens.refreshToken)
            #expect(after != before)
            #expect(!h.sandbox.isJobberRefreshTokenValid(before))
            #expect(h.sandbox.isJobberRefreshTokenValid(after))
        }
    }

    /// A bucket far smaller than the default: pages are sized to it and the run waits for the
    /// restore rate instead of failing on THROTTLED.
    @Test(arguments: backends)
    func jobberQueryCostThrottlingIsSurvived(backend: Backend) async throws {
        let config = Self.sandbox {
            $0.jobber.maximumAvailable = 1_500
            $0.jobber.restoreRate = 1_000
        }
        try await SyncHarness.with(backend, sandbox: config) { h in
            let c = try await Self.connectJobber(h)
            let r = try await Self.runner(h).run(c, options: SyncOptions(streams: ["visits", "jobs"]))
            #expect(r.status == .success, "\(r.error ?? "")")
            #expect(r.failed == 0)
            let visits = try #require(r.streams.first { $0.stream == "visits" })
            #expect(visits.inserted == h.sandbox.jobberRecordCount("visits"))
            // 50 visits would cost more than the whole bucket: smaller pages were asked for.
            #expect(visits.pages > h.sandbox.jobberRecordCount("visits") / 50 + 1, "\(visits.pages) pages")
            #expect(try await Self.rows(h, "jobs", c).count == h.sandbox.jobberRecordCount("jobs"))
        }
    }

    // MARK: Yelp

    @Test(arguments: backends)
    func yelpSyncsBusinessAndReviewsAndAQuotaDefersTheRun(backend: Backend) async throws {
        let config = Self.sandbox { $0.yelp.dailyLimit = 3 }
        try await SyncHarness.with(backend, sandbox: config) { h in
            let c = try await Self.pointed(h, "austin-yelp", base: h.sandbox.baseURL + "/yelp",
                                           fields: ["business_id": .string(h.sandbox.yelpBusiness.alias)])
            let runner = Self.runner(h)
            let first = try await runner.run(c)
            #expect(first.status == .success, "\(first.error ?? "")")
            let listing = try #require(try await Self.rows(h, "listings", c).values.first)
            #expect(listing.values["rating"] ?? nil == "4.5")
            #expect(listing.values["review_count"] ?? nil == String(h.config.yelp.reviewsPerBusiness))
            #expect(listing.values["platform"] ?? nil == "yelp")
            // `total` says 87 while 3 excerpts come back: that is not a shortfall.
            let reviews = try await Self.rows(h, "reviews", c)
            #expect(reviews.count == 3)
            #expect(reviews.values.allSatisfy { ($0.values["platform"] ?? nil) == "yelp" })

            // Two calls spent of three: the next run gets one answer, then ACCESS_LIMIT_REACHED.
            let limited = try await runner.run(c)
            #expect(limited.status == .deferred, "\(limited.error ?? "")")
            #expect(limited.error?.contains("retry after") == true)
            let seconds = try #require(limited.retryAfterSeconds)
            #expect(seconds > 0 && seconds <= 86_400, "until the next midnight UTC")
            #expect(h.sandbox.yelpCallsToday == 3, "no retries burnt on a spent quota")
            let log = try #require(try await h.store.runs(integrationId: c.id, limit: 1).first)
            #expect(log.status == .deferred)
            #expect(log.detailsJSON.contains("\"retry_at\":"))
            #expect(try await h.store.connection(id: c.id)?.status != .error, "a quota is not a failure")

            h.sandbox.resetYelpDailyLimit()
            let later = try await runner.run(c)
            #expect(later.status == .success, "\(later.error ?? "")")
        }
    }

    // MARK: SerpApi

    @Test(arguments: backends)
    func serpApiFansOutPerKeywordAndABudgetDefersBeforeSpending(backend: Backend) async throws {
        try await SyncHarness.with(backend, sandbox: Self.sandbox()) { h in
            let keywords = ["hvac repair", "ac installation", "heating contractor", "no such business anywhere"]
            let own = h.sandbox.serpApiOwnPlaceId
            let c = try await Self.pointed(h, "austin-serpapi", base: h.sandbox.baseURL + "/serpapi", fields: [
                "tracked_keywords": .array(keywords.map { .string($0) }), "place_id": .string(own),
            ])
            let runner = Self.runner(h)
            let left = h.sandbox.serpApiSearchesLeft
            let r = try await runner.run(c)
            #expect(r.status == .success, "\(r.error ?? "")")
            #expect(h.sandbox.serpApiSearchesLeft == left - keywords.count, "one search per keyword")
            let rows = try await Self.rows(h, "rankings", c)
            let today = String(Timestamp.iso8601(micros: currentMicros()).prefix(10))
            for keyword in keywords {
                let mine = rows.filter { $0.key.hasPrefix(keyword + "|") }.map(\.value)
                let shown = min(20, h.sandbox.serpApiResultCount(keyword))
                let ownRank = h.sandbox.serpApiOwnRank(keyword)
                let ownShown = ownRank.map { $0 <= 20 } ?? false
                #expect(mine.count == shown + (ownShown ? 0 : 1), "\(keyword)")
                #expect(mine.allSatisfy { ($0.values["keyword"] ?? nil) == keyword && ($0.values["snapshot_date"] ?? nil) == today })
                let ownRows = mine.filter { ($0.values["is_own_business"] ?? nil) == "1" }
                #expect(ownRows.count == 1, "\(keyword)")
                if ownShown {
                    #expect(ownRows.first?.values["position"] ?? nil == ownRank.map(String.init))
                } else {
                    #expect(ownRows.first?.values["position"] ?? nil == nil)
                    #expect(ownRows.first?.values["rank_note"] ?? nil == "not in the first \(shown)")
                }
                // Competitors are stored with their places.
                #expect(mine.filter { ($0.values["is_own_business"] ?? nil) == "0" }.count == shown - (ownShown ? 1 : 0))
            }
            #expect(rows.keys.contains("hvac repair|\(today)|\(own)"))

            // Fewer searches left than keywords: deferred, and nothing spent.
            h.sandbox.setSerpApiSearchesLeft(keywords.count - 1)
            let short = try await runner.run(c)
            #expect(short.status == .deferred, "\(short.error ?? "")")
            #expect(h.sandbox.serpApiSearchesLeft == keywords.count - 1)
            #expect(short.retryAfterSeconds == 86_400)
            #expect(try await h.store.runs(integrationId: c.id, limit: 1).first?.status == .deferred)
        }
    }
}

/// How a GraphQL relay page is sized to a query-cost bucket (Jobber's `extensions.cost`).
@Suite struct GraphQLCostBudgetTests {
    static func answer(requested: Int, available: Int, maximum: Int = 10_000, rate: Int = 500) -> PageResponse {
        let text = #"{"data":{"visits":{"nodes":[],"pageInfo":{"endCursor":"c1","hasNextPage":true}}},"extensions":{"cost":{"requestedQueryCost":"#
            + "\(requested)" + #","actualQueryCost":10,"throttleStatus":{"maximumAvailable":"# + "\(maximum)"
            + #","currentlyAvailable":"# + "\(available)" + #","restoreRate":"# + "\(rate)" + "}}}}"
        return PageResponse(json: (try? JSONValue.parse(text)) ?? .null, url: "http://x/api/graphql")
    }

    static func relay(size: Int) -> GraphQLRelayPagination {
        GraphQLRelayPagination(tokenPath: JSONPath("data.visits.pageInfo.endCursor"),
                               hasMorePath: JSONPath("data.visits.pageInfo.hasNextPage"), size: size)
    }

    @Test func aFullBucketKeepsTheConfiguredSize() throws {
        var s = Self.relay(size: 50)
        #expect(try s.advance(after: Self.answer(requested: 2_750, available: 9_000), recordCount: 0))
        #expect(s.size == 50 && s.pauseBeforeNext == nil)
    }

    @Test func aPageCostlierThanTheBucketIsCutToWhatTheBucketHolds() throws {
        // 50 visits with an unbounded assignedUsers: 15,754 points, 316 a visit.
        var s = Self.relay(size: 50)
        _ = try s.advance(after: Self.answer(requested: 15_754, available: 10_000), recordCount: 0)
        #expect(s.size == 10_000 / 316)
        #expect(s.shrunk(requested: 15_754, maximum: 10_000)?.size ?? 0 < 50)
    }

    @Test func aNearlyEmptyBucketIsWaitedForNotNibbled() throws {
        var s = Self.relay(size: 50)
        _ = try s.advance(after: Self.answer(requested: 5_000, available: 500), recordCount: 0)
        // 100 a record; 5 affordable of 50: wait (5,000 − 500) / 500 = 9 s (+1), then 50.
        #expect(s.size == 50)
        #expect(s.pauseBeforeNext == .seconds(10))
        var half = Self.relay(size: 50)
        _ = try half.advance(after: Self.answer(requested: 5_000, available: 3_000), recordCount: 0)
        #expect(half.size == 30 && half.pauseBeforeNext == nil, "more than half a page fits: ask for that much now")
    }

    @Test func oneRecordCannotShrink() {
        #expect(Self.relay(size: 1).shrunk(requested: 20_000, maximum: 10_000) == nil)
    }
}
