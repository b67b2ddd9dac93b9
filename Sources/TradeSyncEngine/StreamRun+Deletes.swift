import Foundation
import Logging
import TradeSyncConfig
import TradeSyncCore
import TradeSyncSources
import TradeSyncStore

/// A stream's `deletes:` step, after its last page: reads the provider's deletions since the
/// last ones applied, weighs them against the stream's live rows (`DeleteGuard`) and either
/// soft-deletes them all or holds them all back.
extension StreamRun {
    /// The deletions' own cursor, apart from the stream's: held-back deletions leave it where it
    /// was while the stream's cursor moves on, so the next run reads them again.
    static func deletionsCursorKey(_ stream: String) -> String { stream + "#deletes" }

    /// How far the deletions cursor stays behind this machine's clock (five minutes).
    static let clockMargin: Int64 = 300 * 1_000_000

    /// Deletions are asked for since the last applied ones. Without a deletions cursor, a run
    /// that had no stream cursor either (a first full sync) reads none: everything it stored is
    /// live as of `listingStarted`, which becomes the deletions' cursor. Otherwise (deletes
    /// declared on a stream already synced) since the stream's cursor as this run found it.
    func syncDeletions(_ name: String, stream: StreamConfig, entity: EntityModel, streamCursorBefore: String?,
                       listingStarted: Int64, into result: inout StreamResult) async throws {
        guard let deletes = stream.deletes else { return }
        guard entity.field(DeletionWrite.field) != nil else {
            throw RunnerError.configuration("stream '\(name)' declares deletes but entity '\(entity.name)' has no \(DeletionWrite.field) field")
        }
        let connection = runtime.record
        let key = Self.deletionsCursorKey(name)
        let stored = options.fullRefresh ? nil : try await pages.records.cursor(integrationId: connection.id, stream: key)
        guard let since = stored ?? streamCursorBefore else {
            _ = try await pages.commitDeletions(DeletionWrite(
                integrationId: connection.id, entity: entity, cursorKey: key,
                cursor: Timestamp.iso8601(micros: listingStarted - Self.clockMargin), externalIds: [], now: currentMicros()))
            return
        }
        // The next deletions cursor is the time of this request, less a margin for the provider's
        // clock: reading a deletion twice marks nothing twice; a cursor past one would skip it.
        let next = Timestamp.iso8601(micros: currentMicros() - Self.clockMargin)

        var spec = try requestSpec(deletes.request, parent: [:], cursor: since)
        if let sinceParam = deletes.sinceParam { spec.params.append((sinceParam, since)) }
        var request = HTTPRequestData(method: spec.method, url: RequestSpec.url(spec.url, with: spec.params), headers: spec.headers)
        request.setHeader("Accept", "application/json")
        let answer = try await requester.fetchJSON(request)
        let batch = DeletionBatch(answer: answer, deletes: deletes, primaryKey: stream.primaryKey)

        // Weighed against live rows only: ids already deleted, or never synced, delete nothing.
        let records = pages.records
        let liveRows = try await records.liveCount(integrationId: connection.id, entity: entity)
        let liveIds = try await records.liveExternalIds(integrationId: connection.id, entity: entity, among: batch.externalIds)
        let toDelete = batch.externalIds.filter { liveIds.contains($0) }
        let check = DeleteGuard(wouldDelete: toDelete.count, storedRows: liveRows, maxRatio: deletes.maxDeleteRatio)
        guard check.allows else {
            result.deletesHeldBack = check.heldBackReason
            logger.warning("deletes held back", metadata: [
                "stream": "\(name)", "would_delete": "\(toDelete.count)", "live_rows": "\(liveRows)",
            ])
            return
        }
        result.deleted += try await pages.commitDeletions(DeletionWrite(
            integrationId: connection.id, entity: entity, cursorKey: key, cursor: next, externalIds: toDelete,
            now: currentMicros()))
        logger.info("deletes applied", metadata: ["stream": "\(name)", "deleted": "\(result.deleted)"])
    }
}
