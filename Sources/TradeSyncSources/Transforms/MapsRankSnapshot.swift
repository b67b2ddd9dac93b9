public import TradeSyncCore

/// Adapter for a maps ranking search (SerpApi `engine=google_maps`): the places of one search,
/// in rank order, each keyed by (keyword, snapshot date, place_id) and flagged when it is the
/// contractor's own place. When the contractor's place is not among them, one more record
/// says so: its place_id, no position, `rank_note: "not in the first N"`. A search without
/// results (`local_results` absent, SerpApi's `error` message) is zero places.
///
/// The keyword, date and own place id come from the fan-out context (`fan_out: {as: keyword,
/// with: {snapshot_date: "{run.date}", own_place_id: "{connection.place_id}"}}`).
///
/// ```yaml
/// transform: maps_rank_snapshot
/// transform: {kind: maps_rank_snapshot, results: local_results, keyword: keyword, date: snapshot_date, own_place: own_place_id}
/// ```
public struct MapsRankSnapshot: RecordTransform {
    public static let kind = "maps_rank_snapshot"

    public var resultsPath = JSONPath("local_results")
    public var keywordVariable = "keyword"
    public var dateVariable = "snapshot_date"
    public var ownPlaceVariable = "own_place_id"
    var keyword = ""
    var date = ""
    var ownPlace: String?

    public init() {}

    public static func decode(_ o: ConfigObject?) -> MapsRankSnapshot? {
        var t = MapsRankSnapshot()
        guard let o else { return t }
        if let p: String = o.optional("results") { t.resultsPath = JSONPath(p) }
        t.keywordVariable = o.optional("keyword") ?? t.keywordVariable
        t.dateVariable = o.optional("date") ?? t.dateVariable
        t.ownPlaceVariable = o.optional("own_place") ?? t.ownPlaceVariable
        return t
    }

    public func bound(to parent: [String: String]) -> MapsRankSnapshot {
        var copy = self
        copy.keyword = parent[keywordVariable] ?? ""
        copy.date = parent[dateVariable] ?? ""
        copy.ownPlace = parent[ownPlaceVariable].flatMap { $0.isEmpty ? nil : $0 }
        return copy
    }

    public func records(from json: JSONValue) -> [JSONValue] {
        let places = json.value(at: resultsPath)?.arrayValue ?? []
        var out: [JSONValue] = []
        out.reserveCapacity(places.count + 1)
        var ownFound = false
        for case .object(var o) in places {
            let placeId = o["place_id"]?.scalarText ?? ""
            let own = ownPlace != nil && placeId == ownPlace
            ownFound = ownFound || own
            o["is_own_business"] = .bool(own)
            o["_key"] = .string(key(placeId))
            out.append(.object(o))
        }
        if let ownPlace, !ownFound {
            out.append(.object(JSONObject([
                (key: "place_id", value: .string(ownPlace)),
                (key: "is_own_business", value: .bool(true)),
                (key: "rank_note", value: .string("not in the first \(places.count)")),
                (key: "_key", value: .string(key(ownPlace))),
            ])))
        }
        return out
    }

    /// The row's external id: the same place ranks once per keyword and day.
    func key(_ placeId: String) -> String { "\(keyword)|\(date)|\(placeId)" }
}
