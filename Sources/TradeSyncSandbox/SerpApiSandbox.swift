import Foundation
import Hummingbird
import NIOCore

/// What the SerpApi emulator changes while it runs.
struct SerpApiState: Sendable {
    var searchesLeft: Int?
    var thisMonthUsage = 0
    var thisHourSearches = 0
    /// Searches served from SerpApi's one-hour cache (free), by normalised parameters.
    var cache: [String: (id: String, at: Int64)] = [:]
    var searchCount = 0
}

/// SerpApi emulator: `GET /search.json` (engine=google_maps) and `GET /account.json` under
/// `/serpapi`, authenticated by the `api_key` query parameter. Every search that is not served
/// from the one-hour cache spends one search of the plan; at zero the API answers 429.
struct SerpApiSandbox: Sendable {
    let configuration: SerpApiSandboxConfiguration
    let data: SerpApiData
    let state: Locked<SandboxState>

    static let invalidKey = "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"
    static let cacheTicks = 3_600 * SandboxTime.ticksPerSecond

    /// `path` is what follows `/serpapi`.
    func handle(_ request: Request, path: String, query: FormFields) async throws -> Response {
        guard path == "/search.json" || path == "/search" || path == "/account.json" || path == "/account" else {
            return Self.error(404, "Not found.")
        }
        guard request.method == .get else { return Self.error(405, "Method not allowed.") }
        guard let key = query["api_key"], key == configuration.apiKey else {
            return Self.error(401, Self.invalidKey)
        }
        if path.hasPrefix("/account") { return account() }
        return search(request, query: query)
    }

    private func left(_ s: SandboxState) -> Int { s.serpapi.searchesLeft ?? configuration.searchesLeft }

    private func account() -> Response {
        let (left, usage, hour) = state.withLock { s in (self.left(s), s.serpapi.thisMonthUsage, s.serpapi.thisHourSearches) }
        var out = JSONBuffer(capacity: 512)
        out.raw("{\"account_id\":\"5ac54d6adefb2f1dba1663f5\",\"api_key\":"); out.string(configuration.apiKey)
        out.raw(",\"account_email\":\"sandbox@austincomfort.example\",\"account_status\":\"Active\",\"plan_id\":\"developer\",\"plan_name\":\"Developer Plan\",\"plan_monthly_price\":75.0")
        out.raw(",\"searches_per_month\":"); out.int(configuration.searchesPerMonth)
        out.raw(",\"plan_searches_left\":"); out.int(max(0, left))
        out.raw(",\"extra_credits\":0,\"total_searches_left\":"); out.int(max(0, left))
        out.raw(",\"this_month_usage\":"); out.int(usage)
        out.raw(",\"this_hour_searches\":"); out.int(hour)
        out.raw(",\"last_hour_searches\":0,\"account_rate_limit_per_hour\":1000}")
        return Reply.json(.ok, out)
    }

