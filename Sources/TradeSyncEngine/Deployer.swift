import TradeSyncConfig
import TradeSyncCore
import TradeSyncStore

/// What `migrate` changed in a store.
public struct DeployReport: Sendable {
    public var migration: MigrationReport
    public var templates: [String]
    public var connections: [ConnectionRecord]
}

/// Brings a store in line with a project: schema from the model, templates from
/// `integrations.d/`, connections from a deployment file.
public enum Deployer {
    public static func template(for c: IntegrationConfig) -> IntegrationTemplate {
        var config = JSONObject()
        config["streams"] = .array(c.streams.entries.filter { !$0.value.lookupOnly }.map { entry in
            var o = JSONObject()
            o["name"] = .string(entry.name)
            o["entity"] = entry.value.entity.map { .string($0.value) } ?? .null
            o["incremental"] = .bool(entry.value.cursor != nil)
            return .object(o)
        })
        config["connection_fields"] = .array(c.connectionFields.entries.map { entry in
            var o = JSONObject()
            o["name"] = .string(entry.name)
            o["type"] = .string(entry.value.type.rawValue)
            o["required"] = .bool(entry.value.required)
            if let d = entry.value.description { o["description"] = .string(d) }
            return .object(o)
        })
        config["credentials"] = .array(c.auth.credentials.names.map { .string($0) })
        if let base = c.baseURL { config["base_url"] = .string(base) }
        return IntegrationTemplate(
            integrationType: c.provider, displayName: c.displayName, description: c.description,
            authType: c.auth.kind, status: c.status.rawValue, statusNote: c.statusNote,
            capabilities: c.capabilities.map(\.value), defaultFrequency: c.defaultFrequency.description,
            docsURL: c.docsURL, configJSON: JSONValue.object(config).jsonText)
    }

    /// The stored form of a configured connection. Credentials stay references.
    public static func connectionRecord(
        _ c: ConnectionConfig, contractor: String, integration: IntegrationConfig
    ) -> ConnectionRecord {
        var credentials = JSONObject()
        for entry in c.credentials.entries {
            if let r = entry.value.reference { credentials[entry.name] = .string(r.description) }
        }
        var config = JSONObject()
        config["fields"] = .object(JSONObject(c.fields.entries.map { (key: $0.name, value: $0.value) }))
        let streams = c.streams?.map(\.value) ?? integration.streams.entries.filter { !$0.value.lookupOnly }.map(\.name)
        config["streams"] = .array(streams.map { .string($0) })
        if let e = c.environment { config["environment"] = .string(e.value) }
        if let b = c.baseURL { config["base_url"] = .string(b) }
        if !c.hosts.isEmpty {
            config["hosts"] = .object(JSONObject(c.hosts.entries.map { (key: $0.name, value: .string($0.value)) }))
        }
        if let t = c.tokenURL { config["token_url"] = .string(t) }
        if let a = c.authorizeURL { config["authorize_url"] = .string(a) }
        let frequency = c.frequency ?? integration.defaultFrequency
        config["schedule"] = .string(frequency.description)
        let status: ConnectionStatus = integration.status == .retired ? .disconnected : .pending
        return ConnectionRecord(
            demoId: contractor, connectionKey: c.id?.value ?? "", integrationType: integration.provider,
            status: status, credentialsJSON: JSONValue.object(credentials).jsonText,
            configJSON: JSONValue.object(config).jsonText, syncFrequency: frequency.columnValue, autoSync: c.autoSync)
    }

    public static func deploy(project: Project, deployment: DeploymentConfig?, store: any SyncStore) async throws
        -> DeployReport
    {
        let migration = try await store.migrate(model: project.dataModel)
        var templates: [String] = []
        for file in project.integrations {
            try await store.upsertTemplate(template(for: file.config))
            templates.append(file.config.provider)
        }
        var connections: [ConnectionRecord] = []
        for contractor in deployment?.contractors ?? [] {
            guard let demoId = contractor.id?.value else { continue }
            for c in contractor.connections {
                guard let name = c.integration?.value, let integration = project.integration(name) else { continue }
                connections.append(try await store.upsertConnection(connectionRecord(c, contractor: demoId, integration: integration)))
            }
        }
        return DeployReport(migration: migration, templates: templates, connections: connections)
    }
}
