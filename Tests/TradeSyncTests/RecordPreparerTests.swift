import Testing
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncMapping

/// A record read from its bytes (`prepare(bytes:)`, the sync's path) must come out exactly as the
/// same record prepared as a value (webhooks, transforms, kept failures): the same row, the same
/// failure, and for a failure the same kept payload and key. The entity is the store suite's.
struct RecordPreparerTests {
    static let rules = [
        FieldRule(target: "job_name", source: .path(JSONPath("name"))),
        FieldRule(target: "status", source: .path(JSONPath("jobStatus")),
                  valueMap: ["Scheduled": "scheduled", "Completed": "completed"]),
        FieldRule(target: "final_value", source: .path(JSONPath("total"))),
        FieldRule(target: "completed_at", source: .path(JSONPath("completedOn"))),
        FieldRule(target: "notes", source: .path(JSONPath("customer.name"))),
        FieldRule(target: "crew", source: .path(JSONPath("crew"))),
        FieldRule(target: "visits", source: .constant(1)),
    ]

    static let records = [
        #"{"id":7,"name":"Tune-up","jobStatus":"Completed","total":"120.50","completedOn":"2026-11-30T10:00:00-06:00","customer":{"id":1,"name":"Ana"},"crew":[{"n":"Bo"}],"modifiedOn":"2026-11-30T16:00:00Z"}"#,
        #"{ "name" : "No total" , "id" : "8", "jobStatus" : "Scheduled", "customer": null, "modifiedOn": "2026-11-29T00:00:00Z" }"#,
        #"{"id":9,"name":"Odd","jobStatus":"OnHold","total":"1","modifiedOn":"2026-11-28T00:00:00Z"}"#,
        #"{"id":10,"name":"Bad total","jobStatus":"Scheduled","total":"12,5"}"#,
        #"{"name":"No id","jobStatus":"Scheduled"}"#,
        #"{"id":"","name":"Empty id"}"#,
        #"{"id":11,"id":12,"name":"Repeated id","n\u0061me":"escaped repeat","jobStatus":"Scheduled"}"#,
    ]

    @Test(arguments: records)
    func readingTheBytesPreparesWhatTheValuePrepares(_ text: String) throws {
        let preparer = RecordPreparer(
            stream: "jobs", primaryKey: JSONPath("id"), primaryKeyText: "id",
            mapper: RecordMapper(entity: jobsEntity, rules: Self.rules), lookups: LookupTables(),
            redactor: SecretRedactor(), extraPaths: [JSONPath("modifiedOn")])
        let bytes = Array(text.utf8)
        let value = try JSONValue.parse(bytes)
        let read = preparer.prepare(bytes: bytes[...])
        #expect(read.extras == [value.value(at: JSONPath("modifiedOn"))])
        switch (read.outcome, preparer.prepare(value)) {
        case (.mapped(let a), .mapped(let b)):
            #expect(a == b)
            #expect(a.contentHash == b.contentHash)
        case (.failed(let fa, let ka), .failed(let fb, let kb)):
            #expect(fa.externalId == fb.externalId)
            #expect(fa.reason == fb.reason)
            #expect(ka == kb)
        case (let a, let b):
            Issue.record("bytes: \(a), value: \(b)")
        }
    }
}