    private func search(_ request: Request, query: FormFields) -> Response {
        let engine = query["engine"] ?? "google"
        guard engine == "google_maps" else {
            return Self.error(400, "Unsupported `\(engine)` search engine.")
        }
        let type = query["type"] ?? "search"
        guard type == "search" else { return Self.error(400, "Unsupported `type` parameter: `\(type)`. Only `search` is emulated.") }
        guard let q = query["q"], !q.trimmingCharacters(in: .whitespaces).isEmpty else {
            return Self.error(400, "Missing query `q` parameter.")
        }
        if query["ll"] != nil, query["location"] != nil {
            return Self.error(400, "`ll` and `location` parameters can't be used together.")
        }
        var centre = (lat: 30.2672, lng: -97.7431, zoom: "14z")
        if let ll = query["ll"] {
            guard let parsed = Self.parseLL(ll) else {
                return Self.error(400, "Invalid `ll` parameter. It should be in the format `@latitude,longitude,zoom` (e.g. `@40.7455096,-74.0083012,14z`).")
            }
            centre = parsed
        }
        var start = 0
        if let text = query["start"], !text.isEmpty {
            guard let v = Int(text), v >= 0 else { return Self.error(400, "Invalid `start` parameter.") }
            guard query["ll"] != nil else { return Self.error(400, "`ll` parameter is required when using `start`.") }
            guard v <= SerpApiData.maxStart else { return Self.error(400, "`start` parameter can't be greater than \(SerpApiData.maxStart).") }
            start = v
        }
        let cacheKey = query.pairs.filter { !["api_key", "no_cache", "async", "output"].contains($0.key) }
            .map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "&")
        let noCache = query["no_cache"] == "true"
        let now = SandboxTime.now()
        // Spend a search unless the same search is in the one-hour cache.
        let outcome: (id: String, cached: Bool)? = state.withLock { s in
            if !noCache, let hit = s.serpapi.cache[cacheKey], now - hit.at < Self.cacheTicks { return (hit.id, true) }
            let left = self.left(s)
            guard left > 0 else { return nil }
            s.serpapi.searchesLeft = left - 1
            s.serpapi.thisMonthUsage += 1
            s.serpapi.thisHourSearches += 1
            s.serpapi.searchCount += 1
            var r = SeededRandom(seed: data.seed, stream: 1_304, index: s.serpapi.searchCount)
            let id = String(format: "%016llx%08llx", r.next(), r.next() & 0xFFFF_FFFF)
            s.serpapi.cache[cacheKey] = (id, now)
            return (id, false)
        }
        guard let outcome else { return Self.error(429, "Your account has run out of searches.") }
        let host = request.head.authority ?? "127.0.0.1"
        let base = "http://\(host)/serpapi"
        let empty = configuration.emptyKeywords.contains(q.lowercased().trimmingCharacters(in: .whitespaces))
        let ranking = empty ? [] : data.ranking(q)
        let page = ranking.dropFirst(start).prefix(SerpApiData.pageSize)
        let llText = "@\(Self.coordinate(centre.lat)),\(Self.coordinate(centre.lng)),\(centre.zoom)"

