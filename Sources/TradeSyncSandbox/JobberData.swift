import Foundation

/// The emulated Jobber account and app.
public struct JobberSandboxConfiguration: Sendable {
    public var clientId = "sandbox-jobber-client"
    public var clientSecret = "sandbox-jobber-secret"
    public var accessLifetimeSeconds = 3_600
    public var clients = 300
    public var jobs = 500
    public var quotes = 200
    public var visits = 800
    public var users = 12
    /// The query-cost bucket (Jobber: 10,000 points restoring 500 per second).
    public var maximumAvailable = 10_000
    public var restoreRate = 500
    public init() {}
}

/// Generates the Jobber account's clients, jobs, quotes, visits and users from their index.
/// Records of a connection are in (updatedAt, id) order by index, and `createdAt` grows with the
/// index too, so the id order, the creation order and the generated update order agree.
struct JobberData: Sendable {
    let seed: UInt64
    let counts: [String: Int]
    static let connections = ["clients", "jobs", "quotes", "visits", "users"]
    static let timelineStart = SandboxTime.ticks(year: 2023, month: 1, day: 1)
    static let timelineEnd = SandboxTime.ticks(year: 2025, month: 1, day: 1)
    /// JobStatusTypeEnum (lower case in Jobber's schema), `expiring_within_30_days` included.
    static let jobStatuses = [
        "requires_invoicing", "archived", "late", "today", "upcoming", "action_required", "on_hold", "unscheduled", "active",
        "expiring_within_30_days",
    ]
    static let quoteStatuses = ["draft", "awaiting_response", "changes_requested", "approved", "converted", "archived"]
    static let visitStatuses = ["upcoming", "today", "late", "completed", "unscheduled"]
    static let titles = [
        "AC tune-up", "Furnace repair", "Heat pump install", "Water heater replacement", "Duct cleaning", "Thermostat install",
        "Quarterly maintenance", "Mini-split install", "Refrigerant leak repair", "Drain line clearing",
    ]

    init(configuration c: JobberSandboxConfiguration, seed: UInt64) {
        self.seed = seed
        counts = [
            "clients": max(0, c.clients), "jobs": max(0, c.jobs), "quotes": max(0, c.quotes), "visits": max(0, c.visits),
            "users": max(0, c.users),
        ]
    }

    func count(_ connection: String) -> Int { counts[connection] ?? 0 }

    static func typeName(_ connection: String) -> String {
        switch connection {
        case "clients": "Client"
        case "jobs": "Job"
        case "quotes": "Quote"
        case "visits": "Visit"
        default: "User"
        }
    }

    /// Jobber's EncodedId: base64 of the record's global id.
    func encodedId(_ connection: String, _ i: Int) -> String {
        Data("gid://Jobber/\(JobberData.typeName(connection))/\(JobberData.numericBase(connection) + i)".utf8).base64EncodedString()
    }

    static func numericBase(_ connection: String) -> Int {
        switch connection {
        case "clients": 60_000_000
        case "jobs": 70_000_000
        case "quotes": 80_000_000
        case "visits": 90_000_000
        default: 1_500_000
        }
    }

    func index(_ connection: String, encodedId: String) -> Int? {
        guard let data = Data(base64Encoded: encodedId), let text = String(data: data, encoding: .utf8),
            let last = text.split(separator: "/").last, let n = Int(last)
        else { return nil }
        let i = n - JobberData.numericBase(connection)
        return (0..<count(connection)).contains(i) && text.hasPrefix("gid://Jobber/\(JobberData.typeName(connection))/") ? i : nil
    }

    private func stream(_ connection: String) -> UInt64 {
        UInt64(JobberData.connections.firstIndex(of: connection) ?? 0) + 1_501
    }

    func baseUpdated(_ connection: String, _ i: Int) -> Int64 {
        let step = max(1, (JobberData.timelineEnd - JobberData.timelineStart) / Int64(max(1, count(connection))))
        var r = SeededRandom(seed: seed, stream: stream(connection) &+ 40, index: i)
        let t = JobberData.timelineStart + Int64(i) * step + r.below64(step)
        return t - t % SandboxTime.ticksPerSecond
    }

    func created(_ connection: String, _ i: Int) -> Int64 {
        let step = max(1, (JobberData.timelineEnd - JobberData.timelineStart) / Int64(max(1, count(connection))))
        let t = JobberData.timelineStart + Int64(i) * step
        return t - t % SandboxTime.ticksPerSecond
    }

