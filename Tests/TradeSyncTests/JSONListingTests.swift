import Testing
import TradeSyncCore

/// A page's records left as bytes (`JSONListing`) must be exactly the records the parser reads,
/// the envelope exactly the rest of the document, and a body the parser refuses refused alike.
struct JSONListingTests {
    struct Case: Sendable, CustomStringConvertible {
        var description: String
        var body: String
        var path: String
        /// The records as sliced, or nil when the document has no list there.
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
        Case(description: "the first of a repeated parent key", body: #"{"d":{"x":[1]},"d":{"rows":[2]}}"#,
             path: "d.rows", expected: nil),
        Case(description: "an escaped key", body: #"{"d\u0061ta":[{"id":1}]}"#, path: "data", expected: [#"{"id":1}"#]),
        Case(description: "the document itself", body: #" [ {"id":1}, {"id":2} ] "#, path: "",
             expected: [#"{"id":1}"#, #"{"id":2}"#]),
        Case(description: "an index segment", body: #"{"pages":[{"rows":[1]},{"rows":[2,3]}]}"#, path: "pages.1.rows",
             expected: ["2", "3"]),
        Case(description: "a numeric segment naming a key", body: #"{"pages":{"1":{"rows":[4]}}}"#, path: "pages.1.rows",
             expected: ["4"]),
        Case(description: "an empty list", body: #"{"data":[]}"#, path: "data", expected: []),
        Case(description: "no such key", body: #"{"other":[1]}"#, path: "data", expected: nil),
        Case(description: "not a list", body: #"{"data":{"id":1}}"#, path: "data", expected: nil),
        Case(description: "null", body: #"{"data":null}"#, path: "data", expected: nil),
    ]

    @Test(arguments: cases)
    func slicesTheRecordsAsSent(_ c: Case) throws {
        let bytes = Array(c.body.utf8)
        let listing = try JSONListing.parse(bytes, recordsAt: JSONPath(c.path))
        #expect(listing.records.map { $0.map { String(decoding: bytes[$0], as: UTF8.self) } } == c.expected)
        let whole = try JSONValue.parse(bytes)
        let list = c.path.isEmpty ? whole : whole.value(at: JSONPath(c.path))
        guard let spans = listing.records else {
            // No list there: the document is read whole.
            #expect(listing.envelope == whole)
            return
        }
        // Every slice is the parsed record at its position, and the envelope is the document
        // with an empty list in their place.
        guard case .array(let records)? = list else {
            Issue.record("the parser finds no list at '\(c.path)'")
            return
        }
        #expect(records.count == spans.count)
        for (span, record) in zip(spans, records) { #expect(try JSONValue.parse(Array(bytes[span])) == record) }
        let envelopeList = c.path.isEmpty ? listing.envelope : listing.envelope.value(at: JSONPath(c.path))
        #expect(envelopeList == .array([]))
        if case .object(let o) = whole {
            for (key, value) in o.entries where key != c.path.split(separator: ".").first.map(String.init) {
                #expect(listing.envelope[key] == value)
            }
        }
    }

    /// Skimming the records checks them as strictly as building them: a malformed record fails
    /// the page (which is then fetched again), with the parser's own error.
    @Test(arguments: [
        #"{"data":[{"id":1},{"id":"#,
        #"{"data":["abc]}"#,
        #"{"data":[{"id" 1}]}"#,
        #"{"data":[{"id":1,}]}"#,
        #"{"data":[1 2]}"#,
        #"{"data":[{"a":"\x"}]}"#,
        #"{"data":[{"a":"\ud800"}]}"#,
        #"{"data":[{"a":"\u12G4"}]}"#,
        "{\"data\":[{\"a\":\"tab\there\"}]}",
        #"{"data":[tru]}"#,
        #"{"data":[-]}"#,
        #"{"data":[{"a":1}]} x"#,
        #"{"data":[{1:2}]}"#,
        #"{"data":[]"#,
    ])
    func refusesWhatTheParserRefuses(_ body: String) {
        let bytes = Array(body.utf8)
        var parserError: JSONParseError?
        do { _ = try JSONValue.parse(bytes) } catch { parserError = error }
        var listingError: JSONParseError?
        do { _ = try JSONListing.parse(bytes, recordsAt: JSONPath("data")) } catch { listingError = error }
        #expect(parserError != nil)
        #expect(listingError?.description == parserError?.description)
    }

    /// Strings are scanned eight bytes at a time: an escape, a multi-byte character or a control
    /// character at any position of any word must be seen exactly as byte by byte.
    @Test(arguments: [("\\\"", "\""), ("\\\\", "\\"), ("\\n", "\n"), ("\\u00e9", "é"), ("é", "é"), ("😀", "😀"), ("\t", nil)])
    func everyPositionOfAStringIsChecked(_ special: (json: String, text: String?)) throws {
        for length in 0..<24 {
            for position in 0...length {
                let before = String(repeating: "a", count: position)
                let after = String(repeating: "b", count: length - position)
                let body = Array("{\"data\":[{\"s\":\"\(before)\(special.json)\(after)\",\"n\":1}]}".utf8)
                if let text = special.text {
                    let listing = try JSONListing.parse(body, recordsAt: JSONPath("data"))
                    let record = try #require(listing.records?.first)
                    let read = JSONFieldSet([JSONPath("s"), JSONPath("n")]).values(in: body[record])
                    #expect(read == [.string(before + text + after), .integer(1)])
                    #expect(try JSONValue.parse(body)["data"]?.arrayValue?.first?["s"] == .string(before + text + after))
                } else {
                    #expect(throws: JSONParseError.self) { try JSONListing.parse(body, recordsAt: JSONPath("data")) }
                    #expect(throws: JSONParseError.self) { try JSONValue.parse(body) }
                }
            }
        }
    }

    @Test func nestingDeeperThanTheParserTakesIsRefused() {
        let deep = "{\"data\":[" + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "]}"
        #expect(throws: JSONParseError.self) { try JSONListing.parse(Array(deep.utf8), recordsAt: JSONPath("data")) }
    }

    @Test func theWholeDocumentIsOneRecord() {
        let bytes = Array("  {\"name\":\"locations/1\"}\n".utf8)
        #expect(JSONListing.document(bytes).map { String(decoding: bytes[$0], as: UTF8.self) } == "{\"name\":\"locations/1\"}")
        #expect(JSONListing.document(Array("{} x".utf8)) == nil)
        #expect(JSONListing.document(Array("{\"a\" 1}".utf8)) == nil)
    }
}

/// Reading a record's fields from its bytes must give exactly what walking the parsed record
/// gives, path for path.
struct JSONFieldSetTests {
    struct Case: Sendable, CustomStringConvertible {
        var description: String
        var record: String
        var paths: [String]
    }

    static let cases: [Case] = [
        Case(description: "top-level scalars, absent keys", record: #"{"id":7,"name":"A","total":"12.50","ok":true,"n":null}"#,
             paths: ["id", "name", "total", "ok", "n", "missing"]),
        Case(description: "nested objects and a scalar in the way",
             record: #"{"customer":{"name":"B","address":{"city":"X"}},"city":"Y","flat":3}"#,
             paths: ["customer.name", "customer.address.city", "customer.phone", "flat.x", "city"]),
        Case(description: "a path and a longer one below it", record: #"{"customer":{"name":"B","id":4}}"#,
             paths: ["customer.name", "customer", "customer.id"]),
        Case(description: "the first of a repeated key", record: #"{"a":1,"a":2,"b":{"c":1},"b":{"c":2,"d":3}}"#,
             paths: ["a", "b.c", "b.d"]),
        Case(description: "escaped keys", record: #"{"n\u0061me":"E","x\"y":1,"plain":2}"#,
             paths: ["name", "x\"y", "plain"]),
        Case(description: "list indexes and digit keys", record: #"{"tags":["a","b","c"],"byNumber":{"2":"two"},"rows":[[1,2],[3]]}"#,
             paths: ["tags.0", "tags.2", "tags.5", "byNumber.2", "rows.1.0", "tags"]),
        Case(description: "lists and objects as values", record: #"{"emails":[{"address":"a@x","primary":false}],"meta":{}}"#,
             paths: ["emails", "meta", "emails.0.address"]),
        Case(description: "strings with escapes and unicode", record: #"{"s":"line\nnext \"q\" \u00e9 \ud83d\ude00","t":"ü"}"#,
             paths: ["s", "t"]),
        Case(description: "numbers as written", record: #"{"i":-12,"d":1.50,"e":1e3,"big":123456789012345678901}"#,
             paths: ["i", "d", "e", "big"]),
        Case(description: "the whole record", record: #"{"a":[1,{"b":null}]}"#, paths: ["", "a.1.b"]),
        Case(description: "not an object", record: #"[{"id":1}]"#, paths: ["id", "0.id", "0"]),
        Case(description: "whitespace everywhere", record: " {\n \"a\" : { \"b\" : [ 1 , 2 ] } ,\t\"c\" : \"d\" } ",
             paths: ["a.b.1", "c"]),
    ]

    @Test(arguments: cases)
    func readsWhatTheParsedRecordHolds(_ c: Case) throws {
        let bytes = Array(c.record.utf8)
        let parsed = try JSONValue.parse(bytes)
        let paths = c.paths.map(JSONPath.init)
        let read = try #require(JSONFieldSet(paths).values(in: bytes[...]))
        for (i, path) in paths.enumerated() {
            #expect(read[i] == (path.segments.isEmpty ? parsed : parsed.value(at: path)), "\(path)")
        }
    }

    @Test func readsARecordInsideABody() throws {
        let body = Array(#"{"data":[{"id":1,"v":"a"},{"id":2,"v":"b"}]}"#.utf8)
        let listing = try JSONListing.parse(body, recordsAt: JSONPath("data"))
        let spans = try #require(listing.records)
        let set = JSONFieldSet([JSONPath("v"), JSONPath("id")])
        #expect(spans.map { set.values(in: body[$0]) } == [[.string("a"), .integer(1)], [.string("b"), .integer(2)]])
    }

    /// Generated records and paths, compared with the parsed record's walk.
    @Test func agreesWithThePathWalkOnGeneratedRecords() throws {
        var generator = SplitMix(seed: 6)
        let keys = ["a", "b", "c", "0", "1", "k\"q"]
        func value(depth: Int) -> JSONValue {
            switch generator.next() % (depth > 3 ? 4 : 7) {
            case 0: return .integer(Int64(generator.next() % 1000))
            case 1: return .string("s\(generator.next() % 10)")
            case 2: return .null
            case 3: return .bool(generator.next() % 2 == 0)
            case 4, 5:
                // Repeated keys included: the first one counts.
                let n = Int(generator.next() % 4)
                return .object(JSONObject((0..<n).map { _ in (keys[Int(generator.next() % UInt64(keys.count))], value(depth: depth + 1)) }))
            default:
                return .array((0..<Int(generator.next() % 4)).map { _ in value(depth: depth + 1) })
            }
        }
        for _ in 0..<300 {
            let record = value(depth: 0)
            let bytes = Array(record.jsonText.utf8)
            let paths = (0..<Int(1 + generator.next() % 5)).map { _ in
                JSONPath(segments: (0..<Int(1 + generator.next() % 3)).map { _ in
                    let key = keys[Int(generator.next() % UInt64(keys.count))]
                    return Int(key).map { .index($0) } ?? .key(key)
                })
            }
            let read = try #require(JSONFieldSet(paths).values(in: bytes[...]))
            for (i, path) in paths.enumerated() {
                #expect(read[i] == record.value(at: path), "\(record.jsonText) at \(path)")
            }
        }
    }
}

/// A small deterministic generator, so a failure reproduces.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
