import TradeSyncCore

/// `contractor_monthly_revenue`: per connection and calendar month, what was invoiced
/// (invoices' `total` by `invoice_date`) and what was paid (payments' `amount` by
/// `payment_date`), computed in the store; soft-deleted documents are left out. A plain view on both stores, so it is never stale;
/// it is created only when the model declares both entities with those fields, and recreated
/// by every migration (it holds no data). The month is the document's own calendar date
/// (QuickBooks TxnDate), not an instant, so no time zone enters.
enum RevenueRollup {
    static let name = "contractor_monthly_revenue"

    static func statements(_ model: DataModel, _ d: SQLDialect) -> [String] {
        let drop = "DROP VIEW IF EXISTS \(name)"
        guard let invoices = model.entity("invoices"), let payments = model.entity("payments"),
            invoices.fields.contains(where: { $0.name == "invoice_date" }), invoices.fields.contains(where: { $0.name == "total" }),
            payments.fields.contains(where: { $0.name == "payment_date" }), payments.fields.contains(where: { $0.name == "amount" })
        else { return [drop] }
        // SQLite keeps decimals as text: summed as whole cents, so the totals are exact to the cent.
        let month: (String) -> String
        let money: (String) -> String
        let sum: (String) -> String
        if d == .postgres {
            month = { "to_char(\($0), 'YYYY-MM')" }
            money = { $0 }
            sum = { "SUM(\($0))" }
        } else {
            month = { "substr(\($0), 1, 7)" }
            money = { "ROUND(CAST(\($0) AS REAL) * 100)" }
            sum = { "SUM(\($0)) / 100.0" }
        }
        // A soft-deleted document (QuickBooks CDC) is no longer revenue.
        let live: (EntityModel) -> String = { e in e.fields.contains { $0.name == "deleted_at" } ? " AND deleted_at IS NULL" : "" }
        let body = """
            SELECT integration_id, demo_id, month,
                   \(sum("invoiced")) AS invoiced_total, \(sum("paid")) AS paid_total,
                   SUM(invoices) AS invoice_count, SUM(payments) AS payment_count
            FROM (
                SELECT integration_id, demo_id, \(month("invoice_date")) AS month,
                       \(money("total")) AS invoiced, 0 AS paid, 1 AS invoices, 0 AS payments
                FROM \(Schema.quote(invoices.table)) WHERE invoice_date IS NOT NULL AND total IS NOT NULL\(live(invoices))
                UNION ALL
                SELECT integration_id, demo_id, \(month("payment_date")), 0, \(money("amount")), 0, 1
                FROM \(Schema.quote(payments.table)) WHERE payment_date IS NOT NULL AND amount IS NOT NULL\(live(payments))
            ) AS entries
            GROUP BY integration_id, demo_id, month
            """
        return [drop, "CREATE VIEW \(name) AS \(body)"]
    }
}

/// One month of `contractor_monthly_revenue`, amounts as decimal text with two places.
public struct MonthlyRevenue: Sendable, Equatable {
    public var month: String
    public var invoiced: String
    public var paid: String

    public init(month: String, invoiced: String, paid: String) {
        self.month = month
        self.invoiced = invoiced
        self.paid = paid
    }
}

extension SQLStore {
    /// The roll-up's rows for one connection, oldest month first.
    public func monthlyRevenue(integrationId: String) async throws -> [MonthlyRevenue] {
        let text: (String) -> String = dialect == .postgres ? { "ROUND(\($0), 2)::text" } : { "printf('%.2f', \($0))" }
        let rows = try await sql.query("""
            SELECT month, \(text("invoiced_total")), \(text("paid_total")) FROM \(RevenueRollup.name)
            WHERE integration_id = ? ORDER BY month
            """, [.text(integrationId)])
        return rows.map { MonthlyRevenue(month: $0.text(0) ?? "", invoiced: $0.text(1) ?? "", paid: $0.text(2) ?? "") }
    }
}
