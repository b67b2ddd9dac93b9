import Foundation
import Logging
import TradeSyncConfig
import TradeSyncCore
import TradeSyncMapping
import TradeSyncSources
import TradeSyncStore

/// A fetched page, already mapped and hashed. The raw records are not kept: the writer needs
/// only their count and the page's paging state, and the parsed page is freed before the write.
struct PreparedPage: Sendable {
    var fetched: Int
    var isLast: Bool
    var nextToken: String?
    var records: [MappedRecord]
    var failures: [RecordFailure]
    /// The failed records as they will be kept: raw payload and reason.
    var kept: [FailedRecord]
    /// The mapped records' payloads, compressed here, ahead of the writer (`keep_raw`).
    var rawPage: RawPage?
    /// Largest value of the stream's timestamp cursor field on this page.
    var maxTimestamp: (micros: Int64, text: String)?
    /// `stop_when_older`: the page holds a record older than the stored cursor, so (the listing
    /// being newest first) every later page is older still and is not requested.
    var reachedCursor = false
}

/// Maps one raw record of a stream: the external id, then the mapped row or the failure to keep.
struct RecordPreparer: Sendable {
    let stream: String
    let primaryKey: JSONPath
    let primaryKeyText: String
    let mapper: RecordMapper
    let lookups: LookupTables
    let redactor: SecretRedactor
    /// Paths read from each record besides the mapped ones (a timestamp cursor's field).
    let extraPaths: [JSONPath]
    /// The mapped paths, then the primary key, then `extraPaths`: all a record is read at.
    let fields: JSONFieldSet

    init(stream: String, primaryKey: JSONPath, primaryKeyText: String, mapper: RecordMapper, lookups: LookupTables,
         redactor: SecretRedactor, extraPaths: [JSONPath] = []) {
        self.stream = stream
        self.primaryKey = primaryKey
        self.primaryKeyText = primaryKeyText
        self.mapper = mapper
        self.lookups = lookups
        self.redactor = redactor
        self.extraPaths = extraPaths
        fields = JSONFieldSet(mapper.paths + [primaryKey] + extraPaths)
    }

    enum Outcome {
        case mapped(MappedRecord)
        case failed(RecordFailure, FailedRecord)
    }

    /// A record as the provider sent it, read only at the paths the mapping reads; with the
    /// values at `extraPaths`. A record that fails is built whole and prepared as a value, so
    /// that what is kept of it is exactly what `prepare(_:)` keeps.
    func prepare(bytes: ArraySlice<UInt8>) -> (outcome: Outcome, extras: [JSONValue?]) {
        let mapped = mapper.paths.count
        if let values = fields.values(in: bytes), let externalId = values[mapped]?.scalarText, !externalId.isEmpty,
            case .success(let cells) = mapper.map(fields: values, lookups: lookups)
        {
            return (.mapped(MappedRecord(externalId: externalId, values: cells)), Array(values[(mapped + 1)...]))
        }
        let record = (try? JSONValue.parse(bytes)) ?? .null
        return (prepare(record), extraPaths.map { record.value(at: $0) })
    }

    func prepare(_ record: JSONValue) -> Outcome {
        guard let externalId = record.value(at: primaryKey)?.scalarText, !externalId.isEmpty else {
            // Without an id the record is kept under a hash of its content, so that a later run
            // with a corrected primary key can bring it in.
            let raw = record.jsonText
            let key = "(no id) " + MappedRecord.hash([.text(raw)])
            let reason = "no primary key at '\(primaryKeyText)'"
            return .failed(RecordFailure(stream: stream, externalId: key, reason: reason),
                           FailedRecord(externalId: key, reason: reason, rawJSON: raw))
        }
        switch mapper.map(record, lookups: lookups) {
        case .success(let values):
            return .mapped(MappedRecord(externalId: externalId, values: values))
        case .failure(let f):
            let reason = redactor.redact(f.description)
            return .failed(RecordFailure(stream: stream, externalId: externalId, reason: reason),
                           FailedRecord(externalId: externalId, reason: reason, rawJSON: record.jsonText))
        }
    }
}

/// Fetches pages in order (each request needs the previous page's token) and maps them apart
/// from the fetching: page N+3 is fetched and parsed while pages N+1 and N+2 are mapped (each
/// in a task of its own) and page N is written, so the stages use the machine's cores instead
/// of taking turns on one.
actor PageSource {
    var paginator: Paginator
    let prepare: @Sendable (Page) -> PreparedPage
    /// Fetching a page the stream may not need is wasted only when it ends early: a newest-first
    /// listing that reaches the stored cursor must not request the next page at all.
    let readsAhead: Bool

    init(_ paginator: Paginator, readsAhead: Bool, prepare: @escaping @Sendable (Page) -> PreparedPage) {
        self.paginator = paginator
        self.readsAhead = readsAhead
        self.prepare = prepare
    }

    /// The next page as fetched. Callers await one fetch before starting the next, so the copy
    /// of the paginator cannot race.
    func fetch() async throws -> Page? {
        var p = paginator
        let page = try await p.next()
        paginator = p
        return page
    }

    /// Fetches the page after the one `previous` fetched (nothing after the last one).
    nonisolated func fetch(after previous: Task<Page?, any Error>?) -> Task<Page?, any Error> {
        Task {
            if let previous {
                guard let page = try await previous.value, !page.isLast else { return nil }
            }
            return try await self.fetch()
        }
    }

    /// Maps the page `fetching` brings, off the fetching actor.
    nonisolated func prepared(_ fetching: Task<Page?, any Error>) -> Task<PreparedPage?, any Error> {
        let prepare = self.prepare
        return Task {
            guard let page = try await fetching.value else { return nil }
            return prepare(page)
        }
    }
}

/// The state of one run: lookup tables and parent records fetched so far.
