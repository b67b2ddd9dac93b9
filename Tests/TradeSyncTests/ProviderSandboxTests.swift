import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TradeSyncCore
import TradeSyncSandbox

/// The Jobber, QuickBooks Online, Yelp and SerpApi emulators over real HTTP on loopback:
/// documented shapes, paging to the end, incremental filters, auth failures, refresh-token
/// rotation, throttling and quotas, and the injected faults in each provider's own shape.
@Suite("ProviderSandboxTests")
struct ProviderSandboxTests {
    // MARK: helpers

    // The same request helper and sandbox lifetime as SandboxTests.
    typealias Answer = SandboxTests.Reply

    static func send(
        _ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], form: [(String, String)]? = nil, body: String? = nil
    ) async throws -> Answer {
        try await SandboxTests.send(url, method: method, headers: headers, form: form, body: body)
    }

    static func withSandbox<T>(_ configure: (inout SandboxConfiguration) -> Void = { _ in }, _ body: (ProviderSandbox) async throws -> T) async throws -> T {
        try await SandboxTests.withSandbox(configure, body)
    }

    static func int(_ v: JSONValue?) -> Int? {
        if case .integer(let i) = v { return Int(i) }
        return nil
    }

    /// GET without following the redirect (the consent endpoints redirect to the app's callback).
    static func consent(_ url: String) async throws -> Answer {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
            let collected = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            return Answer(status: Int(response.status.code), headers: response.headers, text: String(buffer: collected))
        } catch {
            try await client.shutdown()
            throw error
        }
    }

    /// The query parameters of a redirect's Location.
    static func redirectFields(_ answer: Answer) throws -> [String: String] {
        let location = try #require(answer.headers.first(name: "Location"))
        let query = try #require(URLComponents(string: location)?.queryItems)
        return Dictionary(query.map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: Jobber

    static let jobsQuery = """
        query TradesyncJobs($first: Int!, $after: String) {
          jobs(first: $first, after: $after, sort: [{ key: UPDATED_AT, direction: DESCENDING }]) {
            nodes { id jobNumber title jobStatus jobType startAt endAt completedAt createdAt updatedAt total client { id name companyName } }
            pageInfo { endCursor hasNextPage }
          }
        }
        """
    static let clientsQuery = """
        query TradesyncClients($first: Int!, $after: String, $updatedSince: ISO8601DateTime) {
          clients(first: $first, after: $after, filter: { updatedAt: { after: $updatedSince } }) {
            nodes {
              id name firstName lastName companyName isCompany isArchived createdAt updatedAt
              emails { address primary }
              phones { number primary }
              billingAddress { street1 street2 city province postalCode country }
            }
            pageInfo { endCursor hasNextPage }
          }
        }
        """
    static let visitsQuery = """
        query TradesyncVisits($first: Int!, $after: String) {
          visits(first: $first, after: $after) {
            nodes { id title visitStatus startAt endAt completedAt isComplete createdAt job { id jobNumber } client { id name }
                    assignedUsers(first: 5) { nodes { id name { full } } } }
            pageInfo { endCursor hasNextPage }
          }
        }
        """

    static func jobberToken(_ sandbox: ProviderSandbox) async throws -> String {
        let c = sandbox.configuration.jobber
        let r = try await send("\(sandbox.baseURL)/jobber/api/oauth/token", method: .POST, form: [
            ("client_id", c.clientId), ("client_secret", c.clientSecret), ("grant_type", "refresh_token"),
            ("refresh_token", sandbox.issueJobberRefreshToken()),
        ])
        return try #require(r.json?["access_token"]?.stringValue, "\(r.text)")
    }

    static func graphql(_ sandbox: ProviderSandbox, token: String, _ query: String, _ variables: JSONValue = .object(JSONObject()), version: String? = "2025-04-16") async throws -> Answer {
        var headers = [("Authorization", "Bearer \(token)")]
        if let version { headers.append(("X-JOBBER-GRAPHQL-VERSION", version)) }
        let body = JSONValue.object(JSONObject([("query", .string(query)), ("variables", variables)])).jsonText
        return try await send("\(sandbox.baseURL)/jobber/api/graphql", method: .POST, headers: headers, body: body)
    }

    /// Pages a connection to its end; returns the nodes and the number of pages.
    static func drainJobber(
        _ sandbox: ProviderSandbox, token: String, _ query: String, connection: String, first: Int = 50, extra: [(String, JSONValue)] = []
    ) async throws -> (nodes: [JSONValue], pages: Int) {
        var nodes: [JSONValue] = []
        var after: JSONValue = .null
        var pages = 0
        while true {
            let vars = JSONValue.object(JSONObject([("first", .integer(Int64(first))), ("after", after)] + extra))
            let r = try await graphql(sandbox, token: token, query, vars)
            try #require(r.status == 200, "\(r.text.prefix(300))")
            let json = try #require(r.json)
            try #require(json["errors"] == nil, "\(r.text.prefix(500))")
            let page = try #require(json["data"]?[connection])
            nodes += page["nodes"]?.arrayValue ?? []
            pages += 1
            guard page["pageInfo"]?["hasNextPage"]?.boolValue == true else { return (nodes, pages) }
            after = try #require(page["pageInfo"]?["endCursor"])
            try #require(pages < 1_000)
        }
    }

    @Test func jobberOAuthRotatesRefreshTokens() async throws {
        try await Self.withSandbox { sandbox in
            let c = sandbox.configuration.jobber
            let consent = try await Self.consent(
                "\(sandbox.baseURL)/jobber/api/oauth/authorize?response_type=code&client_id=\(c.clientId)&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Foauth%2Fcallback&state=xyz")
            #expect(consent.status == 302)
            let fields = try Self.redirectFields(consent)
            #expect(fields["state"] == "xyz")
            let code = try #require(fields["code"])
            let tokenURL = "\(sandbox.baseURL)/jobber/api/oauth/token"
            let exchanged = try await Self.send(tokenURL, method: .POST, form: [
                ("client_id", c.clientId), ("client_secret", c.clientSecret), ("grant_type", "authorization_code"), ("code", code),
                ("redirect_uri", "http://127.0.0.1:8765/oauth/callback"),
            ])
            #expect(exchanged.status == 200)
            let access = try #require(exchanged.json?["access_token"]?.stringValue)
            let first = try #require(exchanged.json?["refresh_token"]?.stringValue)
            // The access token is a JWT whose exp claim is its expiry (Jobber sends no expires_in).
            #expect(exchanged.json?["expires_in"] == nil)
            let claims = try #require(access.split(separator: ".").dropFirst().first)
            var b64 = claims.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while b64.count % 4 != 0 { b64 += "=" }
            let payload = try JSONValue.parse(String(decoding: try #require(Data(base64Encoded: b64)), as: UTF8.self))
            #expect(Self.int(payload["exp"]).map { $0 > Int(Date().timeIntervalSince1970) } == true)
            // The code is single-use.
            let again = try await Self.send(tokenURL, method: .POST, form: [
                ("client_id", c.clientId), ("client_secret", c.clientSecret), ("grant_type", "authorization_code"), ("code", code),
            ])
            #expect(again.json?["error"]?.stringValue == "invalid_grant")

            let refreshed = try await Self.send(tokenURL, method: .POST, form: [
                ("client_id", c.clientId), ("client_secret", c.clientSecret), ("grant_type", "refresh_token"), ("refresh_token", first),
            ])
            #expect(refreshed.status == 200)
            let second = try #require(refreshed.json?["refresh_token"]?.stringValue)
            #expect(second != first)
            #expect(!sandbox.isJobberRefreshTokenValid(first))
            #expect(sandbox.isJobberRefreshTokenValid(second))
            let reused = try await Self.send(tokenURL, method: .POST, form: [
                ("client_id", c.clientId), ("client_secret", c.clientSecret), ("grant_type", "refresh_token"), ("refresh_token", first),
            ])
            #expect(reused.status == 401)
            #expect(reused.json?["error"]?.stringValue == "invalid_grant")
            #expect(sandbox.jobberInvalidGrantCount == 2)
            let wrongSecret = try await Self.send(tokenURL, method: .POST, form: [
                ("client_id", c.clientId), ("client_secret", "nope"), ("grant_type", "refresh_token"), ("refresh_token", second),
            ])
            #expect(wrongSecret.json?["error"]?.stringValue == "invalid_client")
            #expect(sandbox.isJobberRefreshTokenValid(second))
        }
    }

    @Test func jobberAuthAndVersionHeader() async throws {
        try await Self.withSandbox { sandbox in
            let token = try await Self.jobberToken(sandbox)
            let noVersion = try await Self.graphql(sandbox, token: token, "{ users(first: 1) { nodes { id } } }", version: nil)
            #expect(noVersion.status == 400)
            #expect(noVersion.json?["errors"]?.arrayValue?.first?["extensions"]?["code"]?.stringValue == "MISSING_API_VERSION")
            let badVersion = try await Self.graphql(sandbox, token: token, "{ users(first: 1) { nodes { id } } }", version: "latest")
            #expect(badVersion.status == 400)
            let noToken = try await Self.graphql(sandbox, token: "nope", "{ users(first: 1) { nodes { id } } }")
            #expect(noToken.status == 401)
            sandbox.inject(FaultRule(pathContains: "/jobber/api/graphql", fault: .expireTokens))
            let expired = try await Self.graphql(sandbox, token: token, "{ users(first: 1) { nodes { id } } }")
            #expect(expired.status == 200)
            #expect(expired.json?["errors"]?.arrayValue?.first?["extensions"]?["code"]?.stringValue == "UNAUTHENTICATED")
            #expect(expired.json?["data"] == nil)
            // The request-count guard answers a bare 429 (not a GraphQL error).
            let fresh = try await Self.jobberToken(sandbox)
            sandbox.inject(FaultRule(pathContains: "/jobber/api/graphql", fault: .tooManyRequests(retryAfterSeconds: 2)))
            let guarded = try await Self.graphql(sandbox, token: fresh, "{ users(first: 1) { nodes { id } } }")
            #expect(guarded.status == 429)
            #expect(guarded.headers.first(name: "Retry-After") == "2")
            let recovered = try await Self.graphql(sandbox, token: fresh, "{ users(first: 1) { nodes { id } } }")
            #expect(recovered.json?["data"]?["users"]?["nodes"]?.arrayValue?.count == 1)
        }
    }

    @Test func jobberPagesClientsAndFiltersOnUpdatedAt() async throws {
        try await Self.withSandbox({ $0.jobber.clients = 237 }) { sandbox in
            let token = try await Self.jobberToken(sandbox)
            let all = try await Self.drainJobber(sandbox, token: token, Self.clientsQuery, connection: "clients")
            let ids = all.nodes.compactMap { $0["id"]?.stringValue }
            #expect(ids.count == 237)
            #expect(Set(ids).count == 237)
            #expect(all.pages == 5)
            let sample = try #require(all.nodes.first)
            #expect(sample["billingAddress"]?["city"]?.stringValue != nil)
            #expect(sample["emails"]?.arrayValue?.first?["address"]?.stringValue?.contains("@") == true)
            let updatedTimes = all.nodes.compactMap { $0["updatedAt"]?.stringValue }
            let cursor = try #require(updatedTimes.max())

            let touched = sandbox.touchJobber("clients", count: 4)
            let changed = try await Self.drainJobber(
                sandbox, token: token, Self.clientsQuery, connection: "clients", extra: [("updatedSince", .string(cursor))])
            #expect(Set(changed.nodes.compactMap { $0["id"]?.stringValue }) == Set(touched))
            for node in changed.nodes { #expect((node["updatedAt"]?.stringValue ?? "") > cursor) }
        }
    }

    @Test func jobberJobsSortByUpdatedAtWithCost() async throws {
        try await Self.withSandbox({ $0.jobber.jobs = 160 }) { sandbox in
            let token = try await Self.jobberToken(sandbox)
            let first = try await Self.graphql(sandbox, token: token, Self.jobsQuery, .object(JSONObject([("first", 50), ("after", .null)])))
            let cost = try #require(first.json?["extensions"]?["cost"])
            // 50 nodes × (11 scalars + client 1 + its 3 fields) + jobs 1 + pageInfo 1 + its 2 = 754
            #expect(Self.int(cost["requestedQueryCost"]) == 754)
            #expect(Self.int(cost["actualQueryCost"]) == 754)
            #expect(Self.int(cost["throttleStatus"]?["maximumAvailable"]) == 10_000)
            #expect(Self.int(cost["throttleStatus"]?["restoreRate"]) == 500)
            #expect(Self.int(cost["throttleStatus"]?["currentlyAvailable"]).map { $0 <= 10_000 - 754 } == true)

            let all = try await Self.drainJobber(sandbox, token: token, Self.jobsQuery, connection: "jobs")
            let ids = all.nodes.compactMap { $0["id"]?.stringValue }
            #expect(ids.count == 160 && Set(ids).count == 160)
            let times = all.nodes.compactMap { $0["updatedAt"]?.stringValue }
            #expect(times == times.sorted(by: >))
            let statuses = Set(all.nodes.compactMap { $0["jobStatus"]?.stringValue })
            #expect(statuses.isSubset(of: ["requires_invoicing", "archived", "late", "today", "upcoming", "action_required", "on_hold", "unscheduled", "active", "expiring_within_30_days"]))
            let types = Set(all.nodes.compactMap { $0["jobType"]?.stringValue })
            #expect(types.isSubset(of: ["ONE_OFF", "RECURRING"]))

            let touched = sandbox.touchJobber("jobs", count: 3)
            let page = try await Self.graphql(sandbox, token: token, Self.jobsQuery, .object(JSONObject([("first", 3)])))
            let newest = page.json?["data"]?["jobs"]?["nodes"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            #expect(Set(newest) == Set(touched))
            // The last page's actual cost counts the nodes it returned, not `first`.
            let tail = try await Self.graphql(sandbox, token: token, Self.jobsQuery, .object(JSONObject([("first", 50), ("after", .string(Data("150".utf8).base64EncodedString()))])))
            #expect(Self.int(tail.json?["extensions"]?["cost"]?["actualQueryCost"]) == 10 * 15 + 4)
        }
    }

    @Test func jobberVisitsUsersAndValidation() async throws {
        try await Self.withSandbox({ $0.jobber.visits = 120; $0.jobber.users = 7 }) { sandbox in
            let token = try await Self.jobberToken(sandbox)
            // The shipped YAML's form (assignedUsers without `first`) is costed at 100 users per
            // visit: 50 visits then ask for more than the whole bucket and are always refused.
            let yamlForm = Self.visitsQuery.replacingOccurrences(of: "assignedUsers(first: 5)", with: "assignedUsers")
            let refused = try await Self.graphql(sandbox, token: token, yamlForm, .object(JSONObject([("first", 50)])))
            #expect(refused.json?["errors"]?.arrayValue?.first?["extensions"]?["code"]?.stringValue == "THROTTLED")
            #expect(Self.int(refused.json?["extensions"]?["cost"]?["requestedQueryCost"]).map { $0 > 10_000 } == true)
            let visits = try await Self.drainJobber(sandbox, token: token, Self.visitsQuery, connection: "visits")
            #expect(visits.nodes.count == 120)
            #expect(visits.nodes.allSatisfy { ($0["assignedUsers"]?["nodes"]?.arrayValue?.count ?? 0) >= 1 })
            let users = try await Self.drainJobber(
                sandbox, token: token, "query U($first: Int!, $after: String) { users(first: $first, after: $after) { nodes { id name { first last full } email { raw } status } pageInfo { endCursor hasNextPage } } }",
                connection: "users", first: 3)
            #expect(users.nodes.count == 7 && users.pages == 3)
            // Fragments, aliases and edges work.
            let edges = try await Self.graphql(sandbox, token: token, "fragment C on Client { id name } { first: clients(first: 2) { edges { cursor node { ...C } } totalCount } }")
            #expect(edges.json?["data"]?["first"]?["edges"]?.arrayValue?.count == 2)
            #expect(edges.json?["data"]?["first"]?["edges"]?.arrayValue?.first?["node"]?["name"]?.stringValue != nil)

            let unknown = try await Self.graphql(sandbox, token: token, "{ jobs(first: 1) { nodes { id colour } } }")
            #expect(unknown.status == 200)
            #expect(unknown.json?["errors"]?.arrayValue?.first?["message"]?.stringValue == "Field 'colour' doesn't exist on type 'Job'")
            #expect(unknown.json?["data"] == nil)
            // Jobs cannot be filtered on updatedAt (only sorted by it), as in Jobber's schema.
            let filtered = try await Self.graphql(sandbox, token: token, #"{ jobs(first: 1, filter: { updatedAt: { after: "2024-01-01T00:00:00Z" } }) { nodes { id } } }"#)
            #expect(filtered.json?["errors"]?.arrayValue?.first?["extensions"]?["code"]?.stringValue == "argumentLiteralsIncompatible")
            let syntax = try await Self.graphql(sandbox, token: token, "{ jobs(first: 1) { nodes { id }")
            #expect(syntax.json?["errors"] != nil)
            let missing = try await Self.graphql(sandbox, token: token, Self.jobsQuery)
            #expect(missing.json?["errors"]?.arrayValue?.first?["extensions"]?["code"]?.stringValue == "variableMismatch")
        }
    }

    @Test func jobberThrottlesInsideA200AndRestores() async throws {
        // A small bucket with a slow restore, so a loaded machine (CI runs the suite on 2 cores)
        // cannot refill it between two requests.
        try await Self.withSandbox({ $0.jobber.maximumAvailable = 1_000; $0.jobber.restoreRate = 250 }) { sandbox in
            let token = try await Self.jobberToken(sandbox)
            let vars = JSONValue.object(JSONObject([("first", 50)]))
            var throttled: Answer?
            for _ in 0..<5 {
                let r = try await Self.graphql(sandbox, token: token, Self.jobsQuery, vars)
                if r.json?["errors"] != nil { throttled = r; break }
            }
            let t = try #require(throttled)
            #expect(t.status == 200)
            #expect(t.json?["errors"]?.arrayValue?.first?["extensions"]?["code"]?.stringValue == "THROTTLED")
            #expect(t.json?["data"] == nil)
            let status = try #require(t.json?["extensions"]?["cost"]?["throttleStatus"])
            let available = try #require(Self.int(status["currentlyAvailable"]))
            #expect(available < 754)
            #expect(t.json?["extensions"]?["cost"]?["actualQueryCost"]?.isNull == true)
            // The missing points restore at 250/s; wait that long and a little more.
            let wait = Double(754 - available) / 250 + 0.3
            try await Task.sleep(nanoseconds: UInt64(wait * 1e9))
            let after = try await Self.graphql(sandbox, token: token, Self.jobsQuery, vars)
            #expect(after.json?["errors"] == nil)
        }
    }

    // MARK: QuickBooks

    static func quickBooksToken(_ sandbox: ProviderSandbox) async throws -> String {
        let c = sandbox.configuration.quickbooks
        let basic = Data("\(c.clientId):\(c.clientSecret)".utf8).base64EncodedString()
        let r = try await send("\(sandbox.baseURL)/quickbooks/oauth2/v1/tokens/bearer", method: .POST, headers: [("Authorization", "Basic \(basic)")], form: [
            ("grant_type", "refresh_token"), ("refresh_token", sandbox.issueQuickBooksRefreshToken()),
        ])
        return try #require(r.json?["access_token"]?.stringValue, "\(r.text)")
    }

    static func qbQuery(_ sandbox: ProviderSandbox, token: String, _ sql: String, realm: String? = nil) async throws -> Answer {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let q = sql.addingPercentEncoding(withAllowedCharacters: allowed) ?? sql
        return try await send(
            "\(sandbox.baseURL)/quickbooks/v3/company/\(realm ?? sandbox.configuration.quickbooks.realmId)/query?query=\(q)&minorversion=75",
            headers: [("Authorization", "Bearer \(token)"), ("Accept", "application/json")])
    }

    /// Pages a query (the `STARTPOSITION`/`MAXRESULTS` clauses appended) until a short page.
    static func drainQuickBooks(_ sandbox: ProviderSandbox, token: String, _ sql: String, entity: String, size: Int = 100) async throws -> [JSONValue] {
        var records: [JSONValue] = []
        var start = 1
        while true {
            let r = try await qbQuery(sandbox, token: token, "\(sql) STARTPOSITION \(start) MAXRESULTS \(size)")
            try #require(r.status == 200, "\(r.text.prefix(300))")
            let page = r.json?["QueryResponse"]?[entity]?.arrayValue ?? []
            records += page
            if page.count < size { return records }
            #expect(Self.int(r.json?["QueryResponse"]?["startPosition"]) == start)
            #expect(Self.int(r.json?["QueryResponse"]?["maxResults"]) == page.count)
            start += size
            try #require(start < 100_000)
        }
    }

    @Test func quickBooksOAuthCarriesRealmAndRotates() async throws {
        try await Self.withSandbox { sandbox in
            let c = sandbox.configuration.quickbooks
            let consent = try await Self.consent(
                "\(sandbox.baseURL)/quickbooks/connect/oauth2?client_id=\(c.clientId)&response_type=code&scope=com.intuit.quickbooks.accounting&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcb&state=s1")
            #expect(consent.status == 302)
            let fields = try Self.redirectFields(consent)
            #expect(fields["realmId"] == c.realmId)
            #expect(fields["state"] == "s1")
            let code = try #require(fields["code"])
            let tokenURL = "\(sandbox.baseURL)/quickbooks/oauth2/v1/tokens/bearer"
            let basic = [("Authorization", "Basic " + Data("\(c.clientId):\(c.clientSecret)".utf8).base64EncodedString())]
            let formAuth = try await Self.send(tokenURL, method: .POST, form: [
                ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "http://127.0.0.1:8765/cb"),
                ("client_id", c.clientId), ("client_secret", c.clientSecret),
            ])
            #expect(formAuth.status == 401)
            #expect(formAuth.json?["error"]?.stringValue == "invalid_client")
            let exchanged = try await Self.send(tokenURL, method: .POST, headers: basic, form: [
                ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "http://127.0.0.1:8765/cb"),
            ])
            #expect(exchanged.status == 200)
            #expect(exchanged.json?["token_type"]?.stringValue == "bearer")
            #expect(Self.int(exchanged.json?["expires_in"]) == 3_600)
            #expect(Self.int(exchanged.json?["x_refresh_token_expires_in"]).map { $0 > 8_726_000 && $0 <= 8_726_400 } == true)
            let first = try #require(exchanged.json?["refresh_token"]?.stringValue)
            let refreshed = try await Self.send(tokenURL, method: .POST, headers: basic, form: [("grant_type", "refresh_token"), ("refresh_token", first)])
            let second = try #require(refreshed.json?["refresh_token"]?.stringValue)
            #expect(second != first)
            #expect(!sandbox.isQuickBooksRefreshTokenValid(first) && sandbox.isQuickBooksRefreshTokenValid(second))
            let reused = try await Self.send(tokenURL, method: .POST, headers: basic, form: [("grant_type", "refresh_token"), ("refresh_token", first)])
            #expect(reused.status == 400)
            #expect(reused.json?["error"]?.stringValue == "invalid_grant")
            #expect(sandbox.tokenRequestCount(provider: "quickbooks") == 4)
        }
    }

    @Test func quickBooksQueryPagesEveryRecordOnce() async throws {
        try await Self.withSandbox({ $0.quickbooks.invoices = 333; $0.quickbooks.customers = 90; $0.quickbooks.payments = 120 }) { sandbox in
            let token = try await Self.quickBooksToken(sandbox)
            let invoices = try await Self.drainQuickBooks(sandbox, token: token, "SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime", entity: "Invoice")
            let ids = invoices.compactMap { $0["Id"]?.stringValue }
            #expect(ids.count == 333 && Set(ids).count == 333)
            let invoice = try #require(invoices.first)
            for key in ["SyncToken", "DocNumber", "TxnDate", "DueDate", "CustomerRef", "Line", "MetaData", "TotalAmt", "Balance"] {
                #expect(invoice[key] != nil, "Invoice lacks \(key)")
            }
            #expect(invoice["MetaData"]?["LastUpdatedTime"]?.stringValue?.hasSuffix("-07:00") == true)
            #expect(invoice["CustomerRef"]?["value"]?.stringValue != nil && invoice["CustomerRef"]?["name"]?.stringValue != nil)
            let payments = try await Self.drainQuickBooks(sandbox, token: token, "select * from Payment", entity: "Payment", size: 1_000)
            #expect(payments.count == 120)
            #expect(payments.first?["Line"]?.arrayValue?.first?["LinkedTxn"]?.arrayValue?.first?["TxnType"]?.stringValue == "Invoice")

            // A bare Customer query sees active customers only; Active IN (true, false) sees all.
            let active = try await Self.drainQuickBooks(sandbox, token: token, "SELECT * FROM Customer", entity: "Customer")
            #expect(active.count == sandbox.quickBooksActiveCustomerCount)
            let everyone = try await Self.drainQuickBooks(sandbox, token: token, "SELECT * FROM Customer WHERE Active IN (true, false)", entity: "Customer")
            #expect(everyone.count == 90)
            #expect(active.count < everyone.count)
            let counted = try await Self.qbQuery(sandbox, token: token, "SELECT COUNT(*) FROM Invoice")
            #expect(Self.int(counted.json?["QueryResponse"]?["totalCount"]) == 333)
            // MAXRESULTS is capped at 1000 and the default page is 100.
            let plain = try await Self.qbQuery(sandbox, token: token, "SELECT * FROM Invoice")
            #expect(plain.json?["QueryResponse"]?["Invoice"]?.arrayValue?.count == 100)
        }
    }

    @Test func quickBooksIncrementalAndCDCDeletes() async throws {
        try await Self.withSandbox({ $0.quickbooks.invoices = 200 }) { sandbox in
            let token = try await Self.quickBooksToken(sandbox)
            let all = try await Self.drainQuickBooks(sandbox, token: token, "SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime", entity: "Invoice")
            let cursor = try #require(all.last?["MetaData"]?["LastUpdatedTime"]?.stringValue)
            let none = try await Self.qbQuery(sandbox, token: token, "SELECT * FROM Invoice WHERE Metadata.LastUpdatedTime > '\(cursor)'")
            #expect(none.status == 200)
            // An empty result: QueryResponse is {} (no array, no positions).
            #expect(none.json?["QueryResponse"] == .object(JSONObject()))

            let touched = sandbox.touchQuickBooks("Invoice", count: 3)
            let deleted = sandbox.deleteQuickBooks("Invoice", count: 2)
            let changed = try await Self.drainQuickBooks(
                sandbox, token: token, "SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '\(cursor)' ORDERBY MetaData.LastUpdatedTime", entity: "Invoice")
            let changedIds = Set(changed.compactMap { $0["Id"]?.stringValue })
            #expect(changedIds == Set(touched).subtracting(deleted))
            #expect(changed.allSatisfy { $0["SyncToken"]?.stringValue == "1" })
            let remaining = try await Self.drainQuickBooks(sandbox, token: token, "SELECT * FROM Invoice", entity: "Invoice")
            #expect(remaining.count == 198)

            let since = Timestamp.iso8601(micros: Int64((Date().timeIntervalSince1970 - 3_600) * 1_000_000))
            let cdc = try await Self.send(
                "\(sandbox.baseURL)/quickbooks/v3/company/\(sandbox.configuration.quickbooks.realmId)/cdc?entities=Invoice,Customer&changedSince=\(since)&minorversion=75",
                headers: [("Authorization", "Bearer \(token)")])
            #expect(cdc.status == 200, "\(cdc.text.prefix(300))")
            let responses = try #require(cdc.json?["CDCResponse"]?.arrayValue?.first?["QueryResponse"]?.arrayValue)
            #expect(responses.count == 2)
            let entries = responses[0]["Invoice"]?.arrayValue ?? []
            let gone = entries.filter { $0["status"]?.stringValue == "Deleted" }.compactMap { $0["Id"]?.stringValue }
            #expect(Set(gone) == Set(deleted))
            #expect(Set(entries.filter { $0["status"] == nil }.compactMap { $0["Id"]?.stringValue }) == Set(touched).subtracting(deleted))
            #expect(responses[1]["Customer"] == nil)
            let tooOld = try await Self.send(
                "\(sandbox.baseURL)/quickbooks/v3/company/\(sandbox.configuration.quickbooks.realmId)/cdc?entities=Invoice&changedSince=2020-01-01T00:00:00Z",
                headers: [("Authorization", "Bearer \(token)")])
            #expect(tooOld.status == 400)
            #expect(tooOld.json?["Fault"]?["type"]?.stringValue == "ValidationFault")
        }
    }

    @Test func quickBooksFaults() async throws {
        try await Self.withSandbox({ $0.quickbooks.requestsPerMinute = 6 }) { sandbox in
            let token = try await Self.quickBooksToken(sandbox)
            let bad = try await Self.qbQuery(sandbox, token: token, "SELECT * FORM Invoice")
            #expect(bad.status == 400)
            let error = try #require(bad.json?["Fault"]?["Error"]?.arrayValue?.first)
            #expect(error["code"]?.stringValue == "4000")
            #expect(error["Message"]?.stringValue == "Error parsing query")
            #expect(bad.json?["Fault"]?["type"]?.stringValue == "ValidationFault")
            #expect(bad.json?["time"]?.stringValue != nil)
            let entity = try await Self.qbQuery(sandbox, token: token, "SELECT * FROM Widget")
            #expect(entity.json?["Fault"]?["Error"]?.arrayValue?.first?["code"]?.stringValue == "4001")
            let realm = try await Self.qbQuery(sandbox, token: token, "SELECT * FROM Invoice", realm: "123")
            #expect(realm.status == 403)
            #expect(realm.json?["Fault"]?["Error"]?.arrayValue?.first?["code"]?.stringValue == "3100")
            let unauthenticated = try await Self.qbQuery(sandbox, token: "nope", "SELECT * FROM Invoice")
            #expect(unauthenticated.status == 401)
            // Intuit's 401 comes with lower-case keys.
            #expect(unauthenticated.json?["fault"]?["error"]?.arrayValue?.first?["code"]?.stringValue == "3200")
            var statuses: [Int] = []
            for _ in 0..<5 { statuses.append(try await Self.qbQuery(sandbox, token: token, "SELECT * FROM Customer MAXRESULTS 1").status) }
            #expect(statuses == [200, 200, 200, 200, 429])
            sandbox.inject(FaultRule(pathContains: "/quickbooks/v3/", fault: .expireTokens))
            let expired = try await Self.qbQuery(sandbox, token: token, "SELECT * FROM Customer")
            #expect(expired.status == 401)
            #expect(expired.json?["fault"]?["error"]?.arrayValue?.first?["detail"]?.stringValue?.hasPrefix("Token expired") == true)
            sandbox.inject(FaultRule(pathContains: "/quickbooks/", fault: .serverError))
            let failed = try await Self.qbQuery(sandbox, token: token, "SELECT * FROM Customer")
            #expect(failed.status == 500)
            #expect(failed.json?["Fault"]?["type"]?.stringValue == "SystemFault")
        }
    }

    // MARK: Yelp

    @Test func yelpBusinessReviewsAndDailyLimit() async throws {
        try await Self.withSandbox({ $0.yelp.dailyLimit = 4 }) { sandbox in
            let key = [("Authorization", "Bearer \(sandbox.configuration.yelp.apiKey)")]
            let own = sandbox.yelpBusiness
            let business = try await Self.send("\(sandbox.baseURL)/yelp/v3/businesses/\(own.alias)", headers: key)
            #expect(business.status == 200)
            #expect(business.json?["id"]?.stringValue == own.id)
            #expect(Self.int(business.json?["review_count"]) == 87)
            #expect(business.json?["rating"] == .number("4.5"))
            #expect(business.headers.first(name: "RateLimit-DailyLimit") == "4")
            #expect(business.headers.first(name: "RateLimit-Remaining") == "3")
            let reviews = try await Self.send("\(sandbox.baseURL)/yelp/v3/businesses/\(own.id)/reviews?limit=20&sort_by=newest", headers: key)
            #expect(reviews.status == 200)
            let list = try #require(reviews.json?["reviews"]?.arrayValue)
            #expect(list.count == 3)
            #expect(Self.int(reviews.json?["total"]) == 87)
            #expect(reviews.json?["possible_languages"] == .array(["en"]))
            let created = try #require(list.first?["time_created"]?.stringValue)
            #expect(created.count == 19 && created.contains(" ") && !created.contains("T"))
            #expect(list.first?["user"]?["name"]?.stringValue != nil)
            let missing = try await Self.send("\(sandbox.baseURL)/yelp/v3/businesses/no-such-business", headers: key)
            #expect(missing.status == 404)
            #expect(missing.json?["error"]?["code"]?.stringValue == "BUSINESS_NOT_FOUND")
            let bad = try await Self.send("\(sandbox.baseURL)/yelp/v3/businesses/\(own.id)", headers: [("Authorization", "Bearer nope")])
            #expect(bad.status == 401)
            #expect(bad.json?["error"]?["code"]?.stringValue == "TOKEN_INVALID")
            let fourth = try await Self.send("\(sandbox.baseURL)/yelp/v3/businesses/\(own.id)", headers: key)
            #expect(fourth.status == 200)
            let limited = try await Self.send("\(sandbox.baseURL)/yelp/v3/businesses/\(own.id)", headers: key)
            #expect(limited.status == 429)
            #expect(limited.json?["error"]?["code"]?.stringValue == "ACCESS_LIMIT_REACHED")
            #expect(sandbox.yelpCallsToday == 4)
            sandbox.resetYelpDailyLimit()
            sandbox.addYelpReviews(count: 2)
            let newer = try await Self.send("\(sandbox.baseURL)/yelp/v3/businesses/\(own.id)/reviews?sort_by=newest", headers: key)
            #expect(Self.int(newer.json?["total"]) == 89)
            #expect(newer.json?["reviews"]?.arrayValue?.first?["id"] != list.first?["id"])
            sandbox.inject(FaultRule(pathContains: "/yelp/", fault: .tooManyRequests(retryAfterSeconds: 1)))
            let burst = try await Self.send("\(sandbox.baseURL)/yelp/v3/businesses/\(own.id)", headers: key)
            #expect(burst.status == 429)
            #expect(burst.json?["error"]?["code"]?.stringValue == "TOO_MANY_REQUESTS_PER_SECOND")
        }
    }

    // MARK: SerpApi

    static func serp(_ sandbox: ProviderSandbox, _ params: [(String, String)]) async throws -> Answer {
        try await send("\(sandbox.baseURL)/serpapi/search.json?" + SandboxTests.encode(params))
    }

    @Test func serpApiRanksPagesAndSpendsSearches() async throws {
        try await Self.withSandbox({ $0.serpapi.searchesLeft = 30 }) { sandbox in
            let key = sandbox.configuration.serpapi.apiKey
            // Pick a keyword the contractor ranks for on the second page, and one it does not rank for.
            let keywords = (0..<200).map { "hvac repair \($0)" }
            let ranked = try #require(keywords.first { (sandbox.serpApiOwnRank($0) ?? 0) > 20 })
            let unranked = try #require(keywords.first { sandbox.serpApiOwnRank($0) == nil })
            var places: [JSONValue] = []
            var start = 0
            while true {
                let r = try await Self.serp(sandbox, [
                    ("engine", "google_maps"), ("type", "search"), ("q", ranked), ("ll", "@30.2672,-97.7431,12z"), ("start", String(start)), ("api_key", key),
                ])
                try #require(r.status == 200, "\(r.text.prefix(300))")
                #expect(r.json?["search_metadata"]?["status"]?.stringValue == "Success")
                #expect(r.json?["search_parameters"]?["q"]?.stringValue == ranked)
                let page = r.json?["local_results"]?.arrayValue ?? []
                places += page
                guard let next = r.json?["serpapi_pagination"]?["next"]?.stringValue else { break }
                #expect(next.contains("start=\(start + 20)"))
                start += 20
            }
            let total = sandbox.serpApiResultCount(ranked)
            #expect(places.count == min(total, 120))
            #expect(Set(places.compactMap { $0["place_id"]?.stringValue }).count == places.count)
            #expect(places.enumerated().allSatisfy { Self.int($0.element["position"]) == $0.offset + 1 })
            let own = try #require(places.first { $0["place_id"]?.stringValue == sandbox.serpApiOwnPlaceId })
            #expect(Self.int(own["position"]) == sandbox.serpApiOwnRank(ranked))
            for key in ["title", "data_id", "data_cid", "address", "type", "gps_coordinates"] { #expect(own[key] != nil, "local result lacks \(key)") }

            let other = try await Self.serp(sandbox, [("engine", "google_maps"), ("q", unranked), ("ll", "@30.2672,-97.7431,12z"), ("api_key", key)])
            #expect(other.json?["local_results"]?.arrayValue?.contains { $0["place_id"]?.stringValue == sandbox.serpApiOwnPlaceId } == false)
            let spent = places.count / 20 + (places.count % 20 == 0 ? 0 : 1) + 1
            #expect(sandbox.serpApiSearchesLeft == 30 - spent)
            let account = try await Self.send("\(sandbox.baseURL)/serpapi/account.json?api_key=\(key)")
            #expect(Self.int(account.json?["plan_searches_left"]) == 30 - spent)
            #expect(Self.int(account.json?["this_month_usage"]) == spent)
            #expect(Self.int(account.json?["total_searches_left"]) == 30 - spent)
            // The same search within the hour comes from SerpApi's cache and is free.
            _ = try await Self.serp(sandbox, [("engine", "google_maps"), ("q", unranked), ("ll", "@30.2672,-97.7431,12z"), ("api_key", key)])
            #expect(sandbox.serpApiSearchesLeft == 30 - spent)
            let empty = try await Self.serp(sandbox, [("engine", "google_maps"), ("q", "no such business anywhere"), ("api_key", key)])
            #expect(empty.status == 200)
            #expect(empty.json?["search_metadata"]?["status"]?.stringValue == "Success")
            #expect(empty.json?["error"]?.stringValue != nil)
            #expect(empty.json?["local_results"] == nil)
        }
    }

    @Test func serpApiErrors() async throws {
        try await Self.withSandbox({ $0.serpapi.searchesLeft = 1 }) { sandbox in
            let key = sandbox.configuration.serpapi.apiKey
            let badKey = try await Self.serp(sandbox, [("engine", "google_maps"), ("q", "plumber"), ("api_key", "nope")])
            #expect(badKey.status == 401)
            #expect(badKey.json?["error"]?.stringValue?.hasPrefix("Invalid API key.") == true)
            let noQ = try await Self.serp(sandbox, [("engine", "google_maps"), ("api_key", key)])
            #expect(noQ.status == 400)
            let badLL = try await Self.serp(sandbox, [("engine", "google_maps"), ("q", "plumber"), ("ll", "30,-97"), ("api_key", key)])
            #expect(badLL.status == 400)
            let ok = try await Self.serp(sandbox, [("engine", "google_maps"), ("q", "plumber"), ("api_key", key)])
            #expect(ok.status == 200)
            let out = try await Self.serp(sandbox, [("engine", "google_maps"), ("q", "electrician"), ("api_key", key)])
            #expect(out.status == 429)
            #expect(out.json?["error"]?.stringValue == "Your account has run out of searches.")
            sandbox.inject(FaultRule(pathContains: "/serpapi/", fault: .echoRequest))
            let echoed = try await Self.send("\(sandbox.baseURL)/serpapi/account.json?api_key=\(key)")
            #expect(echoed.status == 400)
            #expect(echoed.json?["error"]?.stringValue?.contains(key) == true)
        }
    }
}
