import Crypto
import Foundation
import Hummingbird
import NIOCore

/// Google Business Profile emulator: Google's OAuth endpoints (authorization-code consent,
/// code and refresh-token grants) and the Account Management, Business Information, v4
/// (reviews, local posts) and Performance APIs, each at Google's own paths under `/google`.
struct GoogleBusinessProfileSandbox: Sendable {
    let configuration: GoogleSandboxConfiguration
    let data: GoogleData
    let state: Locked<SandboxState>

    static let scope = "https://www.googleapis.com/auth/business.manage"
    static let accessLifetime = 3_599
    static let locationFields: Set<String> = [
        "name", "languageCode", "storeCode", "title", "phoneNumbers", "categories", "storefrontAddress", "websiteUri",
        "regularHours", "specialHours", "serviceArea", "labels", "adWordsLocationExtensions", "latlng", "openInfo",
        "metadata", "profile", "relationshipData", "moreHours", "serviceItems",
    ]

    /// `path` is what follows `/google`: Google's own paths, as a connection whose `base_url`
    /// is `<sandbox>/google` sends them (overrides replace the origin and keep the path). The
    /// paths of the four API hosts do not collide, so one prefix serves them all:
    /// `/v1/accounts` (Account Management), `/v1/accounts/{a}/locations` (Business
    /// Information), `/v4/accounts/{a}/locations/{l}/{reviews|localPosts}` (v4) and
    /// `/v1/locations/{l}:fetchMultiDailyMetricsTimeSeries` (Performance). OAuth: `/token`
    /// (oauth2.googleapis.com/token) and `/o/oauth2/v2/auth` (accounts.google.com).
    func handle(_ request: Request, path: String, query: FormFields) async throws -> Response {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if segments == ["token"] { return try await token(request) }
        if segments == ["revoke"] { return try await revoke(request, query: query) }
        if segments == ["o", "oauth2", "v2", "auth"] || segments == ["o", "oauth2", "auth"] {
            return authorize(query: query)
        }
        let route: Route
        switch segments.count {
        case 2 where segments == ["v1", "accounts"]:
            route = .accounts
        case 4 where segments[0] == "v1" && segments[1] == "accounts" && segments[3] == "locations":
            route = .locations(account: segments[2])
        case 6 where segments[0] == "v4" && segments[1] == "accounts" && segments[3] == "locations"
            && (segments[5] == "reviews" || segments[5] == "localPosts"):
            route = segments[5] == "reviews"
                ? .reviews(account: segments[2], location: segments[4]) : .posts(account: segments[2], location: segments[4])
        case 3 where segments[0] == "v1" && segments[1] == "locations":
            let parts = segments[2].split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[1] == "fetchMultiDailyMetricsTimeSeries" else {
                return Self.error(404, "NOT_FOUND", "Method not found.")
            }
            route = .insights(location: parts[0])
        default:
            return Self.error(404, "NOT_FOUND", "Requested entity was not found.")
        }
        guard request.method == .get else {
            return Self.error(405, "METHOD_NOT_ALLOWED", "Method not allowed.")
        }
        if let denied = authenticate(request.headers) { return denied }
        switch route {
        case .accounts: return accounts(query)
        case .locations(let account): return locations(account: account, query)
        case .reviews(let account, let location): return reviews(account: account, location: location, query)
        case .posts(let account, let location): return posts(account: account, location: location, query)
        case .insights(let location): return insights(location: location, query)
        }
    }

    private enum Route {
        case accounts
        case locations(account: String)
        case reviews(account: String, location: String)
        case posts(account: String, location: String)
        case insights(location: String)
    }

    // MARK: OAuth

