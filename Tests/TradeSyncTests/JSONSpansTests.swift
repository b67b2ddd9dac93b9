import Testing
import TradeSyncCore

/// The byte ranges of a response's records (`keep_raw` keeps them as sent) must be exactly the
/// records the parser reads, or nil; never a wrong slice.
struct JSONSpansTests {
    struct Case: Sendable, CustomStringConvertible {
        var description: String
        var body: String
        var path: String
        /// The records as sliced, or nil when the scan must give up.
        var expected: [String]?
    }

    static let cases: [Case] = [
        Case(description: "a list at a key", body: #"{"data":[{"id":1},{"id":2}],"hasMore":false}"#, path: "data",
             expected: [#"{"id":1}"#, #"{"id":2}"#]),
        Case(description: "the key after others, with nesting and strings holding brackets",
             body: #"{"meta":{"x":[1,{"y":"]}"}]},"s":"[\"data\"]","data":[{"a":"}]","b":[[]]} , 7 ,"t",null]}"#,
             path: "data", expected: [#"{"a":"}]","b":[[]]}"#, "7", #""t""#, "null"]),
        Case(description: "pretty-printed", body: "{\n  \"items\" : [\n    {\"id\": 1} ,\n    {\"id\": 2}\n  ]\n}\n",
             path: "items", expected: [#"{"id": 1}"#, #"{"id": 2}"#]),
        Case(description: "a nested path", body: #"{"QueryResponse":{"Customer":[{"Id":"1"}],"maxResults":1}}"#,
             path: "QueryResponse.Customer", expected: [#"{"Id":"1"}"#]),
        Case(description: "the first of a repeated key, as the parser reads it", body: #"{"data":[1],"data":[2,3]}"#,
             path: "data", expected: ["1"]),
        Case(description: "an escaped key", body: #"{"d\u0061ta":[{"id":1}]}"#, path: "data", expected: [#"{"id":1}"#]),
        Case(description: "the document itself", body: #" [ {"id":1}, {"id":2} ] "#, path: "",
             expected: [#"{"id":1}"#, #"{"id":2}"#]),
        Case(description: "an index segment", body: #"{"pages":[{"rows":[1]},{"rows":[2,3]}]}"#, path: "pages.1.rows",
             expected: ["2", "3"]),
        Case(description: "an empty list", body: #"{"data":[]}"#, path: "data", expected: []),
        Case(description: "no such key", body: #"{"other":[1]}"#, path: "data", expected: nil),
        Case(description: "not a list", body: #"{"data":{"id":1}}"#, path: "data", expected: nil),
        Case(description: "cut off", body: #"{"data":[{"id":1},{"id":"#, path: "data", expected: nil),
        Case(description: "an unterminated string", body: #"{"data":["abc]}"#, path: "data", expected: nil),
    ]

    @Test(arguments: cases)
    func slicesTheRecordsAsSent(_ c: Case) throws {
        let bytes = Array(c.body.utf8)
        let spans = JSONSpans.elements(of: bytes, at: JSONPath(c.path))
        #expect(spans.map { $0.map { String(decoding: bytes[$0], as: UTF8.self) } } == c.expected)
        // Every slice is a value the parser reads as the parsed record at that position.
        if let spans, let parsed = try? JSONValue.parse(bytes) {
            let list = c.path.isEmpty ? parsed : parsed.value(at: JSONPath(c.path))
            guard case .array(let records)? = list else { return }
            #expect(records.count == spans.count || c.description.contains("repeated"))
            for (span, record) in zip(spans, records) { #expect(try JSONValue.parse(Array(bytes[span])) == record) }
        }
    }

    @Test func theWholeDocumentIsOneRecord() {
        let bytes = Array("  {\"name\":\"locations/1\"}\n".utf8)
        #expect(JSONSpans.document(bytes).map { String(decoding: bytes[$0], as: UTF8.self) } == "{\"name\":\"locations/1\"}")
        #expect(JSONSpans.document(Array("{} x".utf8)) == nil)
    }
}
