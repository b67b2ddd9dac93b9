import Testing
import TradeSyncCore
@testable import TradeSyncMapping

let jobEntity = EntityModel(name: "jobs", table: "contractor_jobs", fields: [
    ModelField(name: "job_type", type: .enumeration, values: ["installation", "repair", "other"]),
    ModelField(name: "status", type: .enumeration, values: ["scheduled", "completed", "cancelled"]),
    ModelField(name: "final_value", type: .decimal),
    ModelField(name: "completed_at", type: .timestamp),
    ModelField(name: "visits", type: .integer),
    ModelField(name: "warranty", type: .boolean),
    ModelField(name: "crew", type: .json),
    ModelField(name: "rating", type: .integer),
    ModelField(name: "source", type: .string),
    ModelField(name: "day", type: .date),
])

/// A mapped row read by field name, so that a test says which field it checks and does not
/// depend on the order of the entity's fields.
struct NamedCells {
    let entity: EntityModel
    let values: [CellValue]
    /// The field's cell; nil when the entity has no such field (so a misspelt name fails the test).
    subscript(_ field: String) -> CellValue? { entity.fieldIndex(field).map { values[$0] } }
}

extension RecordMapper {
    /// `map`, with the cells read by field name.
    func cells(_ record: JSONValue, lookups: LookupTables = LookupTables()) -> Result<NamedCells, MappingFailure> {
        map(record, lookups: lookups).map { NamedCells(entity: entity, values: $0) }
    }
}

/// One row of the conversion table: a source value, a target field and what must be stored.
struct ConversionCase: CustomTestStringConvertible, Sendable {
    var field: String
    var value: JSONValue
    var cast: Cast?
    var expected: CellValue?   // nil = must fail
    var testDescription: String { "\(field) ← \(value.jsonText)" }
}

@Suite struct ConversionTable {
    static let cases: [ConversionCase] = [
        // A boolean fills an integer field only through a declared `cast: integer`.
        .init(field: "visits", value: true, cast: Cast(IntegerCast.self), expected: .integer(1)),
        .init(field: "visits", value: false, cast: Cast(kind: "integer"), expected: .integer(0)),
        .init(field: "visits", value: true, expected: nil),
        .init(field: "visits", value: true, cast: Cast(kind: "string"), expected: nil),
        .init(field: "final_value", value: "0.00", expected: .decimal("0.00")),
        .init(field: "final_value", value: "1234.50", expected: .decimal("1234.50")),
        .init(field: "final_value", value: .number("150.0"), expected: .decimal("150.0")),
        .init(field: "final_value", value: 42, expected: .decimal("42")),
        .init(field: "final_value", value: .number("1.5e3"), expected: .decimal("1500")),
        .init(field: "final_value", value: "-0.10", expected: .decimal("-0.10")),
        .init(field: "final_value", value: "+007.25", expected: .decimal("7.25")),
        .init(field: "final_value", value: "12,50", expected: nil),
        .init(field: "final_value", value: "abc", expected: nil),
        .init(field: "final_value", value: true, expected: nil),
        .init(field: "completed_at", value: "2021-07-19T20:35:38.2876004Z", expected: .timestamp(1_626_726_938_287_600)),
        .init(field: "completed_at", value: "2015-07-24T10:35:08-07:00", expected: .timestamp(1_437_759_308_000_000)),
        .init(field: "completed_at", value: "2020-05-04 00:41:13", expected: .timestamp(1_588_552_873_000_000)),
        .init(field: "completed_at", value: "not a date", expected: nil),
        .init(field: "visits", value: "12", expected: .integer(12)),
        .init(field: "visits", value: 2_147_483_659, expected: .integer(2_147_483_659)),
        .init(field: "visits", value: "9223372036854775807", expected: .integer(Int64.max)),
        .init(field: "visits", value: .number("3.0"), expected: .integer(3)),
        .init(field: "visits", value: .number("3.5"), expected: nil),
        .init(field: "warranty", value: true, expected: .boolean(true)),
        .init(field: "warranty", value: "false", expected: .boolean(false)),
        .init(field: "warranty", value: 1, expected: .boolean(true)),
        .init(field: "warranty", value: "maybe", expected: nil),
        .init(field: "source", value: 2_147_483_700, expected: .text("2147483700")),
        .init(field: "day", value: ["year": 2025, "month": 1, "day": 2], expected: .date("2025-01-02")),
        .init(field: "day", value: "2015-07-24T23:30:00-07:00", expected: .date("2015-07-24")),
        .init(field: "day", value: "2015-07-25T01:30:00+09:00", expected: .date("2015-07-25")),
        .init(field: "day", value: "2015-07-24T23:30:00Z", expected: .date("2015-07-24")),
        .init(field: "day", value: "2015-07-24", expected: .date("2015-07-24")),
        .init(field: "day", value: "2015-07-24T25:00:00Z", expected: nil),
        .init(field: "day", value: "07/24/2015", expected: nil),
        .init(field: "crew", value: [["name": "Ana"]], expected: .json("[{\"name\":\"Ana\"}]")),
        .init(field: "status", value: "unknown", expected: nil),
        .init(field: "final_value", value: .null, expected: .null),
    ]