    private func authorize(query: FormFields) -> Response {
        guard query["client_id"] == configuration.clientId else {
            return Reply.text(.unauthorized, "Error 401: invalid_client\nThe OAuth client was not found.")
        }
        guard let redirect = query["redirect_uri"], !redirect.isEmpty else {
            return Reply.text(.badRequest, "Error 400: invalid_request\nMissing required parameter: redirect_uri")
        }
        guard let scope = query["scope"], !scope.isEmpty else {
            return Reply.text(.badRequest, "Error 400: invalid_request\nMissing required parameter: scope")
        }
        var separator = redirect.contains("?") ? "&" : "?"
        func location(_ pairs: [(String, String)]) -> String {
            var out = redirect + separator + FormFields.encode(pairs)
            separator = "&"
            if let state = query["state"] { out += "&" + FormFields.encode([("state", state)]) }
            return out
        }
        guard query["response_type"] == "code" else {
            return Reply.redirect(to: location([("error", "unsupported_response_type")]))
        }
        if state.withLock({ $0.tokens.denyConsent }) {
            return Reply.redirect(to: location([("error", "access_denied")]))
        }
        var challenge: String?
        if let c = query["code_challenge"] {
            guard query["code_challenge_method"] == "S256" else {
                return Reply.text(.badRequest, "Error 400: invalid_request\nInvalid code_challenge_method")
            }
            challenge = c
        }
        let code = "4/0Ab" + OpaqueToken.random(60)
        let now = SandboxTime.now()
        state.withLock {
            $0.tokens.addCode(code, TokenStore.Code(
                redirectURI: redirect, scope: scope, offline: query["access_type"] == "offline",
                expires: now + 600 * SandboxTime.ticksPerSecond, challenge: challenge))
        }
        return Reply.redirect(to: location([("code", code), ("scope", scope)]))
    }

