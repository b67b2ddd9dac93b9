import Foundation

/// ServiceTitan entities served by the sandbox.
enum STEntity: String, CaseIterable, Sendable {
    case jobs, customers, estimates, invoices, technicians
    case jobTypes = "job-types"

    /// The API module in the path (`/jpm/v2/tenant/{t}/jobs`).
    var module: String {
        switch self {
        case .jobs, .jobTypes: "jpm"
        case .customers: "crm"
        case .estimates: "sales"
        case .invoices: "accounting"
        case .technicians: "settings"
        }
    }

    var hasExport: Bool { self != .jobTypes }

    var idOffset: Int64 {
        switch self {
        case .jobs: 0
        case .customers: 1
        case .estimates: 2
        case .invoices: 3
        case .technicians: 4
        case .jobTypes: 5
        }
    }

    var stream: UInt64 { UInt64(idOffset) + 101 }
}

/// ServiceTitan's JobStatus enum, all six values: real tenants have many `Dispatched` jobs
/// (a technician is on the way), and a sandbox without them hid a mapping that failed on it.
enum JobStatus: String, Sendable {
    case scheduled = "Scheduled", dispatched = "Dispatched", inProgress = "InProgress", hold = "Hold"
    case completed = "Completed", canceled = "Canceled"

    /// What a touch does to a job's status.
    var next: JobStatus {
        switch self {
        case .scheduled: .dispatched
        case .dispatched: .inProgress
        case .inProgress: .completed
        case .hold: .inProgress
        case .completed: .completed
        case .canceled: .scheduled
        }
    }
}

/// A job changed (or added) after generation: the overlay entry that wins over the generated one.
struct JobChange: Sendable {
    var modified: Int64
    var revision: Int
    var status: JobStatus
    var completed: Int64?
    /// Set for jobs added by `addServiceTitanJobs`.
    var created: Int64?
}

/// A position in an export feed: the feed continues with records strictly after it.
struct ExportPosition: Sendable, Equatable {
    var ticks: Int64
    var id: Int64

    static let start = ExportPosition(ticks: Int64.min, id: Int64.min)

    func precedes(ticks t: Int64, id i: Int64) -> Bool { ticks < t || (ticks == t && id < i) }
}

/// Generates ServiceTitan records from their index: nothing is stored, so a tenant of
/// millions of jobs costs no memory. Records are ordered by index, which is also
/// (modifiedOn, id) order.
struct ServiceTitanData: Sendable {
    let seed: UInt64
    let jobCount: Int
    let customerCount: Int
    let estimateCount: Int
    let invoiceCount: Int
    let technicianCount: Int

    static let idBase: Int64 = 2_147_483_648
    static let idStride: Int64 = 7
    /// Generated records were modified between these instants; changes made through the
    /// sandbox API are stamped later than `timelineEnd`.
    static let timelineStart = SandboxTime.ticks(year: 2020, month: 1, day: 1)
    static let timelineEnd = SandboxTime.ticks(year: 2025, month: 1, day: 1)

    static let jobTypeNames = [
        "Installation", "Repair", "Maintenance", "Service", "Inspection", "Tune-Up", "Duct Cleaning", "Water Heater Flush",
    ]
    static let summaries: [[String]] = [
        ["Install new 3-ton Trane XR14 heat pump", "Replace 50-gal water heater with tankless unit", "Install smart thermostat and two-zone damper kit"],
        ["AC not cooling; replaced run capacitor", "Furnace short cycling; replaced flame sensor", "Condensate line clogged, water in pan", "Leaking shutoff valve under kitchen sink"],
        ["Annual maintenance agreement visit", "Spring AC maintenance", "Fall furnace maintenance"],
        ["Service call: no heat", "Service call: thermostat display blank", "Service call: breaker trips when AC starts"],
        ["Pre-purchase inspection of HVAC system", "Gas line pressure test and inspection"],
        ["AC tune-up, 21-point check", "Furnace tune-up and carbon monoxide test"],
        ["Whole-home duct cleaning, 12 vents"],
        ["Water heater flush and anode rod check"],
    ]
    static let businessUnits: [(Int64, String)] = [
        (318, "HVAC - Service"), (319, "HVAC - Install"), (320, "Plumbing - Service"), (321, "Plumbing - Install"), (322, "Electrical - Service"),
    ]
    static let campaigns: [Int64] = [1_000_101, 1_000_102, 1_000_103, 1_000_104, 1_000_105]
    static let tagTypes: [Int64] = [5_001, 5_002, 5_003]
    static let priorities = ["Normal", "Normal", "Normal", "Normal", "Normal", "Normal", "High", "High", "Low", "Urgent"]

