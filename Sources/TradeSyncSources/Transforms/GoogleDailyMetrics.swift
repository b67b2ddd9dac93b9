public import TradeSyncCore

/// Adapter for Google's Performance API (`fetchMultiDailyMetricsTimeSeries`): adds a `dailyRange`
/// of the last `days` days to every request, and flattens the nested time series to one record
/// per location, metric and day, with the zero values Google omits put back. The location comes
/// from the fan-out parent's `scope` variable (`parent: {bind: {location: name}}`).
///
/// ```yaml
/// transform: google_daily_metrics                                 # 30 days, scope: location
/// transform: {kind: google_daily_metrics, days: 90, scope: loc}
/// ```
public struct GoogleDailyMetrics: RecordTransform {
    public static let kind = "google_daily_metrics"

    /// Days before today (UTC) re-read on every run: Google revises recent days.
    public var days = 30
    /// The `{parent.*}` variable that names the location.
    public var scopeVariable = "location"
    /// The location of this request, once bound.
    public var location: String?

    public init(days: Int = 30, scopeVariable: String = "location") {
        self.days = days
        self.scopeVariable = scopeVariable
    }

    public static func decode(_ o: ConfigObject?) -> GoogleDailyMetrics? {
        var t = GoogleDailyMetrics()
        guard let o else { return t }
        if let days: Located<Int> = o.optional("days") {
            // The Performance API serves at most 18 months back.
            if days.value < 1 || days.value > 540 {
                o.node.sink.add(Diagnostic(.error, days.location, keyPath: days.keyPath, "must be between 1 and 540"))
            }
            t.days = days.value
        }
        t.scopeVariable = o.optional("scope") ?? "location"
        return t
    }

    public func requestParams(nowMicros: Int64) -> [(name: String, value: String)] {
        Self.rangeParams(days: days, todayMicros: nowMicros)
    }

    public func bound(to parent: [String: String]) -> GoogleDailyMetrics {
        var copy = self
        copy.location = parent[scopeVariable]
        return copy
    }

    public func records(from json: JSONValue) -> [JSONValue] {
        Self.flatten(json, location: location)
    }
    /// The `dailyRange` parameters for the `days` days before `today` (UTC), today excluded:
    /// Google revises recent days, so the window is re-read on every run.
    public static func rangeParams(days: Int, todayMicros: Int64) -> [(name: String, value: String)] {
        let today = todayMicros / 86_400_000_000
        let start = Timestamp.iso8601(micros: (today - Int64(days)) * 86_400_000_000)
        let end = Timestamp.iso8601(micros: (today - 1) * 86_400_000_000)
        func parts(_ s: String) -> (String, String, String) {
            let c = s.prefix(10).split(separator: "-").map { String(Int($0) ?? 0) }
            return (c[0], c[1], c[2])
        }
        let (sy, sm, sd) = parts(start)
        let (ey, em, ed) = parts(end)
        return [
            ("dailyRange.startDate.year", sy), ("dailyRange.startDate.month", sm), ("dailyRange.startDate.day", sd),
            ("dailyRange.endDate.year", ey), ("dailyRange.endDate.month", em), ("dailyRange.endDate.day", ed),
        ]
    }

    /// One record per metric and day: `{id, dailyMetric, date, value}`; a value Google omitted
    /// (it omits zeros) becomes "0".
    public static func flatten(_ json: JSONValue, location: String? = nil) -> [JSONValue] {
        var out: [JSONValue] = []
        for multi in json["multiDailyMetricTimeSeries"]?.arrayValue ?? [] {
            for series in multi["dailyMetricTimeSeries"]?.arrayValue ?? [] {
                let metric = series["dailyMetric"]?.stringValue ?? "UNKNOWN"
                for dated in series["timeSeries"]?["datedValues"]?.arrayValue ?? [] {
                    guard let date = dated["date"], let y = date["year"]?.scalarText, let m = date["month"]?.scalarText,
                        let d = date["day"]?.scalarText
                    else { continue }
                    let day = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2)
                    let scope = location.map { $0 + "/" } ?? ""
                    out.append([
                        "id": .string(scope + metric + "/" + day),
                        "location": location.map { .string($0) } ?? .null,
                        "dailyMetric": .string(metric),
                        "date": .string(day),
                        "value": dated["value"] ?? .string("0"),
                    ])
                }
            }
        }
        return out
    }

    static func pad(_ s: String, _ n: Int) -> String { String(repeating: "0", count: max(0, n - s.count)) + s }
}
