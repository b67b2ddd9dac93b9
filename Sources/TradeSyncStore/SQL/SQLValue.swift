import TradeSyncCore

/// A value bound to a statement, typed even when nil: PostgreSQL needs the type of a null, and
/// the two stores keep timestamps, booleans and JSON in different column types.
enum SQLValue: Sendable {
    case text(String?)
    case int(Int64?)
    case bool(Bool?)
    /// µs since the epoch; written as ISO-8601 text (SQLite) or `timestamptz` (PostgreSQL).
    case timestamp(Int64?)
    /// JSON text; `jsonb` on PostgreSQL.
    case json(String?)
    /// Bytes: `BLOB` on SQLite, `bytea` on PostgreSQL (kept raw payloads).
    case blob([UInt8]?)

    static func int(_ value: Int) -> SQLValue { .int(Int64(value)) }

    var postgresCast: String {
        switch self {
        case .text: return "::text"
        case .int: return "::bigint"
        case .bool: return "::boolean"
        case .timestamp: return "::timestamptz"
        case .json: return "::jsonb"
        case .blob: return "::bytea"
        }
    }
}

/// A cell read back.
enum SQLCell: Sendable, Equatable {
    case null
    case int(Int64)
    case bool(Bool)
    case text(String)
    case blob([UInt8])
}

/// A row read back, by column position. Readers are lenient in the way both stores need:
/// SQLite has no boolean type and PostgreSQL returns timestamps as µs (see `SQLDialect.micros`).
struct SQLRow: Sendable, Equatable {
    var cells: [SQLCell]

    func text(_ i: Int) -> String? {
        switch cells[i] {
        case .text(let s): return s
        case .int(let v): return String(v)
        case .bool(let b): return b ? "1" : "0"
        case .null, .blob: return nil
        }
    }

    func bytes(_ i: Int) -> [UInt8]? {
        if case .blob(let b) = cells[i] { return b }
        return nil
    }

    func int(_ i: Int) -> Int64? {
        switch cells[i] {
        case .int(let v): return v
        case .text(let s): return Int64(s)
        case .bool(let b): return b ? 1 : 0
        case .null, .blob: return nil
        }
    }

    func bool(_ i: Int) -> Bool { (int(i) ?? 0) != 0 }

    /// A timestamp selected through `SQLDialect.micros`: µs as a number, or ISO-8601 text.
    func micros(_ i: Int) -> Int64? {
        switch cells[i] {
        case .int(let v): return v
        case .text(let s): return Timestamp.parse(s)
        case .bool, .null, .blob: return nil
        }
    }
}
