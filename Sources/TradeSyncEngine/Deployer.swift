public import TradeSyncConfig
public import TradeSyncCore
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
    static func template(for c: IntegrationConfig) -> IntegrationTemplate {
        return IntegrationTemplate(
            integrationType: c.provider, displayName: c.displayName, description: c.description,
            authType: c.auth.kind, status: c.status.rawValue, statusNote: c.statusNote,
            capabilities: c.capabilities.map(\.value), defaultFrequency: c.defaultFrequency.description,
            docsURL: c.docsURL, configJSON: TemplateConfig(c).jsonText)
    }

    /// The settings of a configured connection, as stored.
    public static func settings(_ c: ConnectionConfig, integration: IntegrationConfig) -> ConnectionSettings {
        var fields: [String: JSONValue] = [:]
        for entry in c.fields.entries { fields[entry.name] = entry.value }
        let streams = c.streams?.map(\.value) ?? integration.streams.entries.filter { !$0.value.lookupOnly }.map(\.name)
        let schedule = (c.frequency ?? integration.defaultFrequency).description
        // The deployment's per-stream frequency, else the integration's for the stream; only the
        // streams whose schedule differs from the connection's are kept.
        var streamSchedules: [String: String] = [:]
        for name in streams {
            let own = c.streamFrequencies[name]?.value ?? integration.streams[name]?.frequency
            if let own, own.description != schedule { streamSchedules[name] = own.description }
        }
        return ConnectionSettings(
            fields: fields,
            streams: streams,
            environment: c.environment?.value, baseURL: c.baseURL,
            hosts: c.hosts.entries.isEmpty ? nil : Dictionary(c.hosts.entries.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
            tokenURL: c.tokenURL, authorizeURL: c.authorizeURL,
            schedule: schedule, streamSchedules: streamSchedules.isEmpty ? nil : streamSchedules)
    }

    /// The stored form of a configured connection. Credentials stay references.
    public static func connectionRecord(
        _ c: ConnectionConfig, contractor: String, integration: IntegrationConfig, movedOrigins: OriginMoves = OriginMoves()
    ) -> ConnectionRecord {
        var credentials = JSONObject()
        for entry in c.credentials.entries {
            if let r = entry.value.reference { credentials[entry.name] = .string(r.description) }
        }
        let frequency = c.frequency ?? integration.defaultFrequency
        let status: ConnectionStatus = integration.status == .retired ? .disconnected : .pending
        return ConnectionRecord(
            demoId: contractor, connectionKey: c.id?.value ?? "", integrationType: integration.provider,
            status: status, credentialsJSON: JSONValue.object(credentials).jsonText,
            configJSON: settings(c, integration: integration).movingOrigins(movedOrigins).jsonText,
            syncFrequency: frequency.columnValue, autoSync: c.autoSync)
    }

    /// `movedOrigins`: origins the deployment names that listen elsewhere (the demo's sandbox
    /// on another port); the stored connections point at the new place.
    static func deploy(project: Project, deployment: DeploymentConfig?, store: any SyncStore,
                       movedOrigins: OriginMoves = OriginMoves()) async throws -> DeployReport
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
                connections.append(try await store.upsertConnection(
                    connectionRecord(c, contractor: demoId, integration: integration, movedOrigins: movedOrigins)))
            }
        }
        return DeployReport(migration: migration, templates: templates, connections: connections)
    }
}
