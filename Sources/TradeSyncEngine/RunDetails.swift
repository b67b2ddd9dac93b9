import Foundation
import TradeSyncStore

/// `contractor_sync_logs.details` of a finished run: per-stream counts and the first failed
/// records (external id and reason; the raw payloads are in `tradesync_failed_records`).
struct RunDetails: Codable, Sendable, Equatable {
    struct Stream: Codable, Sendable, Equatable {
        var entity: String
        var fetched: Int
        var inserted: Int
        var updated: Int
        var unchanged: Int
        var failed: Int
        var pages: Int
        /// Only when kept failed records were mapped again in this run.
        var retried: Int?
        var recovered: Int?
        /// Only when the stream soft-deleted rows, or held its deletions back.
        var deleted: Int?
        var deletesHeldBack: String?
        var error: String?

        enum CodingKeys: String, CodingKey {
            case entity, fetched, inserted, updated, unchanged, failed, pages, retried, recovered, deleted, error
            case deletesHeldBack = "deletes_held_back"
        }
    }

    struct Failure: Codable, Sendable, Equatable {
        var stream: String
        var externalId: String
        var reason: String

        enum CodingKeys: String, CodingKey {
            case stream, reason
            case externalId = "external_id"
        }
    }

    var streams: [String: Stream]
    var failures: [Failure]
    /// A deferred run: the Unix time (seconds) from which the provider accepts requests again
    /// (a daily quota's reset, a spent search budget's retry time).
    var retryAt: Int64?

    enum CodingKeys: String, CodingKey {
        case streams, failures
        case retryAt = "retry_at"
    }

    init(_ result: RunResult, keptFailures: Int) {
        var streams: [String: Stream] = [:]
        for s in result.streams {
            streams[s.stream] = Stream(
                entity: s.entity, fetched: s.fetched, inserted: s.inserted, updated: s.updated, unchanged: s.unchanged,
                failed: s.failed, pages: s.pages, retried: s.retried > 0 ? s.retried : nil,
                recovered: s.retried > 0 ? s.recovered : nil, deleted: s.deleted > 0 ? s.deleted : nil,
                deletesHeldBack: s.deletesHeldBack, error: s.error)
        }
        self.streams = streams
        retryAt = result.retryAfterSeconds.map { currentMicros() / 1_000_000 + Int64($0) }
        failures = result.failures.prefix(keptFailures).map {
            Failure(stream: $0.stream, externalId: $0.externalId, reason: $0.reason)
        }
    }

    var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and integers only: encoding cannot fail.
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
