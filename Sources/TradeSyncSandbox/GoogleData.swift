/// Generates the Google Business Profile grant's accounts, locations, reviews, posts and
/// daily metrics from the seed.
struct GoogleData: Sendable {
    struct Account: Sendable {
        var id: String
        var displayName: String
        var personal: Bool
    }

    struct Location: Sendable {
        var id: String
        var account: Int
        var title: String
        var street: String
        var city: (String, String, Double, Double)
        var placeId: String
    }

    let seed: UInt64
    let accounts: [Account]
    let locations: [Location]
    let accountIndex: [String: Int]
    let locationIndex: [String: Int]
    let reviewsPerLocation: Int
    let postsPerLocation: Int
    let insightDays: Int

    /// Reviews and posts were last updated before this instant, newest first.
    static let newest = SandboxTime.ticks(year: 2025, month: 6, day: 1)

    static let metrics = [
        "BUSINESS_IMPRESSIONS_DESKTOP_MAPS", "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH", "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
        "BUSINESS_IMPRESSIONS_MOBILE_SEARCH", "BUSINESS_CONVERSATIONS", "BUSINESS_DIRECTION_REQUESTS", "CALL_CLICKS",
        "WEBSITE_CLICKS", "BUSINESS_BOOKINGS", "BUSINESS_FOOD_ORDERS", "BUSINESS_FOOD_MENU_CLICKS",
    ]
    static let ratings = ["STAR_RATING_UNSPECIFIED", "ONE", "TWO", "THREE", "FOUR", "FIVE"]
    static let areas = ["North Austin", "South Austin", "Round Rock", "Cedar Park", "Georgetown", "Kyle", "Westlake", "Pflugerville"]
    static let praise = [
        "Technician was on time and explained everything. AC is blowing cold again!",
        "Fair price, fast service. Will use again.",
        "They installed our new heat pump in one day and cleaned up after themselves.",
        "Great maintenance plan, friendly crew.",
        "Came out the same day in 105° heat. Lifesavers.",
    ]
    static let complaints = [
        "Had to reschedule twice before anyone showed up.",
        "The repair worked but the price was higher than quoted.",
        "Unit stopped working again a week later.",
    ]

