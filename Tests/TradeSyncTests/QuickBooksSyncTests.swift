import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncSources
import TradeSyncStore

/// The paging that QuickBooks reads from inside its `query` parameter.
@Suite struct QueryLanguagePaginationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var base: String
        var cursor: String?
        var position: Int
        var expected: String
        var testDescription: String { expected }
    }

    static let cases: [Case] = [
        Case(base: "SELECT * FROM Invoice", cursor: nil, position: 1,
             expected: "SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime STARTPOSITION 1 MAXRESULTS 1000"),
        Case(base: "SELECT * FROM Invoice", cursor: "2026-01-02T03:04:05Z", position: 1001,
             expected: "SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= '2026-01-02T03:04:05Z' ORDERBY MetaData.LastUpdatedTime STARTPOSITION 1001 MAXRESULTS 1000"),
        Case(base: "SELECT * FROM Customer WHERE Active IN (true, false)", cursor: "2026-01-02T03:04:05Z", position: 1,
             expected: "SELECT * FROM Customer WHERE Active IN (true, false) AND MetaData.LastUpdatedTime >= '2026-01-02T03:04:05Z' ORDERBY MetaData.LastUpdatedTime STARTPOSITION 1 MAXRESULTS 1000"),
        // A cursor that could break out of the string literal is not spliced in.
        Case(base: "SELECT * FROM Payment", cursor: "x' OR Id > '0", position: 1,
             expected: "SELECT * FROM Payment ORDERBY MetaData.LastUpdatedTime STARTPOSITION 1 MAXRESULTS 1000"),
    ]

    @Test(arguments: cases)
    func theQueryCarriesThePage(_ c: Case) {
        var strategy = QueryLanguagePagination(orderBy: "MetaData.LastUpdatedTime", size: 1000, start: c.position)
        var base: [(name: String, value: String)] = [("query", c.base), ("minorversion", "75")]
        if let cursor = c.cursor { base.append(("query", cursor)) }
        var page = PageRequest(baseParams: base)
        strategy.prepare(&page)
        #expect(page.baseParams.filter { $0.name == "query" }.map(\.value) == [c.expected])
        #expect(page.baseParams.contains { $0.name == "minorversion" && $0.value == "75" })
        #expect(page.params.isEmpty, "no STARTPOSITION/MAXRESULTS URL parameters: QuickBooks ignores them")
        _ = try? strategy.advance(after: PageResponse(json: .null, url: ""), recordCount: 0)
    }

    @Test func aShortPageEndsAndAFullPageMovesOn() throws {
        var s = QueryLanguagePagination(orderBy: "MetaData.LastUpdatedTime", size: 3)
        let three = [JSONValue.integer(1), .integer(2), .integer(3)]
        #expect(try s.advance(after: PageResponse(json: .null, url: ""), recordCount: three.count))
        #expect(s.position == 4)
        #expect(try !s.advance(after: PageResponse(json: .null, url: ""), recordCount: 1))
    }
}

/// QuickBooks Online end to end against the sandbox's emulator over real HTTP.
@Suite(.serialized) struct QuickBooksSyncTests {
    static func configuration() -> SandboxConfiguration {
        var c = SyncHarness.sandboxConfiguration()
        c.quickbooks.customers = 150
        c.quickbooks.invoices = 2_300     // three pages of 1,000
        c.quickbooks.payments = 400
        return c
    }

