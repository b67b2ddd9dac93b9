import Foundation
import TradeSyncConfig
import TradeSyncCore
import TradeSyncStore

/// The store as `plan` sees it: a type with read methods only. The records, kept payloads and
/// applied state come through `RecordReader & AppliedStateReader` (no write method), the
/// connections and the last run are read once when the view is made; so `plan` cannot write.
struct PlanStoreView: Sendable {
    let reader: any RecordReader & AppliedStateReader
    let connections: [ConnectionRecord]
    let removed: Set<String>
    let lastRunId: String?

    static func read(_ store: any SyncStore) async throws -> PlanStoreView {
        let reader: any RecordReader & AppliedStateReader = store
        guard try await reader.hasSchema() else {
            return PlanStoreView(reader: reader, connections: [], removed: [], lastRunId: nil)
        }
        return PlanStoreView(reader: reader, connections: try await store.connections(demoId: nil),
                             removed: try await reader.removedConnectionIds(),
                             lastRunId: try await store.runs(integrationId: nil, limit: 1).first?.id)
    }

    func connection(demoId: String, key: String) -> ConnectionRecord? {
        connections.first { $0.demoId == demoId && $0.connectionKey == key && !removed.contains($0.id) }
    }
}

/// Computes a `DeploymentPlan`: the configuration (`PlanDesiredState`) against the store's
/// applied state, schema and kept payloads.
struct Planner: Sendable {
    let project: Project
    let deployment: DeploymentConfig?
    let resolver: CredentialResolver
    static let listed = 20
    static let examples = 5

    func plan(_ view: PlanStoreView) async throws -> (DeploymentPlan, PlanDesiredState) {
        let desired = PlanDesiredState.make(project: project, deployment: deployment)
        let applied = try await view.reader.appliedState()
        var appliedBy: [String: AppliedItem] = [:]
        for a in applied { appliedBy["\(a.kind)\t\(a.name)"] = a }
        let columns = try await view.reader.modelColumns()
        var plan = DeploymentPlan(configHash: desired.configHash,
                                  storeHash: storeHash(view, applied: applied, columns: columns))

        // Connections, and the secrets to keep out of every reason and example.
        let (redactor, unresolved) = secrets(desired)
        plan.drift += unresolved
        let desiredNames = Set(desired.connections.map(\.name))
        for c in desired.connections {
            let old = appliedBy["connection\t\(c.name)"].map { PlanDesiredState.detail(fromJSON: $0.detailJSON) }
            guard let old else {
                plan.connections.append(.init(action: .add, connection: c.name, integration: c.integration.provider,
                                              fields: c.detail.sorted { $0.key < $1.key }.map { .init(field: $0.key, old: nil, new: $0.value) }))
                continue
            }
            let changed = Set(old.keys).union(c.detail.keys).sorted().filter { old[$0] != c.detail[$0] }
            if !changed.isEmpty {
                plan.connections.append(.init(action: .change, connection: c.name, integration: c.integration.provider,
                                              fields: changed.map { .init(field: $0, old: old[$0], new: c.detail[$0]) }))
            }
        }
        for a in applied where a.kind == "connection" && !desiredNames.contains(a.name) {
            let old = PlanDesiredState.detail(fromJSON: a.detailJSON)
            plan.connections.append(.init(action: .remove, connection: a.name, integration: old["integration"] ?? "",
                                          fields: old.sorted { $0.key < $1.key }.map { .init(field: $0.key, old: $0.value, new: nil) }))
        }
        let appliedConnections = Set(applied.filter { $0.kind == "connection" }.map(\.name))
        for c in view.connections where !view.removed.contains(c.id) {
            let name = "\(c.demoId)/\(c.connectionKey)"
            if !desiredNames.contains(name) && !appliedConnections.contains(name) {
                plan.drift.append(.init(kind: .connectionNotInConfiguration, connection: name,
                                        detail: "in the store (\(c.integrationType)) but not in the configuration: created through the API?"))
            }
        }

        // Schema: tables and columns the store has not created for the model.
        for e in project.dataModel.entities {
            guard let have = columns[e.table] else {
                plan.schema.append(.init(kind: .table, table: e.table, column: nil, type: nil,
                                         columns: e.fields.map { "\($0.name):\($0.type.rawValue)" }))
                continue
            }
            for f in e.fields where !have.contains(f.name) {
                plan.schema.append(.init(kind: .column, table: e.table, column: f.name, type: f.type.rawValue, columns: nil))
            }
        }

        // Mappings: changed files, and what re-mapping the kept payloads would do to the rows.
        let desiredMappings = Set(desired.items.filter { $0.kind == "mapping" }.map(\.name))
        for item in desired.items where item.kind == "mapping" {
            let old = appliedBy["mapping\t\(item.name)"]
            if let old, old.hash == item.hash { continue }
            var effects: [DeploymentPlan.DataEffect] = []
            for (connection, stored, stream) in uses(of: item.name, desired: desired, view: view) {
                if let e = try await effect(connection: connection, stored: stored, stream: stream, view: view, redactor: redactor) {
                    effects.append(e)
                }
            }
            plan.mappings.append(.init(action: old == nil ? .add : .change, mapping: item.name, effects: effects))
        }
        for a in applied where a.kind == "mapping" && !desiredMappings.contains(a.name) {
            plan.mappings.append(.init(action: .remove, mapping: a.name, effects: []))
        }
        plan.drift.sort { ($0.connection, $0.detail) < ($1.connection, $1.detail) }
        return (plan, desired)
    }