    private func token(_ request: Request) async throws -> Response {
        state.withLock { $0.tokens.countRequest(.google) }
        guard request.method == .post else {
            return Reply.json(.methodNotAllowed, text: #"{"error":"invalid_request","error_description":"Method not allowed."}"#)
        }
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        let form = FormFields(String(buffer: body))
        var clientId = form["client_id"]
        var clientSecret = form["client_secret"]
        if clientId == nil, let basic = BasicCredentials(request.headers[.authorization]) {
            clientId = basic.user
            clientSecret = basic.password
        }
        guard let grant = form["grant_type"], !grant.isEmpty else {
            return Self.oauthError(.badRequest, "unsupported_grant_type", "Invalid grant_type: ")
        }
        guard clientId == configuration.clientId else {
            return Self.oauthError(.unauthorized, "invalid_client", "The OAuth client was not found.")
        }
        guard clientSecret == configuration.clientSecret else {
            return Self.oauthError(.unauthorized, "invalid_client", "Unauthorized")
        }
        let now = SandboxTime.now()
        switch grant {
        case "refresh_token":
            guard let refresh = form["refresh_token"], !refresh.isEmpty else {
                return Self.oauthError(.badRequest, "invalid_request", "Missing required parameter: refresh_token")
            }
            let access = "ya29.a0" + OpaqueToken.random(100)
            let rotated = configuration.rotateRefreshTokens ? "1//0g" + OpaqueToken.random(100) : nil
            let grantScope: String? = state.withLock { s in
                let grant = rotated.map { s.tokens.rotateRefreshToken(refresh, to: $0) } ?? s.tokens.refreshTokens[refresh]
                guard let g = grant else {
                    s.tokens.countInvalidGrant()
                    return nil
                }
                s.tokens.issueAccess(.google, token: access, lifetimeSeconds: Self.accessLifetime, now: now)
                return g.scope
            }
            guard let grantScope else {
                return Self.oauthError(.badRequest, "invalid_grant", "Token has been expired or revoked.")
            }
            return tokenResponse(access: access, refresh: rotated, scope: grantScope)
        case "authorization_code":
            guard let code = form["code"], !code.isEmpty else {
                return Self.oauthError(.badRequest, "invalid_request", "Missing required parameter: code")
            }
            guard let redirect = form["redirect_uri"], !redirect.isEmpty else {
                return Self.oauthError(.badRequest, "invalid_request", "Missing parameter: redirect_uri")
            }
            guard let issued = state.withLock({ $0.tokens.takeCode(code) }), issued.expires > now else {
                state.withLock { $0.tokens.countInvalidGrant() }
                return Self.oauthError(.badRequest, "invalid_grant", "Bad Request")
            }
            if let challenge = issued.challenge {
                guard let verifier = form["code_verifier"], Self.s256(verifier) == challenge else {
                    state.withLock { $0.tokens.countInvalidGrant() }
                    return Self.oauthError(.badRequest, "invalid_grant", "Invalid code verifier.")
                }
            }
            guard issued.redirectURI == redirect else {
                return Self.oauthError(.badRequest, "redirect_uri_mismatch", "Bad Request")
            }
            let access = "ya29.a0" + OpaqueToken.random(100)
            let refresh = issued.offline ? "1//0g" + OpaqueToken.random(100) : nil
            state.withLock { s in
                s.tokens.issueAccess(.google, token: access, lifetimeSeconds: Self.accessLifetime, now: now)
                if let refresh { s.tokens.addRefreshToken(refresh, scope: issued.scope) }
            }
            return tokenResponse(access: access, refresh: refresh, scope: issued.scope)
        default:
            return Self.oauthError(.badRequest, "unsupported_grant_type", "Invalid grant_type: \(grant)")
        }
    }

    private func tokenResponse(access: String, refresh: String?, scope: String) -> Response {
        var out = JSONBuffer(capacity: 512)
        out.raw("{\"access_token\":"); out.string(access)
        out.raw(",\"expires_in\":"); out.int(Self.accessLifetime)
        if let refresh { out.raw(",\"refresh_token\":"); out.string(refresh) }
        if refresh != nil, let lifetime = configuration.refreshTokenLifetimeSeconds {
            out.raw(",\"refresh_token_expires_in\":"); out.int(lifetime)
        }
        out.raw(",\"scope\":"); out.string(scope)
        out.raw(",\"token_type\":\"Bearer\"}")
        return Reply.json(.ok, out)
    }

    /// BASE64URL(SHA256(verifier)) without padding (RFC 7636).
    static func s256(_ verifier: String) -> String {
        Data(SHA256.hash(data: Data(verifier.utf8))).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// `POST /revoke` (oauth2.googleapis.com/revoke): `token` in the form or the query; a
    /// refresh token dies with its grant. Unknown tokens are 400 invalid_token, as at Google.
    private func revoke(_ request: Request, query: FormFields) async throws -> Response {
        guard request.method == .post else {
            return Reply.json(.methodNotAllowed, text: #"{"error":"invalid_request","error_description":"Method not allowed."}"#)
        }
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        guard let token = FormFields(String(buffer: body))["token"] ?? query["token"], !token.isEmpty else {
            return Self.oauthError(.badRequest, "invalid_request", "Missing required parameter: token")
        }
        let known = state.withLock { s in
            let had = s.tokens.refreshTokens[token] != nil
            s.tokens.revokeRefreshToken(token)
            return had
        }
        return known ? Reply.json(.ok, text: "{}") : Self.oauthError(.badRequest, "invalid_token", "Token expired or revoked")
    }

    /// A refresh token for the configured client, as if consent had happened.
    func issueRefreshToken() -> String {
        let token = "1//0g" + OpaqueToken.random(100)
        state.withLock { $0.tokens.addRefreshToken(token, scope: Self.scope) }
        return token
    }

    private func authenticate(_ headers: HTTPFields) -> Response? {
        let header = headers[.authorization] ?? ""
        let now = SandboxTime.now()
        if header.lowercased().hasPrefix("bearer ") {
            let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            if state.withLock({ $0.tokens.isValid(token, for: .google, now: now) }) { return nil }
        }
        return Self.error(
            401, "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            headers: [("WWW-Authenticate", #"Bearer realm="https://accounts.google.com/", error="invalid_token""#)])
    }

    // MARK: paging

    /// A parsed parameter, or the 400 to answer instead.
    private enum Checked {
        case ok(Int)
        case bad(Response)
    }

    /// pageSize: absent or 0 = default; above the maximum either clamps or is rejected.
    private func pageSize(_ query: FormFields, default d: Int, max m: Int, rejectAbove: Bool) -> Checked {
        guard let text = query["pageSize"], !text.isEmpty else { return .ok(d) }
        guard let v = Int(text), v >= 0 else {
            return .bad(Self.error(400, "INVALID_ARGUMENT", "Invalid value at 'page_size' (TYPE_INT32), \"\(text)\""))
        }
        if v == 0 { return .ok(d) }
        if v > m {
            if rejectAbove { return .bad(Self.error(400, "INVALID_ARGUMENT", "Page size must be at most \(m).")) }
            return .ok(m)
        }
        return .ok(v)
    }

    private func offset(_ query: FormFields, scope: String) -> Checked {
        guard let token = query["pageToken"], !token.isEmpty else { return .ok(0) }
        if let text = OpaqueToken.decode(token) {
            let parts = text.split(separator: "|", omittingEmptySubsequences: false)
            if parts.count == 3, parts[0] == "g1", parts[1] == scope, let o = Int(parts[2]), o >= 0 { return .ok(o) }
        }
        return .bad(Self.error(400, "INVALID_ARGUMENT", "Request contains an invalid argument."))
    }

    private func nextToken(scope: String, offset: Int) -> String { OpaqueToken.encode("g1|\(scope)|\(offset)") }

    // MARK: APIs

    private func accounts(_ query: FormFields) -> Response {
        let size: Int
        let start: Int
        switch pageSize(query, default: 20, max: 20, rejectAbove: false) {
        case .ok(let v): size = v
        case .bad(let r): return r
        }
        switch offset(query, scope: "accounts") {
        case .ok(let v): start = v
        case .bad(let r): return r
        }
        let end = min(data.accounts.count, start + size)
        var out = JSONBuffer(capacity: 256 * max(1, end - start))
        out.raw("{\"accounts\":[")
        for i in min(start, end)..<end {
            let a = data.accounts[i]
            if i > start { out.raw(",") }
            out.raw("{\"name\":"); out.string("accounts/" + a.id)
            out.raw(",\"accountName\":"); out.string(a.displayName)
            out.raw(",\"type\":"); out.string(a.personal ? "PERSONAL" : "LOCATION_GROUP")
            out.raw(",\"role\":"); out.string(a.personal ? "PRIMARY_OWNER" : "OWNER")
            out.raw(",\"verificationState\":\"VERIFIED\",\"vettedState\":\"NOT_VETTED\",\"permissionLevel\":\"OWNER_LEVEL\"}")
        }
        out.raw("]")
        if end < data.accounts.count {
            out.raw(",\"nextPageToken\":"); out.string(nextToken(scope: "accounts", offset: end))
        }
        out.raw("}")
        return Reply.json(.ok, out)
    }

    private func locations(account: String, _ query: FormFields) -> Response {
        guard let readMask = query["readMask"], !readMask.isEmpty else {
            return Self.error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", fieldViolation: ("read_mask", "Field is required"))
        }
        var fields = Set<String>()
        for raw in readMask.split(separator: ",") {
            let path = raw.trimmingCharacters(in: .whitespaces)
            let top = String(path.split(separator: ".").first ?? "")
            guard Self.locationFields.contains(top) else {
                return Self.error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", fieldViolation: ("read_mask", "Invalid field mask provided"))
            }
            fields.insert(top)
        }
        guard let a = data.accountIndex[account] else {
            return Self.error(404, "NOT_FOUND", "Requested entity was not found.")
        }
        let size: Int
        let start: Int
        switch pageSize(query, default: 10, max: 100, rejectAbove: false) {
        case .ok(let v): size = v
        case .bad(let r): return r
        }
        let scope = "loc-" + account
        switch offset(query, scope: scope) {
        case .ok(let v): start = v
        case .bad(let r): return r
        }
        let mine = data.locations.indices.filter { data.locations[$0].account == a }
        let end = min(mine.count, start + size)
        var out = JSONBuffer(capacity: 1_024 * max(1, end - start))
        out.raw("{\"locations\":[")
        for n in min(start, end)..<end {
            if n > start { out.raw(",") }
            writeLocation(mine[n], fields: fields, into: &out)
        }
        out.raw("]")
        if end < mine.count {
            out.raw(",\"nextPageToken\":"); out.string(nextToken(scope: scope, offset: end))
        }
        out.raw("}")
        return Reply.json(.ok, out)
    }

    private func writeLocation(_ l: Int, fields: Set<String>, into out: inout JSONBuffer) {
        let loc = data.locations[l]
        var first = true
        func key(_ k: StaticString, _ out: inout JSONBuffer) {
            if !first { out.raw(",") }
            first = false
            out.raw(k)
        }
        out.raw("{")
        if fields.contains("name") { key("\"name\":", &out); out.string("locations/" + loc.id) }
        if fields.contains("languageCode") { key("\"languageCode\":\"en\"", &out) }
        if fields.contains("storeCode") { key("\"storeCode\":", &out); out.string("ACH-\(l + 1)") }
        if fields.contains("title") { key("\"title\":", &out); out.string(loc.title) }
        if fields.contains("phoneNumbers") { key("\"phoneNumbers\":{\"primaryPhone\":", &out); out.string("(512) 555-\(String(1_000 + l))"); out.raw("}") }
        if fields.contains("categories") {
            key("\"categories\":{\"primaryCategory\":{\"name\":\"categories/gcid:hvac_contractor\",\"displayName\":\"HVAC contractor\"}}", &out)
        }
        if fields.contains("storefrontAddress") {
            key("\"storefrontAddress\":{\"regionCode\":\"US\",\"languageCode\":\"en\",\"postalCode\":", &out)
            out.string(loc.city.1)
            out.raw(",\"administrativeArea\":\"TX\",\"locality\":"); out.string(loc.city.0)
            out.raw(",\"addressLines\":["); out.string(loc.street); out.raw("]}")
        }
        if fields.contains("websiteUri") { key("\"websiteUri\":\"https://austincomfort.example/\"", &out) }
        if fields.contains("latlng") {
            key("\"latlng\":{\"latitude\":", &out); out.fixed(Int64((loc.city.2 * 100_000).rounded()), decimals: 5)
            out.raw(",\"longitude\":"); out.fixed(Int64((loc.city.3 * 100_000).rounded()), decimals: 5); out.raw("}")
        }
        if fields.contains("openInfo") { key("\"openInfo\":{\"status\":\"OPEN\",\"canReopen\":true}", &out) }
        if fields.contains("metadata") {
            key("\"metadata\":{\"hasGoogleUpdated\":false,\"hasPendingEdits\":false,\"canDelete\":true,\"canOperateLocalPost\":true,\"canModifyServiceList\":true,\"canHaveFoodMenus\":false,\"canOperateHealthData\":false,\"canOperateLodgingData\":false,\"placeId\":", &out)
            out.string(loc.placeId)
            out.raw(",\"mapsUri\":"); out.string("https://maps.google.com/maps?cid=" + loc.id)
            out.raw(",\"newReviewUri\":"); out.string("https://search.google.com/local/writereview?placeid=" + loc.placeId)
            out.raw(",\"canHaveBusinessCalls\":true,\"hasVoiceOfMerchant\":true}")
        }
        if fields.contains("profile") { key("\"profile\":{\"description\":\"Heating, cooling and plumbing for Central Texas since 1998.\"}", &out) }
        out.raw("}")
    }

    /// The location index, if the account and location exist and belong together.
    private func locate(account: String, location: String) -> Int? {
        guard let a = data.accountIndex[account], let l = data.locationIndex[location], data.locations[l].account == a else {
            return nil
        }
        return l
    }

    private func reviews(account: String, location: String, _ query: FormFields) -> Response {
        guard let l = locate(account: account, location: location) else {
            return Self.error(404, "NOT_FOUND", "Requested entity was not found.")
        }
        let size: Int
        let start: Int
        switch pageSize(query, default: 50, max: 50, rejectAbove: true) {
        case .ok(let v): size = v
        case .bad(let r): return r
        }
        let order = (query["orderBy"] ?? "").trimmingCharacters(in: .whitespaces)
        guard ["", "updateTime desc", "rating", "rating desc"].contains(order) else {
            return Self.error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", fieldViolation: ("order_by", "Invalid order_by: \(order)"))
        }
        let scope = "rev-" + location + "-" + order.replacingOccurrences(of: " ", with: "_")
        switch offset(query, scope: scope) {
        case .ok(let v): start = v
        case .bad(let r): return r
        }
        let total = data.reviewsPerLocation
        let edits = state.withLock { $0.reviews.edits[l] } ?? [:]
        // Google's default order is updateTime desc, so "" and "updateTime desc" list alike.
        var permutation: [Int]? = edits.isEmpty ? nil : state.withLock { $0.reviews.newestFirst(location: l, count: total) }
        if order.hasPrefix("rating") {
            let ratings = (0..<total).map { data.review(location: l, $0).rating }
            let descending = order == "rating desc"
            permutation = (0..<total).sorted { x, y in
                ratings[x] != ratings[y] ? (descending ? ratings[x] > ratings[y] : ratings[x] < ratings[y]) : x < y
            }
        }
        let average = data.averageRating(location: l)
        let end = min(total, start + size)
        var out = JSONBuffer(capacity: 700 * max(1, end - start) + 256)
        out.raw("{\"reviews\":[")
        for n in min(start, end)..<end {
            if n > start { out.raw(",") }
            let j = permutation?[n] ?? n
            data.writeReview(location: l, j, edit: edits[j], into: &out)
        }
        out.raw("]")
        if average.rated > 0 {
            out.raw(",\"averageRating\":")
            out.fixed(Int64(average.tenths), decimals: 1)
        }
        out.raw(",\"totalReviewCount\":"); out.int(total)
        if end < total {
            out.raw(",\"nextPageToken\":"); out.string(nextToken(scope: scope, offset: end))
        }
        out.raw("}")
        return Reply.json(.ok, out)
    }

    private func posts(account: String, location: String, _ query: FormFields) -> Response {
        guard let l = locate(account: account, location: location) else {
            return Self.error(404, "NOT_FOUND", "Requested entity was not found.")
        }
        let size: Int
        let start: Int
        switch pageSize(query, default: 20, max: 100, rejectAbove: true) {
        case .ok(let v): size = v
        case .bad(let r): return r
        }
        let scope = "post-" + location
        switch offset(query, scope: scope) {
        case .ok(let v): start = v
        case .bad(let r): return r
        }
        let total = data.postsPerLocation
        let end = min(total, start + size)
        var out = JSONBuffer(capacity: 900 * max(1, end - start) + 128)
        out.raw("{\"localPosts\":[")
        for n in min(start, end)..<end {
            if n > start { out.raw(",") }
            data.writePost(location: l, n, into: &out)
        }
        out.raw("]")
        if end < total {
            out.raw(",\"nextPageToken\":"); out.string(nextToken(scope: scope, offset: end))
        }
        out.raw("}")
        return Reply.json(.ok, out)
    }

    private func insights(location: String, _ query: FormFields) -> Response {
        guard let l = data.locationIndex[location] else {
            return Self.error(404, "NOT_FOUND", "Requested entity was not found.")
        }
        let metrics = query.all("dailyMetrics").flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        guard !metrics.isEmpty else {
            return Self.error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", fieldViolation: ("daily_metrics", "At least one daily metric is required."))
        }
        for m in metrics where !GoogleData.metrics.contains(m) {
            return Self.error(400, "INVALID_ARGUMENT", "Invalid value at 'daily_metrics' (type.googleapis.com/google.type.DailyMetric), \"\(m)\"")
        }
        func date(_ prefix: String) -> Int64?? {
            let parts = ["year", "month", "day"].map { query["dailyRange.\(prefix).\($0)"] }
            if parts.allSatisfy({ $0 == nil }) { return .some(nil) }
            guard let y = parts[0].flatMap({ Int64($0) }), let m = parts[1].flatMap({ Int64($0) }), let d = parts[2].flatMap({ Int64($0) }),
                SandboxTime.isValid(year: y, month: m, day: d)
            else { return nil }
            return .some(SandboxTime.days(year: y, month: m, day: d))
        }
        guard let startDay = date("startDate"), let endDay = date("endDate") else {
            return Self.error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", fieldViolation: ("daily_range", "Invalid date."))
        }
        guard let first = startDay, let last = endDay else {
            return Self.error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", fieldViolation: ("daily_range", "A daily range with start and end date is required."))
        }
        guard first <= last else {
            return Self.error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", fieldViolation: ("daily_range", "The start date must not be after the end date."))
        }
        guard last - first < 550 else {
            return Self.error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", fieldViolation: ("daily_range", "The range must not exceed 18 months."))
        }
        let today = SandboxTime.now() / SandboxTime.ticksPerDay
        var out = JSONBuffer(capacity: metrics.count * Int(last - first + 1) * 60 + 256)
        out.raw("{\"multiDailyMetricTimeSeries\":[{\"dailyMetricTimeSeries\":[")
        for (n, metric) in metrics.enumerated() {
            if n > 0 { out.raw(",") }
            out.raw("{\"dailyMetric\":"); out.string(metric)
            out.raw(",\"timeSeries\":{\"datedValues\":[")
            for day in first...last {
                if day > first { out.raw(",") }
                out.raw("{\"date\":"); out.googleDate(days: day)
                let value = data.metricValue(location: l, metric: metric, day: day, today: today)
                if value != 0 { out.raw(",\"value\":"); out.int64String(value) }
                out.raw("}")
            }
            out.raw("]}}")
        }
        out.raw("]}]}")
        return Reply.json(.ok, out)
    }

    // MARK: errors

    static func statusCode(_ code: Int) -> HTTPResponse.Status { HTTPResponse.Status(code: code) }

    /// `{"error":{"code":…,"message":…,"status":…}}`
    static func error(
        _ code: Int, _ status: String, _ message: String, fieldViolation: (String, String)? = nil, headers: [(String, String)] = []
    ) -> Response {
        var out = JSONBuffer(capacity: 256)
        out.raw("{\"error\":{\"code\":"); out.int(code)
        out.raw(",\"message\":"); out.string(message)
        out.raw(",\"status\":"); out.string(status)
        if let (field, description) = fieldViolation {
            out.raw(",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.BadRequest\",\"fieldViolations\":[{\"field\":")
            out.string(field)
            out.raw(",\"description\":"); out.string(description)
            out.raw("}]}]")
        }
        out.raw("}}")
        return Reply.json(statusCode(code), out, headers: headers)
    }

    static func oauthError(_ status: HTTPResponse.Status, _ error: String, _ description: String) -> Response {
        var out = JSONBuffer(capacity: 128)
        out.raw("{\"error\":"); out.string(error)
        out.raw(",\"error_description\":"); out.string(description)
        out.raw("}")
        return Reply.json(status, out)
    }
}
