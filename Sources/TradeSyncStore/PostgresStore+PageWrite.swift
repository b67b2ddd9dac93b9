import Foundation
import PostgresNIO
public import TradeSyncCore

/// The page write: one transaction per page (records, cursor, kept failures, run counts), set-based.
extension PostgresStore {
    /// The element type a field travels as, and the SQL that turns the bound array's element
    /// into the column's type. Integers, booleans and timestamps travel in their binary form;
    /// numeric, date and jsonb as their exact text, converted by PostgreSQL.
    static func column(_ t: FieldType) -> (element: TypedArray.Element, cast: String) {
        switch t {
        case .string, .text, .enumeration: return (.text, "")
        case .integer: return (.int8, "")
        case .decimal: return (.text, "::numeric")
        case .boolean: return (.bool, "")
        case .timestamp: return (.timestamptz, "")
        case .date: return (.text, "::date")
        case .json: return (.text, "::jsonb")
        }
    }

    /// The rows as one typed array per column: id, external id, hash, then the entity's fields.
    static func columnArrays(_ rows: [PagePlan.Row], of page: PageWrite) throws -> [TypedArray] {
        let fields = page.entity.fields
        var ids = TypedArray(.text, capacity: rows.count * 36)
        var externals = TypedArray(.text, capacity: rows.count * 16)
        var hashes = TypedArray(.text, capacity: rows.count * 16)
        var columns = fields.map { TypedArray(column($0.type).element, capacity: rows.count * 16) }
        for row in rows {
            let record = page.records[row.index]
            ids.append(row.internalId)
            externals.append(record.externalId)
            hashes.append(record.contentHash)
            for i in fields.indices {
                try columns[i].append(i < record.values.count ? record.values[i] : .null, field: fields[i].name)
            }
        }
        return [ids, externals, hashes] + columns
    }

    /// The internal ids and stored hashes of a page's external ids, straight from the entity
    /// table (the id map is a view of it), as one index lookup per id: the LATERAL subquery
    /// refers to the id, so the planner cannot turn it into a scan of every row of the
    /// integration (which a join or `= ANY` allowed, with statistics from when the table was
    /// small). One probe of the (integration_id, external_id) index per distinct id.
    func existing(on c: PostgresConnection, integrationId: String, entity: EntityModel, externalIds: [String]) async throws
        -> [String: StoredIdentity]
    {
        guard !externalIds.isEmpty else { return [:] }
        let rows = try await query(on: c, """
            SELECT x.e, t.id, t.source_hash, t.raw_page, t.raw_hash
            FROM unnest($2::text[]) AS x(e)
            CROSS JOIN LATERAL (
                SELECT t.id, t.source_hash, t.raw_page, t.raw_hash FROM \(Schema.quote(entity.table)) t
                WHERE t.integration_id = $1 AND t.external_id = x.e LIMIT 1
            ) t
            """, try PostgresStore.binds([integrationId, Array(Set(externalIds))]))
        var out: [String: StoredIdentity] = [:]
        for row in rows {
            let (ext, internalId, hash, rawPage, rawHash) = try row.decode((String, String, String, Int64?, Int64?).self)
            out[ext] = StoredIdentity(internalId: internalId, hash: hash, rawPage: rawPage, rawHash: rawHash)
        }
        return out
    }

    public func existing(integrationId: String, entity: EntityModel, externalIds: [String]) async throws
        -> [String: StoredIdentity]
    {
        try await client.withConnection { c in
            try await self.existing(on: c, integrationId: integrationId, entity: entity, externalIds: externalIds)
        }
    }

    public func applyPage(_ page: PageWrite) async throws -> PageOutcome {
        try await applyPage(page, previous: nil)
    }

    public func applyPage(_ page: PageWrite, after previous: @escaping @Sendable () async throws -> Void) async throws
        -> PageOutcome
    {
        try await applyPage(page, previous: previous)
    }

