import TradeSyncConfig
import TradeSyncCore
import TradeSyncMapping
import TradeSyncStore

/// Maps a stream's kept raw payloads (and its kept failed records) again under the mapping of the
/// working tree: `plan` compares the result with the stored rows, `apply` writes it page by page.
/// Both go through the one `RecordPreparer` a sync uses, so a re-mapped row is the row a sync
/// would write.
struct RawPayloadRemapper: Sendable {
    let stream: String
    let entity: EntityModel
    let preparer: RecordPreparer
    /// Records read per page (`plan`) and written per transaction (`apply`).
    static let pageSize = 500

    /// Nil with the reason when the stream's rows cannot be re-mapped from what is kept.
    static func make(project: Project, integration: IntegrationConfig, stream name: String, redactor: SecretRedactor,
                     connectionId: String, reader: any AppliedStateReader) async throws -> (RawPayloadRemapper?, String?)
    {
        guard let stream = integration.streams[name], let entityName = stream.entity?.value,
            let entity = project.dataModel.entity(entityName), let mappingName = stream.mapping?.value,
            let mapping = project.mapping(mappingName)
        else { return (nil, "the stream has no entity or mapping") }
        let rules = MappingCompiler.rules(mapping)
        if !stream.keepRaw {
            return (nil, "keep_raw is off for this stream; the next sync re-maps what it fetches")
        }
        // Looked-up streams come from their kept payloads, as the last sync fetched them; without
        // them the looked-up fields would come out empty, so the stream is left to the next sync.
        var tables = LookupTables()
        for lookup in lookups(rules) {
            var records: [JSONValue] = []
            var position: KeptRawPosition?
            repeat {
                let batch = try await reader.keptRaws(integrationId: connectionId, stream: lookup.stream, entity: nil,
                                                      from: position)
                records += batch.records.compactMap(\.record)
                position = batch.next
            } while position != nil
            if records.isEmpty {
                return (nil, "the mapping looks up stream '\(lookup.stream)', of which nothing is kept yet; the next sync re-maps what it fetches")
            }
            tables.add(stream: lookup.stream, records: records, key: lookup.key)
        }
        let preparer = RecordPreparer(
            stream: name, primaryKey: JSONPath(stream.primaryKey), primaryKeyText: stream.primaryKey,
            mapper: RecordMapper(entity: entity, rules: rules), lookups: tables, redactor: redactor)
        return (RawPayloadRemapper(stream: name, entity: entity, preparer: preparer), nil)
    }

    static func lookups(_ rules: [FieldRule]) -> [Lookup] {
        var out: [Lookup] = []
        for r in rules {
            if let l = r.lookup, !out.contains(where: { $0.stream == l.stream }) { out.append(l) }
            if let e = r.each { out += lookups(e).filter { l in !out.contains { $0.stream == l.stream } } }
        }
        return out
    }

    enum Outcome {
        case mapped(MappedRecord)
        case failed(reason: String)
    }

    /// One kept payload under the new mapping; a payload that does not inflate or parse fails.
    func remap(_ raw: KeptRaw) -> Outcome {
        guard let json = raw.record else { return .failed(reason: "the kept raw payload cannot be read") }
        switch preparer.prepare(json) {
        case .mapped(let record): return .mapped(record)
        case .failed(let failure, _): return .failed(reason: failure.reason)
        }
    }

    func remap(kept: KeptFailure) -> Outcome {
        let json = (try? JSONValue.parse(Array(kept.rawJSON.utf8))) ?? .null
        switch preparer.prepare(json) {
        case .mapped(let record): return .mapped(record)
        case .failed(let failure, _): return .failed(reason: failure.reason)
        }
    }
}