    func random(_ connection: String, _ i: Int) -> SeededRandom { SeededRandom(seed: seed, stream: stream(connection), index: i) }

    // MARK: records

    struct Client {
        var first: String
        var last: String
        var company: String?
        var archived: Bool
        var street: String
        var city: (String, String, Double, Double)
        var hasPhone: Bool
    }

    func client(_ i: Int) -> Client {
        var r = random("clients", i)
        let first = r.pick(SandboxWords.firstNames) ?? "Alex"
        let last = r.pick(SandboxWords.lastNames) ?? "Doe"
        let company: String? = r.chance(25) ? last + " " + (r.pick(SandboxWords.companySuffixes) ?? "LLC") : nil
        return Client(
            first: first, last: last, company: company, archived: r.chance(8),
            street: String(100 + r.below(9_800)) + " " + (r.pick(SandboxWords.streets) ?? "Oak") + " " + (r.pick(SandboxWords.streetKinds) ?? "St"),
            city: SandboxWords.cities[r.below(SandboxWords.cities.count)], hasPhone: !r.chance(10))
    }

    func clientName(_ c: Client) -> String { c.company ?? "\(c.first) \(c.last)" }

    struct Job {
        var client: Int
        var title: String
        var status: String
        var recurring: Bool
        var start: Int64?
        var end: Int64?
        var completed: Int64?
        var totalCents: Int64
    }

    func job(_ j: Int) -> Job {
        var r = random("jobs", j)
        let status = JobberData.jobStatuses[r.below(JobberData.jobStatuses.count - 1) + (j % 97 == 13 ? 1 : 0)]
        let start: Int64? = status == "unscheduled" ? nil : created("jobs", j) + r.below64(20 * SandboxTime.ticksPerDay)
        let completed: Int64? = ["requires_invoicing", "archived"].contains(status) ? start.map { $0 + 3 * 3_600 * SandboxTime.ticksPerSecond } : nil
        return Job(
            client: r.below(max(1, count("clients"))), title: JobberData.titles[r.below(JobberData.titles.count)], status: status,
            recurring: r.chance(20), start: start, end: start.map { $0 + 2 * 3_600 * SandboxTime.ticksPerSecond }, completed: completed,
            totalCents: Int64(9_500 + r.below(900_000)))
    }

    struct Quote {
        var client: Int
        var title: String
        var status: String
        var sent: Int64?
        var subtotalCents: Int64
        var taxCents: Int64
        var salesperson: Int?
    }

    func quote(_ q: Int) -> Quote {
        var r = random("quotes", q)
        let status = JobberData.quoteStatuses[r.below(JobberData.quoteStatuses.count)]
        let subtotal = Int64(20_000 + r.below(1_500_000))
        return Quote(
            client: r.below(max(1, count("clients"))), title: JobberData.titles[r.below(JobberData.titles.count)], status: status,
            sent: status == "draft" ? nil : created("quotes", q) + r.below64(2 * SandboxTime.ticksPerDay),
            subtotalCents: subtotal, taxCents: subtotal * 825 / 10_000,
            salesperson: r.chance(70) && count("users") > 0 ? r.below(count("users")) : nil)
    }

    struct Visit {
        var job: Int
        var status: String
        var start: Int64?
        var completed: Int64?
        var users: [Int]
    }

    func visit(_ v: Int) -> Visit {
        var r = random("visits", v)
        let status = JobberData.visitStatuses[r.below(JobberData.visitStatuses.count)]
        let start: Int64? = status == "unscheduled" ? nil : created("visits", v) + r.below64(10 * SandboxTime.ticksPerDay)
        var users: [Int] = []
        if count("users") > 0 {
            users.append(r.below(count("users")))
            if r.chance(30) { users.append((users[0] + 1) % count("users")) }
            if users.count == 2, users[0] == users[1] { users.removeLast() }
        }
        return Visit(
            job: r.below(max(1, count("jobs"))), status: status, start: start,
            completed: status == "completed" ? start.map { $0 + 2 * 3_600 * SandboxTime.ticksPerSecond } : nil, users: users)
    }

    struct User {
        var first: String
        var last: String
        var active: Bool
        var owner: Bool
    }

    func user(_ u: Int) -> User {
        var r = random("users", u)
        return User(first: r.pick(SandboxWords.firstNames) ?? "Alex", last: r.pick(SandboxWords.lastNames) ?? "Doe", active: u == 0 || !r.chance(15), owner: u == 0)
    }
}
