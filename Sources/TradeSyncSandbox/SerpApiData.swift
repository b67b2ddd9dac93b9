import Foundation
/// The emulated SerpApi account.
public struct SerpApiSandboxConfiguration: Sendable {
    public var apiKey = "sandbox-serpapi-key"
    public var searchesPerMonth = 250
    /// Searches left on the plan when the sandbox starts.
    public var searchesLeft = 250
    /// Keywords for which Google Maps finds nothing (a `Success` with an `error` message).
    public var emptyKeywords: Set<String> = ["no such business anywhere"]
    public init() {}
}

/// Generates Google Maps local results per keyword: a fixed pool of local businesses, ranked
/// per keyword by a seeded shuffle, with the contractor's own place at a rank decided by the
/// keyword's hash (or absent for about one keyword in four).
struct SerpApiData: Sendable {
    struct Place: Sendable {
        var title: String
        var placeId: String
        var dataCid: UInt64
        var ratingTenths: Int
        var reviews: Int
        var type: String
        var types: [String]
        var street: String
        var city: String
        var phone: String
        var website: String?
        /// Offset from the search centre, in 1e-5 degrees.
        var dLat: Int
        var dLng: Int
    }

    let seed: UInt64
    let own: Place
    let pool: [Place]
    /// Results Google Maps returns per page.
    static let pageSize = 20
    /// SerpApi pages Google Maps to at most start=100 (the 6th page).
    static let maxStart = 100

    static let kinds: [(String, [String])] = [
        ("HVAC contractor", ["HVAC contractor", "Air conditioning contractor", "Heating contractor"]),
        ("Air conditioning repair service", ["Air conditioning repair service", "HVAC contractor"]),
        ("Plumber", ["Plumber", "Water heater installation service"]),
        ("Heating contractor", ["Heating contractor", "Furnace repair service"]),
        ("Electrician", ["Electrician"]),
    ]
    static let names = [
        "Lone Star", "Hill Country", "Capital City", "Bluebonnet", "Armadillo", "Pecan Street", "Barton Creek", "Longhorn",
        "Lady Bird", "Colorado River", "Balcones", "Zilker", "Mopac", "Travis County", "Bee Cave", "Onion Creek",
    ]
    static let suffixes = ["Air", "Heating & Air", "Comfort Systems", "Mechanical", "Plumbing", "AC Repair", "Home Services", "Climate Control"]

    /// - Parameter own: the contractor's listing (title, place_id, street, city), taken from the
    ///   Google Business Profile sandbox so both emulators agree on it.
    init(configuration: SerpApiSandboxConfiguration, seed: UInt64, own: (title: String, placeId: String, street: String, city: String)?) {
        self.seed = seed
        var r = SeededRandom(seed: seed, stream: 1_301, index: 0)
        self.own = Place(
            title: own?.title ?? "Austin Comfort HVAC",
            placeId: own?.placeId ?? "ChIJ" + GoogleData.token(&r, 23),
            dataCid: r.next() >> 1,
            ratingTenths: 47, reviews: 212, type: "HVAC contractor",
            types: ["HVAC contractor", "Air conditioning contractor", "Plumber"],
            street: own?.street ?? "1200 Lamar Blvd", city: own?.city ?? "Austin",
            phone: "(512) 555-0100", website: "https://austincomfort.example/", dLat: 0, dLng: 0)
        var places: [Place] = []
        for i in 0..<140 {
            var p = SeededRandom(seed: seed, stream: 1_302, index: i)
            let kind = SerpApiData.kinds[p.below(SerpApiData.kinds.count)]
            let name = SerpApiData.names[i % SerpApiData.names.count] + " " + SerpApiData.suffixes[(i / SerpApiData.names.count + p.below(3)) % SerpApiData.suffixes.count]
            places.append(Place(
                title: name + (i >= SerpApiData.names.count * SerpApiData.suffixes.count ? " \(i)" : ""),
                placeId: "ChIJ" + GoogleData.token(&p, 23),
                dataCid: p.next() >> 1,
                ratingTenths: 30 + p.below(21),
                reviews: p.chance(8) ? 0 : 3 + p.below(900),
                type: kind.0, types: kind.1,
                street: String(100 + p.below(9_800)) + " " + (p.pick(SandboxWords.streets) ?? "Oak") + " " + (p.pick(SandboxWords.streetKinds) ?? "St"),
                city: SandboxWords.cities[p.below(SandboxWords.cities.count)].0,
                phone: "(512) 555-" + String(1_000 + p.below(9_000)),
                website: p.chance(80) ? "https://" + name.lowercased().filter { $0.isLetter } + ".example/" : nil,
                dLat: p.below(8_000) - 4_000, dLng: p.below(8_000) - 4_000))
        }
        pool = places
    }

    /// FNV-1a of the normalised keyword: stable across runs and platforms (Hasher is not).
    static func hash(_ keyword: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in keyword.lowercased().trimmingCharacters(in: .whitespaces).utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    /// The contractor's 1-based rank for a keyword, or nil when it is not among the results.
    func ownRank(_ keyword: String) -> Int? {
        let h = SerpApiData.hash(keyword)
        guard h % 4 != 0 else { return nil }
        return 1 + Int((h >> 8) % 36)
    }

    /// How many places Google Maps lists for a keyword (60 to 120).
    func resultCount(_ keyword: String) -> Int { 60 + Int((SerpApiData.hash(keyword) >> 20) % 61) }

    /// The places in rank order for a keyword (the contractor included where it ranks).
    func ranking(_ keyword: String) -> [Place] {
        let count = resultCount(keyword)
        var r = SeededRandom(seed: seed ^ SerpApiData.hash(keyword), stream: 1_303, index: 0)
        var order = Array(pool.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, r.below(i + 1)) }
        var list = order.prefix(ownRank(keyword) == nil ? count : count - 1).map { pool[$0] }
        if let rank = ownRank(keyword) { list.insert(own, at: min(rank - 1, list.count)) }
        return list
    }

    /// `0x89…:0x…` as Google Maps writes data_id.
    static func dataId(_ cid: UInt64, seed: UInt64) -> String {
        "0x8644b5" + String(SeededRandom.mix(cid ^ seed) & 0xFF_FFFF_FFFF, radix: 16) + ":0x" + String(cid, radix: 16)
    }
}