        var out = JSONBuffer(capacity: 1_200 * max(1, page.count) + 2_048)
        out.raw("{\"search_metadata\":{\"id\":"); out.string(outcome.id)
        out.raw(",\"status\":\"Success\",\"json_endpoint\":"); out.string("\(base)/searches/\(outcome.id).json")
        let stamp = YelpData.localTime(now + 5 * 3_600 * SandboxTime.ticksPerSecond) + " UTC"
        out.raw(",\"created_at\":"); out.string(stamp)
        out.raw(",\"processed_at\":"); out.string(stamp)
        out.raw(",\"google_maps_url\":"); out.string("https://www.google.com/maps/search/" + (q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q) + "/" + llText + "?hl=en")
        out.raw(",\"raw_html_file\":"); out.string("\(base)/searches/\(outcome.id).html")
        out.raw(",\"total_time_taken\":"); out.raw(outcome.cached ? "0.0" : "1.84")
        out.raw("},\"search_parameters\":{\"engine\":\"google_maps\",\"type\":\"search\",\"q\":"); out.string(q)
        if query["ll"] != nil { out.raw(",\"ll\":"); out.string(llText) }
        if start > 0 { out.raw(",\"start\":"); out.int(start) }
        out.raw(",\"google_domain\":"); out.string(query["google_domain"] ?? "google.com")
        out.raw(",\"hl\":"); out.string(query["hl"] ?? "en")
        if let gl = query["gl"] { out.raw(",\"gl\":"); out.string(gl) }
        out.raw("}")
        if page.isEmpty {
            // No results is a Success with a message, not an error status.
            out.raw(",\"error\":\"Google hasn't returned any results for this query.\"}")
            return Reply.json(.ok, out)
        }
        out.raw(",\"search_information\":{\"local_results_state\":\"Results for exact spelling\",\"query_displayed\":"); out.string(q)
        out.raw("},\"local_results\":[")
        for (n, place) in page.enumerated() {
            if n > 0 { out.raw(",") }
            write(place, position: start + n + 1, centre: centre, into: &out)
        }
        out.raw("]")
        if start + SerpApiData.pageSize < ranking.count, start + SerpApiData.pageSize <= SerpApiData.maxStart {
            var pairs: [(String, String)] = [("engine", "google_maps"), ("hl", query["hl"] ?? "en"), ("ll", llText), ("q", q)]
            pairs.append(("start", String(start + SerpApiData.pageSize)))
            pairs.append(("type", "search"))
            out.raw(",\"serpapi_pagination\":{\"next\":"); out.string("\(base)/search.json?" + FormFields.encode(pairs))
            out.raw("}")
        }
        out.raw("}")
        return Reply.json(.ok, out)
    }

    private func write(_ p: SerpApiData.Place, position: Int, centre: (lat: Double, lng: Double, zoom: String), into out: inout JSONBuffer) {
        out.raw("{\"position\":"); out.int(position)
        out.raw(",\"title\":"); out.string(p.title)
        out.raw(",\"place_id\":"); out.string(p.placeId)
        out.raw(",\"data_id\":"); out.string(SerpApiData.dataId(p.dataCid, seed: data.seed))
        out.raw(",\"data_cid\":"); out.string(String(p.dataCid))
        out.raw(",\"reviews_link\":"); out.string("https://serpapi.com/search.json?data_id=\(SerpApiData.dataId(p.dataCid, seed: data.seed))&engine=google_maps_reviews&hl=en")
        out.raw(",\"photos_link\":"); out.string("https://serpapi.com/search.json?data_id=\(SerpApiData.dataId(p.dataCid, seed: data.seed))&engine=google_maps_photos&hl=en")
        out.raw(",\"gps_coordinates\":{\"latitude\":"); out.fixed(Int64(((centre.lat + Double(p.dLat) / 100_000) * 10_000_000).rounded()), decimals: 7)
        out.raw(",\"longitude\":"); out.fixed(Int64(((centre.lng + Double(p.dLng) / 100_000) * 10_000_000).rounded()), decimals: 7)
        out.raw("},\"place_id_search\":"); out.string("https://serpapi.com/search.json?engine=google_maps&google_domain=google.com&hl=en&place_id=\(p.placeId)")
        out.raw(",\"provider_id\":\"/g/11b6d4_v_d\"")
        if p.reviews > 0 {
            out.raw(",\"rating\":"); out.fixed(Int64(p.ratingTenths), decimals: 1)
            out.raw(",\"reviews\":"); out.int(p.reviews)
        }
        out.raw(",\"type\":"); out.string(p.type)
        out.raw(",\"types\":[")
        for (n, t) in p.types.enumerated() {
            if n > 0 { out.raw(",") }
            out.string(t)
        }
        out.raw("],\"address\":"); out.string("\(p.street), \(p.city), TX")
        out.raw(",\"open_state\":\"Open · Closes 7 PM\",\"hours\":\"Open · Closes 7 PM\",\"phone\":"); out.string(p.phone)
        if let website = p.website { out.raw(",\"website\":"); out.string(website) }
        out.raw(",\"thumbnail\":"); out.string("https://lh5.googleusercontent.com/p/" + p.placeId + "=w80-h106-k-no")
        out.raw("}")
    }

    /// `@30.2672,-97.7431,14z` (zoom 3z…21z).
    static func parseLL(_ text: String) -> (lat: Double, lng: Double, zoom: String)? {
        guard text.hasPrefix("@") else { return nil }
        let parts = text.dropFirst().split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 3, let lat = Double(parts[0]), let lng = Double(parts[1]), (-90...90).contains(lat), (-180...180).contains(lng),
            parts[2].hasSuffix("z"), let zoom = Double(parts[2].dropLast()), (3...21).contains(zoom)
        else { return nil }
        return (lat, lng, String(parts[2]))
    }

    static func coordinate(_ value: Double) -> String {
        var out = JSONBuffer(capacity: 16)
        out.fixed(Int64((value * 10_000_000).rounded()), decimals: 7)
        var text = String(buffer: out.buffer)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// `{"error":"…"}`: SerpApi's only error shape.
    static func error(_ status: Int, _ message: String) -> Response {
        var out = JSONBuffer(capacity: 128)
        out.raw("{\"error\":"); out.string(message); out.raw("}")
        return Reply.json(HTTPResponse.Status(code: status), out)
    }
}