    /// The stored connections whose enabled streams use mapping `name`.
    func uses(of name: String, desired: PlanDesiredState, view: PlanStoreView)
        -> [(PlanDesiredState.Connection, ConnectionRecord, String)]
    {
        var out: [(PlanDesiredState.Connection, ConnectionRecord, String)] = []
        for c in desired.connections {
            guard let stored = view.connection(demoId: c.demoId, key: c.key) else { continue }
            for stream in c.streams where c.integration.streams[stream]?.mapping?.value == name {
                out.append((c, stored, stream))
            }
        }
        return out
    }

    /// What re-mapping one connection's stream would change; nil when nothing of it is stored.
    func effect(connection c: PlanDesiredState.Connection, stored: ConnectionRecord, stream: String, view: PlanStoreView,
                redactor: SecretRedactor) async throws -> DeploymentPlan.DataEffect?
    {
        let entityName = c.integration.streams[stream]?.entity?.value ?? ""
        var effect = DeploymentPlan.DataEffect(
            connection: c.name, stream: stream, entity: entityName, remapped: 0, changedRows: 0, fields: [],
            newlyFailing: [], newlyFailingCount: 0, fixed: [], fixedCount: 0, notRemapped: nil)
        let (remapper, why) = try await RawPayloadRemapper.make(
            project: project, integration: c.integration, stream: stream, redactor: redactor, connectionId: stored.id,
            reader: view.reader)
        guard let remapper else {
            guard let entity = project.dataModel.entity(entityName),
                try await view.reader.mappingCount(integrationId: stored.id, entity: entity.name) > 0
            else { return nil }
            effect.notRemapped = why
            return effect
        }
        let rows = try await view.reader.rows(entity: remapper.entity, integrationId: stored.id)
        let kept = try await view.reader.keptFailures(integrationId: stored.id, stream: stream, limit: Int(Int32.max))
        let keptIds = Set(kept.map(\.externalId))
        var counts: [String: Int] = [:]
        var examples: [String: [DeploymentPlan.ValueDiff]] = [:]
        var position: KeptRawPosition?
        repeat {
            let batch = try await view.reader.keptRaws(integrationId: stored.id, stream: stream, entity: remapper.entity,
                                                       from: position)
            position = batch.next
            for raw in batch.records where !keptIds.contains(raw.externalId) {
                effect.remapped += 1
                switch remapper.remap(raw) {
                case .failed(let reason):
                    guard rows[raw.externalId] != nil else { continue }
                    effect.newlyFailingCount += 1
                    if effect.newlyFailing.count < Planner.listed {
                        effect.newlyFailing.append(.init(externalId: raw.externalId, reason: redactor.redact(reason)))
                    }
                case .mapped(let record):
                    guard let row = rows[record.externalId] else {
                        // Kept but not stored (a row removed by hand): apply writes it again.
                        effect.changedRows += 1
                        continue
                    }
                    guard row.sourceHash != record.contentHash else { continue }
                    effect.changedRows += 1
                    for (i, f) in remapper.entity.fields.enumerated() where i < record.values.count {
                        let new = record.values[i].canonicalText
                        let old = row.values[f.name] ?? nil
                        guard Planner.differs(old, new, f.type) else { continue }
                        counts[f.name, default: 0] += 1
                        if examples[f.name, default: []].count < Planner.examples {
                            examples[f.name, default: []].append(.init(
                                externalId: record.externalId, old: old.map(redactor.redact), new: new.map(redactor.redact)))
                        }
                    }
                }
            }
        } while position != nil
        for k in kept {
            if case .mapped = remapper.remap(kept: k) {
                effect.fixedCount += 1
                if effect.fixed.count < Planner.listed { effect.fixed.append(k.externalId) }
            }
        }
        effect.fields = remapper.entity.fields.compactMap { f in
            counts[f.name].map { .init(field: f.name, rows: $0, examples: examples[f.name] ?? []) }
        }
        if effect.remapped == 0 && kept.isEmpty && rows.isEmpty { return nil }
        return effect
    }

