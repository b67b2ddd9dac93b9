public import Foundation
public import Logging
public import TradeSyncConfig
public import TradeSyncCore
import TradeSyncSources
import TradeSyncStore

/// What a caller hands the engine besides the project and its deployment. Everything here is an
/// input, never a write from outside: the demo's sandbox credentials, port and refresh token
/// reach the store only through the engine.
public struct WorkspaceInputs: Sendable {
    /// The store to use instead of the deployment's (`--store`).
    public var storeOverride: StoreLocation?
    /// Answers `env:` credential references (and an `env:` secrets key); the process environment
    /// by default. The demo answers its connections' references with the sandbox's credentials.
    public var environment: @Sendable (String) -> String?
    /// Origins the deployment names that listen elsewhere now (the demo's sandbox on a free port):
    /// `migrate()` stores the connections pointing at the new origin.
    public var movedOrigins: OriginMoves
    /// Refresh tokens granted outside `connect`, by connection id (the demo's sandbox issues
    /// one): `migrate()` seals and stores each, replacing what was stored, as `connect` would.
    public var grants: [String: String]
    /// Callback fields that come with a grant of `grants`, by connection id (QuickBooks'
    /// `realmId`, as its callback would carry it): stored with the tokens, as `connect` stores
    /// the callback's, under the callback parameter's name.
    public var grantCallbackFields: [String: [String: String]] = [:]
    /// Refuse to open without a usable `secrets_key`, before the store is touched (commands that
    /// store tokens).
    public var requiresKey: Bool
    public var logger: Logger

    public init(storeOverride: StoreLocation? = nil,
                environment: @escaping @Sendable (String) -> String? = { ProcessInfo.processInfo.environment[$0] },
                movedOrigins: OriginMoves = OriginMoves(), grants: [String: String] = [:], requiresKey: Bool = false,
                logger: Logger = Logger(label: "tradesync")) {
        self.storeOverride = storeOverride
        self.environment = environment
        self.movedOrigins = movedOrigins
        self.grants = grants
        self.requiresKey = requiresKey
        self.logger = logger
    }
}

/// No store is named: neither the deployment nor the caller.
public struct NoStoreError: Error, Sendable, CustomStringConvertible {
    public var deploymentFile: String
    public var description: String { "\(deploymentFile): no store" }
}

/// One open deployment: the engine's single entry for the CLI, the benchmark and a server. It
/// owns the store, the HTTP transport and the sync runner, and answers in Engine and Core types,
/// so its callers compose nothing and import neither the store nor the sources module.
///
/// Open it with `open` (or `with`, which also closes it), call what the command needs, close it.
public final class Workspace: Sendable {
    public let project: Project
    /// Nil for a deployment made in memory (the benchmark registers its connection itself).
    public let deployment: DeploymentConfig?
    public let storeLocation: StoreLocation
    let store: any SyncStore
    let transport: AsyncHTTPTransport
    let inputs: WorkspaceInputs
    let resolver: CredentialResolver
    /// The deployment's token sealer, nil without `secrets_key`, or why its key cannot be used.
    let sealing: Result<SecretSealer?, SealError>
    let runner: SyncRunner

    var deploymentFile: String { deployment?.file ?? "the deployment file" }

    init(project: Project, deployment: DeploymentConfig?, location: StoreLocation, store: any SyncStore,
         transport: AsyncHTTPTransport, inputs: WorkspaceInputs, resolver: CredentialResolver,
         sealing: Result<SecretSealer?, SealError>) {
        self.project = project
        self.deployment = deployment
        self.storeLocation = location
        self.store = store
        self.transport = transport
        self.inputs = inputs
        self.resolver = resolver
        self.sealing = sealing
        let (sealer, problem): (SecretSealer?, SealError?)
        switch sealing {
        case .success(let s): (sealer, problem) = (s, nil)
        case .failure(let e): (sealer, problem) = (nil, e)
        }
        runner = SyncRunner(project: project, store: store, transport: transport, resolver: resolver,
                            logger: inputs.logger, sealer: sealer, keyProblem: problem,
                            deploymentFile: deployment?.file ?? "the deployment file")
    }

    /// Opens the deployment's store (or `inputs.storeOverride`) and an HTTP transport.
    public static func open(project: Project, deployment: DeploymentConfig?, inputs: WorkspaceInputs = WorkspaceInputs())
        async throws -> Workspace
    {
        guard let location = inputs.storeOverride ?? deployment?.storeLocation else {
            throw NoStoreError(deploymentFile: deployment?.file ?? "the deployment")
        }
        let directory = deployment?.directory ?? FileManager.default.currentDirectoryPath
        let resolver = CredentialResolver(environment: inputs.environment, baseDirectory: directory)
        let sealing: Result<SecretSealer?, SealError>
        if let deployment {
            do {
                sealing = .success(try SecretSealer.load(deployment, resolver: resolver))
            } catch let error as SealError {
                sealing = .failure(error)
            } catch {
                sealing = .failure(.badKey(field: "\(deployment.file): secrets_key", reference: "?", reason: "\(error)"))
            }
        } else {
            sealing = .success(nil)
        }
        if inputs.requiresKey {
            // Before the store is touched: a command that cannot keep tokens changes nothing.
            _ = try Workspace.requireSealer(sealing, deploymentFile: deployment?.file ?? "the deployment file")
        }
        let store = try await StoreFactory.open(location)
        return Workspace(project: project, deployment: deployment, location: location, store: store,
                         transport: AsyncHTTPTransport(), inputs: inputs, resolver: resolver, sealing: sealing)
    }

