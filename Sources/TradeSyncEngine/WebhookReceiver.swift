import Foundation
import Logging
import TradeSyncConfig
public import TradeSyncCore
import TradeSyncMapping
import TradeSyncSources
import TradeSyncStore

/// What became of one webhook delivery. The server turns it into a status code; nothing here
/// knows HTTP.
public enum WebhookOutcome: Sendable, Equatable {
    /// No connection of that provider with that id, or its integration takes no signed webhooks.
    case unknownConnection
    /// The signature header is missing or does not sign the body: nothing was stored.
    case badSignature
    /// Signed, but not a JSON object: nothing was stored.
    case malformed(String)
    /// Stored through the page write (or found unchanged, or kept as a failed record).
    case accepted(WebhookReceipt)
}

public struct WebhookReceipt: Sendable, Equatable {
    /// The delivery's row in the sync log (`sync_type` `webhook`).
    public var runId: String
    /// The application id the delivery is keyed on (idempotence).
    public var externalId: String
    public var inserted: Int
    public var updated: Int
    public var unchanged: Int
    /// Why the record did not map; it is kept with its raw payload, as a pull run keeps one.
    public var failure: String?
}

/// Receives one signed delivery of a webhook-only integration (Indeed Apply): finds the
/// connection, checks the signature the integration declares (`auth.kind: webhook_signature`)
/// with the secret its credential reference names, maps the payload through the provider's
/// mapping and writes it with the same page write a pull run uses, so the application id is the
/// identity (a replay plans `unchanged`: nothing inserted, nothing updated) and the delivery is a
/// run in the sync log.
struct WebhookReceiver: Sendable {
    let project: Project
    let store: any SyncStore
    let resolver: CredentialResolver
    let logger: Logger
    /// The payload field that identifies a delivery (Indeed Apply's application `id`).
    static let primaryKey = "id"

    /// The `provider` label of a delivery: the URL's provider when the project declares it, else
    /// `unknown` (a label taken from any URL a stranger sends would grow without bound).
    static func providerLabel(_ provider: String, in project: Project) -> String {
        project.integration(provider) != nil ? provider : "unknown"
    }

    /// Finds the connection and its signature rule; nil when the route should answer 404.
    func signedConnection(provider: String, connectionKey: String) async throws
        -> (ConnectionRecord, IntegrationConfig, WebhookSignatureAuth.Signature)?
    {
        guard let integration = project.integration(provider),
            let method = integration.auth.method as? WebhookSignatureAuth, let signature = method.signature
        else { return nil }
        let all = try await store.connections(demoId: nil)
        guard let connection = all.first(where: { $0.connectionKey == connectionKey && $0.integrationType == provider })
        else { return nil }
        return (connection, integration, signature)
    }

    /// The mapping the provider's deliveries go through: its one mapping file whose target is an
    /// entity the integration declares in `capabilities` (mappings/indeed/applications.yaml).
    func mapping(for integration: IntegrationConfig) -> (stream: String, config: MappingConfig, entity: EntityModel)? {
        let prefix = integration.provider + "/"
        let capabilities = Set(integration.capabilities.map(\.value))
        for file in project.mappings.sorted(by: { $0.name < $1.name }) where file.name.hasPrefix(prefix) {
            guard let target = file.config.target?.value, capabilities.contains(target),
                let entity = project.dataModel.entity(target)
            else { continue }
            return (String(file.name.dropFirst(prefix.count)), file.config, entity)
        }
        return nil
    }

    func receive(provider: String, connectionKey: String, body: [UInt8], header: (String) -> String?) async throws
        -> WebhookOutcome
    {
        var logger = self.logger
        logger[metadataKey: "integration"] = "\(provider)"
        logger[metadataKey: "connection"] = "\(connectionKey)"
        guard let (connection, integration, signature) = try await signedConnection(provider: provider,
                                                                                   connectionKey: connectionKey)
        else {
            EngineMetrics.webhook(provider: Self.providerLabel(provider, in: project), outcome: "unknown_connection")
            return .unknownConnection
        }
        // The secret is resolved per delivery, at the last moment, like a run's credentials.
        let secret = try resolveSecret(connection, slot: signature.credential)
        guard let sent = header(signature.header), !sent.isEmpty,
            signature.algorithm.verify(body, signature: sent, secret: secret)
        else {
            logger.warning("webhook refused: bad or missing signature", metadata: ["header": "\(signature.header)"])
            EngineMetrics.webhook(provider: provider, outcome: "bad_signature")
            return .badSignature
        }
        let payload: JSONValue
        do {
            payload = try JSONValue.parse(body)
        } catch {
            EngineMetrics.webhook(provider: provider, outcome: "malformed")
            return .malformed("the body is not JSON: \(error)")
        }
        guard case .object = payload else {
            EngineMetrics.webhook(provider: provider, outcome: "malformed")
            return .malformed("the body is not a JSON object")
        }
        guard let (stream, mapping, entity) = mapping(for: integration) else {
            throw RunnerError.configuration("\(provider): no mapping under mappings/\(provider)/ targets one of its capabilities")
        }
        return .accepted(try await write(payload, connection: connection, stream: stream, mapping: mapping,
                                         entity: entity, logger: logger))
    }