    @Test(arguments: cases)
    func converts(_ c: ConversionCase) throws {
        let field = try #require(jobEntity.field(c.field))
        let result = RecordMapper.convert(c.value, to: field, cast: c.cast)
        switch (result, c.expected) {
        case (.success(let v), let e?): #expect(v == e)
        case (.failure(let f), nil): #expect(f.field == c.field)
        case (.success(let v), nil): Issue.record("expected a failure, got \(v)")
        case (.failure(let f), _?): Issue.record("unexpected failure: \(f)")
        }
    }
}

@Suite struct ValueMapTable {
    static let statusRule = FieldRule(
        target: "status", source: .path(JSONPath("jobStatus")),
        valueMap: ["Scheduled": "scheduled", "Completed": "completed", "Canceled": "cancelled"], onUnmapped: .fail)

    @Test(arguments: [
        ("Scheduled", "scheduled"), ("Completed", "completed"), ("Canceled", "cancelled"),
    ])
    func mapsKnownValues(source: String, stored: String) {
        let mapper = RecordMapper(entity: jobEntity, rules: [ValueMapTable.statusRule])
        let r = mapper.cells(["jobStatus": .string(source)])
        #expect((try? r.get())?["status"] == .text(stored))
    }

    @Test(arguments: [
        (UnmappedAction.fail, nil as CellValue?),
        (UnmappedAction.null, CellValue.null),
        (UnmappedAction.useDefault("scheduled"), CellValue.text("scheduled")),
    ])
    func unmappedValuesFollowThePolicy(policy: UnmappedAction, expected: CellValue?) {
        var rule = ValueMapTable.statusRule
        rule.onUnmapped = policy
        let r = RecordMapper(entity: jobEntity, rules: [rule]).cells(["jobStatus": "Hold"])
        switch r {
        case .success(let cells): #expect(cells["status"] == expected)
        case .failure(let f):
            #expect(expected == nil)
            #expect(f.description == "status: unmapped value 'Hold'")
        }
    }