    init(configuration c: ServiceTitanSandboxConfiguration, seed: UInt64) {
        self.seed = seed
        jobCount = max(0, c.jobs)
        customerCount = max(0, c.customers)
        estimateCount = max(0, c.estimates)
        invoiceCount = max(0, c.invoices)
        technicianCount = max(0, c.technicians)
    }

    // MARK: identity and order

    /// Generated (not added) records of an entity.
    func baseCount(_ e: STEntity) -> Int {
        switch e {
        case .jobs: jobCount
        case .customers: customerCount
        case .estimates: estimateCount
        case .invoices: invoiceCount
        case .technicians: technicianCount
        case .jobTypes: ServiceTitanData.jobTypeNames.count
        }
    }

    func id(_ e: STEntity, _ index: Int) -> Int64 {
        ServiceTitanData.idBase + e.idOffset + Int64(index) * ServiceTitanData.idStride
    }

    func index(_ e: STEntity, ofId id: Int64) -> Int? {
        let offset = id - ServiceTitanData.idBase - e.idOffset
        guard offset >= 0, offset % ServiceTitanData.idStride == 0 else { return nil }
        return Int(offset / ServiceTitanData.idStride)
    }

    private func step(_ e: STEntity) -> Int64 {
        let span = ServiceTitanData.timelineEnd - ServiceTitanData.timelineStart
        return max(1, span / Int64(max(1, baseCount(e))))
    }

    /// modifiedOn of a generated record: strictly increasing with the index.
    func baseModified(_ e: STEntity, _ index: Int) -> Int64 {
        let s = step(e)
        var r = SeededRandom(seed: seed, stream: e.stream &+ 7_777, index: index)
        return ServiceTitanData.timelineStart + Int64(index) * s + r.below64(s)
    }

