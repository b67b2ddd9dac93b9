import NIOCore
import Foundation
/// The emulated Yelp Fusion (Places API) key and businesses.
public struct YelpSandboxConfiguration: Sendable {
    public var apiKey = "sandbox-yelp-api-key"
    /// Businesses besides the contractor's own (index 0).
    public var competitors = 4
    /// Reviews each business has on Yelp (`review_count`); the API shows at most 3 of them.
    public var reviewsPerBusiness = 87
    /// API calls a key may make per day before `ACCESS_LIMIT_REACHED` (Yelp's default is 300
    /// for a trial key and 5,000 for the standard plan).
    public var dailyLimit = 5_000
    public init() {}
}

/// Generates the Yelp businesses and their reviews from the seed.
struct YelpData: Sendable {
    struct Business: Sendable {
        var id: String
        var alias: String
        var name: String
        var street: String
        var city: (String, String, Double, Double)
        var phone: String
        var categories: [(String, String)]
        var ratingTenths: Int
    }

    let seed: UInt64
    let businesses: [Business]
    let reviewsPerBusiness: Int
    /// Reviews were written before this instant, newest first by index.
    static let newest = SandboxTime.ticks(year: 2025, month: 5, day: 20)
    /// Yelp's standard tier returns at most this many review excerpts.
    static let maxReviews = 3
    static let categories: [(String, String)] = [
        ("hvac", "Heating & Air Conditioning/HVAC"), ("plumbing", "Plumbing"), ("electricians", "Electricians"),
        ("waterheaterinstallrepair", "Water Heater Installation/Repair"), ("airductcleaning", "Air Duct Cleaning"),
    ]
    static let competitorNames = [
        "Lone Star Cooling", "Hill Country Air", "Capital City Plumbing & Air", "Bluebonnet Heating", "Armadillo AC Repair",
        "Pecan Street Mechanical", "Barton Creek HVAC", "Longhorn Comfort Systems",
    ]
    static let praise = [
        "Called in the morning and they had a tech out by lunch. He found a bad capacitor, showed me the bulge on it and had us cooling again in 30 minutes...",
        "Honest pricing and no upsell. The technician explained every option for our 15 year old unit and didn't push the most expensive one...",
        "Third summer on their maintenance plan. Always on time, always clean, and the reminder texts are great...",
        "Our water heater died on a Sunday. They came out the same day and replaced it for less than the other quotes we got...",
    ]
    static let complaints = [
        "The repair itself was fine but the scheduling window was 8 to 5 and nobody called when they were running late...",
        "Quoted one price on the phone and the invoice was nearly double. They did explain the extra parts afterwards...",
    ]

    init(configuration c: YelpSandboxConfiguration, seed: UInt64) {
        self.seed = seed
        reviewsPerBusiness = max(0, c.reviewsPerBusiness)
        var list: [Business] = []
        for b in 0...max(0, c.competitors) {
            var r = SeededRandom(seed: seed, stream: 1_201, index: b)
            let name = b == 0
                ? "Austin Comfort HVAC"
                : YelpData.competitorNames[(b - 1) % YelpData.competitorNames.count] + (b > YelpData.competitorNames.count ? " \(b)" : "")
            let city = SandboxWords.cities[b == 0 ? 0 : r.below(SandboxWords.cities.count)]
            let alias = name.lowercased().filter { $0.isLetter || $0.isNumber || $0 == " " }
                .split(separator: " ").joined(separator: "-") + "-" + city.0.lowercased().replacingOccurrences(of: " ", with: "-")
            let primary = b == 0 ? 0 : r.below(YelpData.categories.count)
            var categories = [YelpData.categories[primary]]
            if r.chance(50) { categories.append(YelpData.categories[(primary + 1) % YelpData.categories.count]) }
            list.append(Business(
                id: GoogleData.token(&r, 22).replacingOccurrences(of: "-", with: "x").replacingOccurrences(of: "_", with: "Q"),
                alias: alias,
                name: name,
                street: String(1_000 + r.below(9_000)) + " " + (r.pick(SandboxWords.streets) ?? "Oak") + " " + (r.pick(SandboxWords.streetKinds) ?? "St"),
                city: city,
                phone: "+1512555" + String(1_000 + r.below(9_000)),
                categories: categories,
                ratingTenths: b == 0 ? 45 : 30 + 5 * r.below(5)))
        }
        businesses = list
    }

    /// A business by id or alias.
    func business(_ idOrAlias: String) -> Int? {
        businesses.firstIndex { $0.id == idOrAlias || $0.alias == idOrAlias }
    }

    struct Review {
        var id: String
        var text: String
        var rating: Int
        var created: Int64
        var userId: String
        var userName: String
        var image: String?
    }

    /// Review `j` of business `b` (0 = the newest). `added` reviews written through the sandbox
    /// API come before the generated ones.
    func review(business b: Int, _ j: Int, added: Int) -> Review {
        let generated = j - added
        var r = SeededRandom(seed: seed, stream: 1_202 &+ UInt64(b) &* 1_000, index: generated)
        let step = 4 * SandboxTime.ticksPerDay
        let created = generated < 0
            ? YelpData.newest + Int64(-generated) * SandboxTime.ticksPerDay
            : YelpData.newest - Int64(generated) * step - r.below64(step / 2)
        let roll = r.below(100)
        let rating = roll < 60 ? 5 : roll < 80 ? 4 : roll < 88 ? 3 : roll < 94 ? 2 : 1
        let first = r.pick(SandboxWords.firstNames) ?? "Alex"
        let last = r.pick(SandboxWords.lastNames) ?? "Doe"
        return Review(
            id: GoogleData.token(&r, 22),
            text: (rating >= 4 ? r.pick(YelpData.praise) : r.pick(YelpData.complaints)) ?? "",
            rating: rating,
            created: created,
            userId: GoogleData.token(&r, 22),
            userName: first + " " + String(last.prefix(1)) + ".",
            image: r.chance(70) ? "https://s3-media2.fl.yelpcdn.com/photo/" + GoogleData.token(&r, 22) + "/o.jpg" : nil)
    }

    /// "2020-05-04 00:41:13": the business's local time (US Central), no zone, as Yelp writes it.
    static func localTime(_ ticks: Int64) -> String {
        let local = ticks - 5 * 3_600 * SandboxTime.ticksPerSecond
        var out = JSONBuffer(capacity: 32)
        out.timestamp(ticks: local, fractionDigits: 0)
        let text = String(buffer: out.buffer)  // "2020-05-04T00:41:13Z"
        return String(text.dropFirst().dropLast(2)).replacingOccurrences(of: "T", with: " ")
    }
}
