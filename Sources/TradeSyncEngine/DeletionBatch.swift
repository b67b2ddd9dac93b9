import TradeSyncConfig
import TradeSyncCore

/// The deletions one answer of a stream's `deletes` endpoint reports: the external ids of the
/// entries whose marker field holds the marker value (QuickBooks CDC: `status: "Deleted"`).
/// Other entries in the same answer are changes, which the stream's own listing already
/// delivers; they are ignored here so a record is never deleted for merely having changed.
struct DeletionBatch: Sendable, Equatable {
    /// In answer order, each id once (CDC can list a record twice within one window).
    var externalIds: [String]
    /// Entries that were marked deleted but had no id at the id path: reported, never guessed.
    var withoutId: Int

    init(externalIds: [String], withoutId: Int = 0) {
        self.externalIds = externalIds
        self.withoutId = withoutId
    }

    /// Reads the batch from one answer. A missing records array is an empty batch: CDC omits an
    /// entity with no changes (`{"startPosition": 1, …}` without the entity key).
    init(answer: JSONValue, deletes: DeletesConfig, primaryKey: String) {
        let entries = answer.value(at: JSONPath(deletes.records))?.arrayValue ?? []
        let marker = JSONPath(deletes.markerField)
        let idPath = JSONPath(deletes.id ?? primaryKey)
        var seen = Set<String>()
        var ids: [String] = []
        var withoutId = 0
        for entry in entries where entry.value(at: marker)?.scalarText == deletes.markerValue {
            guard let id = entry.value(at: idPath)?.scalarText, !id.isEmpty else {
                withoutId += 1
                continue
            }
            if seen.insert(id).inserted { ids.append(id) }
        }
        self.init(externalIds: ids, withoutId: withoutId)
    }
}
