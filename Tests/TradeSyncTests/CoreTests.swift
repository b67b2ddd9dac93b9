import Testing
import TradeSyncCore

@Suite struct JSONTests {
    @Test(arguments: [
        ("{\"a\":1,\"b\":[true,false,null],\"c\":\"x\"}", "{\"a\":1,\"b\":[true,false,null],\"c\":\"x\"}"),
        ("  [ 1 , 2.50 , -3e2 ] ", "[1,2.50,-3e2]"),
        ("\"caf\\u00e9 \\\"q\\\" \\n\"", "\"café \\\"q\\\" \\n\""),
        ("\"\\ud83d\\ude00\"", "\"😀\""),
        ("{\"id\":9223372036854775807}", "{\"id\":9223372036854775807}"),
        ("{\"id\":92233720368547758070}", "{\"id\":92233720368547758070}"),
        ("{}", "{}"),
        ("[]", "[]"),
    ])
    func roundTrips(input: String, output: String) throws {
        #expect(try JSONValue.parse(input).jsonText == output)
    }

    @Test(arguments: ["{", "[1,]", "{\"a\" 1}", "tru", "\"unterminated", "{\"a\":1} x", "01x", "\"\\x\""])
    func rejectsMalformed(input: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(input) }
    }

    @Test func keepsMoneyDigitsAndOrder() throws {
        let v = try JSONValue.parse("{\"total\":150.10,\"z\":1,\"a\":2}")
        #expect(v["total"] == .number("150.10"))
        #expect(v.objectValue?.keys == ["total", "z", "a"])
    }

    @Test func followsPaths() throws {
        let v = try JSONValue.parse("{\"customer\":{\"name\":\"Amy\"},\"items\":[{\"sku\":\"A\"},{\"sku\":\"B\"}]}")
        #expect(v.value(at: JSONPath("customer.name")) == "Amy")
        #expect(v.value(at: JSONPath("items.1.sku")) == "B")
        #expect(v.value(at: JSONPath("items.2.sku")) == nil)
        #expect(v.value(at: JSONPath("customer.missing")) == nil)
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2021-07-19T20:35:38.2876004Z", "2021-07-19T20:35:38.287600Z"),
        ("2015-07-24T10:35:08-07:00", "2015-07-24T17:35:08Z"),
        ("2015-07-24T10:35:08+0530", "2015-07-24T05:05:08Z"),
        ("2020-05-04 00:41:13", "2020-05-04T00:41:13Z"),
        ("2015-07-24", "2015-07-24T00:00:00Z"),
        ("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500000Z"),
        ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z"),
    ])
    func parsesAndFormats(input: String, canonical: String) throws {
        let micros = try #require(Timestamp.parse(input))
        #expect(Timestamp.iso8601(micros: micros) == canonical)
    }

    @Test(arguments: ["", "2021-13-01", "2021-07-19T25:00:00Z", "yesterday", "2021-07-19T20:35:38.Z", "2021-07-19X"])
    func rejects(input: String) {
        #expect(Timestamp.parse(input) == nil)
    }
}

@Suite struct CronTests {
    @Test func parsesAndFindsNextRun() throws {
        let c = try CronSchedule("0 6 * * *")
        // 2025-01-01T05:59:00Z → 06:00 the same day.
        let t = try #require(Timestamp.parse("2025-01-01T05:59:00Z")) / 1_000_000
        let next = try #require(c.next(after: t))
        #expect(Timestamp.iso8601(micros: next * 1_000_000) == "2025-01-01T06:00:00Z")
        let after = try #require(c.next(after: next))
        #expect(Timestamp.iso8601(micros: after * 1_000_000) == "2025-01-02T06:00:00Z")
    }

    @Test func stepsRangesAndWeekdays() throws {
        let c = try CronSchedule("*/15 9-17 * * 1-5")
        // Saturday 2025-01-04 → Monday 09:00.
        let t = try #require(Timestamp.parse("2025-01-04T12:00:00Z")) / 1_000_000
        let next = try #require(c.next(after: t))
        #expect(Timestamp.iso8601(micros: next * 1_000_000) == "2025-01-06T09:00:00Z")
    }

    @Test(arguments: ["0 6 * *", "61 * * * *", "* 24 * * *", "a b c d e", "*/0 * * * *", "5-1 * * * *"])
    func rejects(expression: String) {
        #expect(throws: CronSchedule.ParseError.self) { try CronSchedule(expression) }
    }
}

@Suite struct TemplateTests {
    @Test func findsVariablesAndLeavesGraphQLBraces() {
        let t = Template("query { jobs(first: 50, after: $after) { nodes { id } } } /{connection.tenant_id}/{parent.account}")
        #expect(t.variables.map { "\($0.namespace).\($0.name)" } == ["connection.tenant_id", "parent.account"])
        let rendered = t.render { ns, name in ns == "connection" ? "42" : name == "account" ? "accounts/1" : nil }
        #expect((try? rendered.get()) == "query { jobs(first: 50, after: $after) { nodes { id } } } /42/accounts/1")
    }

    @Test func reportsMissingValues() {
        let r = Template("/{connection.tenant_id}").render { _, _ in nil }
        #expect(throws: TemplateError.self) { try r.get() }
    }
}

@Suite struct SuggestionTests {
    @Test(arguments: [
        ("page_sise", ["page_size", "page_param"], "page_size"),
        ("hourley", ["manual", "hourly", "daily"], "hourly"),
        ("zzzzzz", ["hourly", "daily"], nil),
    ] as [(String, [String], String?)])
    func suggestsClosest(word: String, candidates: [String], expected: String?) {
        #expect(closestMatch(to: word, in: candidates) == expected)
    }
}