    /// Two pages' transactions overlap on two pooled connections: the server writes one page's
    /// rows while the other page commits, instead of each waiting for the other's round trips.
    public var overlapsPageWrites: Bool { true }

    /// The rows first, then (after `previous` committed) the rows every page of the stream shares:
    /// the lease, the cursor and the run's counts. Taking those last is what lets two pages
    /// overlap: the second would otherwise wait on the first's row locks from its first statement.
    /// The lease is still checked before the commit, so a page of a run that lost it never commits.
    private func applyPage(_ page: PageWrite, previous: (@Sendable () async throws -> Void)?) async throws -> PageOutcome {
        try await transaction { c in
            if page.replayable { _ = try await self.query(on: c, "SET LOCAL synchronous_commit TO off", PostgresBindings()) }
            // Alone, the lease is checked first: the row lock holds off a takeover for the whole page.
            if previous == nil, let fence = page.fence { try await self.extendLease(on: c, page.integrationId, fence) }
            let known = try await self.existing(on: c, integrationId: page.integrationId, entity: page.entity,
                                                externalIds: page.records.map(\.externalId))
            let plan = PagePlan.make(page, existing: known, newId: newIdentifier)
            let outcome = plan.outcome
            let rawPage = try await self.writeRawPage(on: c, plan)
            try await self.writeRecords(on: c, plan, rawPage: rawPage)
            try await self.releaseRawPages(on: c, plan)
            try await self.writeFailures(on: c, page)
            try await self.writeRaws(on: c, page)
            if let previous {
                try await previous()
                if let fence = page.fence { try await self.extendLease(on: c, page.integrationId, fence) }
            }
            try await self.writeCursorAndCounts(on: c, page, outcome)
            return outcome
        }
    }

    /// The stream's cursor and the run's counts, in one statement (one round trip per page fewer).
    func writeCursorAndCounts(on c: PostgresConnection, _ page: PageWrite, _ outcome: PageOutcome) async throws {
        var parts: [String] = []
        var values: [(any PostgresEncodable & Sendable)?] = []
        if let cursor = page.cursor {
            parts.append("""
                INSERT INTO tradesync_cursors (integration_id, stream, cursor, updated_at) VALUES ($1, $2, $3, $4::timestamptz)
                ON CONFLICT (integration_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
                """)
            values += [page.integrationId, page.stream, cursor, PostgresStore.iso(page.now)]
        }
        if let run = page.run {
            let n = values.count
            parts.append("""
                UPDATE contractor_sync_logs SET records_fetched = records_fetched + $\(n + 1),
                    records_inserted = records_inserted + $\(n + 2), records_updated = records_updated + $\(n + 3),
                    records_unchanged = records_unchanged + $\(n + 4), records_failed = records_failed + $\(n + 5)
                WHERE id = $\(n + 6)
                """)
            values += [Int64(run.fetched), Int64(outcome.inserted), Int64(outcome.updated), Int64(outcome.unchanged),
                       Int64(run.failed), run.runId]
        }
        guard let last = parts.last else { return }
        // Both: the cursor's upsert runs as a data-modifying WITH, which runs to completion whether read or not.
        let sql = parts.count == 1 ? last : "WITH cursor_written AS (\(parts[0]))\n\(last)"
        _ = try await query(on: c, sql, try PostgresStore.binds(values))
    }

    /// Extends the lease if `fence.holder` still holds it; the row lock taken holds off a
    /// concurrent takeover until this transaction ends.
    func extendLease(on c: PostgresConnection, _ integrationId: String, _ fence: LeaseFence) async throws {
        let held = try await query(on: c, """
            UPDATE tradesync_leases SET expires_at_micros = $1 WHERE integration_id = $2 AND holder = $3 RETURNING 1
            """, try PostgresStore.binds([currentMicros() + Int64(fence.ttlSeconds) * 1_000_000, integrationId, fence.holder]))
        if held.isEmpty { throw LeaseLostError(holder: fence.holder) }
    }

