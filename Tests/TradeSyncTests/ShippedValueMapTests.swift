import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncMapping

/// The shipped value maps of provider enums, value by value (WIRE-FACTS: treat every provider
/// enum as open; per field the mapping decides what an unknown value becomes).
@Suite struct ShippedValueMapTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var mapping: String
        var field: String
        var source: String
        var value: String
        /// nil: the record fails.
        var stored: CellValue?
        var testDescription: String { "\(mapping).\(field): \(value)" }
    }

    static func cases(_ mapping: String, _ field: String, _ source: String, _ table: [(String, CellValue?)]) -> [Case] {
        table.map { Case(mapping: mapping, field: field, source: source, value: $0.0, stored: $0.1) }
    }

    static let all: [Case] =
        cases("servicetitan/jobs", "status", "jobStatus", [
            ("Scheduled", .text("scheduled")), ("Dispatched", .text("in_progress")), ("InProgress", .text("in_progress")),
            ("Hold", .text("on_hold")), ("Completed", .text("completed")), ("Canceled", .text("cancelled")),
            ("Rescheduled", .null),  // not in any document: the job is kept, its status left empty
        ])
        + cases("servicetitan/customers", "customer_type", "type", [
            ("Residential", .text("residential")), ("Commercial", .text("commercial")), ("Government", .null),
        ])
        + cases("google-business-profile/reviews", "rating", "starRating", [
            ("ONE", .integer(1)), ("TWO", .integer(2)), ("THREE", .integer(3)), ("FOUR", .integer(4)), ("FIVE", .integer(5)),
            ("STAR_RATING_UNSPECIFIED", .null), ("SIX", .null),
        ])
        + cases("google-business-profile/posts", "topic_type", "topicType", [
            ("STANDARD", .text("standard")), ("EVENT", .text("event")), ("OFFER", .text("offer")), ("ALERT", .text("alert")),
            ("LOCAL_POST_TOPIC_TYPE_UNSPECIFIED", .null), ("PRODUCT", .null),
        ])
        + cases("jobber/jobs", "status", "jobStatus", [
            // JobStatusTypeEnum is lower case in Jobber's published schema; an upper-case or
            // unknown value is an unknown status (null), never a lost job.
            ("upcoming", .text("scheduled")), ("today", .text("scheduled")), ("late", .text("scheduled")),
            ("active", .text("in_progress")), ("expiring_within_30_days", .text("in_progress")),
            ("action_required", .text("on_hold")), ("on_hold", .text("on_hold")),
            ("unscheduled", .text("on_hold")), ("requires_invoicing", .text("completed")), ("archived", .text("completed")),
            ("needs_review", .null), ("TODAY", .null),
        ])

    static let project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })

    static func map(_ mapping: String, _ field: String, record: JSONValue) throws -> Result<CellValue, MappingFailure> {
        let m = try #require(project.mapping(mapping))
        let target = try #require(m.target)
        let entity = try #require(project.dataModel.entity(target.value))
        let config = try #require(m.fields[field])
        let index = try #require(entity.fields.firstIndex { $0.name == field })
        let mapper = RecordMapper(entity: entity, rules: [MappingCompiler.rule(field, config)])
        return mapper.map(record, lookups: LookupTables()).map { $0[index] }
    }

    @Test(arguments: all)
    func mapsProviderValues(_ c: Case) throws {
        let result = try Self.map(c.mapping, c.field, record: .object(JSONObject([(key: c.source, value: .string(c.value))])))
        switch (result, c.stored) {
        case (.success(let v), let expected?): #expect(v == expected)
        case (.failure, nil): break
        case (.success(let v), nil): Issue.record("expected the record to fail, stored \(v)")
        case (.failure(let f), _?): Issue.record("unexpected failure: \(f)")
        }
    }

    /// Every value an integration declares for a mapped field maps without failing the record.
    @Test func everyDeclaredProviderValueIsMapped() throws {
        var checked = 0
        for file in Self.project.integrations {
            for stream in file.config.streams.entries {
                guard let mappingName = stream.value.mapping?.value, let m = Self.project.mapping(mappingName) else { continue }
                for f in m.fields.entries {
                    guard let from = f.value.from, let declared = stream.value.enums[from], f.value.map != nil else { continue }
                    for value in declared {
                        let r = try Self.map(mappingName, f.name, record: .object(JSONObject([(key: from, value: .string(value))])))
                        if case .failure(let e) = r { Issue.record("\(mappingName).\(f.name): \(value): \(e)") }
                        checked += 1
                    }
                }
            }
        }
        #expect(checked >= 29, "six value maps over declared enums (Jobber's ten job statuses in one case)")
    }
}

/// `on_unmapped: passthrough` keeps the provider's own word.
@Suite struct PassthroughTests {
    static let entity = EntityModel(name: "estimates", table: "contractor_estimates", fields: [
        ModelField(name: "status", type: .string),
        ModelField(name: "kind", type: .enumeration, values: ["open", "sold"]),
    ])

    @Test(arguments: [("Open", CellValue.text("open")), ("Sold", .text("sold")), ("Dismissed", .text("Dismissed")), ("", .text(""))])
    func unmappedValuesPassThroughToAStringField(source: String, stored: CellValue) throws {
        let rule = FieldRule(target: "status", source: .path(JSONPath("status.name")),
                             valueMap: ["Open": "open", "Sold": "sold"], onUnmapped: .passthrough)
        let r = RecordMapper(entity: Self.entity, rules: [rule]).cells(["status": ["name": .string(source)]])
        #expect(try r.get()["status"] == stored)
    }

    @Test func anEnumFieldCannotHoldAPassedThroughValue() {
        let rule = FieldRule(target: "kind", source: .path(JSONPath("k")), valueMap: ["Open": "open"], onUnmapped: .passthrough)
        let r = RecordMapper(entity: Self.entity, rules: [rule]).map(["k": "Dismissed"], lookups: LookupTables())
        guard case .failure(let f) = r else {
            Issue.record("expected a failure")
            return
        }
        #expect(f.field == "kind")
    }
}