    init(configuration c: GoogleSandboxConfiguration, seed: UInt64) {
        self.seed = seed
        reviewsPerLocation = max(0, c.reviewsPerLocation)
        postsPerLocation = max(0, c.postsPerLocation)
        insightDays = max(0, c.insightDays)
        var accounts: [Account] = []
        var locations: [Location] = []
        for a in 0..<max(0, c.accounts) {
            var r = SeededRandom(seed: seed, stream: 901, index: a)
            let id = String(100_000_000_000_000_000 + r.next() % 800_000_000_000_000_000)
            let personal = a == 0
            accounts.append(Account(
                id: id, displayName: personal ? SandboxWords.personName(&r) : "Austin Comfort HVAC Group \(a)", personal: personal))
            for l in 0..<max(0, c.locationsPerAccount) {
                let n = a * max(0, c.locationsPerAccount) + l
                var lr = SeededRandom(seed: seed, stream: 902, index: n)
                let area = GoogleData.areas[n % GoogleData.areas.count]
                locations.append(Location(
                    id: String(1_000_000_000_000_000_000 + lr.next() % 8_000_000_000_000_000_000),
                    account: a,
                    title: "Austin Comfort HVAC - " + area + (n >= GoogleData.areas.count ? " \(n / GoogleData.areas.count + 1)" : ""),
                    street: String(1_000 + lr.below(9_000)) + " " + (lr.pick(SandboxWords.streets) ?? "Oak") + " " + (lr.pick(SandboxWords.streetKinds) ?? "St"),
                    city: SandboxWords.cities[lr.below(SandboxWords.cities.count)],
                    placeId: "ChIJ" + GoogleData.token(&lr, 23)))
            }
        }
        self.accounts = accounts
        self.locations = locations
        accountIndex = Dictionary(accounts.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        locationIndex = Dictionary(locations.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    static func token(_ r: inout SeededRandom, _ count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var s = ""
        for _ in 0..<count { s.append(alphabet[r.below(alphabet.count)]) }
        return s
    }

    var reviewCount: Int { locations.count * reviewsPerLocation }
    var postCount: Int { locations.count * postsPerLocation }

    // MARK: reviews

    struct Review {
        var id: String
        var reviewer: String
        var photo: String?
        var anonymous: Bool
        var rating: Int  // 0 = unspecified
        var comment: String?
        var created: Int64
        var updated: Int64
        var reply: (String, Int64)?
    }

    /// Review `j` of a location; `updated` decreases with `j` (index order = updateTime desc).
    func review(location l: Int, _ j: Int) -> Review {
        var r = SeededRandom(seed: seed, stream: 903 &+ UInt64(l) &* 1_000, index: j)
        let step = 2 * SandboxTime.ticksPerDay
        let updated = GoogleData.newest - Int64(j) * step - r.below64(step / 2) - 1
        let edited = r.chance(15)
        let created = edited ? updated - r.below64(60 * SandboxTime.ticksPerDay) - 1 : updated
        let roll = r.below(100)
        let rating: Int
        if j % 40 == 17 { rating = 0 } else if roll < 62 { rating = 5 } else if roll < 82 { rating = 4 } else if roll < 89 { rating = 3 } else if roll < 94 { rating = 2 } else { rating = 1 }
        let anonymous = r.chance(6)
        let name = SandboxWords.personName(&r)
        var comment: String?
        if !r.chance(20) {
            comment = rating >= 4 || rating == 0 ? r.pick(GoogleData.praise) : r.pick(GoogleData.complaints)
        }
        var reply: (String, Int64)?
        if r.chance(40) {
            let text = rating >= 4 ? "Thank you, \(name.split(separator: " ").first ?? "")! We appreciate your business." : "We're sorry to hear this. Please call our office so we can make it right."
            reply = (text, updated + r.below64(2 * SandboxTime.ticksPerDay) + 1)
        }
        return Review(
            id: "AbFvOq" + GoogleData.token(&r, 40),
            reviewer: anonymous ? "A Google User" : name,
            photo: anonymous ? nil : "https://lh3.googleusercontent.com/a-/" + GoogleData.token(&r, 32) + "=s120-c",
            anonymous: anonymous,
            rating: rating,
            comment: comment,
            created: created,
            updated: updated,
            reply: reply)
    }

    /// Review `j` as it is after `edit`: a later updateTime and the reviewer's added words.
    func review(location l: Int, _ j: Int, edit: GoogleReviewOverlay.Edit?) -> Review {
        var v = review(location: l, j)
        if let edit {
            v.updated = edit.updated
            v.comment = (v.comment ?? "") + " (Update \(edit.revision): still happy with the service.)"
        }
        return v
    }

    func writeReview(location l: Int, _ j: Int, edit: GoogleReviewOverlay.Edit? = nil, into out: inout JSONBuffer) {
        let v = review(location: l, j, edit: edit)
        let loc = locations[l]
        out.raw("{\"name\":"); out.string("accounts/\(accounts[loc.account].id)/locations/\(loc.id)/reviews/\(v.id)")
        out.raw(",\"reviewId\":"); out.string(v.id)
        out.raw(",\"reviewer\":{")
        if let photo = v.photo {
            out.raw("\"profilePhotoUrl\":"); out.string(photo); out.raw(",")
        }
        out.raw("\"displayName\":"); out.string(v.reviewer)
        if v.anonymous { out.raw(",\"isAnonymous\":true") }
        out.raw("},\"starRating\":"); out.string(GoogleData.ratings[v.rating])
        if let comment = v.comment {
            out.raw(",\"comment\":"); out.string(comment)
        }
        out.raw(",\"createTime\":"); out.timestamp(ticks: v.created, fractionDigits: 6)
        out.raw(",\"updateTime\":"); out.timestamp(ticks: v.updated, fractionDigits: 6)
        if let reply = v.reply {
            out.raw(",\"reviewReply\":{\"comment\":"); out.string(reply.0)
            out.raw(",\"updateTime\":"); out.timestamp(ticks: reply.1, fractionDigits: 6)
            out.raw("}")
        }
        out.raw("}")
    }

    /// averageRating over rated reviews, one decimal.
    func averageRating(location l: Int) -> (tenths: Int, rated: Int) {
        var sum = 0
        var rated = 0
        for j in 0..<reviewsPerLocation {
            let rating = review(location: l, j).rating
            if rating > 0 { sum += rating; rated += 1 }
        }
        guard rated > 0 else { return (0, 0) }
        return (Int((Double(sum) / Double(rated) * 10).rounded()), rated)
    }

    // MARK: posts

    func writePost(location l: Int, _ j: Int, into out: inout JSONBuffer) {
        var r = SeededRandom(seed: seed, stream: 904 &+ UInt64(l) &* 1_000, index: j)
        let loc = locations[l]
        let step = 7 * SandboxTime.ticksPerDay
        let updated = GoogleData.newest - Int64(j) * step - r.below64(step / 2) - 1
        let created = updated - (r.chance(30) ? r.below64(3 * SandboxTime.ticksPerDay) + 1 : 0)
        let topics = ["STANDARD", "STANDARD", "STANDARD", "EVENT", "OFFER", "ALERT"]
        let topic = j == 0 ? "STANDARD" : topics[(j * 5 + r.below(2)) % topics.count]
        let postId = String(1_000_000_000_000_000 + r.next() % 8_000_000_000_000_000)
        out.raw("{\"name\":"); out.string("accounts/\(accounts[loc.account].id)/locations/\(loc.id)/localPosts/\(postId)")
        out.raw(",\"languageCode\":\"en-US\",\"summary\":")
        switch topic {
        case "EVENT": out.string("Free HVAC safety workshop at our \(GoogleData.areas[l % GoogleData.areas.count]) office this Saturday.")
        case "OFFER": out.string("$49 AC tune-up special: beat the Texas heat before summer.")
        case "ALERT": out.string("Extreme heat advisory: we are running extended hours for emergency AC repair.")
        default: out.string(["Meet our newest NATE-certified technicians!", "Ask us about rebates on high-efficiency heat pumps.", "Is your furnace ready for the first cold front?"][r.below(3)])
        }
        if topic != "OFFER" {
            let actions = ["BOOK", "LEARN_MORE", "CALL", "SIGN_UP"]
            let action = actions[r.below(actions.count)]
            out.raw(",\"callToAction\":{\"actionType\":"); out.string(action)
            if action != "CALL" { out.raw(",\"url\":\"https://austincomfort.example/"); out.rawText(action.lowercased()); out.raw("\"") }
            out.raw("}")
        }
        out.raw(",\"createTime\":"); out.timestamp(ticks: created, fractionDigits: 3)
        out.raw(",\"updateTime\":"); out.timestamp(ticks: updated, fractionDigits: 3)
        if topic == "EVENT" || topic == "OFFER" {
            let day = (updated / SandboxTime.ticksPerDay) + 3
            out.raw(",\"event\":{\"title\":"); out.string(topic == "OFFER" ? "AC Tune-Up Special" : "HVAC Safety Workshop")
            out.raw(",\"schedule\":{\"startDate\":"); out.googleDate(days: day)
            out.raw(",\"startTime\":{\"hours\":9},\"endDate\":"); out.googleDate(days: day + (topic == "OFFER" ? 30 : 0))
            out.raw(",\"endTime\":{\"hours\":17}}}")
        }
        if topic == "OFFER" {
            out.raw(",\"offer\":{\"couponCode\":\"TUNEUP49\",\"redeemOnlineUrl\":\"https://austincomfort.example/offer\",\"termsConditions\":\"One per household.\"}")
        }
        if topic == "ALERT" { out.raw(",\"alertType\":\"COVID_19\"") }
        let state = r.chance(5) ? "REJECTED" : "LIVE"
        out.raw(",\"state\":"); out.string(state)
        out.raw(",\"topicType\":"); out.string(topic)
        if r.chance(50) {
            out.raw(",\"media\":[{\"name\":"); out.string("accounts/\(accounts[loc.account].id)/locations/\(loc.id)/media/" + GoogleData.token(&r, 24))
            out.raw(",\"mediaFormat\":\"PHOTO\",\"googleUrl\":"); out.string("https://lh3.googleusercontent.com/p/" + GoogleData.token(&r, 32))
            out.raw("}]")
        }
        if state == "LIVE" {
            out.raw(",\"searchUrl\":"); out.string("https://local.google.com/place?id=\(loc.id)&use=posts&lpsid=\(postId)")
        }
        out.raw("}")
    }

    // MARK: insights

    /// A metric's value on a day (0 outside the history window, or on quiet days).
    func metricValue(location l: Int, metric: String, day: Int64, today: Int64) -> Int64 {
        guard day <= today, day > today - Int64(insightDays) else { return 0 }
        var h = SeededRandom(seed: seed, stream: 905 &+ UInt64(l) &* 1_000 &+ UInt64(GoogleData.metrics.firstIndex(of: metric) ?? 0), index: Int(day))
        let scale: Int
        switch metric {
        case "BUSINESS_IMPRESSIONS_MOBILE_SEARCH": scale = 180
        case "BUSINESS_IMPRESSIONS_MOBILE_MAPS": scale = 120
        case "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH": scale = 60
        case "BUSINESS_IMPRESSIONS_DESKTOP_MAPS": scale = 25
        case "CALL_CLICKS": scale = 9
        case "WEBSITE_CLICKS": scale = 14
        case "BUSINESS_DIRECTION_REQUESTS": scale = 6
        case "BUSINESS_CONVERSATIONS": scale = 2
        default: scale = 0
        }
        guard scale > 0 else { return 0 }
        // Quiet days: roughly one day in five has nothing for the small metrics.
        if scale < 20, h.chance(20) { return 0 }
        return Int64(1 + h.below(scale))
    }
}
