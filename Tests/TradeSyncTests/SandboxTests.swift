import AsyncHTTPClient
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOHTTP1
import Testing
import TradeSyncCore
import TradeSyncSandbox

/// The provider sandbox over real HTTP: OAuth, paging, incremental export, faults.
@Suite("SandboxTests")
struct SandboxTests {
    // MARK: helpers

    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var text: String
        var json: JSONValue? { try? JSONValue.parse(text) }
    }

    static func send(
        _ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], form: [(String, String)]? = nil,
        body json: String? = nil, client: HTTPClient = .shared
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let form {
            let body = encode(form)
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: body))
        } else if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: body))
    }

    /// Form or query text: unreserved characters as is, the rest percent-encoded.
    static func encode(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
    }

    static func withSandbox<T>(_ configure: (inout SandboxConfiguration) -> Void = { _ in }, _ body: (ProviderSandbox) async throws -> T) async throws -> T {
        var configuration = SandboxConfiguration()
        configure(&configuration)
        let sandbox = ProviderSandbox(configuration: configuration)
        try await sandbox.start()
        do {
            let result = try await body(sandbox)
            await sandbox.stop()
            return result
        } catch {
            await sandbox.stop()
            throw error
        }
    }

    static func stToken(_ sandbox: ProviderSandbox) async throws -> String {
        let c = sandbox.configuration.serviceTitan
        let r = try await send("\(sandbox.baseURL)/servicetitan/connect/token", method: .POST, form: [
            ("grant_type", "client_credentials"), ("client_id", c.clientId), ("client_secret", c.clientSecret),
        ])
        return try #require(r.json?["access_token"]?.stringValue)
    }

    static func stHeaders(_ sandbox: ProviderSandbox, _ token: String) -> [(String, String)] {
        [("Authorization", "Bearer \(token)"), ("ST-App-Key", sandbox.configuration.serviceTitan.appKey)]
    }

    static func jobsExportURL(_ sandbox: ProviderSandbox, from: String? = nil, recent: Bool = true) -> String {
        var url = "\(sandbox.baseURL)/servicetitan/jpm/v2/tenant/\(sandbox.configuration.serviceTitan.tenantId)/export/jobs?"
        url += recent ? "includeRecentChanges=true" : ""
        if let from { url += "&from=" + (from.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? from) }
        return url
    }

    /// Pages an export to its end; returns the records and the final continueFrom.
    static func drainExport(_ sandbox: ProviderSandbox, token: String, from: String? = nil, recent: Bool = true) async throws -> (records: [JSONValue], cursor: String, pages: Int) {
        var records: [JSONValue] = []
        var from = from
        var pages = 0
        while true {
            let r = try await send(jobsExportURL(sandbox, from: from, recent: recent), headers: stHeaders(sandbox, token))
            try #require(r.status == 200, "\(r.text.prefix(300))")
            let json = try #require(r.json)
            records += json["data"]?.arrayValue ?? []
            pages += 1
            let next = try #require(json["continueFrom"]?.stringValue)
            from = next
            if json["hasMore"]?.boolValue != true { return (records, next, pages) }
            try #require(pages < 10_000)
        }
    }

    static func googleAccessToken(_ sandbox: ProviderSandbox) async throws -> String {
        let g = sandbox.configuration.google
        let r = try await send("\(sandbox.baseURL)/google/token", method: .POST, form: [
            ("grant_type", "refresh_token"), ("client_id", g.clientId), ("client_secret", g.clientSecret),
            ("refresh_token", sandbox.issueGoogleRefreshToken()),
        ])
        return try #require(r.json?["access_token"]?.stringValue)
    }

    /// Whether something accepts TCP connections on 127.0.0.1:port.
    static func acceptsConnections(port: Int) -> Bool {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }

    static func int(_ v: JSONValue?) -> Int64? {
        if case .integer(let i) = v { return i }
        return nil
    }

    // MARK: ServiceTitan

    @Test func serviceTitanTokenAndAppKey() async throws {
        try await Self.withSandbox { sandbox in
            let c = sandbox.configuration.serviceTitan
            let tokenURL = "\(sandbox.baseURL)/servicetitan/connect/token"
            let wrongClient = try await Self.send(tokenURL, method: .POST, form: [
                ("grant_type", "client_credentials"), ("client_id", c.clientId), ("client_secret", "nope"),
            ])
            #expect(wrongClient.status == 400)
            #expect(wrongClient.json?["error"]?.stringValue == "invalid_client")
            let wrongGrant = try await Self.send(tokenURL, method: .POST, form: [
                ("grant_type", "password"), ("client_id", c.clientId), ("client_secret", c.clientSecret),
            ])
            #expect(wrongGrant.status == 400)
            #expect(wrongGrant.json?["error"]?.stringValue == "unsupported_grant_type")
            let ok = try await Self.send(tokenURL, method: .POST, form: [
                ("grant_type", "client_credentials"), ("client_id", c.clientId), ("client_secret", c.clientSecret),
            ])
            #expect(ok.status == 200)
            #expect(Self.int(ok.json?["expires_in"]) == 900)
            #expect(ok.json?["token_type"]?.stringValue == "Bearer")
            let token = try #require(ok.json?["access_token"]?.stringValue)
            #expect(sandbox.tokenRequestCount(provider: "servicetitan") == 3)
            #expect(sandbox.tokenRequestCount(provider: "google") == 0)

            let url = "\(sandbox.baseURL)/servicetitan/jpm/v2/tenant/\(c.tenantId)/job-types"
            let noAppKey = try await Self.send(url, headers: [("Authorization", "Bearer \(token)")])
            #expect(noAppKey.status == 401)
            let wrongAppKey = try await Self.send(url, headers: [("Authorization", "Bearer \(token)"), ("ST-App-Key", "other")])
            #expect(wrongAppKey.status == 401)
            let noToken = try await Self.send(url, headers: [("ST-App-Key", c.appKey)])
            #expect(noToken.status == 401)
            #expect(Self.int(noToken.json?["status"]) == 401)
            let badToken = try await Self.send(url, headers: [("Authorization", "Bearer nope"), ("ST-App-Key", c.appKey)])
            #expect(badToken.status == 401)
            let bearer = try await Self.send(url, headers: Self.stHeaders(sandbox, token))
            #expect(bearer.status == 200)
            let raw = try await Self.send(url, headers: [("Authorization", token), ("ST-App-Key", c.appKey)])
            #expect(raw.status == 200)

            let otherTenant = try await Self.send(
                "\(sandbox.baseURL)/servicetitan/jpm/v2/tenant/999/export/jobs", headers: Self.stHeaders(sandbox, token))
            #expect(otherTenant.status == 404)
            let problem = try #require(otherTenant.json)
            for key in ["type", "title", "status", "traceId", "errors"] { #expect(problem[key] != nil, "missing \(key)") }
            #expect(otherTenant.headers.first(name: "Content-Type")?.hasPrefix("application/problem+json") == true)
        }
    }

    @Test func exportPagesThroughEveryJobThenResumesWithChanges() async throws {
        try await Self.withSandbox({ $0.serviceTitan.jobs = 1_234 }) { sandbox in
            let token = try await Self.stToken(sandbox)
            let all = try await Self.drainExport(sandbox, token: token)
            #expect(all.pages == 3)
            let ids = all.records.compactMap { Self.int($0["id"]) }
            #expect(ids.count == sandbox.serviceTitanRecordCount("jobs"))
            #expect(Set(ids).count == 1_234)
            #expect(ids.allSatisfy { $0 > 2_147_483_647 })
            // Ordered by (modifiedOn, id); 7 fractional digits.
            let modified = all.records.compactMap { $0["modifiedOn"]?.stringValue }
            #expect(modified.count == ids.count)
            #expect(modified == modified.sorted())
            #expect(modified.allSatisfy { $0.count == "2021-07-19T20:35:38.2876004Z".count && $0.hasSuffix("Z") })
            let statuses = Set(all.records.compactMap { $0["jobStatus"]?.stringValue })
            #expect(statuses == ["Scheduled", "Dispatched", "InProgress", "Hold", "Completed", "Canceled"])

            // Nothing new: the final cursor gives an empty last page and keeps its position.
            let r0 = try await Self.send(Self.jobsExportURL(sandbox, from: all.cursor), headers: Self.stHeaders(sandbox, token))
            #expect(r0.json?["data"]?.arrayValue?.count == 0)
            #expect(r0.json?["hasMore"]?.boolValue == false)
            #expect(r0.json?["continueFrom"]?.stringValue == all.cursor)

            let touched = sandbox.touchServiceTitanJobs(count: 3)
            #expect(touched.count == 3)
            let delta = try await Self.drainExport(sandbox, token: token, from: all.cursor)
            #expect(Set(delta.records.compactMap { Self.int($0["id"]) }) == Set(touched))
            #expect(delta.records.count == 3)
            #expect(delta.records.allSatisfy { $0["summary"]?.stringValue?.contains("(updated 1)") == true })

            // Without includeRecentChanges the feed lags 15 minutes: the changes are not visible yet.
            let lagging = try await Self.drainExport(sandbox, token: token, from: all.cursor, recent: false)
            #expect(lagging.records.isEmpty)

            let added = sandbox.addServiceTitanJobs(count: 2)
            #expect(sandbox.serviceTitanRecordCount("jobs") == 1_236)
            let delta2 = try await Self.drainExport(sandbox, token: token, from: delta.cursor)
            #expect(delta2.records.compactMap { Self.int($0["id"]) } == added)
            #expect(delta2.records.allSatisfy { $0["jobStatus"]?.stringValue == "Scheduled" })

            // A full re-export still has every job exactly once.
            let again = try await Self.drainExport(sandbox, token: token)
            #expect(Set(again.records.compactMap { Self.int($0["id"]) }).count == 1_236)
            #expect(again.records.count == 1_236)

            // A date: modifiedOn ≥ it.
            let since = try await Self.drainExport(sandbox, token: token, from: "2024-12-01T00:00:00Z")
            #expect(!since.records.isEmpty)
            #expect(since.records.allSatisfy { ($0["modifiedOn"]?.stringValue ?? "") >= "2024-12-01" })

            let garbage = try await Self.send(Self.jobsExportURL(sandbox, from: "not-a-token"), headers: Self.stHeaders(sandbox, token))
            #expect(garbage.status == 400)
            #expect(garbage.json?["errors"]?["from"] != nil)
        }
    }

    @Test func otherExportsCarryTheMappedFields() async throws {
        try await Self.withSandbox { sandbox in
            let token = try await Self.stToken(sandbox)
            let t = sandbox.configuration.serviceTitan.tenantId
            let base = "\(sandbox.baseURL)/servicetitan"
            func export(_ path: String) async throws -> [JSONValue] {
                var out: [JSONValue] = []
                var from: String?
                while true {
                    var url = "\(base)/\(path)?includeRecentChanges=true"
                    if let from { url += "&from=\(from)" }
                    let r = try await Self.send(url, headers: Self.stHeaders(sandbox, token))
                    try #require(r.status == 200)
                    out += r.json?["data"]?.arrayValue ?? []
                    from = r.json?["continueFrom"]?.stringValue
                    if r.json?["hasMore"]?.boolValue != true { return out }
                }
            }
            let customers = try await export("crm/v2/tenant/\(t)/export/customers")
            #expect(customers.count == sandbox.serviceTitanRecordCount("customers"))
            #expect(customers.allSatisfy { $0["address"]?["street"]?.stringValue != nil && $0["type"]?.stringValue != nil })
            let invoices = try await export("accounting/v2/tenant/\(t)/export/invoices")
            #expect(invoices.count == sandbox.serviceTitanRecordCount("invoices"))
            #expect(invoices.allSatisfy { $0["total"]?.stringValue?.contains(".") == true && $0["salesTax"]?.stringValue != nil })
            #expect(invoices.contains { $0["job"]?.isNull == true })
            #expect(invoices.allSatisfy { $0["invoiceDate"]?.stringValue?.hasSuffix("T00:00:00Z") == true })
            let estimates = try await export("sales/v2/tenant/\(t)/export/estimates")
            #expect(estimates.count == sandbox.serviceTitanRecordCount("estimates"))
            #expect(estimates.allSatisfy { $0["status"]?["name"]?.stringValue != nil && $0["items"]?.arrayValue != nil })
            let technicians = try await export("settings/v2/tenant/\(t)/export/technicians")
            #expect(technicians.count == sandbox.serviceTitanRecordCount("technicians"))
            #expect(technicians.allSatisfy { $0["loginName"]?.stringValue != nil && $0["email"]?.stringValue != nil })
        }
    }

    @Test func listEndpointsPageAndValidate() async throws {
        try await Self.withSandbox { sandbox in
            let token = try await Self.stToken(sandbox)
            let t = sandbox.configuration.serviceTitan.tenantId
            let base = "\(sandbox.baseURL)/servicetitan/jpm/v2/tenant/\(t)"
            let tooBig = try await Self.send("\(base)/jobs?pageSize=5001", headers: Self.stHeaders(sandbox, token))
            #expect(tooBig.status == 400)
            #expect(tooBig.json?["errors"]?["pageSize"] != nil)
            let pageZero = try await Self.send("\(base)/jobs?page=0", headers: Self.stHeaders(sandbox, token))
            #expect(pageZero.status == 400)

            let types = try await Self.send("\(base)/job-types?page=1&pageSize=200", headers: Self.stHeaders(sandbox, token))
            let names = types.json?["data"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(names.count == sandbox.serviceTitanRecordCount("job-types"))
            #expect(names.contains("Duct Cleaning") && names.contains("Water Heater Flush") && names.contains("Tune-Up"))
            #expect(types.json?["hasMore"]?.boolValue == false)
            let typeIds = Set(types.json?["data"]?.arrayValue?.compactMap { Self.int($0["id"]) } ?? [])

            var seen = Set<Int64>()
            var page = 1
            while true {
                let r = try await Self.send("\(base)/jobs?page=\(page)&pageSize=500&includeTotal=true", headers: Self.stHeaders(sandbox, token))
                try #require(r.status == 200)
                #expect(Self.int(r.json?["totalCount"]) == Int64(sandbox.serviceTitanRecordCount("jobs")))
                for job in r.json?["data"]?.arrayValue ?? [] {
                    if let id = Self.int(job["id"]) { seen.insert(id) }
                    #expect(typeIds.contains(Self.int(job["jobTypeId"]) ?? 0))
                    #expect(job["jobNumber"]?.stringValue != nil)
                }
                if r.json?["hasMore"]?.boolValue != true { break }
                page += 1
            }
            #expect(seen.count == sandbox.serviceTitanRecordCount("jobs"))

            let touched = sandbox.touchServiceTitanJobs(count: 2)
            let recent = try await Self.send("\(base)/jobs?modifiedOnOrAfter=2025-02-01T00:00:00Z&includeTotal=true", headers: Self.stHeaders(sandbox, token))
            #expect(Set(recent.json?["data"]?.arrayValue?.compactMap { Self.int($0["id"]) } ?? []) == Set(touched))
        }
    }

    // MARK: Google

    @Test func googleRefreshRevokeAndAuth() async throws {
        try await Self.withSandbox { sandbox in
            let g = sandbox.configuration.google
            let tokenURL = "\(sandbox.baseURL)/google/token"
            let refresh = sandbox.issueGoogleRefreshToken()
            let ok = try await Self.send(tokenURL, method: .POST, form: [
                ("grant_type", "refresh_token"), ("client_id", g.clientId), ("client_secret", g.clientSecret), ("refresh_token", refresh),
            ])
            #expect(ok.status == 200)
            #expect(ok.json?["refresh_token"] == nil)
            #expect(Self.int(ok.json?["expires_in"]) == 3599)
            #expect(ok.json?["scope"]?.stringValue == "https://www.googleapis.com/auth/business.manage")
            let access = try #require(ok.json?["access_token"]?.stringValue)

            let wrongClient = try await Self.send(tokenURL, method: .POST, form: [
                ("grant_type", "refresh_token"), ("client_id", "other"), ("client_secret", g.clientSecret), ("refresh_token", refresh),
            ])
            #expect(wrongClient.status == 401)
            #expect(wrongClient.json?["error"]?.stringValue == "invalid_client")

            sandbox.revokeGoogleRefreshToken(refresh)
            let revoked = try await Self.send(tokenURL, method: .POST, form: [
                ("grant_type", "refresh_token"), ("client_id", g.clientId), ("client_secret", g.clientSecret), ("refresh_token", refresh),
            ])
            #expect(revoked.status == 400)
            #expect(revoked.json?["error"]?.stringValue == "invalid_grant")
            #expect(revoked.json?["error_description"]?.stringValue == "Token has been expired or revoked.")
            #expect(sandbox.tokenRequestCount(provider: "google") == 3)

            let accountsURL = "\(sandbox.baseURL)/google/v1/accounts"
            let anonymous = try await Self.send(accountsURL)
            #expect(anonymous.status == 401)
            #expect(anonymous.json?["error"]?["status"]?.stringValue == "UNAUTHENTICATED")
            let accounts = try await Self.send(accountsURL, headers: [("Authorization", "Bearer \(access)")])
            #expect(accounts.status == 200)
            #expect(accounts.json?["accounts"]?.arrayValue?.count == g.accounts)
            #expect(accounts.json?["nextPageToken"] == nil)
        }
    }

    @Test func googleAuthorizationCodeFlow() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            try await Self.withSandbox { sandbox in
                let g = sandbox.configuration.google
                let redirect = "http://127.0.0.1:1/callback"
                let auth = "\(sandbox.baseURL)/google/o/oauth2/v2/auth?client_id=\(g.clientId)&redirect_uri=\(redirect.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&response_type=code&scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fbusiness.manage&state=xyz&access_type=offline&prompt=consent"
                let r = try await Self.send(auth, client: client)
                #expect(r.status == 302)
                let location = try #require(r.headers.first(name: "Location"))
                #expect(location.hasPrefix(redirect + "?"))
                let items = URLComponents(string: location)?.queryItems ?? []
                #expect(items.first { $0.name == "state" }?.value == "xyz")
                let code = try #require(items.first { $0.name == "code" }?.value)
                let form = [("grant_type", "authorization_code"), ("client_id", g.clientId), ("client_secret", g.clientSecret), ("code", code), ("redirect_uri", redirect)]
                let exchange = try await Self.send("\(sandbox.baseURL)/google/token", method: .POST, form: form, client: client)
                #expect(exchange.status == 200)
                #expect(exchange.json?["refresh_token"]?.stringValue != nil)
                #expect(exchange.json?["access_token"]?.stringValue != nil)
                let reuse = try await Self.send("\(sandbox.baseURL)/google/token", method: .POST, form: form, client: client)
                #expect(reuse.status == 400)
                #expect(reuse.json?["error"]?.stringValue == "invalid_grant")
            }
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    @Test func googleLocationsReviewsPostsAndInsights() async throws {
        try await Self.withSandbox { sandbox in
            let access = try await Self.googleAccessToken(sandbox)
            let auth = [("Authorization", "Bearer \(access)")]
            let base = "\(sandbox.baseURL)/google"
            let accounts = try await Self.send("\(base)/v1/accounts?pageSize=20", headers: auth)
            let account = try #require(accounts.json?["accounts"]?.arrayValue?.first?["name"]?.stringValue)
            #expect(account.hasPrefix("accounts/"))

            let noMask = try await Self.send("\(base)/v1/\(account)/locations", headers: auth)
            #expect(noMask.status == 400)
            #expect(noMask.json?["error"]?["status"]?.stringValue == "INVALID_ARGUMENT")
            let locations = try await Self.send(
                "\(base)/v1/\(account)/locations?readMask=name,title,storefrontAddress,metadata&pageSize=100",
                headers: auth)
            let list = try #require(locations.json?["locations"]?.arrayValue)
            #expect(list.count == sandbox.configuration.google.locationsPerAccount)
            #expect(list.allSatisfy { Set($0.objectValue?.keys ?? []) == ["name", "title", "storefrontAddress", "metadata"] })
            let titleOnly = try await Self.send(
                "\(base)/v1/\(account)/locations?readMask=title", headers: auth)
            #expect(titleOnly.json?["locations"]?.arrayValue?.allSatisfy { $0.objectValue?.keys == ["title"] } == true)

            var reviewTotal = 0
            var postTotal = 0
            let words: Set<String> = ["STAR_RATING_UNSPECIFIED", "ONE", "TWO", "THREE", "FOUR", "FIVE"]
            for location in list {
                let name = try #require(location["name"]?.stringValue)  // locations/…
                var pageToken: String?
                var pages = 0
                repeat {
                    var url = "\(base)/v4/\(account)/\(name)/reviews?pageSize=50&orderBy=updateTime%20desc"
                    if let pageToken { url += "&pageToken=\(pageToken)" }
                    let r = try await Self.send(url, headers: auth)
                    try #require(r.status == 200, "\(r.text.prefix(200))")
                    let reviews = r.json?["reviews"]?.arrayValue ?? []
                    reviewTotal += reviews.count
                    #expect(reviews.allSatisfy { words.contains($0["starRating"]?.stringValue ?? "") })
                    #expect(Self.int(r.json?["totalReviewCount"]) == Int64(sandbox.configuration.google.reviewsPerLocation))
                    pageToken = r.json?["nextPageToken"]?.stringValue
                    pages += 1
                } while pageToken != nil && pages < 100
                pageToken = nil
                repeat {
                    var url = "\(base)/v4/\(account)/\(name)/localPosts?pageSize=100"
                    if let pageToken { url += "&pageToken=\(pageToken)" }
                    let r = try await Self.send(url, headers: auth)
                    postTotal += r.json?["localPosts"]?.arrayValue?.count ?? 0
                    pageToken = r.json?["nextPageToken"]?.stringValue
                } while pageToken != nil
            }
            #expect(reviewTotal == sandbox.googleReviewCount())
            #expect(postTotal == sandbox.googlePostCount())

            let firstLocation = try #require(list.first?["name"]?.stringValue)
            let tooBig = try await Self.send("\(base)/v4/\(account)/\(firstLocation)/reviews?pageSize=51", headers: auth)
            #expect(tooBig.status == 400)

            // Insights over the last 40 days: values are int64 strings, zeros omitted.
            let today = Date()
            let start = today.addingTimeInterval(-39 * 86_400)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
            let s = calendar.dateComponents([.year, .month, .day], from: start)
            let e = calendar.dateComponents([.year, .month, .day], from: today)
            let metrics = ["BUSINESS_IMPRESSIONS_MOBILE_SEARCH", "CALL_CLICKS", "BUSINESS_BOOKINGS"].map { "dailyMetrics=\($0)" }.joined(separator: "&")
            let range = "dailyRange.startDate.year=\(s.year ?? 0)&dailyRange.startDate.month=\(s.month ?? 0)&dailyRange.startDate.day=\(s.day ?? 0)&dailyRange.endDate.year=\(e.year ?? 0)&dailyRange.endDate.month=\(e.month ?? 0)&dailyRange.endDate.day=\(e.day ?? 0)"
            let insightsURL = "\(base)/v1/\(firstLocation):fetchMultiDailyMetricsTimeSeries?\(metrics)"
            let missingRange = try await Self.send(insightsURL, headers: auth)
            #expect(missingRange.status == 400)
            let insights = try await Self.send(insightsURL + "&" + range, headers: auth)
            try #require(insights.status == 200, "\(insights.text.prefix(300))")
            let series = try #require(insights.json?["multiDailyMetricTimeSeries"]?.arrayValue?.first?["dailyMetricTimeSeries"]?.arrayValue)
            #expect(series.count == 3)
            let values = series.flatMap { $0["timeSeries"]?["datedValues"]?.arrayValue ?? [] }
            #expect(values.count == 3 * 40)
            #expect(values.allSatisfy { $0["date"]?["year"] != nil })
            let present = values.compactMap { $0["value"] }
            #expect(!present.isEmpty && present.count < values.count)  // some omitted (zero)
            #expect(present.allSatisfy { ($0.stringValue.flatMap { Int64($0) } ?? 0) > 0 })
            let bookings = series.first { $0["dailyMetric"]?.stringValue == "BUSINESS_BOOKINGS" }
            #expect(bookings?["timeSeries"]?["datedValues"]?.arrayValue?.allSatisfy { $0["value"] == nil } == true)
        }
    }

    // MARK: faults and lifecycle

    @Test func faultsAreObservable() async throws {
        try await Self.withSandbox { sandbox in
            let token = try await Self.stToken(sandbox)
            let url = Self.jobsExportURL(sandbox)
            let headers = Self.stHeaders(sandbox, token)

            sandbox.inject(FaultRule(pathContains: "export/jobs", afterMatching: 1, times: 1, fault: .tooManyRequests(retryAfterSeconds: 7)))
            #expect(try await Self.send(url, headers: headers).status == 200)
            let limited = try await Self.send(url, headers: headers)
            #expect(limited.status == 429)
            #expect(limited.headers.first(name: "Retry-After") == "7")
            #expect(Self.int(limited.json?["status"]) == 429)
            #expect(try await Self.send(url, headers: headers).status == 200)

            sandbox.inject(FaultRule(pathContains: "export/jobs", afterMatching: 0, times: 1, fault: .serverError))
            #expect(try await Self.send(url, headers: headers).status == 500)
            #expect(try await Self.send(url, headers: headers).status == 200)

            sandbox.inject(FaultRule(pathContains: "export/jobs", afterMatching: 0, times: 1, fault: .slow(milliseconds: 300)))
            let started = Date()
            #expect(try await Self.send(url, headers: headers).status == 200)
            #expect(Date().timeIntervalSince(started) >= 0.3)

            sandbox.inject(FaultRule(pathContains: "export/jobs", afterMatching: 0, times: 1, fault: .malformedJSON))
            let broken = try await Self.send(url, headers: headers)
            #expect(broken.status == 200)
            #expect(broken.json == nil)
            #expect(broken.text.hasPrefix("{\"data\":["))

            sandbox.inject(FaultRule(pathContains: "export/jobs", afterMatching: 0, times: 1, fault: .expireTokens))
            #expect(try await Self.send(url, headers: headers).status == 401)
            #expect(try await Self.send(url, headers: headers).status == 401)
            let fresh = try await Self.stToken(sandbox)
            #expect(try await Self.send(url, headers: Self.stHeaders(sandbox, fresh)).status == 200)

            // Google's 429 shape.
            let access = try await Self.googleAccessToken(sandbox)
            sandbox.inject(FaultRule(pathContains: "/google/", afterMatching: 0, times: 1, fault: .tooManyRequests(retryAfterSeconds: 2)))
            let g = try await Self.send("\(sandbox.baseURL)/google/v1/accounts", headers: [("Authorization", "Bearer \(access)")])
            #expect(g.status == 429)
            #expect(g.json?["error"]?["status"]?.stringValue == "RESOURCE_EXHAUSTED")
            #expect(g.headers.first(name: "Retry-After") == "2")

            sandbox.inject(FaultRule(pathContains: "export/jobs", times: 5, fault: .serverError))
            sandbox.clearFaults()
            #expect(try await Self.send(url, headers: Self.stHeaders(sandbox, fresh)).status == 200)
            #expect(sandbox.requestCount == 15)
        }
    }

    @Test func startsAndStopsQuickly() async throws {
        let started = Date()
        for _ in 0..<5 {
            let sandbox = ProviderSandbox()
            try await sandbox.start()
            #expect(sandbox.port > 0)
            #expect(sandbox.baseURL == "http://127.0.0.1:\(sandbox.port)")
            // Leave a keep-alive connection open: stop must still be quick.
            let token = try await Self.stToken(sandbox)
            #expect(!token.isEmpty)
            await sandbox.stop()
            await sandbox.stop()  // idempotent
        }
        // A stop that waited for the idle keep-alive connection would take minutes; the bound is
        // loose because the suite shares two cores with parallel tests (and sometimes a build).
        #expect(Date().timeIntervalSince(started) < 30)
        let sandbox = ProviderSandbox()
        try await sandbox.start()
        await #expect(throws: (any Error).self) { try await sandbox.start() }
        await sandbox.stop()
    }

    @Test func aTakenPortFailsToStartAndRunUntilCancelledServes() async throws {
        let first = ProviderSandbox()
        try await first.start()
        let second = ProviderSandbox()
        await #expect(throws: (any Error).self) { try await second.start(port: first.port) }
        try await second.start()  // a failed start leaves it startable
        #expect(second.port != first.port)
        await second.stop()
        await first.stop()

        #expect(!Self.acceptsConnections(port: first.port))

        let sandbox = ProviderSandbox()
        let task = Task { try await sandbox.runUntilCancelled() }
        var waited = 0
        while sandbox.port == 0 && waited < 500 {
            try await Task.sleep(nanoseconds: 10_000_000)
            waited += 1
        }
        // Served over HTTP (a bare connect right before stopping would race NIO's server
        // shutdown; see ProviderSandbox.stop).
        let token = try await Self.stToken(sandbox)
        #expect(!token.isEmpty)
        task.cancel()
        _ = await task.result
        // Nothing listens any more. (Checked with a bare socket: AsyncHTTPClient retries
        // refused connections until the request deadline.)
        #expect(!Self.acceptsConnections(port: sandbox.port))
    }
}
