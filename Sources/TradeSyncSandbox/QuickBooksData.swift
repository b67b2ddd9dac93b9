import NIOCore
/// The emulated QuickBooks Online company and Intuit app.
public struct QuickBooksSandboxConfiguration: Sendable {
    public var realmId = "9341453051223557"
    public var clientId = "sandbox-intuit-client"
    public var clientSecret = "sandbox-intuit-secret"
    public var customers = 150
    public var invoices = 600
    public var payments = 400
    public var accessLifetimeSeconds = 3_600
    /// Intuit refresh tokens live 100 days from the consent (`x_refresh_token_expires_in`).
    public var refreshTokenLifetimeSeconds = 8_726_400
    /// Requests per minute per realm before 429 ThrottleExceeded (Intuit: 500).
    public var requestsPerMinute = 500
    /// How far back `changedSince` may reach on the CDC endpoint (Intuit: 30 days).
    public var cdcMaxDays = 30
    public init() {}
}

/// The three entities the emulator serves.
enum QBEntity: String, CaseIterable, Sendable {
    case customer = "Customer", invoice = "Invoice", payment = "Payment"

    var idBase: Int { self == .customer ? 1 : self == .invoice ? 1_000 : 20_000 }
    var stream: UInt64 { self == .customer ? 1_401 : self == .invoice ? 1_402 : 1_403 }
}

/// A record changed through the sandbox API after generation.
struct QBChange: Sendable {
    var updated: Int64
    var syncToken: Int
}

/// Generates the company's customers, invoices and payments from their index; records are in
/// (LastUpdatedTime, Id) order by index, like the ServiceTitan data.
struct QuickBooksData: Sendable {
    let seed: UInt64
    let counts: [QBEntity: Int]
    static let timelineStart = SandboxTime.ticks(year: 2023, month: 1, day: 1)
    static let timelineEnd = SandboxTime.ticks(year: 2025, month: 1, day: 1)
    /// The company's offset from UTC: QuickBooks writes times in the company's zone (-07:00 as
    /// in Intuit's samples; the emulator ignores daylight saving).
    static let offsetSeconds: Int64 = -7 * 3_600
    static let items: [(String, String, Int64)] = [
        ("1", "Services", 9_500), ("3", "AC Tune-Up", 8_900), ("4", "Capacitor Replacement", 18_500), ("5", "Furnace Repair", 27_500),
        ("6", "Heat Pump Installation", 845_000), ("7", "Water Heater Replacement", 189_000), ("8", "Duct Cleaning", 42_000),
    ]

    init(configuration c: QuickBooksSandboxConfiguration, seed: UInt64) {
        self.seed = seed
        counts = [.customer: max(0, c.customers), .invoice: max(0, c.invoices), .payment: max(0, c.payments)]
    }

    func count(_ e: QBEntity) -> Int { counts[e] ?? 0 }

    func id(_ e: QBEntity, _ i: Int) -> String { String(e.idBase + i) }

    func index(_ e: QBEntity, id: String) -> Int? {
        guard let n = Int(id), n >= e.idBase, n - e.idBase < count(e) else { return nil }
        return n - e.idBase
    }

    func baseUpdated(_ e: QBEntity, _ i: Int) -> Int64 {
        let step = max(1, (QuickBooksData.timelineEnd - QuickBooksData.timelineStart) / Int64(max(1, count(e))))
        var r = SeededRandom(seed: seed, stream: e.stream &+ 50, index: i)
        // Whole seconds: QuickBooks times carry no fraction.
        let t = QuickBooksData.timelineStart + Int64(i) * step + r.below64(step)
        return t - t % SandboxTime.ticksPerSecond
    }

    func created(_ e: QBEntity, _ i: Int) -> Int64 {
        var r = SeededRandom(seed: seed, stream: e.stream &+ 51, index: i)
        let updated = baseUpdated(e, i)
        guard r.chance(30) else { return updated }
        let t = updated - r.below64(40 * SandboxTime.ticksPerDay)
        return t - t % SandboxTime.ticksPerSecond
    }

    // MARK: customers

    struct Customer {
        var given: String
        var family: String
        var company: String?
        var display: String
        var active: Bool
        var street: String
        var city: (String, String, Double, Double)
    }