    /// Whether a stored value and a re-mapped one differ, over the stores' own spellings of the
    /// same value (PostgreSQL's numeric keeps `12.50`, timestamps come back in either form).
    static func differs(_ old: String?, _ new: String?, _ type: FieldType) -> Bool {
        guard let old, let new else { return (old == nil) != (new == nil) }
        if old == new { return false }
        switch type {
        case .decimal, .integer:
            if let a = Decimal(string: old), let b = Decimal(string: new) { return a != b }
        case .timestamp:
            if let a = Timestamp.parse(old), let b = Timestamp.parse(new) { return a != b }
        case .boolean:
            let truthy: Set<String> = ["1", "true", "t"]
            return truthy.contains(old.lowercased()) != truthy.contains(new.lowercased())
        default: break
        }
        return true
    }

    /// A redactor holding every resolvable credential of the configuration, and the credentials
    /// that cannot be resolved (drift). Values never leave this function except into the redactor.
    func secrets(_ desired: PlanDesiredState) -> (SecretRedactor, [DeploymentPlan.DriftItem]) {
        var redactor = SecretRedactor()
        var unresolved: [DeploymentPlan.DriftItem] = []
        for c in desired.connections {
            for e in c.config.credentials.entries {
                guard let ref = e.value.reference else { continue }
                do {
                    redactor.add([try resolver.resolve(slot: e.name, ref)])
                } catch {
                    unresolved.append(.init(kind: .unresolvedCredential, connection: c.name,
                                            detail: "credential '\(e.name)' (\(ref.description)) cannot be resolved: \(reason(error))"))
                }
            }
        }
        return (redactor, unresolved)
    }

    func reason(_ error: any Error) -> String {
        if case RunnerError.credential(_, _, let reason) = error { return reason }
        return "\(error)"
    }

    /// Changes whenever what `apply` would read from the store changes: the applied state, the
    /// connections, the model's columns, and the last run (a sync rewrites rows).
    func storeHash(_ view: PlanStoreView, applied: [AppliedItem], columns: [String: Set<String>]) -> String {
        var lines = applied.map { "a \($0.kind) \($0.name) \($0.hash)" }
        lines += view.connections.map { "c \($0.id) \($0.demoId)/\($0.connectionKey) \($0.integrationType) \(view.removed.contains($0.id))" }
            .sorted()
        lines += columns.sorted { $0.key < $1.key }.map { "t \($0.key) \($0.value.sorted().joined(separator: ","))" }
        lines.append("r \(view.lastRunId ?? "-")")
        return PlanDesiredState.sha256(lines.joined(separator: "\n"))
    }
}