    static let ratingRule = FieldRule(
        target: "rating", source: .path(JSONPath("starRating")),
        valueMap: ["ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5], unspecified: ["STAR_RATING_UNSPECIFIED"])

    @Test(arguments: [
        ("ONE", CellValue.integer(1)), ("THREE", .integer(3)), ("FIVE", .integer(5)), ("STAR_RATING_UNSPECIFIED", .null),
    ])
    func starRatingWordsBecomeNumbers(word: String, stored: CellValue) {
        let r = RecordMapper(entity: jobEntity, rules: [ValueMapTable.ratingRule]).cells(["starRating": .string(word)])
        #expect((try? r.get())?["rating"] == stored)
    }

    @Test func anUnknownRatingWordFails() {
        let r = RecordMapper(entity: jobEntity, rules: [ValueMapTable.ratingRule]).map(["starRating": "SIX"], lookups: LookupTables())
        #expect(throws: MappingFailure.self) { try r.get() }
    }
}

@Suite struct StructureTests {
    @Test func lookupThenMapResolvesJobTypes() throws {
        var lookups = LookupTables()
        lookups.add(stream: "job_types", records: [["id": 7, "name": "Installation"], ["id": 8, "name": "Duct Cleaning"]],
                    key: JSONPath("id"))
        let rule = FieldRule(
            target: "job_type", source: .path(JSONPath("jobTypeId")),
            lookup: Lookup(stream: "job_types", key: JSONPath("id"), value: JSONPath("name")),
            valueMap: ["Installation": "installation", "Repair": "repair"], onUnmapped: .useDefault("other"))
        let mapper = RecordMapper(entity: jobEntity, rules: [rule])
        #expect(try mapper.cells(["jobTypeId": 7], lookups: lookups).get()["job_type"] == .text("installation"))
        #expect(try mapper.cells(["jobTypeId": 8], lookups: lookups).get()["job_type"] == .text("other"))
        let missing = mapper.map(["jobTypeId": 9], lookups: lookups)
        #expect(throws: MappingFailure.self) { try missing.get() }
    }

    @Test func eachBuildsAListOfObjects() throws {
        let rule = FieldRule(target: "crew", source: .path(JSONPath("technicians")), each: [
            FieldRule(target: "name", source: .path(JSONPath("name"))),
            FieldRule(target: "role", source: .constant("Technician")),
        ])
        let record: JSONValue = ["technicians": [["name": "Ana", "id": 1], ["name": "Bo", "id": 2]]]
        let cells = try RecordMapper(entity: jobEntity, rules: [rule]).cells(record).get()
        #expect(cells["crew"] == .json("[{\"name\":\"Ana\",\"role\":\"Technician\"},{\"name\":\"Bo\",\"role\":\"Technician\"}]"))
    }

    struct FirstCase: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var list: JSONValue
        /// The `source` field's cell, or nil for a failed record.
        var expected: CellValue?
    }

    static let firstCases: [FirstCase] = [
        FirstCase(testDescription: "the primary one, listed second", list: [["address": "a@x", "primary": false], ["address": "b@x", "primary": true]],
                  expected: .text("b@x")),
        FirstCase(testDescription: "none primary: the first", list: [["address": "a@x", "primary": false], ["address": "b@x"]],
                  expected: .text("a@x")),
        FirstCase(testDescription: "only true counts, not \"true\"", list: [["address": "a@x"], ["address": "b@x", "primary": "true"]],
                  expected: .text("a@x")),
        FirstCase(testDescription: "two primary: the first of them", list: [["address": "a@x"], ["address": "b@x", "primary": true], ["address": "c@x", "primary": true]],
                  expected: .text("b@x")),
        FirstCase(testDescription: "an empty list", list: [], expected: .null),
        FirstCase(testDescription: "no value at the path", list: [["primary": true]], expected: .null),
        FirstCase(testDescription: "absent", list: .null, expected: .null),
        FirstCase(testDescription: "not a list", list: ["address": "a@x"], expected: nil),
    ]

    /// `first`: providers list a contact's emails and phones with one marked primary.
    @Test(arguments: firstCases)
    func firstPicksTheMarkedElement(_ c: FirstCase) throws {
        let rule = FieldRule(target: "source", source: .path(JSONPath("emails")),
                             first: FirstElement(condition: JSONPath("primary"), value: JSONPath("address")))
        let result = RecordMapper(entity: jobEntity, rules: [rule]).cells(["emails": c.list])
        switch (result, c.expected) {
        case (.success(let cells), let expected?): #expect(cells["source"] == expected)
        case (.failure(let f), nil): #expect(f.reason == "'first' needs a list, found an object")
        case (let other, _): Issue.record("got \(other)")
        }
    }

    @Test func firstWithoutAValuePathIsTheElement() throws {
        let rule = FieldRule(target: "crew", source: .path(JSONPath("people")), first: FirstElement(condition: JSONPath("lead")))
        let cells = try RecordMapper(entity: jobEntity, rules: [rule]).cells(["people": [["n": "Ana"], ["n": "Bo", "lead": true]]]).get()
        #expect(cells["crew"] == .json("{\"n\":\"Bo\",\"lead\":true}"))
    }

    @Test func nestedPathsConstantsAndUnmappedFields() throws {
        let rules = [
            FieldRule(target: "source", source: .constant("servicetitan")),
            FieldRule(target: "final_value", source: .path(JSONPath("totals.0.amount"))),
        ]
        let cells = try RecordMapper(entity: jobEntity, rules: rules).cells(["totals": [["amount": "10.50"]]]).get()
        #expect(cells["source"] == .text("servicetitan"))
        #expect(cells["final_value"] == .decimal("10.50"))
        #expect(cells["job_type"] == .null, "a field the mapping does not fill is null")
        #expect(cells.values.count == jobEntity.fields.count)
    }
}

@Suite struct CastRegistryTests {
    @Test func everyCastIsRegisteredOnceAndFillsWhatValidateAllows() {
        let kinds = Cast.components.map { $0.kind }
        #expect(kinds == ["string", "integer", "decimal", "boolean", "timestamp", "date", "json"])
        #expect(Cast(kind: "timestamp")?.fits(.date) == true)
        #expect(Cast(kind: "timestamp")?.fits(.decimal) == false)
        #expect(Cast(kind: "decimel") == nil)
    }
}