    func customer(_ i: Int) -> Customer {
        var r = SeededRandom(seed: seed, stream: QBEntity.customer.stream, index: i)
        let given = r.pick(SandboxWords.firstNames) ?? "Alex"
        let family = r.pick(SandboxWords.lastNames) ?? "Doe"
        let company: String? = r.chance(25) ? family + " " + (r.pick(SandboxWords.companySuffixes) ?? "LLC") : nil
        // DisplayName is unique in a QuickBooks company: the index keeps it so.
        let display = (company ?? "\(given) \(family)") + (i >= 100 ? " (\(i))" : i > 0 && i % 7 == 0 ? " #\(i)" : "")
        return Customer(
            given: given, family: family, company: company, display: display, active: !r.chance(10),
            street: String(100 + r.below(9_800)) + " " + (r.pick(SandboxWords.streets) ?? "Oak") + " " + (r.pick(SandboxWords.streetKinds) ?? "St"),
            city: SandboxWords.cities[r.below(SandboxWords.cities.count)])
    }

    // MARK: invoices and payments

    struct Line {
        var item: (String, String, Int64)
        var quantity: Int64
        var amount: Int64
    }

    struct Invoice {
        var customer: Int
        var docNumber: String
        var txnDay: Int64
        var dueDay: Int64
        var lines: [Line]
        var tax: Int64
        var total: Int64
    }

    func invoice(_ i: Int) -> Invoice {
        var r = SeededRandom(seed: seed, stream: QBEntity.invoice.stream, index: i)
        var lines: [Line] = []
        for _ in 0..<(1 + r.below(3)) {
            let item = QuickBooksData.items[r.below(QuickBooksData.items.count)]
            let quantity = Int64(1 + (item.2 < 20_000 ? r.below(3) : 0))
            lines.append(Line(item: item, quantity: quantity, amount: item.2 * quantity))
        }
        let subtotal = lines.reduce(0) { $0 + $1.amount }
        let tax = r.chance(60) ? subtotal * 825 / 10_000 : 0
        let day = created(.invoice, i) / SandboxTime.ticksPerDay
        return Invoice(
            customer: r.below(max(1, count(.customer))), docNumber: String(1_001 + i), txnDay: day, dueDay: day + 30,
            lines: lines, tax: tax, total: subtotal + tax)
    }

    /// Payment k pays invoice k·(invoices/payments): in full, or (one in eight) in part.
    func paymentInvoice(_ k: Int) -> Int? {
        let invoices = count(.invoice)
        guard invoices > 0 else { return nil }
        let stride = max(1, invoices / max(1, count(.payment)))
        let i = k * stride
        return i < invoices ? i : nil
    }

    func invoicePayment(_ i: Int) -> Int? {
        let stride = max(1, count(.invoice) / max(1, count(.payment)))
        guard i % stride == 0, i / stride < count(.payment) else { return nil }
        return i / stride
    }

    func paymentAmount(_ k: Int) -> Int64 {
        guard let i = paymentInvoice(k) else { return 10_000 }
        let total = invoice(i).total
        return k % 8 == 7 ? total / 2 : total
    }

    func invoiceBalance(_ i: Int) -> Int64 {
        let total = invoice(i).total
        guard let k = invoicePayment(i) else { return total }
        return total - paymentAmount(k)
    }

    // MARK: JSON

    /// `"2015-07-24T10:35:08-07:00"` (the company's local time).
    static func writeTime(_ ticks: Int64, into out: inout JSONBuffer) {
        out.string(localTime(ticks))
    }

    static func localTime(_ ticks: Int64) -> String {
        var b = JSONBuffer(capacity: 32)
        b.timestamp(ticks: ticks + offsetSeconds * SandboxTime.ticksPerSecond, fractionDigits: 0)
        let text = String(buffer: b.buffer)  // "2015-07-24T17:35:08Z"
        let sign = offsetSeconds < 0 ? "-" : "+"
        let hours = abs(offsetSeconds) / 3_600
        return String(text.dropFirst().dropLast(2)) + sign + (hours < 10 ? "0" : "") + String(hours) + ":00"
    }

    static func writeDate(days: Int64, into out: inout JSONBuffer) {
        let c = SandboxTime.civil(days: days)
        out.string(String(c.year) + "-" + (c.month < 10 ? "0" : "") + String(c.month) + "-" + (c.day < 10 ? "0" : "") + String(c.day))
    }

