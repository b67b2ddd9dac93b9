import Foundation
public import TradeSyncConfig
public import TradeSyncCore
import TradeSyncSources
import TradeSyncStore

/// An API request that cannot be met: the HTTP status it answers and what to tell the caller.
public struct APIRequestError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String
    /// Every problem of a create request, each naming the request field it is about.
    public var fieldErrors: [(field: String, message: String)]

    public init(_ status: Int, _ message: String, fieldErrors: [(field: String, message: String)] = []) {
        self.status = status
        self.message = message
        self.fieldErrors = fieldErrors
    }

    public var description: String { message }
}

/// What the create request's keys are called in a deployment file, and back: the request
/// speaks the seed's names (`integration_type`, `config`, `sync_frequency`).
enum CreateRequestKeys {
    static let toConfig: [String: String] = [
        "integration_type": "integration", "connection_key": "id", "config": "fields", "sync_frequency": "frequency",
        "credentials": "credentials", "auto_sync": "auto_sync", "streams": "streams", "environment": "environment",
        "base_url": "base_url", "hosts": "hosts", "token_url": "token_url", "authorize_url": "authorize_url",
    ]
    static let toRequest = Dictionary(toConfig.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
    static let all = ["demoId"] + toConfig.keys.sorted()

    /// `fields.tenant_id` → `config.tenant_id`.
    static func requestField(_ keyPath: String) -> String {
        let path = keyPath.hasPrefix(".") ? String(keyPath.dropFirst()) : keyPath
        guard !path.isEmpty else { return "body" }
        let head = path.prefix { $0 != "." && $0 != "[" }
        return (toRequest[String(head)] ?? String(head)) + path.dropFirst(head.count)
    }
}

/// The HTTP API's reads and writes (`/api/contractor/integrations…`), in the seed's shapes and
/// column names, each checked against the caller: a connection of another contractor is not
/// found, one a deployment file declares is read-only.
extension Workspace {
    /// The deployment file that declares the connection (read-only through the API), or nil.
    public func managedIn(_ c: ConnectionRecord) -> String? {
        guard let deployment else { return nil }
        let declared = deployment.contractors.contains { contractor in
            contractor.id?.value == c.demoId && contractor.connections.contains { $0.id?.value == c.connectionKey }
        }
        return declared ? deployment.file : nil
    }

    /// The connection with this store id if the caller may see it; else 404, whether it exists or not.
    public func visibleConnection(id: String, caller: APICaller) async throws -> ConnectionRecord {
        guard !id.isEmpty, let c = try await store.connection(id: id), caller.sees(c.demoId) else {
            throw APIRequestError(404, "no integration '\(id)'")
        }
        return c
    }

    /// A connection the API may change: visible, and not declared in a deployment file (409).
    public func mutableConnection(id: String, caller: APICaller) async throws -> ConnectionRecord {
        let c = try await visibleConnection(id: id, caller: caller)
        if let file = managedIn(c) { throw APIRequestError(409, "managed in git: \(file)") }
        return c
    }

