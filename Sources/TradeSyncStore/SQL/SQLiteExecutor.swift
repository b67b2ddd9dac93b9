import CSQLite
import TradeSyncCore

/// The SQLite side of `SQLExecutor`: one connection, one caller at a time. Each call runs
/// synchronously under the mutex (SQLite work per call is microseconds, less than a thread hop);
/// a transaction holds the mutex until it commits.
final class SQLiteExecutor: SQLExecutor, @unchecked Sendable {
    let dialect = SQLDialect.sqlite
    private let mutex = AsyncMutex()
    /// Guarded by `mutex`; nil once closed.
    private var connection: SQLiteConnection?

    init(connection: SQLiteConnection) {
        self.connection = connection
    }

    /// Runs `body` on the connection, alone.
    func withConnection<T>(_ body: (SQLiteConnection) throws -> T) async throws -> T {
        try await mutex.withLock {
            guard let connection else { throw StoreError.closed("the SQLite store is closed") }
            return try body(connection)
        }
    }

    func close() async {
        await mutex.withLock { connection = nil }
    }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws {
        try await withConnection { try SQLiteTransaction.execute($0, sql, binds) }
    }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await withConnection { try SQLiteTransaction.query($0, sql, binds) }
    }

    func transaction<T: Sendable>(_ body: (any SQLExecutor) async throws -> T) async throws -> T {
        try await mutex.withLock {
            guard let connection else { throw StoreError.closed("the SQLite store is closed") }
            try connection.execute("BEGIN IMMEDIATE")
            do {
                let result = try await body(SQLiteTransaction(connection: connection))
                try connection.execute("COMMIT")
                return result
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }
}

/// The executor a SQLite transaction's body gets: the connection, already held.
struct SQLiteTransaction: SQLExecutor, @unchecked Sendable {
    let connection: SQLiteConnection
    var dialect: SQLDialect { .sqlite }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws {
        try SQLiteTransaction.execute(connection, sql, binds)
    }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try SQLiteTransaction.query(connection, sql, binds)
    }

    func transaction<T: Sendable>(_ body: (any SQLExecutor) async throws -> T) async throws -> T {
        try await body(self)
    }

    static func execute(_ db: SQLiteConnection, _ sql: String, _ binds: [SQLValue]) throws {
        if binds.isEmpty {
            // Statements without binds are DDL: run uncached, and forget statements prepared
            // against the old schema.
            try db.execute(sql)
            db.dropCachedStatements()
            return
        }
        try bound(db, sql, binds).run()
    }

    static func query(_ db: SQLiteConnection, _ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        let s = try bound(db, sql, binds)
        var rows: [SQLRow] = []
        let count = sqlite3_column_count(s.handle)
        // Stepped to the end, so the statement holds no read transaction afterwards.
        while try s.step() {
            var cells: [SQLCell] = []
            cells.reserveCapacity(Int(count))
            for i in 0..<count {
                switch sqlite3_column_type(s.handle, i) {
                case SQLITE_NULL: cells.append(.null)
                case SQLITE_INTEGER: cells.append(.int(sqlite3_column_int64(s.handle, i)))
                case SQLITE_BLOB: cells.append(.blob(s.bytes(i)))
                default: cells.append(s.text(i).map { .text($0) } ?? .null)
                }
            }
            rows.append(SQLRow(cells: cells))
        }
        return rows
    }

    private static func bound(_ db: SQLiteConnection, _ sql: String, _ binds: [SQLValue]) throws -> SQLiteStatement {
        let s = try db.prepare(sql)
        for (n, value) in binds.enumerated() {
            let i = Int32(n + 1)
            switch value {
            case .text(let v), .json(let v): s.bind(i, v)
            case .int(let v): s.bind(i, v)
            case .bool(let v): s.bind(i, v.map { $0 ? 1 : 0 } as Int64?)
            case .timestamp(let v): s.bind(i, v.map { Timestamp.iso8601(micros: $0) })
            case .blob(let v): s.bind(i, bytes: v)
            }
        }
        return s
    }
}