    /// Opens, runs `body`, and closes whatever happens.
    public static func with<T: Sendable>(project: Project, deployment: DeploymentConfig?,
                                         inputs: WorkspaceInputs = WorkspaceInputs(),
                                         _ body: (Workspace) async throws -> T) async throws -> T {
        let workspace = try await open(project: project, deployment: deployment, inputs: inputs)
        let result: T
        do {
            result = try await body(workspace)
        } catch {
            try? await workspace.close()
            throw error
        }
        try await workspace.close()
        return result
    }

    public func close() async throws {
        await transport.shutdown()
        try await store.close()
    }

    // MARK: Keys

    static func requireSealer(_ sealing: Result<SecretSealer?, SealError>, deploymentFile: String) throws -> SecretSealer {
        guard let sealer = try sealing.get() else { throw SealError.noKey(deploymentFile: deploymentFile) }
        return sealer
    }

    /// The token sealer; throws `SealError` without a usable `secrets_key`, saying how to make one.
    public func sealer() throws -> SecretSealer {
        try Workspace.requireSealer(sealing, deploymentFile: deploymentFile)
    }

    /// Seals every stored token again under the current key (`rotate-key`).
    public func rotateKey() async throws -> ResealReport {
        try await TokenVault(store: store, sealer: sealer()).resealAll()
    }

    // MARK: Deployment

    /// Brings the store in line with the project and deployment: schema, templates, connections
    /// (with `inputs.movedOrigins` applied), then the grants of `inputs.grants`.
    public func migrate() async throws -> DeployReport {
        let report = try await Deployer.deploy(project: project, deployment: deployment, store: store,
                                               movedOrigins: inputs.movedOrigins)
        for (key, refreshToken) in inputs.grants.sorted(by: { $0.key < $1.key }) {
            guard let c = report.connections.first(where: { $0.connectionKey == key }) else {
                throw RunnerError.configuration("a refresh token was given for connection '\(key)', which the deployment does not have")
            }
            // The same shape `OAuthConnector.complete` stores: `realmId` → `realm_id`.
            var fields = JSONObject()
            for (name, value) in (inputs.grantCallbackFields[key] ?? [:]).sorted(by: { $0.key < $1.key }) { fields[OAuthConnector.snakeCase(name)] = .string(value) }
            try await TokenVault(store: store, sealer: sealer()).replaceAll(
                OAuthTokens(accessToken: nil, refreshToken: refreshToken, expiresAt: nil),
                integrationId: c.id, callbackFieldsJSON: fields.entries.isEmpty ? nil : JSONValue.object(fields).jsonText)
        }
        return report
    }

    /// Registers a connection that no deployment file declares (the benchmark's; a server's).
    public func register(_ connection: ConnectionRecord) async throws -> ConnectionRecord {
        try await store.upsertConnection(connection)
    }

    /// Every connection in the store.
    public func connections() async throws -> [ConnectionRecord] {
        try await store.connections(demoId: nil)
    }

    public func overview() async throws -> [ConnectionOverview] {
        try await ConnectionOverview.all(store)
    }

    // MARK: Syncs

    public func sync(_ connection: ConnectionRecord, options: SyncOptions = SyncOptions()) async throws -> RunResult {
        try await runner.run(connection, options: options)
    }

    /// Runs from the sync log, newest first: one connection's (its store id) or all.
    public func runs(connectionId: String?, limit: Int) async throws -> [SyncRunRecord] {
        try await store.runs(integrationId: connectionId, limit: limit)
    }

    /// Records that failed mapping and are kept for retry, oldest first.
    public func failures(connectionId: String?, stream: String?, limit: Int) async throws -> [KeptFailure] {
        try await store.keptFailures(integrationId: connectionId, stream: stream, limit: limit)
    }

    /// The stored rows of one model entity for one connection, by external id.
    public func storedRows(entity name: String, connection: ConnectionRecord) async throws -> [String: StoredRow] {
        guard let entity = project.dataModel.entity(name) else {
            throw RunnerError.configuration("the model has no entity '\(name)'")
        }
        return try await store.rows(entity: entity, integrationId: connection.id)
    }

    // MARK: OAuth

    /// The authorization-code flow over this workspace's store and transport (`connect`,
    /// `disconnect`, `refresh`); needs the deployment's key.
    public func oauth() throws -> OAuthConnector {
        OAuthConnector(project: project, vault: TokenVault(store: store, sealer: try sealer()), transport: transport,
                       resolver: resolver)
    }
}