    /// `GET /api/contractor/integrations`: the caller's connections (one contractor's with
    /// `demoId`), each with its `contractor_integration_summary` row.
    public func apiIntegrations(caller: APICaller, demoId: String?) async throws -> [JSONValue] {
        if let demoId, !caller.sees(demoId) { throw APIRequestError(404, "no contractor '\(demoId)'") }
        let summaries = Dictionary(try await store.summary().map { ($0.integrationId, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [JSONValue] = []
        for c in try await store.connections(demoId: demoId) where caller.sees(c.demoId) {
            let s = summaries[c.id]
            let lastRun = try await store.runs(integrationId: c.id, limit: 1).first
            let settings = try? c.settings()
            let managed = managedIn(c)
            out.append(.object(JSONObject([
                ("id", .string(c.id)), ("integration_id", .string(c.id)), ("demo_id", .string(c.demoId)),
                ("connection_key", .string(c.connectionKey)), ("integration_type", .string(c.integrationType)),
                ("display_name", project.integration(c.integrationType).map { .string($0.displayName) } ?? .null),
                ("status", .string(c.status.rawValue)), ("sync_frequency", .string(c.syncFrequency)),
                ("schedule", settings?.schedule.map(JSONValue.string) ?? .null), ("auto_sync", .bool(c.autoSync)),
                ("last_synced_at", Workspace.iso(c.lastSyncedAt)), ("last_error", c.lastError.map(JSONValue.string) ?? .null),
                ("total_syncs", .integer(Int64(s?.totalSyncs ?? 0))), ("successful_syncs", .integer(Int64(s?.successfulSyncs ?? 0))),
                ("failed_syncs", .integer(Int64(s?.failedSyncs ?? 0))), ("records_inserted", .integer(Int64(s?.recordsInserted ?? 0))),
                ("records_synced", .integer(Int64(s?.recordsSynced ?? 0))), ("last_run_started_at", Workspace.iso(lastRun?.startedAt)),
                ("last_run_status", lastRun.map { .string($0.status.rawValue) } ?? .null),
                ("created_by", .string(managed != nil ? "git" : settings?.createdBy ?? "store")),
                ("managed_in", managed.map(JSONValue.string) ?? .null),
            ])))
        }
        return out
    }

    /// `GET /api/contractor/integrations/templates`: every `contractor_integration_templates` row.
    public func apiTemplates() async throws -> [JSONValue] {
        try await store.templates().map { t in
            .object(JSONObject([
                ("integration_type", .string(t.integrationType)), ("display_name", .string(t.displayName)),
                ("description", t.description.map(JSONValue.string) ?? .null), ("auth_type", .string(t.authType)),
                ("status", .string(t.status)), ("status_note", t.statusNote.map(JSONValue.string) ?? .null),
                ("capabilities", .array(t.capabilities.map(JSONValue.string))), ("default_frequency", .string(t.defaultFrequency)),
                ("docs_url", t.docsURL.map(JSONValue.string) ?? .null), ("config", (try? JSONValue.parse(t.configJSON)) ?? .object(JSONObject())),
            ]))
        }
    }

    /// `GET /api/contractor/integrations/logs`: one visible connection's `contractor_sync_logs`, newest first.
    public func apiLogs(integrationId: String, limit: Int, caller: APICaller) async throws -> [JSONValue] {
        let c = try await visibleConnection(id: integrationId, caller: caller)
        return try await store.runs(integrationId: c.id, limit: limit).map { r in
            .object(JSONObject([
                ("id", .string(r.id)), ("integration_id", .string(r.integrationId)), ("demo_id", .string(r.demoId)),
                ("entity_type", .string(r.entityType)), ("sync_type", .string(r.syncType)), ("status", .string(r.status.rawValue)),
                ("records_fetched", .integer(Int64(r.fetched))), ("records_inserted", .integer(Int64(r.inserted))),
                ("records_updated", .integer(Int64(r.updated))), ("records_unchanged", .integer(Int64(r.unchanged))),
                ("records_failed", .integer(Int64(r.failed))), ("duration_ms", r.durationMs.map(JSONValue.integer) ?? .null),
                ("error_message", r.errorMessage.map(JSONValue.string) ?? .null),
                ("started_at", Workspace.iso(r.startedAt)), ("completed_at", Workspace.iso(r.completedAt)),
                ("details", (try? JSONValue.parse(r.detailsJSON)) ?? .object(JSONObject())),
            ]))
        }
    }

    /// `POST /api/contractor/integrations`: a connection from a template, checked as a deployment
    /// file's connection is (every problem named by its request field), stored with
    /// `created_by: api`. Credentials are references (`env:NAME`, `file:PATH`), never values.
    public func apiCreateIntegration(_ body: JSONValue, caller: APICaller) async throws -> (record: ConnectionRecord, warnings: [String]) {
        guard case .object(let request) = body else { throw APIRequestError(400, "body: expected a JSON object") }
        var problems: [(field: String, message: String)] = []
        for key in request.keys where !CreateRequestKeys.all.contains(key) {
            problems.append((key, "unknown field (expected one of \(CreateRequestKeys.all.joined(separator: ", ")))"))
        }
        let demoId: String
        switch (request["demoId"], caller) {
        case (.string(let d)?, _): demoId = d
        case (nil, .contractor(let own, _)): demoId = own
        case (nil, .admin): throw APIRequestError(400, "demoId: required", fieldErrors: [("demoId", "required")])
        default: throw APIRequestError(400, "demoId: expected a string", fieldErrors: [("demoId", "expected a string")])
        }
        guard caller.sees(demoId) else { throw APIRequestError(404, "no contractor '\(demoId)'") }
        guard contractorIds.contains(demoId) else {
            throw APIRequestError(400, "demoId: no contractor '\(demoId)' in \(deploymentFile)", fieldErrors: [("demoId", "no contractor '\(demoId)' in \(deploymentFile)")])
        }
        guard case .string(let integrationType)? = request["integration_type"] else {
            let m = request["integration_type"] == nil ? "required" : "expected a string"
            throw APIRequestError(400, "integration_type: \(m)", fieldErrors: problems + [("integration_type", m)])
        }
        let key: String
        switch request["connection_key"] {
        case .string(let k)?: key = k
        case nil: key = "\(demoId)-\(integrationType)"
        default: throw APIRequestError(400, "connection_key: expected a string", fieldErrors: [("connection_key", "expected a string")])
        }
        var entries: [(key: String, value: JSONValue)] = [("id", .string(key))]
        for (name, value) in request.entries where name != "demoId" && name != "connection_key" {
            if let configName = CreateRequestKeys.toConfig[name] { entries.append((configName, value)) }
        }
        let (config, diagnostics) = ConnectionRequest.validate(
            ConfigTree(json: .object(JSONObject(entries))), file: "request", project: project,
            directory: deployment?.directory ?? project.root, environment: inputs.environment)
        problems += diagnostics.filter { $0.severity == .error }.map { (CreateRequestKeys.requestField($0.keyPath), $0.message) }
        if !problems.isEmpty {
            throw APIRequestError(400, problems.map { "\($0.field): \($0.message)" }.joined(separator: "; "), fieldErrors: problems)
        }
        guard let config, let integration = project.integration(integrationType) else {
            throw APIRequestError(400, "integration_type: unknown integration '\(integrationType)'", fieldErrors: [("integration_type", "unknown")])
        }
        if deployment?.contractors.first(where: { $0.id?.value == demoId })?.connections.contains(where: { $0.id?.value == key }) == true {
            throw APIRequestError(409, "managed in git: \(deploymentFile)")
        }
        if let existing = try await store.connections(demoId: demoId).first(where: { $0.connectionKey == key }) {
            throw APIRequestError(409, "connection_key: integration '\(key)' already exists (id \(existing.id))",
                                  fieldErrors: [("connection_key", "already exists")])
        }
        var record = Deployer.connectionRecord(config, contractor: demoId, integration: integration, movedOrigins: inputs.movedOrigins)
        var settings = try record.settings()
        settings.createdBy = "api"
        record.configJSON = settings.jsonText
        let stored = try await store.upsertConnection(record)
        return (stored, diagnostics.filter { $0.severity == .warning }.map { "\(CreateRequestKeys.requestField($0.keyPath)): \($0.message)" })
    }

    /// `DELETE /api/contractor/integrations`: disconnects a connection the API made. An OAuth
    /// grant goes through `OAuthConnector.disconnect` (revoked at the provider where it can be);
    /// any other connection forgets its tokens and is marked `disconnected`. Synced data stays.
    public func apiDisconnect(id: String, caller: APICaller) async throws -> (record: ConnectionRecord, outcome: DisconnectOutcome) {
        let c = try await mutableConnection(id: id, caller: caller)
        let outcome: DisconnectOutcome
        if project.integration(c.integrationType)?.auth.method is AuthorizationCodeGrant {
            outcome = try await oauth().disconnect(c)
        } else {
            try await store.deleteTokens(integrationId: c.id)
            try await store.setConnectionStatus(id: c.id, status: .disconnected, error: nil)
            outcome = DisconnectOutcome(revoked: false, note: "no OAuth grant to revoke")
        }
        return (try await store.connection(id: c.id) ?? c, outcome)
    }

    static func iso(_ micros: Int64?) -> JSONValue {
        micros.map { .string(String(Timestamp.iso8601(micros: $0).prefix(19)) + "Z") } ?? .null
    }
}