    func resolveSecret(_ connection: ConnectionRecord, slot: String) throws -> String {
        let refs = (try? JSONValue.parse(connection.credentialsJSON))?.objectValue
        guard let text = refs?[slot]?.stringValue, let reference = CredentialReference(parsing: text) else {
            throw RunnerError.credential(slot: slot, reference: "none", reason: "the connection does not reference it")
        }
        return try resolver.resolve(slot: slot, reference)
    }

    /// Maps and writes the payload as a one-record page of a run of its own.
    func write(_ payload: JSONValue, connection: ConnectionRecord, stream: String, mapping: MappingConfig,
               entity: EntityModel, logger: Logger) async throws -> WebhookReceipt {
        var logger = logger
        let started = currentMicros()
        let runId = try await store.startRun(SyncRunStart(
            integrationId: connection.id, demoId: connection.demoId, entityType: stream, syncType: "webhook",
            startedAt: started))
        logger[metadataKey: "run_id"] = "\(runId)"
        let preparer = RecordPreparer(
            stream: stream, primaryKey: JSONPath(Self.primaryKey), primaryKeyText: Self.primaryKey,
            mapper: RecordMapper(entity: entity, rules: MappingCompiler.rules(mapping)), lookups: LookupTables(),
            redactor: SecretRedactor())
        var streamResult = StreamResult(stream: stream, entity: entity.name)
        streamResult.fetched = 1
        streamResult.pages = 1
        var result = RunResult(runId: runId, connectionKey: connection.connectionKey, integration: connection.integrationType,
                               status: .running, streams: [], failures: [], durationMs: 0, error: nil, dryRun: false)
        var receipt = WebhookReceipt(runId: runId, externalId: "", inserted: 0, updated: 0, unchanged: 0, failure: nil)
        do {
            var records: [MappedRecord] = []
            var kept: [FailedRecord] = []
            var resolved: [String] = []
            switch preparer.prepare(payload) {
            case .mapped(let record):
                records.append(record)
                // A delivery that maps now clears a failure kept from an earlier one.
                resolved.append(record.externalId)
                receipt.externalId = record.externalId
            case .failed(let failure, let keep):
                kept.append(keep)
                result.failures.append(failure)
                receipt.externalId = failure.externalId
                receipt.failure = failure.reason
                streamResult.failed = 1
                logger.warning("webhook record failed mapping", metadata: [
                    "external_id": "\(failure.externalId)", "reason": "\(failure.reason)",
                ])
            }
            var page = PageWrite(
                integrationId: connection.id, demoId: connection.demoId, entity: entity, stream: stream,
                records: records, cursor: nil, now: currentMicros(),
                run: RunCounts(runId: runId, fetched: 1, failed: kept.count), failures: kept, resolvedFailures: resolved)
            // Kept like a pulled record's (`keep_raw`), so `plan` and `apply` can re-map applicants.
            if !records.isEmpty {
                var raws = RawPageBuilder()
                let text = payload.jsonText
                for r in records { raws.append(externalId: r.externalId, text: text) }
                page.rawPage = raws.finish()
            }
            let outcome = try await store.applyPage(page)
            streamResult.inserted = outcome.inserted
            streamResult.updated = outcome.updated
            streamResult.unchanged = outcome.unchanged
            receipt.inserted = outcome.inserted
            receipt.updated = outcome.updated
            receipt.unchanged = outcome.unchanged
            result.streams = [streamResult]
            result.status = kept.isEmpty ? .success : .failed
            result.error = receipt.failure
        } catch {
            result.streams = [streamResult]
            result.status = .failed
            result.error = String(describing: error)
            result.durationMs = (currentMicros() - started) / 1000
            try? await finish(runId: runId, result: result)
            EngineMetrics.run(result, syncType: "webhook")
            EngineMetrics.webhook(provider: connection.integrationType, outcome: "error")
            logger.error("webhook write failed", metadata: ["error": "\(error)"])
            throw error
        }
        result.durationMs = (currentMicros() - started) / 1000
        try await finish(runId: runId, result: result)
        EngineMetrics.run(result, syncType: "webhook")
        EngineMetrics.records(streamResult, provider: connection.integrationType)
        let outcome = receipt.failure != nil ? "failed_mapping" : receipt.inserted + receipt.updated > 0 ? "stored" : "unchanged"
        EngineMetrics.webhook(provider: connection.integrationType, outcome: outcome)
        logger.info("webhook delivery", metadata: [
            "external_id": "\(receipt.externalId)", "outcome": "\(outcome)",
        ])
        return receipt
    }

    func finish(runId: String, result: RunResult) async throws {
        try await store.finishRun(SyncRunFinish(
            runId: runId, status: result.status, completedAt: currentMicros(), durationMs: result.durationMs,
            errorMessage: result.error, detailsJSON: RunDetails(result, keptFailures: SyncRunner.keptFailures).jsonText))
    }
}