    /// First generated index whose modifiedOn ≥ ticks.
    func firstIndex(_ e: STEntity, modifiedAtOrAfter ticks: Int64) -> Int {
        var lo = 0
        var hi = baseCount(e)
        while lo < hi {
            let mid = (lo + hi) / 2
            if baseModified(e, mid) >= ticks { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// First generated index strictly after an export position.
    func firstIndex(_ e: STEntity, after position: ExportPosition) -> Int {
        var lo = 0
        var hi = baseCount(e)
        while lo < hi {
            let mid = (lo + hi) / 2
            if position.precedes(ticks: baseModified(e, mid), id: id(e, mid)) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    // MARK: cross-references

    /// Invoice k belongs to job k*r (r = jobs per invoice), except every tenth invoice (no job).
    private var jobsPerInvoice: Int { max(1, jobCount / max(1, invoiceCount)) }
    private var jobsPerEstimate: Int { max(1, jobCount / max(1, estimateCount)) }

    func invoiceJobIndex(_ k: Int) -> Int? {
        let j = k * jobsPerInvoice
        return (k % 10 != 9 && j < jobCount) ? j : nil
    }

    func jobInvoiceIndex(_ j: Int) -> Int? {
        guard j < jobCount, j % jobsPerInvoice == 0 else { return nil }
        let k = j / jobsPerInvoice
        return (k < invoiceCount && k % 10 != 9) ? k : nil
    }

    func estimateJobIndex(_ e: Int) -> Int? {
        let j = e * jobsPerEstimate + (jobsPerEstimate > 1 ? 1 : 0)
        return j < jobCount ? j : nil
    }

    func jobEstimateIndex(_ j: Int) -> Int? {
        guard j < jobCount else { return nil }
        let shifted = j - (jobsPerEstimate > 1 ? 1 : 0)
        guard shifted >= 0, shifted % jobsPerEstimate == 0 else { return nil }
        let e = shifted / jobsPerEstimate
        return e < estimateCount ? e : nil
    }

    // MARK: facts shared between records

    struct JobFacts {
        var id: Int64
        var number: String
        var customerIndex: Int
        var status: JobStatus
        var typeIndex: Int
        var businessUnit: Int
        var created: Int64
        var modified: Int64
        var completed: Int64?
        var totalCents: Int64
        var summary: String
        var priority: String
        var campaign: Int64
        var technicianIndex: Int?
        var projectId: Int64?
        var customFieldWarranty: Bool
        var tag: Int64?
    }

    func jobFacts(_ i: Int, change: JobChange?) -> JobFacts {
        var r = SeededRandom(seed: seed, stream: STEntity.jobs.stream, index: i)
        let isAdded = i >= jobCount
        let modified = change?.modified ?? baseModified(.jobs, i)
        let age = isAdded ? 1.0 : Double(i) / Double(max(1, jobCount))
        let roll = r.below(100)
        var status: JobStatus
        if age < 0.9 {
            status = roll < 88 ? .completed : .canceled
        } else {
            status = roll < 35 ? .scheduled : roll < 45 ? .dispatched : roll < 65 ? .inProgress : roll < 75 ? .hold
                : roll < 92 ? .completed : .canceled
        }
        if isAdded { status = .scheduled }
        let created = change?.created ?? (modified - r.below64(30 * SandboxTime.ticksPerDay))
        let typeIndex = r.below(ServiceTitanData.jobTypeNames.count)
        let summaries = ServiceTitanData.summaries[typeIndex]
        var summary = summaries[r.below(summaries.count)]
        var completed: Int64? = status == .completed ? created + (modified - created) * 4 / 5 : nil
        var totalCents = Int64(8_900 + r.below(1_500_000))
        if let change {
            if change.status != status {
                completed = change.status == .completed ? (completed ?? change.completed ?? change.modified) : nil
            }
            status = change.status
            if change.revision > 0 { summary += " (updated \(change.revision))" }
        }
        if status == .canceled { totalCents = 0 }
        let technicianIndex = technicianCount > 0 && r.chance(70) ? r.below(technicianCount) : nil
        return JobFacts(
            id: id(.jobs, i),
            number: String(10_000 + i),
            customerIndex: r.below(max(1, customerCount)),
            status: status,
            typeIndex: typeIndex,
            businessUnit: r.below(ServiceTitanData.businessUnits.count),
            created: created,
            modified: modified,
            completed: completed,
            totalCents: totalCents,
            summary: summary,
            priority: r.pick(ServiceTitanData.priorities) ?? "Normal",
            campaign: r.pick(ServiceTitanData.campaigns) ?? 0,
            technicianIndex: technicianIndex,
            projectId: r.chance(8) ? 3_000_000 + Int64(r.below(5_000)) : nil,
            customFieldWarranty: r.chance(10),
            tag: r.chance(25) ? r.pick(ServiceTitanData.tagTypes) : nil
        )
    }

    struct CustomerFacts {
        var name: String
        var commercial: Bool
        var city: Int
    }

    func customerFacts(_ i: Int) -> CustomerFacts {
        var r = SeededRandom(seed: seed, stream: STEntity.customers.stream, index: i)
        let commercial = r.chance(20)
        let person = SandboxWords.personName(&r)
        let name: String
        if commercial {
            name = (r.pick(SandboxWords.lastNames) ?? "Hill") + " " + (r.pick(SandboxWords.companySuffixes) ?? "Company")
        } else {
            name = person
        }
        return CustomerFacts(name: name, commercial: commercial, city: r.below(SandboxWords.cities.count))
    }

    func technicianName(_ i: Int) -> String {
        var r = SeededRandom(seed: seed, stream: STEntity.technicians.stream, index: i)
        return SandboxWords.personName(&r)
    }

    // MARK: records

    func write(_ e: STEntity, _ index: Int, change: JobChange?, into out: inout JSONBuffer) {
        switch e {
        case .jobs: writeJob(index, change: change, into: &out)
        case .customers: writeCustomer(index, into: &out)
        case .estimates: writeEstimate(index, into: &out)
        case .invoices: writeInvoice(index, into: &out)
        case .technicians: writeTechnician(index, into: &out)
        case .jobTypes: writeJobType(index, into: &out)
        }
    }

    func writeJob(_ i: Int, change: JobChange?, into out: inout JSONBuffer) {
        let f = jobFacts(i, change: change)
        out.raw("{\"id\":"); out.int(f.id)
        out.raw(",\"jobNumber\":"); out.string(f.number)
        out.raw(",\"projectId\":"); out.intOrNull(f.projectId)
        out.raw(",\"customerId\":"); out.int(id(.customers, f.customerIndex))
        out.raw(",\"locationId\":"); out.int(ServiceTitanData.idBase + 6 + Int64(f.customerIndex) * ServiceTitanData.idStride)
        out.raw(",\"jobStatus\":"); out.string(f.status.rawValue)
        out.raw(",\"completedOn\":"); out.timestampOrNull(ticks: f.completed, fractionDigits: 7)
        out.raw(",\"businessUnitId\":"); out.int(ServiceTitanData.businessUnits[f.businessUnit].0)
        out.raw(",\"jobTypeId\":"); out.int(id(.jobTypes, f.typeIndex))
        out.raw(",\"priority\":"); out.string(f.priority)
        out.raw(",\"campaignId\":"); out.int(f.campaign)
        out.raw(",\"summary\":"); out.string(f.summary)
        out.raw(",\"customFields\":[")
        if f.customFieldWarranty { out.raw("{\"typeId\":7001,\"name\":\"Warranty\",\"value\":\"Yes\"}") }
        out.raw("],\"appointmentCount\":1,\"firstAppointmentId\":"); out.int(f.id + 1)
        out.raw(",\"lastAppointmentId\":"); out.int(f.id + 1)
        out.raw(",\"recallForId\":null,\"warrantyId\":null,\"jobGeneratedLeadSource\":null,\"noCharge\":false,\"notificationsEnabled\":true")
        out.raw(",\"createdOn\":"); out.timestamp(ticks: f.created, fractionDigits: 7)
        out.raw(",\"createdById\":"); out.int(ServiceTitanData.idBase + 4)
        out.raw(",\"modifiedOn\":"); out.timestamp(ticks: f.modified, fractionDigits: 7)
        out.raw(",\"tagTypeIds\":[")
        if let tag = f.tag { out.int(tag) }
        out.raw("],\"leadCallId\":null,\"partnerLeadCallId\":null,\"bookingId\":null,\"soldById\":")
        if let t = f.technicianIndex { out.int(id(.technicians, t)) } else { out.raw("null") }
        out.raw(",\"externalData\":null,\"customerPo\":null,\"invoiceId\":")
        if let k = jobInvoiceIndex(i) { out.int(id(.invoices, k)) } else { out.raw("null") }
        out.raw(",\"membershipId\":null,\"total\":"); out.moneyNumber(cents: f.totalCents)
        out.raw(",\"estimateIds\":[")
        if let e = jobEstimateIndex(i) { out.int(id(.estimates, e)) }
        out.raw("]}")
    }

    func writeJobType(_ i: Int, into out: inout JSONBuffer) {
        let name = ServiceTitanData.jobTypeNames[i]
        out.raw("{\"id\":"); out.int(id(.jobTypes, i))
        out.raw(",\"name\":"); out.string(name)
        out.raw(",\"businessUnitIds\":["); out.int(ServiceTitanData.businessUnits[i % ServiceTitanData.businessUnits.count].0)
        out.raw("],\"skillIds\":[],\"tagTypeIds\":[],\"priority\":\"Normal\",\"duration\":")
        out.int(3_600 * (1 + i % 4))
        out.raw(",\"soldThreshold\":null,\"class\":null,\"summary\":"); out.string(name + " job")
        out.raw(",\"noCharge\":false,\"enforceRecurringServiceEventSelection\":false,\"invoiceSignaturesRequired\":false")
        out.raw(",\"modifiedOn\":"); out.timestamp(ticks: baseModified(.jobTypes, i), fractionDigits: 7)
        out.raw(",\"externalData\":null,\"active\":true}")
    }

    func writeCustomer(_ i: Int, into out: inout JSONBuffer) {
        let f = customerFacts(i)
        var r = SeededRandom(seed: seed, stream: STEntity.customers.stream &+ 1, index: i)
        let modified = baseModified(.customers, i)
        let created = modified - r.below64(400 * SandboxTime.ticksPerDay)
        let merged = i > 0 && i % 50 == 49
        let city = SandboxWords.cities[f.city]
        out.raw("{\"id\":"); out.int(id(.customers, i))
        out.raw(",\"active\":"); out.bool(!merged && !r.chance(4))
        out.raw(",\"name\":"); out.string(f.name)
        out.raw(",\"type\":"); out.string(f.commercial ? "Commercial" : "Residential")
        out.raw(",\"address\":{\"street\":")
        out.string(String(100 + r.below(9_800)) + " " + (r.pick(SandboxWords.streets) ?? "Oak") + " " + (r.pick(SandboxWords.streetKinds) ?? "St"))
        out.raw(",\"unit\":"); out.stringOrNull(r.chance(12) ? "Apt " + String(1 + r.below(300)) : nil)
        out.raw(",\"city\":"); out.string(city.0)
        out.raw(",\"state\":\"TX\",\"zip\":"); out.string(city.1)
        out.raw(",\"country\":\"USA\",\"latitude\":"); out.fixed(Int64((city.2 * 100_000).rounded()) + Int64(r.below(2_000) - 1_000), decimals: 5)
        out.raw(",\"longitude\":"); out.fixed(Int64((city.3 * 100_000).rounded()) + Int64(r.below(2_000) - 1_000), decimals: 5)
        out.raw("},\"customFields\":[")
        if r.chance(15) { out.raw("{\"typeId\":7101,\"name\":\"Referral Source\",\"value\":\"Neighbor\"}") }
        out.raw("],\"balance\":"); out.moneyNumber(cents: r.chance(80) ? 0 : Int64(r.below(250_000)))
        out.raw(",\"taxExempt\":false,\"tagTypeIds\":[],\"doNotMail\":"); out.bool(r.chance(10))
        out.raw(",\"doNotService\":"); out.bool(r.chance(2))
        out.raw(",\"createdOn\":"); out.timestamp(ticks: created, fractionDigits: 7)
        out.raw(",\"createdById\":"); out.int(ServiceTitanData.idBase + 4)
        out.raw(",\"modifiedOn\":"); out.timestamp(ticks: modified, fractionDigits: 7)
        out.raw(",\"mergedToId\":")
        if merged { out.int(id(.customers, i - 1)) } else { out.raw("null") }
        out.raw(",\"externalData\":null}")
    }

    func writeEstimate(_ e: Int, into out: inout JSONBuffer) {
        var r = SeededRandom(seed: seed, stream: STEntity.estimates.stream, index: e)
        let modified = baseModified(.estimates, e)
        let jobIndex = estimateJobIndex(e)
        let job = jobIndex.map { jobFacts($0, change: nil) }
        let roll = r.below(100)
        let status: (Int, String) = roll < 40 ? (1, "Open") : roll < 80 ? (2, "Sold") : (3, "Dismissed")
        let typeIndex = job?.typeIndex ?? r.below(ServiceTitanData.jobTypeNames.count)
        out.raw("{\"id\":"); out.int(id(.estimates, e))
        out.raw(",\"jobId\":"); out.intOrNull(job?.id)
        out.raw(",\"projectId\":"); out.intOrNull(job?.projectId)
        out.raw(",\"locationId\":"); out.int(ServiceTitanData.idBase + 6 + Int64(job?.customerIndex ?? 0) * ServiceTitanData.idStride)
        out.raw(",\"customerId\":"); out.int(id(.customers, job?.customerIndex ?? 0))
        out.raw(",\"name\":"); out.string(["Good", "Better", "Best"][r.below(3)] + " - " + ServiceTitanData.jobTypeNames[typeIndex])
        out.raw(",\"jobNumber\":"); out.stringOrNull(job?.number)
        out.raw(",\"status\":{\"value\":"); out.int(status.0)
        out.raw(",\"name\":"); out.string(status.1)
        out.raw("},\"reviewStatus\":\"None\",\"summary\":"); out.string(ServiceTitanData.summaries[typeIndex][0])
        out.raw(",\"createdOn\":"); out.timestamp(ticks: modified - r.below64(10 * SandboxTime.ticksPerDay), fractionDigits: 7)
        out.raw(",\"modifiedOn\":"); out.timestamp(ticks: modified, fractionDigits: 7)
        let sold = status.0 == 2
        out.raw(",\"soldOn\":"); out.timestampOrNull(ticks: sold ? modified - SandboxTime.ticksPerDay : nil, fractionDigits: 7)
        out.raw(",\"soldBy\":")
        if sold, technicianCount > 0 { out.int(id(.technicians, r.below(technicianCount))) } else { out.raw("null") }
        out.raw(",\"active\":"); out.bool(status.0 != 3)
        out.raw(",\"items\":[")
        let count = 1 + r.below(3)
        var subtotal: Int64 = 0
        for n in 0..<count {
            if n > 0 { out.raw(",") }
            let unit = Int64(4_900 + r.below(250_000))
            let qty = 1 + r.below(2)
            subtotal += unit * Int64(qty)
            out.raw("{\"id\":"); out.int(id(.estimates, e) * 10 + Int64(n))
            out.raw(",\"sku\":{\"id\":"); out.int(8_000 + Int64(typeIndex * 10 + n))
            out.raw(",\"name\":"); out.string("SKU-" + String(8_000 + typeIndex * 10 + n))
            out.raw(",\"displayName\":"); out.string(ServiceTitanData.jobTypeNames[typeIndex] + " item " + String(n + 1))
            out.raw(",\"type\":\"Service\",\"soldHours\":1.0,\"generalLedgerAccountId\":4000,\"generalLedgerAccountName\":\"Income\"}")
            out.raw(",\"skuAccount\":\"Income\",\"description\":"); out.string(ServiceTitanData.summaries[typeIndex][n % ServiceTitanData.summaries[typeIndex].count])
            out.raw(",\"membershipTypeId\":null,\"qty\":"); out.int(qty)
            out.raw(",\"unitRate\":"); out.moneyNumber(cents: unit)
            out.raw(",\"total\":"); out.moneyNumber(cents: unit * Int64(qty))
            out.raw(",\"unitCost\":"); out.moneyNumber(cents: unit / 3)
            out.raw(",\"totalCost\":"); out.moneyNumber(cents: unit / 3 * Int64(qty))
            out.raw(",\"itemGroupName\":null,\"itemGroupRootId\":null,\"chargeable\":true")
            out.raw(",\"modifiedOn\":"); out.timestamp(ticks: modified, fractionDigits: 7)
            out.raw("}")
        }
        out.raw("],\"subtotal\":"); out.moneyNumber(cents: subtotal)
        out.raw(",\"tax\":"); out.moneyNumber(cents: subtotal * 825 / 10_000)
        out.raw(",\"externalLinks\":[]}")
    }

    func writeInvoice(_ k: Int, into out: inout JSONBuffer) {
        var r = SeededRandom(seed: seed, stream: STEntity.invoices.stream, index: k)
        let modified = baseModified(.invoices, k)
        let job = invoiceJobIndex(k).map { jobFacts($0, change: nil) }
        let customerIndex = job?.customerIndex ?? r.below(max(1, customerCount))
        let customer = customerFacts(customerIndex)
        let businessUnit = ServiceTitanData.businessUnits[job?.businessUnit ?? r.below(ServiceTitanData.businessUnits.count)]
        let invoiceDay = SandboxTime.startOfDay(job?.completed ?? (modified - r.below64(5 * SandboxTime.ticksPerDay)))
        let age = Double(k) / Double(max(1, invoiceCount))
        let syncStatus = age < 0.8 ? "Exported" : (r.chance(50) ? "Posted" : "Pending")
        let typeIndex = job?.typeIndex ?? 3
        // Items first, to know the totals.
        let count = 1 + r.below(3)
        var prices: [Int64] = []
        for _ in 0..<count { prices.append(Int64(r.below(150_000) / 25 * 25 + 7_500)) }
        let subtotal = prices.reduce(0, +)
        let tax = subtotal * 825 / 10_000
        let total = subtotal + tax
        let balance: Int64 = syncStatus == "Pending" || r.chance(10) ? total : 0
        out.raw("{\"id\":"); out.int(id(.invoices, k))
        out.raw(",\"syncStatus\":"); out.string(syncStatus)
        out.raw(",\"summary\":"); out.stringOrNull(job?.summary)
        out.raw(",\"referenceNumber\":"); out.string(job?.number ?? String(90_000 + k))
        out.raw(",\"invoiceDate\":"); out.timestamp(ticks: invoiceDay, fractionDigits: 0)
        out.raw(",\"dueDate\":"); out.timestamp(ticks: invoiceDay + 30 * SandboxTime.ticksPerDay, fractionDigits: 0)
        out.raw(",\"subTotal\":"); out.moneyString(cents: subtotal)
        out.raw(",\"salesTax\":"); out.moneyString(cents: tax)
        out.raw(",\"salesTaxCode\":{\"id\":61,\"name\":\"Austin\",\"taxRate\":0.0825}")
        out.raw(",\"total\":"); out.moneyString(cents: total)
        out.raw(",\"balance\":"); out.moneyString(cents: balance)
        out.raw(",\"invoiceType\":null,\"customer\":{\"id\":"); out.int(id(.customers, customerIndex))
        out.raw(",\"name\":"); out.string(customer.name)
        out.raw("},\"location\":{\"id\":"); out.int(ServiceTitanData.idBase + 6 + Int64(customerIndex) * ServiceTitanData.idStride)
        out.raw(",\"name\":"); out.string(customer.name)
        out.raw("},\"businessUnit\":{\"id\":"); out.int(businessUnit.0)
        out.raw(",\"name\":"); out.string(businessUnit.1)
        out.raw("},\"termName\":\"Due Upon Receipt\",\"createdBy\":\"sandbox\",\"batch\":null,\"depositedOn\":null")
        out.raw(",\"createdOn\":"); out.timestamp(ticks: min(modified, invoiceDay + SandboxTime.ticksPerDay / 2), fractionDigits: 7)
        out.raw(",\"modifiedOn\":"); out.timestamp(ticks: modified, fractionDigits: 7)
        out.raw(",\"adjustmentToId\":null,\"job\":")
        if let job {
            out.raw("{\"id\":"); out.int(job.id)
            out.raw(",\"number\":"); out.string(job.number)
            out.raw(",\"type\":"); out.string(ServiceTitanData.jobTypeNames[job.typeIndex])
            out.raw("}")
        } else {
            out.raw("null")
        }
        out.raw(",\"projectId\":"); out.intOrNull(job?.projectId)
        out.raw(",\"items\":[")
        for (n, price) in prices.enumerated() {
            if n > 0 { out.raw(",") }
            out.raw("{\"id\":"); out.int(id(.invoices, k) * 10 + Int64(n))
            out.raw(",\"description\":"); out.string(ServiceTitanData.summaries[typeIndex][n % ServiceTitanData.summaries[typeIndex].count])
            out.raw(",\"quantity\":\"1.0000000000\",\"cost\":"); out.moneyString(cents: price / 3)
            out.raw(",\"totalCost\":"); out.moneyString(cents: price / 3)
            out.raw(",\"inventoryLocation\":null,\"price\":"); out.moneyString(cents: price)
            out.raw(",\"type\":\"Service\",\"skuName\":"); out.string("SKU-" + String(8_000 + typeIndex * 10 + n))
            out.raw(",\"skuId\":"); out.int(8_000 + Int64(typeIndex * 10 + n))
            out.raw(",\"total\":"); out.moneyString(cents: price)
            out.raw(",\"inventory\":false,\"taxable\":true,\"membershipTypeId\":null,\"itemGroup\":null,\"displayName\":")
            out.string(ServiceTitanData.jobTypeNames[typeIndex] + " item " + String(n + 1))
            out.raw(",\"soldHours\":null,\"modifiedOn\":"); out.timestamp(ticks: modified, fractionDigits: 7)
            out.raw(",\"serviceDate\":"); out.timestamp(ticks: invoiceDay, fractionDigits: 0)
            out.raw(",\"order\":"); out.int(n + 1)
            out.raw(",\"businessUnit\":{\"id\":"); out.int(businessUnit.0)
            out.raw(",\"name\":"); out.string(businessUnit.1)
            out.raw("}}")
        }
        out.raw("]}")
    }

    func writeTechnician(_ i: Int, into out: inout JSONBuffer) {
        var r = SeededRandom(seed: seed, stream: STEntity.technicians.stream &+ 1, index: i)
        let name = technicianName(i)
        let modified = baseModified(.technicians, i)
        let login = name.lowercased().replacingOccurrences(of: " ", with: ".").replacingOccurrences(of: "'", with: "")
        out.raw("{\"id\":"); out.int(id(.technicians, i))
        out.raw(",\"userId\":"); out.int(id(.technicians, i) + 1_000_000)
        out.raw(",\"name\":"); out.string(name)
        out.raw(",\"roleIds\":[],\"businessUnitId\":"); out.int(ServiceTitanData.businessUnits[i % ServiceTitanData.businessUnits.count].0)
        out.raw(",\"mainZoneId\":null,\"zoneIds\":[]")
        out.raw(",\"createdOn\":"); out.timestamp(ticks: modified - r.below64(700 * SandboxTime.ticksPerDay), fractionDigits: 7)
        out.raw(",\"modifiedOn\":"); out.timestamp(ticks: modified, fractionDigits: 7)
        out.raw(",\"email\":"); out.string(login + String(i) + "@austincomfort.example")
        out.raw(",\"phoneNumber\":"); out.string("512555" + String(1_000 + (i * 37) % 9_000))
        out.raw(",\"loginName\":"); out.string(login + String(i))
        out.raw(",\"dailyGoal\":"); out.moneyNumber(cents: Int64(100_000 + r.below(200_000)))
        out.raw(",\"isManagedTech\":false,\"customFields\":[],\"active\":"); out.bool(!r.chance(12))
        out.raw(",\"aadUserId\":null,\"burdenRate\":0.0,\"team\":\"Field\",\"jobFilter\":\"All\"}")
    }
}
