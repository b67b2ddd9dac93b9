/// What the two SQL stores say differently, as one value: column types, placeholders, how a
/// timestamp is read back, and the few statements only one of them needs. Shared statements
/// (`SQLStore`) and the DDL (`Schema`) ask the dialect instead of switching on the store.
public struct SQLDialect: Sendable, Equatable, CustomStringConvertible {
    /// `sqlite` or `postgres`: benchmark labels and messages.
    public let name: String
    public var description: String { name }

    // Column types of the declared schema.
    let timestampType: String
    let booleanType: String
    let jsonType: String
    let bigintType: String
    let decimalType: String
    let dateType: String
    /// Identifier columns (ids, external ids, contractor ids).
    let keyType: String

    /// How placeholders are written on the wire. Statements are written once with `?` / `?N`.
    let placeholders: Placeholders
    /// A timestamp column as selected: read back by `SQLRow.micros`.
    let micros: @Sendable (_ column: String) -> String
    /// The column names of a table, in order; one bind: the table name.
    let columnNamesQuery: String
    /// Run first in the migration transaction so that concurrent migrations take turns.
    let migrationLock: [String]
    /// Creates the summary relation named `name` as `SELECT body`.
    let summaryRelation: @Sendable (_ name: String, _ body: String) -> [String]
    /// Run after a run is recorded: keeps the summary fresh where it is materialized.
    let afterRunRecorded: [String]
    /// Run after a large run over the entity tables (`tables`, quoted): fresh planner statistics.
    let analyze: @Sendable (_ tables: [String]) -> [String]
    /// The column that breaks ties in insertion order.
    let insertionOrder: String

    enum Placeholders: Sendable {
        /// `?` and `?N`, as written.
        case question
        /// `$N`, each cast to its bind's type (PostgreSQL infers nothing from a null).
        case dollarWithCasts
    }

    public static func == (a: SQLDialect, b: SQLDialect) -> Bool { a.name == b.name }

    public static let sqlite = SQLDialect(
        name: "sqlite", timestampType: "TEXT", booleanType: "INTEGER", jsonType: "TEXT", bigintType: "INTEGER",
        decimalType: "TEXT", dateType: "TEXT", keyType: "TEXT", placeholders: .question,
        // Stored as ISO-8601 text: `SQLRow.micros` parses it.
        micros: { $0 },
        columnNamesQuery: "SELECT name FROM pragma_table_info(?)",
        // BEGIN IMMEDIATE already makes a migration the only writer.
        migrationLock: [],
        summaryRelation: { name, body in ["DROP VIEW IF EXISTS \(name)", "CREATE VIEW \(name) AS \(body)"] },
        afterRunRecorded: [], analyze: { _ in [] }, insertionOrder: "rowid")

    public static let postgres = SQLDialect(
        name: "postgres", timestampType: "TIMESTAMPTZ", booleanType: "BOOLEAN", jsonType: "JSONB", bigintType: "BIGINT",
        decimalType: "NUMERIC", dateType: "DATE",
        // Identifier columns compare bytewise: a linguistic collation makes every key comparison in
        // every index a strcoll call, and ids have no linguistic order.
        keyType: "TEXT COLLATE \"C\"", placeholders: .dollarWithCasts,
        // µs since the epoch: exact, and free of session time-zone settings.
        micros: { "(EXTRACT(EPOCH FROM \($0)) * 1000000)::BIGINT" },
        columnNamesQuery: """
            SELECT attname::text FROM pg_attribute
            WHERE attrelid = to_regclass(quote_ident(?)) AND attnum > 0 AND NOT attisdropped ORDER BY attnum
            """,
        // Concurrent workers may migrate at once: one at a time.
        migrationLock: ["SELECT pg_advisory_xact_lock(727379736)"],
        summaryRelation: { name, body in
            [
                "DROP MATERIALIZED VIEW IF EXISTS \(name)",
                "CREATE MATERIALIZED VIEW \(name) AS \(body)",
                "CREATE UNIQUE INDEX \(name)_id ON \(name) (integration_id)",
            ]
        },
        afterRunRecorded: ["REFRESH MATERIALIZED VIEW \(Schema.summaryName)"],
        // The entity tables are probed by (integration_id, external_id) on every page (the id map
        // is a view of them): their plans must not rest on statistics from when they were small.
        // Only those columns: a whole wide row's statistics took 0.4 s at 200,000 jobs, these 0.08 s.
        analyze: { tables in
            tables.isEmpty ? [] : ["ANALYZE " + tables.map { "\($0) (integration_id, external_id)" }.joined(separator: ", ")]
        }, insertionOrder: "id")

    /// `sql` with its placeholders as this dialect writes them. `?N` keeps its number; a bare `?`
    /// takes one more than the largest number so far, as SQLite numbers it. Text inside single
    /// quotes is left alone.
    func render(_ sql: String, _ binds: [SQLValue]) -> String {
        guard placeholders == .dollarWithCasts, sql.contains("?") else { return sql }
        var out = ""
        out.reserveCapacity(sql.utf8.count + binds.count * 10)
        var largest = 0
        var inString = false
        var chars = sql.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? chars.next() {
            pending = nil
            if c == "'" { inString.toggle() }
            guard c == "?", !inString else {
                out.append(c)
                continue
            }
            var digits = ""
            while let d = chars.next() {
                if d.isASCII, d.isNumber { digits.append(d) } else { pending = d; break }
            }
            let n: Int
            if let explicit = Int(digits) { n = explicit } else { n = largest + 1 }
            largest = max(largest, n)
            out += "$\(n)"
            if n >= 1, n <= binds.count { out += binds[n - 1].postgresCast }
        }
        return out
    }
}

extension SQLDialect {
    /// A subquery of the text elements of a JSON array bound at `placeholder` (as `.json`).
    func jsonArrayElements(_ placeholder: String) -> String {
        self == .postgres ? "SELECT jsonb_array_elements_text(\(placeholder))" : "SELECT value FROM json_each(\(placeholder))"
    }
}
