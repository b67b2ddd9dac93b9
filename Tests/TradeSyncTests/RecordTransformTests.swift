import Testing
import TradeSyncCore
@testable import TradeSyncSources

/// `google_daily_metrics` as a component: it decodes itself, declares its request parameters
/// and takes its location from the fan-out binding it names; the engine knows none of that.
@Suite struct RecordTransformTests {
    static func decode(_ tree: ConfigTree) -> (Transform?, [String]) {
        let sink = DiagnosticSink()
        let t = Transform.decode(ConfigNode(node: tree, path: ["transform"], file: "x.yaml", sink: sink))
        return (t, sink.diagnostics.map(\.description))
    }

    static func scalar(_ s: String, _ resolved: ConfigTree.Scalar.Resolved = .text, line: Int = 1, column: Int = 1) -> ConfigTree {
        .scalar(ConfigTree.Scalar(s, resolved: resolved, mark: ConfigTree.Mark(line: line, column: column)))
    }

    static let response: JSONValue = try! JSONValue.parse(Array(#"""
        {"multiDailyMetricTimeSeries":[{"dailyMetricTimeSeries":[{"dailyMetric":"CALL_CLICKS","timeSeries":{"datedValues":[
          {"date":{"year":2026,"month":11,"day":30},"value":"4"},{"date":{"year":2026,"month":12,"day":1}}]}}]}]}
        """#.utf8))

    @Test func theScalarFormKeepsTheShippedMeaning() throws {
        let (t, messages) = Self.decode(Self.scalar("google_daily_metrics"))
        #expect(messages.isEmpty)
        let g = try #require(t?.component as? GoogleDailyMetrics)
        #expect(g.days == 30 && g.scopeVariable == "location")
        // 2026-12-02T10:00Z: the 30 days before today, today excluded.
        let params = g.requestParams(nowMicros: 1_796_205_600_000_000)
        #expect(params.map { "\($0.name)=\($0.value)" } == [
            "dailyRange.startDate.year=2026", "dailyRange.startDate.month=11", "dailyRange.startDate.day=2",
            "dailyRange.endDate.year=2026", "dailyRange.endDate.month=12", "dailyRange.endDate.day=1",
        ])
        let records = g.bound(to: ["location": "locations/7"]).records(from: Self.response)
        #expect(records.map { $0["id"]?.stringValue } == ["locations/7/CALL_CLICKS/2026-11-30", "locations/7/CALL_CLICKS/2026-12-01"])
        #expect(records.last?["value"]?.stringValue == "0", "the zero Google omits is put back")
    }

    @Test func theMappingFormNamesItsWindowAndItsBinding() throws {
        let tree = ConfigTree.mapping(ConfigTree.Mapping([
            (key: Self.scalar("kind", line: 1, column: 3), value: Self.scalar("google_daily_metrics", line: 1, column: 9)),
            (key: Self.scalar("days", line: 2, column: 3), value: Self.scalar("90", .int(90), line: 2, column: 9)),
            (key: Self.scalar("scope", line: 3, column: 3), value: Self.scalar("loc", line: 3, column: 10)),
            (key: Self.scalar("day", line: 4, column: 3), value: Self.scalar("1", .int(1), line: 4, column: 8)),
        ], mark: ConfigTree.Mark(line: 1, column: 3)))
        let (t, messages) = Self.decode(tree)
        #expect(messages == ["x.yaml:4:3: error: transform.day: unknown key; did you mean 'days'?"])
        let g = try #require(t?.component as? GoogleDailyMetrics)
        #expect(g.days == 90)
        #expect(g.bound(to: ["loc": "locations/9", "location": "other"]).location == "locations/9")
    }

    @Test func anUnknownTransformGetsASuggestion() {
        let (t, messages) = Self.decode(Self.scalar("google_daily_metric"))
        #expect(t == nil)
        #expect(messages == ["x.yaml:1:1: error: transform: unknown value 'google_daily_metric'; did you mean 'google_daily_metrics'?"])
        #expect(Self.decode(Self.scalar("none")).0?.component == nil)
    }
}
