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
    /// The mapped records' payloads, deflated here, one page ahead of the writer (`keep_raw`).
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

    enum Outcome {
        case mapped(MappedRecord)
        case failed(RecordFailure, FailedRecord)
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

/// Fetches and maps pages one page ahead of the writer, so that HTTP, JSON parsing and mapping
/// overlap with the store's transaction for the previous page.
actor PageSource {
    var paginator: Paginator
    let prepare: @Sendable (Page) -> PreparedPage

    init(_ paginator: Paginator, prepare: @escaping @Sendable (Page) -> PreparedPage) {
        self.paginator = paginator
        self.prepare = prepare
    }

    /// Callers await one page before asking for the next, so the copy cannot race.
    func next() async throws -> PreparedPage? {
        var p = paginator
        let page = try await p.next()
        paginator = p
        return page.map(prepare)
    }
}

/// The state of one run: lookup tables and parent records fetched so far.