    func writeFailures(on c: PostgresConnection, _ page: PageWrite) async throws {
        let now = PostgresStore.iso(page.now)
        if !page.resolvedFailures.isEmpty {
            _ = try await query(on: c, """
                DELETE FROM tradesync_failed_records WHERE integration_id = $1 AND stream = $2 AND external_id = ANY($3::text[])
                """, try PostgresStore.binds([page.integrationId, page.stream, page.resolvedFailures]))
        }
        guard !page.failures.isEmpty else { return }
        // One row per external id: a record repeated in a page must not hit its own conflict twice.
        var latest: [String: FailedRecord] = [:]
        var order: [String] = []
        for f in page.failures {
            if latest[f.externalId] == nil { order.append(f.externalId) }
            latest[f.externalId] = f
        }
        let rows = order.compactMap { latest[$0] }
        _ = try await query(on: c, """
            INSERT INTO tradesync_failed_records
                (integration_id, stream, external_id, reason, raw, attempts, first_failed_at, last_failed_at)
            SELECT $1, $2, e, r, w, 1, $6::timestamptz, $6::timestamptz FROM unnest($3::text[], $4::text[], $5::text[]) AS x(e, r, w)
            ON CONFLICT (integration_id, stream, external_id) DO UPDATE SET reason = excluded.reason, raw = excluded.raw,
                attempts = tradesync_failed_records.attempts + 1, last_failed_at = excluded.last_failed_at
            """, try PostgresStore.binds([page.integrationId, page.stream, rows.map(\.externalId), rows.map(\.reason),
                                          rows.map(\.rawJSON), now]))
    }

    /// The page's raw payloads, when rows will point at them (`keep_raw`); their id.
    func writeRawPage(on c: PostgresConnection, _ plan: PagePlan) async throws -> Int64? {
        guard let raw = plan.page.rawPage, plan.pointingRows > 0 else { return nil }
        var binds = PostgresBindings(capacity: 5)
        try binds.append(plan.page.integrationId)
        try binds.append(plan.page.stream)
        try binds.append(ByteBuffer(bytes: raw.compressed))
        try binds.append(Int64(raw.hashes.count))
        try binds.append(Int64(plan.pointingRows))
        let rows = try await query(on: c, """
            INSERT INTO tradesync_raw_pages (integration_id, stream, payload, records, live)
            VALUES ($1, $2, $3, $4, $5) RETURNING id
            """, binds)
        guard let id = try rows.first?.decode(Int64.self) else { throw StoreError("the raw page was not written") }
        return id
    }

    /// Stored raw pages that rows moved off: counted down, and dropped once no row points at them.
    func releaseRawPages(on c: PostgresConnection, _ plan: PagePlan) async throws {
        guard !plan.releasedPages.isEmpty else { return }
        let released = plan.releasedPages.sorted { $0.key < $1.key }
        let binds = try PostgresStore.binds([released.map(\.key), released.map { Int64($0.value) }])
        // Two statements: a statement does not see its own CTE's updates, so one could not delete them.
        _ = try await query(on: c, """
            DELETE FROM tradesync_raw_pages p USING unnest($1::bigint[], $2::bigint[]) AS x(id, n)
            WHERE p.id = x.id AND p.live - x.n <= 0
            """, binds)
        _ = try await query(on: c, """
            UPDATE tradesync_raw_pages p SET live = p.live - x.n FROM unnest($1::bigint[], $2::bigint[]) AS x(id, n)
            WHERE p.id = x.id
            """, binds)
    }

