import CSQLite
import Foundation
import TradeSyncCore

/// A thin, synchronous wrapper over the SQLite C API with a prepared-statement cache.
/// Not thread-safe: `SQLiteStore` serialises access.
final class SQLiteConnection {
    let handle: OpaquePointer
    private var cache: [String: SQLiteStatement] = [:]

    /// Runs once, before the process's first connection opens.
    private static let configured: Bool = tradesync_sqlite3_disable_memstatus() == SQLITE_OK

    init(path: String) throws {
        _ = SQLiteConnection.configured
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw StoreError(.unavailable, "cannot open SQLite database \(path): \(message)")
        }
        handle = db
        sqlite3_busy_timeout(db, 10_000)
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    var lastError: String { String(cString: sqlite3_errmsg(handle)) }

    func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let kind = SQLiteConnection.kind(rc)
            let message = error.map { String(cString: $0) } ?? lastError
            sqlite3_free(error)
            throw StoreError(kind, "SQLite: \(message) in: \(sql.prefix(200))")
        }
    }

    /// A cached prepared statement, reset and with bindings cleared.
    func prepare(_ sql: String) throws -> SQLiteStatement {
        if let s = cache[sql] {
            sqlite3_reset(s.handle)
            sqlite3_clear_bindings(s.handle)
            return s
        }
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            throw StoreError(.database, "SQLite: \(lastError) in: \(sql.prefix(200))")
        }
        let s = SQLiteStatement(handle: stmt, connection: self)
        cache[sql] = s
        return s
    }

    /// What a failed result code means to a caller (extended codes carry the primary one in
    /// their low byte).
    static func kind(_ rc: Int32) -> StoreError.Kind {
        switch rc & 0xFF {
        case SQLITE_CONSTRAINT: return .constraint
        case SQLITE_CANTOPEN, SQLITE_BUSY, SQLITE_LOCKED: return .unavailable
        default: return .database
        }
    }

    func dropCachedStatements() { cache.removeAll() }

    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

private let SQLITE_TRANSIENT_DESTRUCTOR = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

final class SQLiteStatement {
    let handle: OpaquePointer
    unowned let connection: SQLiteConnection

    init(handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    func bind(_ index: Int32, _ text: String?) {
        guard var text else {
            sqlite3_bind_null(handle, index)
            return
        }
        // The string's own UTF-8 with its length: passing the String as a C string would copy it
        // into a temporary first (SQLite copies it once more either way).
        text.withUTF8 { utf8 in
            // An empty string still needs a non-null pointer, or SQLite stores NULL.
            let start = UnsafeRawPointer(utf8.baseAddress ?? UnsafePointer(bitPattern: 1))?.assumingMemoryBound(to: CChar.self)
            sqlite3_bind_text(handle, index, start, Int32(utf8.count), SQLITE_TRANSIENT_DESTRUCTOR)
        }
    }

    func bind(_ index: Int32, bytes: [UInt8]?) {
        guard let bytes else {
            sqlite3_bind_null(handle, index)
            return
        }
        bytes.withUnsafeBytes { b in
            // A zero-length blob still needs a non-null pointer, or SQLite stores NULL.
            _ = sqlite3_bind_blob(handle, index, b.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(b.count),
                                  SQLITE_TRANSIENT_DESTRUCTOR)
        }
    }

    func bytes(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let p = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: count))
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ cell: CellValue) {
        switch cell {
        case .null: sqlite3_bind_null(handle, index)
        case .integer(let i): sqlite3_bind_int64(handle, index, i)
        case .boolean(let b): sqlite3_bind_int64(handle, index, b ? 1 : 0)
        default: bind(index, cell.canonicalText)
        }
    }

    /// Steps once; true when a row is available.
    @discardableResult
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw StoreError(SQLiteConnection.kind(rc), "SQLite: \(connection.lastError)")
    }

    func run() throws {
        while try step() {}
    }

    /// Ends the statement's read: a cached statement left on a row keeps its read transaction
    /// (and its snapshot) open, and a later write on the connection then fails at once with
    /// "database is locked" when another connection has written since.
    func reset() { sqlite3_reset(handle) }

    func text(_ column: Int32) -> String? {
        guard sqlite3_column_type(handle, column) != SQLITE_NULL, let p = sqlite3_column_text(handle, column) else {
            return nil
        }
        return String(cString: p)
    }

    func int(_ column: Int32) -> Int64? {
        guard sqlite3_column_type(handle, column) != SQLITE_NULL else { return nil }
        return sqlite3_column_int64(handle, column)
    }
}
