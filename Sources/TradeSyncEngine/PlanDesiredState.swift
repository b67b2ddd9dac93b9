import Crypto
import Foundation
import TradeSyncConfig
import TradeSyncCore
import TradeSyncStore

/// What the configuration asks for, as the applied-state items `apply` records: one per
/// connection (its non-secret settings), per connection schedule, per mapping file, and the
/// model. Credentials appear as their references, never resolved.
struct PlanDesiredState: Sendable {
    struct Connection: Sendable {
        /// `<contractor id>/<connection id>`.
        var name: String
        var demoId: String
        var key: String
        var integration: IntegrationConfig
        var config: ConnectionConfig
        /// Flattened settings: `credentials.client_id` → `env:…`, `fields.tenant_id` → `1234567`, …
        var detail: [String: String]
        var streams: [String]
    }

    var connections: [Connection] = []
    var items: [AppliedItem] = []
    var configHash = ""

    static func sha256(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func detailJSON(_ detail: [String: String]) -> String {
        JSONValue.object(JSONObject(detail.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) })).jsonText
    }

    static func detail(fromJSON text: String) -> [String: String] {
        guard let v = try? JSONValue.parse(Array(text.utf8)), let o = v.objectValue else { return [:] }
        var out: [String: String] = [:]
        for e in o.entries { out[e.key] = e.value.scalarText ?? e.value.jsonText }
        return out
    }

    static func make(project: Project, deployment: DeploymentConfig?) -> PlanDesiredState {
        var state = PlanDesiredState()
        for contractor in deployment?.contractors ?? [] {
            guard let demoId = contractor.id?.value else { continue }
            for c in contractor.connections {
                guard let key = c.id?.value, let provider = c.integration?.value, let integration = project.integration(provider)
                else { continue }
                let record = Deployer.connectionRecord(c, contractor: demoId, integration: integration)
                let settings = Deployer.settings(c, integration: integration)
                var detail: [String: String] = ["integration": provider, "auto_sync": record.autoSync ? "true" : "false"]
                for e in c.credentials.entries { if let r = e.value.reference { detail["credentials.\(e.name)"] = r.description } }
                for (k, v) in settings.fields { detail["fields.\(k)"] = v.scalarText ?? v.jsonText }
                detail["streams"] = (settings.streams ?? []).joined(separator: ", ")
                if let v = settings.environment { detail["environment"] = v }
                if let v = settings.baseURL { detail["base_url"] = v }
                for (h, v) in settings.hosts ?? [:] { detail["hosts.\(h)"] = v }
                if let v = settings.tokenURL { detail["token_url"] = v }
                if let v = settings.authorizeURL { detail["authorize_url"] = v }
                let mainSchedule = settings.schedule ?? record.syncFrequency
                detail["schedule"] = mainSchedule
                // Streams at their own frequency belong to the schedule too (unchanged text without them).
                let own = (settings.streamSchedules ?? [:]).sorted { $0.key < $1.key }
                for (stream, frequency) in own { detail["schedule.\(stream)"] = frequency }
                let schedule = own.isEmpty ? mainSchedule : ([mainSchedule] + own.map { "\($0.key): \($0.value)" }).joined(separator: "; ")
                let name = "\(demoId)/\(key)"
                let json = detailJSON(detail)
                state.connections.append(Connection(name: name, demoId: demoId, key: key, integration: integration, config: c,
                                                    detail: detail, streams: settings.streams ?? []))
                state.items.append(AppliedItem(kind: "connection", name: name, hash: sha256(json), detailJSON: json))
                state.items.append(AppliedItem(kind: "schedule", name: name, hash: sha256(schedule),
                                               detailJSON: detailJSON(["schedule": schedule])))
            }
        }
        for m in project.mappings {
            let text = (try? String(contentsOfFile: mappingPath(project, m.name), encoding: .utf8)) ?? ""
            state.items.append(AppliedItem(kind: "mapping", name: m.name, hash: sha256(text),
                                           detailJSON: detailJSON(["file": "mappings/\(m.name).yaml"])))
        }
        var model = ""
        for e in project.dataModel.entities.sorted(by: { $0.name < $1.name }) {
            model += "\(e.name) \(e.table)\n"
            for f in e.fields { model += "  \(f.name):\(f.type.rawValue)\n" }
        }
        state.items.append(AppliedItem(kind: "model", name: "model", hash: sha256(model),
                                       detailJSON: detailJSON(["entities": String(project.dataModel.entities.count)])))
        state.items.sort { ($0.kind, $0.name) < ($1.kind, $1.name) }
        state.configHash = sha256(state.items.map { "\($0.kind) \($0.name) \($0.hash)" }.joined(separator: "\n"))
        return state
    }

    static func mappingPath(_ project: Project, _ name: String) -> String {
        project.root + "/mappings/" + name + ".yaml"
    }
}
