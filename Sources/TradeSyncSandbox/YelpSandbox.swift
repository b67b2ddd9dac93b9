import Foundation
import Hummingbird
import NIOCore

/// What the Yelp emulator changes while it runs.
struct YelpState: Sendable {
    /// Calls counted against the key's daily limit since the last reset.
    var callsToday = 0
    /// Reviews written through the sandbox API, per business (newest first).
    var addedReviews: [Int: Int] = [:]
}

/// Yelp Fusion emulator: `GET /v3/businesses/{id_or_alias}` and
/// `GET /v3/businesses/{id_or_alias}/reviews` under `/yelp`, authenticated by the API key as a
/// bearer token, with the key's daily call limit (`ACCESS_LIMIT_REACHED`).
struct YelpSandbox: Sendable {
    let configuration: YelpSandboxConfiguration
    let data: YelpData
    let state: Locked<SandboxState>

    /// `path` is what follows `/yelp`.
    func handle(_ request: Request, path: String, query: FormFields) async throws -> Response {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard segments.count == 3 || segments.count == 4, segments[0] == "v3", segments[1] == "businesses",
            segments.count == 3 || segments[3] == "reviews"
        else {
            return Self.error(404, "NOT_FOUND", "Resource could not be found.")
        }
        guard request.method == .get else {
            return Self.error(405, "METHOD_NOT_ALLOWED", "Method not allowed.")
        }
        let header = request.headers[.authorization] ?? ""
        guard !header.isEmpty else {
            return Self.error(401, "TOKEN_MISSING", "An access token must be supplied in order to use this endpoint.")
        }
        guard header.lowercased().hasPrefix("bearer "),
            String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces) == configuration.apiKey
        else {
            return Self.error(401, "TOKEN_INVALID", "Invalid access token or authorization header.")
        }
        // Every authenticated call counts against the daily limit, found or not.
        let limit = configuration.dailyLimit
        let used: Int? = state.withLock { s in
            guard s.yelp.callsToday < limit else { return nil }
            s.yelp.callsToday += 1
            return s.yelp.callsToday
        }
        let headers = rateHeaders(remaining: max(0, limit - (used ?? limit)))
        guard used != nil else {
            return Self.error(
                429, "ACCESS_LIMIT_REACHED",
                "You've reached the access limit for this client. See instructions for requesting a higher access limit at https://docs.developer.yelp.com/docs/fusion-rate-limiting",
                headers: headers)
        }
        guard let b = data.business(segments[2]) else {
            return Self.error(404, "BUSINESS_NOT_FOUND", "The requested business could not be found.", headers: headers)
        }
        return segments.count == 3 ? business(b, headers: headers) : reviews(b, query: query, headers: headers)
    }

    /// RateLimit-DailyLimit, RateLimit-Remaining and RateLimit-ResetTime (midnight UTC), as Yelp
    /// sends on every answer.
    private func rateHeaders(remaining: Int) -> [(String, String)] {
        let nextMidnight = SandboxTime.startOfDay(SandboxTime.now()) + SandboxTime.ticksPerDay
        var out = JSONBuffer(capacity: 32)
        out.timestamp(ticks: nextMidnight, fractionDigits: 0)
        let reset = String(String(buffer: out.buffer).dropFirst().dropLast(2)) + "+00:00"
        return [
            ("RateLimit-DailyLimit", String(configuration.dailyLimit)),
            ("RateLimit-Remaining", String(remaining)),
            ("RateLimit-ResetTime", reset),
        ]
    }

    private func business(_ b: Int, headers: [(String, String)]) -> Response {
        let v = data.businesses[b]
        let added = state.withLock { $0.yelp.addedReviews[b] ?? 0 }
        var out = JSONBuffer(capacity: 2_048)
        out.raw("{\"id\":"); out.string(v.id)
        out.raw(",\"alias\":"); out.string(v.alias)
        out.raw(",\"name\":"); out.string(v.name)
        out.raw(",\"image_url\":"); out.string("https://s3-media1.fl.yelpcdn.com/bphoto/" + v.id + "/o.jpg")
        out.raw(",\"is_claimed\":true,\"is_closed\":false,\"url\":")
        out.string("https://www.yelp.com/biz/" + v.alias + "?adjust_creative=sandbox&utm_campaign=yelp_api_v3&utm_medium=api_v3_business_lookup&utm_source=sandbox")
        out.raw(",\"phone\":"); out.string(v.phone)
        out.raw(",\"display_phone\":"); out.string("(512) 555-" + String(v.phone.suffix(4)))
        out.raw(",\"review_count\":"); out.int(data.reviewsPerBusiness + added)
        out.raw(",\"categories\":[")
        for (n, c) in v.categories.enumerated() {
            if n > 0 { out.raw(",") }
            out.raw("{\"alias\":"); out.string(c.0); out.raw(",\"title\":"); out.string(c.1); out.raw("}")
        }
        out.raw("],\"rating\":"); out.fixed(Int64(v.ratingTenths), decimals: 1)
        out.raw(",\"location\":{\"address1\":"); out.string(v.street)
        out.raw(",\"address2\":\"\",\"address3\":\"\",\"city\":"); out.string(v.city.0)
        out.raw(",\"zip_code\":"); out.string(v.city.1)
        out.raw(",\"country\":\"US\",\"state\":\"TX\",\"display_address\":["); out.string(v.street)
        out.raw(","); out.string(v.city.0 + ", TX " + v.city.1)
        out.raw("],\"cross_streets\":\"\"},\"coordinates\":{\"latitude\":"); out.fixed(Int64((v.city.2 * 1_000_000).rounded()), decimals: 6)
        out.raw(",\"longitude\":"); out.fixed(Int64((v.city.3 * 1_000_000).rounded()), decimals: 6)
        out.raw("},\"photos\":[\"https://s3-media1.fl.yelpcdn.com/bphoto/"); out.rawText(v.id); out.raw("/o.jpg\"]")
        out.raw(",\"price\":\"$$\",\"hours\":[{\"open\":[")
        for day in 0..<5 {
            if day > 0 { out.raw(",") }
            out.raw("{\"is_overnight\":false,\"start\":\"0700\",\"end\":\"1900\",\"day\":"); out.int(day); out.raw("}")
        }
        out.raw("],\"hours_type\":\"REGULAR\",\"is_open_now\":true}],\"transactions\":[]}")
        return Reply.json(.ok, out, headers: headers)
    }

    /// At most 3 excerpts, whatever `limit` asks (the standard tier's cap); `total` is the
    /// business's whole review count.
    private func reviews(_ b: Int, query: FormFields, headers: [(String, String)]) -> Response {
        var limit = YelpData.maxReviews
        if let text = query["limit"], !text.isEmpty {
            guard let v = Int(text), (0...50).contains(v) else {
                return Self.error(400, "VALIDATION_ERROR", "'\(text)' is not valid under any of the given schemas", field: "limit", headers: headers)
            }
            limit = v
        }
        var offset = 0
        if let text = query["offset"], !text.isEmpty {
            guard let v = Int(text), (0...1_000).contains(v) else {
                return Self.error(400, "VALIDATION_ERROR", "'\(text)' is not valid under any of the given schemas", field: "offset", headers: headers)
            }
            offset = v
        }
        let sort = query["sort_by"] ?? "yelp_sort"
        guard sort == "yelp_sort" || sort == "newest" else {
            return Self.error(400, "VALIDATION_ERROR", "'\(sort)' is not one of ['yelp_sort', 'newest']", field: "sort_by", headers: headers)
        }
        if let locale = query["locale"], !locale.isEmpty, locale != "en_US" {
            guard locale.count == 5, locale.contains("_") else {
                return Self.error(400, "VALIDATION_ERROR", "'\(locale)' does not match '^[a-z]{2,3}_[A-Z]{2}$'", field: "locale", headers: headers)
            }
        }
        let added = state.withLock { $0.yelp.addedReviews[b] ?? 0 }
        let total = data.reviewsPerBusiness + added
        // The excerpt window: the newest three (yelp_sort: the first, fifth and ninth newest,
        // standing in for Yelp's own recommendation order).
        let window: [Int] = (0..<min(YelpData.maxReviews, total)).map { k in
            sort == "newest" ? k : min(total - 1, k * 4)
        }
        let shown = window.dropFirst(offset).prefix(limit)
        var out = JSONBuffer(capacity: 1_024 * max(1, shown.count))
        out.raw("{\"reviews\":[")
        for (n, j) in shown.enumerated() {
            if n > 0 { out.raw(",") }
            let v = data.review(business: b, j, added: added)
            out.raw("{\"id\":"); out.string(v.id)
            out.raw(",\"url\":"); out.string("https://www.yelp.com/biz/\(data.businesses[b].alias)?adjust_creative=sandbox&hrid=\(v.id)&utm_campaign=yelp_api_v3&utm_medium=api_v3_business_reviews&utm_source=sandbox")
            out.raw(",\"text\":"); out.string(v.text)
            out.raw(",\"rating\":"); out.int(v.rating)
            out.raw(",\"time_created\":"); out.string(YelpData.localTime(v.created))
            out.raw(",\"user\":{\"id\":"); out.string(v.userId)
            out.raw(",\"profile_url\":"); out.string("https://www.yelp.com/user_details?userid=" + v.userId)
            out.raw(",\"image_url\":"); out.stringOrNull(v.image)
            out.raw(",\"name\":"); out.string(v.userName)
            out.raw("}}")
        }
        out.raw("],\"total\":"); out.int(total)
        out.raw(",\"possible_languages\":[\"en\"]}")
        return Reply.json(.ok, out, headers: headers)
    }

    /// `{"error":{"code":…,"description":…}}` (validation errors also name the field).
    static func error(_ status: Int, _ code: String, _ description: String, field: String? = nil, headers: [(String, String)] = []) -> Response {
        var out = JSONBuffer(capacity: 256)
        out.raw("{\"error\":{\"code\":"); out.string(code)
        out.raw(",\"description\":"); out.string(description)
        if let field { out.raw(",\"field\":"); out.string(field); out.raw(",\"instance\":null") }
        out.raw("}}")
        return Reply.json(HTTPResponse.Status(code: status), out, headers: headers)
    }
}