    private func writeMeta(_ e: QBEntity, _ i: Int, change: QBChange?, into out: inout JSONBuffer) {
        out.raw(",\"domain\":\"QBO\",\"sparse\":false,\"Id\":"); out.string(id(e, i))
        out.raw(",\"SyncToken\":"); out.string(String(change?.syncToken ?? 0))
        out.raw(",\"MetaData\":{\"CreateTime\":"); QuickBooksData.writeTime(created(e, i), into: &out)
        out.raw(",\"LastUpdatedTime\":"); QuickBooksData.writeTime(change?.updated ?? baseUpdated(e, i), into: &out)
        out.raw("}")
    }

    func write(_ e: QBEntity, _ i: Int, change: QBChange?, into out: inout JSONBuffer) {
        switch e {
        case .customer: writeCustomer(i, change: change, into: &out)
        case .invoice: writeInvoice(i, change: change, into: &out)
        case .payment: writePayment(i, change: change, into: &out)
        }
    }

    private func writeCustomer(_ i: Int, change: QBChange?, into out: inout JSONBuffer) {
        let c = customer(i)
        var balance: Int64 = 0
        // A customer's balance: what its open invoices still owe (a bounded scan keeps big
        // companies cheap; the sandbox does not promise ledger-exact balances).
        if count(.customer) <= 2_000 {
            for k in stride(from: i, to: min(count(.invoice), 4_000), by: max(1, count(.customer))) where invoice(k).customer == i {
                balance += invoiceBalance(k)
            }
        }
        out.raw("{\"Taxable\":false,\"BillAddr\":{\"Id\":"); out.string(String(10_000 + i))
        out.raw(",\"Line1\":"); out.string(c.street)
        out.raw(",\"City\":"); out.string(c.city.0)
        out.raw(",\"CountrySubDivisionCode\":\"TX\",\"PostalCode\":"); out.string(c.city.1)
        out.raw("},\"Job\":false,\"BillWithParent\":false,\"Balance\":"); out.moneyNumber(cents: balance)
        out.raw(",\"BalanceWithJobs\":"); out.moneyNumber(cents: balance)
        out.raw(",\"CurrencyRef\":{\"value\":\"USD\",\"name\":\"United States Dollar\"},\"PreferredDeliveryMethod\":\"Print\",\"IsProject\":false")
        writeMeta(.customer, i, change: change, into: &out)
        out.raw(",\"GivenName\":"); out.string(c.given)
        out.raw(",\"FamilyName\":"); out.string(c.family)
        out.raw(",\"FullyQualifiedName\":"); out.string(c.display)
        if let company = c.company { out.raw(",\"CompanyName\":"); out.string(company) }
        out.raw(",\"DisplayName\":"); out.string(c.display)
        out.raw(",\"PrintOnCheckName\":"); out.string(c.company ?? "\(c.given) \(c.family)")
        out.raw(",\"Active\":"); out.bool(c.active)
        out.raw(",\"PrimaryPhone\":{\"FreeFormNumber\":"); out.string("(512) 555-" + String(2_000 + i % 8_000))
        out.raw("},\"PrimaryEmailAddr\":{\"Address\":")
        out.string(c.given.lowercased() + "." + c.family.lowercased().filter { $0.isLetter } + "\(i)@example.com")
        out.raw("}}")
    }