    /// The QuickBooks connection with its URLs pointed at the sandbox (overrides only) and a
    /// refresh token plus the callback's realmId stored, as after `connect`.
    static func connection(_ h: SyncHarness, authorize: Bool = true) async throws -> ConnectionRecord {
        let all = try await h.store.connections(demoId: nil)
        var qb = try #require(all.first { $0.connectionKey == "austin-quickbooks" })
        var config = try JSONValue.parse(qb.configJSON).objectValue ?? JSONObject()
        let root = h.sandbox.baseURL + "/quickbooks"
        config["base_url"] = .string(root)
        config["token_url"] = .string(root + "/oauth2/v1/tokens/bearer")
        config["authorize_url"] = .string(root + "/connect/oauth2")
        config["environment"] = nil
        qb.configJSON = JSONValue.object(config).jsonText
        qb = try await h.store.upsertConnection(qb)
        if authorize {
            try await h.vault.replaceAll(
                OAuthTokens(accessToken: nil, refreshToken: h.sandbox.issueQuickBooksRefreshToken(), expiresAt: nil),
                integrationId: qb.id, callbackFieldsJSON: #"{"realm_id":"\#(h.config.quickbooks.realmId)"}"#)
        }
        return qb
    }

    static func environment(_ h: SyncHarness) -> @Sendable (String) -> String? {
        let c = h.config.quickbooks
        let values = ["QUICKBOOKS_CLIENT_ID": c.clientId, "QUICKBOOKS_CLIENT_SECRET": c.clientSecret]
        return { values[$0] }
    }

    static func runner(_ h: SyncHarness) -> SyncRunner {
        var retry = RetryPolicy()
        retry.baseDelay = .milliseconds(10)
        retry.maxDelay = .milliseconds(50)
        retry.requestTimeout = .seconds(20)
        return SyncRunner(project: h.project, store: h.store, transport: h.transport,
                          resolver: CredentialResolver(environment: environment(h)), retry: retry,
                          holder: "qb-\(UUID().uuidString.prefix(6))", sealer: TestKeys.sealer,
                          deploymentFile: "examples/austin-hvac/tradesync.yaml")
    }

    static func rollup(_ h: SyncHarness, _ qb: ConnectionRecord) async throws -> [MonthlyRevenue] {
        try await #require(h.store as? SQLStore).monthlyRevenue(integrationId: qb.id)
    }

    /// The roll-up recomputed here from the stored rows, with exact decimals.
    static func expectedRollup(_ h: SyncHarness, _ qb: ConnectionRecord) async throws -> [MonthlyRevenue] {
        var invoiced: [String: Decimal] = [:], paid: [String: Decimal] = [:]
        for row in try await h.store.rows(entity: try #require(h.project.dataModel.entity("invoices")), integrationId: qb.id).values {
            guard (row.values["deleted_at"] ?? nil) == nil, let date = row.values["invoice_date"] ?? nil,
                let total = row.values["total"] ?? nil
            else { continue }
            invoiced[String(date.prefix(7)), default: 0] += try #require(Decimal(string: total))
        }
        for row in try await h.store.rows(entity: try #require(h.project.dataModel.entity("payments")), integrationId: qb.id).values {
            guard (row.values["deleted_at"] ?? nil) == nil, let date = row.values["payment_date"] ?? nil,
                let amount = row.values["amount"] ?? nil
            else { continue }
            paid[String(date.prefix(7)), default: 0] += try #require(Decimal(string: amount))
        }
        func text(_ d: Decimal?) -> String {
            var v = d ?? 0, r = Decimal()
            NSDecimalRound(&r, &v, 2, .plain)
            let f = NumberFormatter()
            f.locale = Locale(identifier: "en_US_POSIX"); f.minimumFractionDigits = 2; f.maximumFractionDigits = 2
            f.usesGroupingSeparator = false
            return f.string(from: r as NSDecimalNumber) ?? ""
        }
        return Set(invoiced.keys).union(paid.keys).sorted().map { MonthlyRevenue(month: $0, invoiced: text(invoiced[$0]), paid: text(paid[$0])) }
    }

    @Test(arguments: StoreSuite.backends)
    func everyRecordOfEveryStreamIsStoredAndAnIncrementalRunReadsOnlyChanges(backend: Backend) async throws {
        try await SyncHarness.with(backend, sandbox: Self.configuration()) { h in
            let qb = try await Self.connection(h)
            let runner = Self.runner(h)
            let first = try await runner.run(qb)
            #expect(first.status == .success, "\(first.error ?? "")")
            // All 2,300 invoices: before the query paginator, 100 arrived and the run said success.
            #expect(try await h.count("invoices", qb) == h.sandbox.quickBooksRecordCount("Invoice"))
            #expect(try await h.count("payments", qb) == h.sandbox.quickBooksRecordCount("Payment"))
            // `Active IN (true, false)`: inactive customers too, not only the active ones.
            #expect(try await h.count("customers", qb) == h.sandbox.quickBooksRecordCount("Customer"))
            #expect(h.sandbox.quickBooksActiveCustomerCount < h.sandbox.quickBooksRecordCount("Customer"))
            #expect(first.streams.first { $0.stream == "invoices" }?.pages == 3)

            let invoices = try await h.store.rows(entity: try #require(h.project.dataModel.entity("invoices")), integrationId: qb.id)
            let sample = try #require(invoices.values.first)
            #expect((sample.values["total"] ?? nil) != nil)
            #expect((sample.values["customer_external_id"] ?? nil) != nil)
            let customers = try await h.store.rows(entity: try #require(h.project.dataModel.entity("customers")), integrationId: qb.id)
            let active = Set(customers.values.compactMap { $0.values["active"] ?? nil })
            #expect(active.count == 2, "both active and inactive customers: \(active)")

            // The monthly roll-up, computed in the store, equals the sums of the stored rows.
            let rollup = try await Self.rollup(h, qb)
            #expect(try await Self.expectedRollup(h, qb) == rollup)
            #expect(rollup.count > 1)

            // Change data at the source: only the changed records come back.
            let touched = h.sandbox.touchQuickBooks("Invoice", count: 4)
            #expect(touched.count == 4)
            let second = try await runner.run(qb, options: SyncOptions(streams: ["invoices"]))
            #expect(second.status == .success, "\(second.error ?? "")")
            #expect(second.updated == 4)
            #expect(second.inserted == 0)
            // `>=` on the cursor second may bring the boundary record back once, unchanged.
            #expect(second.fetched <= 4 + 1, "\(second.fetched)")
        }
    }

    /// Connect with the emulator's authorize and token endpoints (realmId arrives on the
    /// callback), reached through `base_url`/`token_url`/`authorize_url` overrides alone; then
    /// sync, and prove that rotated refresh tokens are stored: the emulator refuses the old one.
    @Test func connectThroughOverridesAloneThenSyncWithRotatingRefreshTokens() async throws {
        try await SyncHarness.with(.sqlite, sandbox: Self.configuration()) { h in
            let qb = try await Self.connection(h, authorize: false)
            try await h.store.deleteTokens(integrationId: qb.id)
            let connector = OAuthConnector(project: h.project, vault: h.vault, transport: h.transport,
                                           resolver: CredentialResolver(environment: Self.environment(h)))
            let request = try await connector.begin(qb, redirectURI: ConnectFlowTests.redirectURI())
            #expect(request.url.hasPrefix(h.sandbox.baseURL + "/quickbooks/connect/oauth2?"))
            let callback = try await ConnectFlowTests().consent(h, request)
            #expect(callback["realmId"] == h.config.quickbooks.realmId)
            let connected = try await connector.complete(request, callback: callback)
            #expect(connected.status == .connected)
            let first = try #require(try await h.vault.load(integrationId: qb.id)?.tokens.refreshToken)

            let r = try await Self.runner(h).run(connected, options: SyncOptions(streams: ["payments"]))
            #expect(r.status == .success, "\(r.error ?? "")")
            #expect(try await h.count("payments", qb) == h.sandbox.quickBooksRecordCount("Payment"))

            // Expire every access token: the run gets 401 (Intuit's lower-case `fault`), refreshes
            // once, and the emulator rotates the refresh token and refuses the old one from then on.
            for round in 1...2 {
                let before = try #require(try await h.vault.load(integrationId: qb.id)?.tokens.refreshToken)
                h.sandbox.inject(FaultRule(pathContains: "/quickbooks/v3/", times: 1, fault: .expireTokens))
                let again = try await Self.runner(h).run(connected, options: SyncOptions(streams: ["payments"]))
                #expect(again.status == .success, "round \(round): \(again.error ?? "")")
                let after = try #require(try await h.vault.load(integrationId: qb.id)?.tokens.refreshToken)
                #expect(after != before, "round \(round): the rotated refresh token is stored")
                #expect(!h.sandbox.isQuickBooksRefreshTokenValid(before))
                #expect(h.sandbox.isQuickBooksRefreshTokenValid(after))
            }
            #expect(first != (try await h.vault.load(integrationId: qb.id)?.tokens.refreshToken))
        }
    }

    /// Intuit's `Fault` envelope through the response classifier: 429 ThrottleExceeded (3001)
    /// and 500 SystemFault are retried and the run still matches the source; a ValidationFault
    /// fails the stream with Intuit's own message.
    @Test func faultsAreRetriedOrFailTheStreamWithIntuitsMessage() async throws {
        try await SyncHarness.with(.sqlite, sandbox: Self.configuration()) { h in
            let qb = try await Self.connection(h)
            h.sandbox.inject(FaultRule(pathContains: "/quickbooks/v3/", afterMatching: 1, times: 2, fault: .tooManyRequests(retryAfterSeconds: 0)))
            h.sandbox.inject(FaultRule(pathContains: "/quickbooks/v3/", afterMatching: 4, times: 1, fault: .serverError))
            let r = try await Self.runner(h).run(qb, options: SyncOptions(streams: ["invoices"]))
            #expect(r.status == .success, "\(r.error ?? "")")
            #expect(try await h.count("invoices", qb) == h.sandbox.quickBooksRecordCount("Invoice"))

            h.sandbox.inject(FaultRule(pathContains: "/quickbooks/v3/", times: 5, fault: .echoRequest))
            let failed = try await Self.runner(h).run(qb, options: SyncOptions(streams: ["payments"]))
            #expect(failed.status != .success)
            let message = failed.error ?? ""
            #expect(message.contains("400"), "\(message)")
            #expect(!message.contains(h.config.quickbooks.clientSecret))
        }
    }
}
