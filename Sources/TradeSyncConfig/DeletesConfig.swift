public import TradeSyncCore

/// Where a stream's deletions come from, and how many of them a run may apply (`deletes`).
///
/// Deletions are read from their own endpoint because the providers that report them keep
/// them out of the stream's listing (QuickBooks: a deleted record leaves the query endpoint and
/// shows up only in the CDC answer as `{"status": "Deleted", "Id": …}`). A block on the stream,
/// rather than a separate stream, because a deletion only means something for the stream's
/// own entity and rows: the guard compares it with that stream's stored rows.
///
/// ```yaml
/// deletes:
///   request:
///     path: "/v3/company/{connection.realm_id}/cdc"
///     params: { entities: Customer, minorversion: "75" }
///   since_param: changedSince          # carries the deletions' own cursor
///   records: CDCResponse.0.QueryResponse.0.Customer
///   when: { status: Deleted }          # the field and value that mark a deletion
///   id: Id                              # the external id inside an entry
///   max_delete_ratio: 0.1               # default 0.1
/// ```
public struct DeletesConfig: Sendable, ConfigDecodable {
    public var request: RequestConfig
    /// The request parameter that carries the time of the last deletion already seen.
    public var sinceParam: String?
    /// Path to the array of entries in the answer; empty = the answer is the array.
    public var records: String
    /// Entries whose `field` equals `value` are deletions; every other entry is ignored.
    public var markerField: String
    public var markerValue: String
    /// Path to the external id inside an entry (the stream's `primary_key` by default).
    public var id: String?
    /// A run that would soft-delete more than this share of the stream's stored rows applies
    /// none of its deletes and ends `partial`.
    public var maxDeleteRatio: Double
    public var location: SourceLocation

    public static let defaultMaxDeleteRatio = 0.1

    public static func decode(_ node: ConfigNode) -> DeletesConfig? {
        guard let o = node.object() else { return nil }
        let request: RequestConfig? = o.required("request")
        let since: String? = o.optional("since_param")
        let records: String? = o.optional("records")
        let when: NamedMap<String>? = o.required("when")
        let id: String? = o.optional("id")
        let ratio: Located<Double>? = o.optional("max_delete_ratio")
        var ratioValid = true
        if let ratio, !(ratio.value > 0 && ratio.value <= 1) {
            // 0 would hold back every delete forever and above 1 is no guard at all: both are typos.
            node.sink.add(Diagnostic(.error, ratio.location, keyPath: ratio.keyPath,
                                     "max_delete_ratio must be above 0 and at most 1 (a share of the stream's rows), found \(ratio.value)"))
            ratioValid = false
        }
        var marker: (String, String)?
        if let when {
            if when.entries.count == 1, let entry = when.entries.first {
                marker = (entry.name, entry.value)
            } else if let whenNode = o.child("when") {
                whenNode.error("expected exactly one field and the value that marks a deletion, such as { status: Deleted }")
            }
        }
        o.finish()
        guard let request, let marker, ratioValid else { return nil }
        return DeletesConfig(request: request, sinceParam: since, records: records ?? "",
                             markerField: marker.0, markerValue: marker.1, id: id,
                             maxDeleteRatio: ratio?.value ?? defaultMaxDeleteRatio, location: node.location)
    }
}