    private func writeInvoice(_ i: Int, change: QBChange?, into out: inout JSONBuffer) {
        let v = invoice(i)
        let c = customer(v.customer)
        out.raw("{\"AllowIPNPayment\":false,\"AllowOnlinePayment\":false,\"AllowOnlineCreditCardPayment\":false,\"AllowOnlineACHPayment\":false")
        writeMeta(.invoice, i, change: change, into: &out)
        out.raw(",\"CustomField\":[],\"DocNumber\":"); out.string(v.docNumber)
        out.raw(",\"TxnDate\":"); QuickBooksData.writeDate(days: v.txnDay, into: &out)
        out.raw(",\"CurrencyRef\":{\"value\":\"USD\",\"name\":\"United States Dollar\"},\"LinkedTxn\":[")
        if let k = invoicePayment(i) {
            out.raw("{\"TxnId\":"); out.string(id(.payment, k)); out.raw(",\"TxnType\":\"Payment\"}")
        }
        out.raw("],\"Line\":[")
        var subtotal: Int64 = 0
        for (n, line) in v.lines.enumerated() {
            subtotal += line.amount
            out.raw("{\"Id\":"); out.string(String(n + 1))
            out.raw(",\"LineNum\":"); out.int(n + 1)
            out.raw(",\"Description\":"); out.string(line.item.1)
            out.raw(",\"Amount\":"); out.moneyNumber(cents: line.amount)
            out.raw(",\"DetailType\":\"SalesItemLineDetail\",\"SalesItemLineDetail\":{\"ItemRef\":{\"value\":"); out.string(line.item.0)
            out.raw(",\"name\":"); out.string(line.item.1)
            out.raw("},\"UnitPrice\":"); out.moneyNumber(cents: line.item.2)
            out.raw(",\"Qty\":"); out.int(line.quantity)
            out.raw(",\"TaxCodeRef\":{\"value\":"); out.string(v.tax > 0 ? "TAX" : "NON"); out.raw("}}},")
        }
        out.raw("{\"Amount\":"); out.moneyNumber(cents: subtotal)
        out.raw(",\"DetailType\":\"SubTotalLineDetail\",\"SubTotalLineDetail\":{}}]")
        out.raw(",\"TxnTaxDetail\":{\"TotalTax\":"); out.moneyNumber(cents: v.tax); out.raw("}")
        out.raw(",\"CustomerRef\":{\"value\":"); out.string(id(.customer, v.customer))
        out.raw(",\"name\":"); out.string(c.display)
        out.raw("},\"BillAddr\":{\"Id\":"); out.string(String(10_000 + v.customer))
        out.raw(",\"Line1\":"); out.string(c.street)
        out.raw(",\"City\":"); out.string(c.city.0)
        out.raw(",\"CountrySubDivisionCode\":\"TX\",\"PostalCode\":"); out.string(c.city.1)
        out.raw("},\"DueDate\":"); QuickBooksData.writeDate(days: v.dueDay, into: &out)
        out.raw(",\"TotalAmt\":"); out.moneyNumber(cents: v.total)
        out.raw(",\"ApplyTaxAfterDiscount\":false,\"PrintStatus\":\"NotSet\",\"EmailStatus\":\"NotSet\",\"Balance\":")
        out.moneyNumber(cents: invoiceBalance(i))
        out.raw("}")
    }

    private func writePayment(_ k: Int, change: QBChange?, into out: inout JSONBuffer) {
        let i = paymentInvoice(k)
        let v = i.map { invoice($0) }
        let payer = v?.customer ?? 0
        let amount = paymentAmount(k)
        out.raw("{\"CustomerRef\":{\"value\":"); out.string(id(.customer, payer))
        out.raw(",\"name\":"); out.string(count(.customer) > 0 ? customer(payer).display : "")
        out.raw("},\"DepositToAccountRef\":{\"value\":\"4\"},\"TotalAmt\":"); out.moneyNumber(cents: amount)
        out.raw(",\"UnappliedAmt\":"); out.moneyNumber(cents: i == nil ? amount : 0)
        out.raw(",\"ProcessPayment\":false")
        writeMeta(.payment, k, change: change, into: &out)
        out.raw(",\"TxnDate\":"); QuickBooksData.writeDate(days: created(.payment, k) / SandboxTime.ticksPerDay, into: &out)
        out.raw(",\"CurrencyRef\":{\"value\":\"USD\",\"name\":\"United States Dollar\"},\"Line\":[")
        if let i {
            out.raw("{\"Amount\":"); out.moneyNumber(cents: amount)
            out.raw(",\"LinkedTxn\":[{\"TxnId\":"); out.string(id(.invoice, i))
            out.raw(",\"TxnType\":\"Invoice\"}],\"LineEx\":{\"any\":[{\"name\":\"{http://schema.intuit.com/finance/v3}NameValue\",\"declaredType\":\"com.intuit.schema.finance.v3.NameValue\",\"scope\":\"javax.xml.bind.JAXBElement$GlobalScope\",\"value\":{\"Name\":\"txnReferenceNumber\",\"Value\":")
            out.string(v?.docNumber ?? "")
            out.raw("},\"nil\":false,\"globalScope\":true,\"typeSubstituted\":false}]}}")
        }
        out.raw("]}")
    }
}
