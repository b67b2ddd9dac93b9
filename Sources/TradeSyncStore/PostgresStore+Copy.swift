import NIOCore
import PostgresNIO
import TradeSyncCore

/// A page's new rows go in by `COPY … FROM STDIN`, the path PostgreSQL's own bulk loads take:
/// no plan, no executor per statement, and heap pages filled several rows at a time. Inserting
/// the same rows from bound arrays (`INSERT … SELECT FROM unnest(…)`) cost the server about
/// twice what `\copy` costs for them. Updates stay set-based `UPDATE … FROM unnest(…)`.
extension PostgresStore {
    func copyInserts(on c: PostgresConnection, _ plan: PagePlan, rawPage: Int64?) async throws {
        let page = plan.page
        // COPY takes the table and column names as given (postgres-nio quotes them but does not
        // escape them). Config allows only lowercase letters, digits and `_`; anything else here
        // is a model built past the validator.
        let names = [page.entity.table] + page.entity.fields.map(\.name)
        if let bad = names.first(where: { $0.isEmpty || $0.contains("\"") }) {
            throw StoreError("'\(bad)' cannot name a column or table of a COPY")
        }
        let hashes = page.rawPage?.hashes ?? []
        let columns = ["id", "demo_id", "integration_id", "external_id", "source_hash", "created_at", "updated_at",
                       "raw_page", "raw_index", "raw_hash"] + page.entity.fields.map(\.name)
        var rows = ByteBufferAllocator().buffer(capacity: plan.inserts.count * 768)
        // What every row of the page shares, written once.
        var shared = ByteBufferAllocator().buffer(capacity: 128)
        CopyText.field(page.demoId, into: &shared)
        CopyText.field(page.integrationId, into: &shared)
        let now = Timestamp.iso8601(micros: page.now)
        for row in plan.inserts {
            let record = page.records[row.index]
            CopyText.field(row.internalId, into: &rows)
            rows.writeImmutableBuffer(shared)
            CopyText.field(record.externalId, into: &rows)
            CopyText.field(record.contentHash, into: &rows)
            CopyText.field(now, into: &rows)
            CopyText.field(now, into: &rows)
            if let rawPage, row.index < hashes.count {
                CopyText.field(String(rawPage), into: &rows)
                CopyText.field(String(row.index), into: &rows)
                CopyText.field(String(hashes[row.index]), into: &rows)
            } else {
                for _ in 0..<3 { CopyText.null(into: &rows) }
            }
            for field in page.entity.fields.indices {
                CopyText.field(field < record.values.count ? record.values[field].canonicalText : nil, into: &rows)
            }
            // The last separator written was a tab: the row ends there instead.
            rows.moveWriterIndex(to: rows.writerIndex - 1)
            rows.writeInteger(UInt8(ascii: "\n"))
        }
        do {
            try await c.copyFrom(table: page.entity.table, columns: columns, logger: logger) { writer in
                try await writer.write(rows)
            }
        } catch let error as PSQLError {
            throw PostgresExecutor.storeError(error, "COPY \(page.entity.table) FROM STDIN")
        }
    }
}

/// COPY's text format: tab-separated columns, one line per row, `\N` for NULL, and a backslash
/// before a backslash, tab, newline or carriage return in a value.
enum CopyText {
    static func null(into out: inout ByteBuffer) {
        out.writeStaticString("\\N\t")
    }

    static func field(_ value: String?, into out: inout ByteBuffer) {
        guard var value else {
            null(into: &out)
            return
        }
        value.withUTF8 { utf8 in
            if !utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
                out.writeBytes(utf8)
            } else {
                for b in utf8 {
                    switch b {
                    case 0x5C: out.writeStaticString("\\\\")
                    case 0x09: out.writeStaticString("\\t")
                    case 0x0A: out.writeStaticString("\\n")
                    case 0x0D: out.writeStaticString("\\r")
                    default: out.writeInteger(b)
                    }
                }
            }
        }
        out.writeInteger(UInt8(ascii: "\t"))
    }
}
