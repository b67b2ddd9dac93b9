import CSQLite
import Foundation
public import TradeSyncCore

/// The embedded store: one SQLite file in WAL mode, one writer. Calls are serialised by the
/// executor and run synchronously: SQLite work per call is microseconds to a few milliseconds,
/// less than a thread hop would cost. Everything but the record path is `SQLStore`'s.
public final class SQLiteStore: SQLStore, RecordWriter, @unchecked Sendable {
    public let path: String
    private let executor: SQLiteExecutor

    public init(path: String) throws {
        self.path = path
        if path != ":memory:" {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            try SQLiteStore.restrictFileMode(path)
        }
        let db = try SQLiteConnection(path: path)
        // 8 KiB pages for a new database (an existing one keeps its own): a row of a mapped
        // entity is ~600 bytes and a page's kept payloads ~36 KB, so fewer, larger pages mean
        // fewer B-tree splits and overflow pages; a sync into SQLite measured ~10% faster than
        // with 4 KiB, and 16 KiB bought no more. It must come before WAL is turned on.
        try db.execute("PRAGMA page_size=8192")
        try db.execute("PRAGMA journal_mode=WAL")
        try db.execute("PRAGMA synchronous=NORMAL")
        // A 32 MiB page cache keeps the id-map and key indexes in memory for large syncs. Fewer,
        // larger checkpoints write each database page once instead of once per few commits, and
        // wait on the disk less often: a page write rewrites the index pages and the table's last
        // pages every commit. 32,768 pages (256 MiB of WAL) made a 200k sync ~20% faster than
        // 8,192 in alternating runs; the WAL file is cut back to 64 MiB after each checkpoint.
        try db.execute("PRAGMA cache_size=-32768")
        try db.execute("PRAGMA wal_autocheckpoint=32768")
        try db.execute("PRAGMA journal_size_limit=67108864")
        try db.execute("PRAGMA temp_store=MEMORY")
        try db.execute("PRAGMA foreign_keys=ON")
        executor = SQLiteExecutor(connection: db)
        super.init(executor: executor)
    }

    /// The store holds provider data and tokens: only its owner may read it. SQLite gives the
    /// -wal and -shm files the database file's mode, so setting it here covers all three.
    static func restrictFileMode(_ path: String) throws {
        let files = FileManager.default
        if !files.fileExists(atPath: path),
            !files.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        {
            throw StoreError(.unavailable, "cannot create the SQLite store \(path)")
        }
        try? files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }

    /// Runs `body` on the connection with no other caller on it (the record path's statements
    /// are prepared and cached per connection).
    func withDB<T>(_ body: (SQLiteConnection) throws -> T) async throws -> T {
        try await executor.withConnection(body)
    }

    public override func close() async throws {
        await executor.close()
    }

    // MARK: Reading back

    public func rows(entity: EntityModel, integrationId: String) async throws -> [String: StoredRow] {
        try await withDB { db in
            let fields = entity.fields.map { Schema.quote($0.name) }
            let s = try db.prepare("""
                SELECT id, external_id, source_hash\(fields.isEmpty ? "" : ", " + fields.joined(separator: ", "))
                FROM \(Schema.quote(entity.table)) WHERE integration_id = ?
                """)
            s.bind(1, integrationId)
            var out: [String: StoredRow] = [:]
            while try s.step() {
                var values: [String: String?] = [:]
                for (i, f) in entity.fields.enumerated() {
                    values[f.name] = s.text(Int32(i + 3))
                }
                out[s.text(1) ?? ""] = StoredRow(id: s.text(0) ?? "", sourceHash: s.text(2) ?? "", values: values)
            }
            return out
        }
    }

    /// The first column of a query's rows as text (tests and diagnostics).
    func textColumn(_ sql: String) async throws -> [String] {
        try await withDB { db in
            let s = try db.prepare(sql)
            var out: [String] = []
            while try s.step() { if let t = s.text(0) { out.append(t) } }
            return out
        }
    }
}