    /// Payloads of a stream without rows (a looked-up stream), one statement per page.
    func writeRaws(on c: PostgresConnection, _ page: PageWrite) async throws {
        guard !page.raws.isEmpty else { return }
        // One row per external id: a record repeated in a page must not hit its own conflict twice.
        var latest: [String: [UInt8]] = [:]
        var order: [String] = []
        for r in page.raws {
            if latest[r.externalId] == nil { order.append(r.externalId) }
            latest[r.externalId] = r.compressed
        }
        var binds = PostgresBindings(capacity: 4)
        try binds.append(page.integrationId)
        try binds.append(page.stream)
        try binds.append(order)
        try binds.append(order.map { ByteBuffer(bytes: latest[$0] ?? []) })
        _ = try await query(on: c, """
            INSERT INTO tradesync_raw_records (integration_id, stream, external_id, payload)
            SELECT $1, $2, e, p FROM unnest($3::text[], $4::bytea[]) AS x(e, p)
            ON CONFLICT (integration_id, stream, external_id) DO UPDATE SET payload = excluded.payload
            """, binds)
    }

    func writeRecords(on c: PostgresConnection, _ plan: PagePlan, rawPage: Int64?) async throws {
        let page = plan.page
        let entity = page.entity
        let table = Schema.quote(entity.table)
        let now = PostgresStore.iso(page.now)
        do {
            let fieldColumns = entity.fields.map { Schema.quote($0.name) }
            // unnest of one typed array per column: x(id, external_id, source_hash, f0, f1, …).
            let arrays = (["$1::text[]", "$2::text[]", "$3::text[]"] + entity.fields.enumerated().map { i, f in
                "$\(i + 4)::\(PostgresStore.column(f.type).element.arrayName)"
            }).joined(separator: ", ")
            let names = (["id", "external_id", "source_hash"] + entity.fields.indices.map { "f\($0)" }).joined(separator: ", ")
            let values = entity.fields.enumerated().map { i, f in "x.f\(i)\(PostgresStore.column(f.type).cast)" }
            let next = entity.fields.count + 4
            // The rows' raw payload pointers: the page's id, and per row its index and payload hash.
            let hashes = page.rawPage?.hashes ?? []
            func pointerArrays(_ rows: [PagePlan.Row]) throws -> [TypedArray] {
                var indexes = TypedArray(.int8, capacity: rows.count * 12)
                var rawHashes = TypedArray(.int8, capacity: rows.count * 12)
                for row in rows {
                    if rawPage != nil, row.index < hashes.count {
                        try indexes.append(.integer(Int64(row.index)), field: "raw_index")
                        try rawHashes.append(.integer(hashes[row.index]), field: "raw_hash")
                    } else {
                        indexes.appendNull()
                        rawHashes.appendNull()
                    }
                }
                return [indexes, rawHashes]
            }
            if !plan.inserts.isEmpty { try await copyInserts(on: c, plan, rawPage: rawPage) }
            if !plan.updates.isEmpty {
                // Without raw payloads (`apply`'s rewrites) the row keeps pointing where it did.
                let pointer = rawPage == nil ? [] : ["raw_page = $\(next + 1)::bigint", "raw_index = x.raw_index", "raw_hash = x.raw_hash"]
                let assignments = (["source_hash = x.source_hash", "updated_at = $\(next)::timestamptz"] + pointer
                    + zip(fieldColumns, values).map { "\($0) = \($1)" }).joined(separator: ", ")
                var binds = PostgresBindings(capacity: next + 4)
                for a in try PostgresStore.columnArrays(plan.updates, of: page) { try binds.append(a) }
                try binds.append(now)
                var source = "unnest(\(arrays)) AS x(\(names))"
                if rawPage != nil {
                    try binds.append(rawPage)
                    for a in try pointerArrays(plan.updates) { try binds.append(a) }
                    source = "unnest(\(arrays), $\(next + 2)::bigint[], $\(next + 3)::bigint[]) AS x(\(names), raw_index, raw_hash)"
                }
                _ = try await self.query(on: c, """
                    UPDATE \(table) AS t SET \(assignments) FROM \(source) WHERE t.id = x.id
                    """, binds)
            }
            if let rawPage, !plan.repoints.isEmpty {
                var binds = PostgresBindings(capacity: 4)
                try binds.append(plan.repoints.map(\.internalId))
                try binds.append(rawPage)
                for a in try pointerArrays(plan.repoints) { try binds.append(a) }
                _ = try await self.query(on: c, """
                    UPDATE \(table) AS t SET raw_page = $2::bigint, raw_index = p.i, raw_hash = p.h
                    FROM unnest($1::text[], $3::bigint[], $4::bigint[]) AS p(id, i, h) WHERE t.id = p.id
                    """, binds)
            }
        }
    }
}

/// A one-dimensional PostgreSQL array in binary wire form whose elements may be NULL
/// (postgres-nio's own arrays cannot hold NULL). Values are written in their binary form as
/// they are appended: no JSON or text round trip, and timestamps stay microseconds.
struct TypedArray: PostgresDynamicTypeEncodable, Sendable {
    enum Element: Sendable {
        case text, int8, bool, timestamptz

        var arrayName: String {
            switch self {
            case .text: return "text[]"
            case .int8: return "bigint[]"
            case .bool: return "boolean[]"
            case .timestamptz: return "timestamptz[]"
            }
        }
        var oid: Int32 {
            switch self {
            case .text: return 25
            case .int8: return 20
            case .bool: return 16
            case .timestamptz: return 1184
            }
        }
        var arrayType: PostgresDataType {
            switch self {
            case .text: return .textArray
            case .int8: return .int8Array
            case .bool: return .boolArray
            case .timestamptz: return PostgresDataType(1185)
            }
        }
    }

    let element: Element
    private var payload: ByteBuffer
    private var count: Int32 = 0
    private var hasNull = false
    /// PostgreSQL counts timestamps from 2000-01-01 UTC; the engine from 1970.
    static let postgresEpochMicros: Int64 = 946_684_800_000_000

    init(_ element: Element, capacity: Int) {
        self.element = element
        payload = ByteBufferAllocator().buffer(capacity: capacity)
    }

    mutating func appendNull() {
        payload.writeInteger(Int32(-1))
        count += 1
        hasNull = true
    }

    mutating func append(_ text: String) {
        let lengthAt = payload.writerIndex
        payload.writeInteger(Int32(0))
        let written = payload.writeString(text)
        payload.setInteger(Int32(written), at: lengthAt)
        count += 1
    }

    mutating func append(_ cell: CellValue, field: String) throws {
        switch (element, cell) {
        case (_, .null): appendNull()
        case (.int8, .integer(let v)):
            payload.writeInteger(Int32(8))
            payload.writeInteger(v)
            count += 1
        case (.bool, .boolean(let b)):
            payload.writeInteger(Int32(1))
            payload.writeInteger(UInt8(b ? 1 : 0))
            count += 1
        case (.timestamptz, .timestamp(let micros)):
            payload.writeInteger(Int32(8))
            payload.writeInteger(micros - TypedArray.postgresEpochMicros)
            count += 1
        case (.text, _):
            append(cell.canonicalText ?? "")
        default:
            throw StoreError("field '\(field)': a \(cell) value cannot be written to a \(element.arrayName) column")
        }
    }

    var psqlType: PostgresDataType { element.arrayType }
    var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        guard count > 0 else {
            // An empty array has no dimensions.
            buffer.writeInteger(Int32(0))
            buffer.writeInteger(Int32(0))
            buffer.writeInteger(element.oid)
            return
        }
        buffer.writeInteger(Int32(1))  // dimensions
        buffer.writeInteger(Int32(hasNull ? 1 : 0))
        buffer.writeInteger(element.oid)
        buffer.writeInteger(count)
        buffer.writeInteger(Int32(1))  // lower bound
        var payload = payload
        buffer.writeBuffer(&payload)
    }
}
