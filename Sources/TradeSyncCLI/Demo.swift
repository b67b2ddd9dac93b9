import ArgumentParser
import Foundation
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine
import TradeSyncSandbox

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the demo: a sandbox, two real syncs into SQLite, and a second sync that inserts nothing.",
        discussion: """
            Starts the provider sandbox on loopback, syncs the example contractor's ServiceTitan and
            Google Business Profile connections into a fresh SQLite file, prints the runs, syncs again and
            shows that nothing was re-inserted. The connections reach the sandbox through their base_url
            and token_url overrides: the same code path as the real hosts.
            Exit status: 0 on success, 1 on an error (configuration problems, a missing deployment file,
            a failed sync), 64 on a command-line usage error.
            """
    )

    @Option(name: [.short, .long], help: "Deployment file.")
    var deployment = "examples/austin-hvac/tradesync.yaml"

    @Option(help: "Sandbox port (the deployment's overrides name 8099; another free port is used if it is taken).")
    var port = 8099

    @Option(help: "ServiceTitan jobs in the sandbox.")
    var jobs = 1_200

    @Option(help: "Store to use instead of the deployment's (it is emptied first only when it is the deployment's SQLite file).")
    var store: String?

    static let connectionKeys = ["austin-servicetitan", "austin-google"]

    /// The port the example deployment's overrides name.
    static let deployedPort = 8099

    func run() async throws {
        let options = try DeploymentOptions.parse(["--deployment", deployment] + (store.map { ["--store", $0] } ?? []))
        let (project, config) = try options.load()
        var sandboxConfig = SandboxConfiguration()
        sandboxConfig.serviceTitan.jobs = jobs
        let sandbox = ProviderSandbox(configuration: sandboxConfig)
        do {
            try await sandbox.start(port: port)
        } catch {
            try await sandbox.start(port: 0)
            print("port \(port) is taken: the sandbox listens on \(sandbox.port) and the demo points the overrides there")
        }
        print("sandbox: \(sandbox.baseURL)  (each provider's own paths: ServiceTitan under /servicetitan, Google Business Profile under /google)")
        do {
            try Demo.ensureKey(config)
            if store == nil, case .sqlite(let path)? = config.storeLocation {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
                print("store: sqlite:\(path) (fresh)")
            }
            // The sandbox's made-up credentials, its port and the refresh token an OAuth consent would
            // have given are inputs to the engine, which stores and uses them as for any deployment.
            let inputs = WorkspaceInputs(
                storeOverride: try options.storeOverride(),
                environment: Demo.sandboxEnvironment(config, sandbox: sandboxConfig),
                movedOrigins: OriginMoves([(from: "http://127.0.0.1:\(Demo.deployedPort)", to: sandbox.baseURL)]),
                grants: ["austin-google": sandbox.issueGoogleRefreshToken()], requiresKey: true)
            try await DeploymentOptions.withWorkspace(project: project, deployment: config, inputs: inputs) { workspace in
                let report = try await workspace.migrate()
                let connections = try Demo.connectionKeys.map { key in
                    try pick(key, from: report.connections)
                }
                for pass in 1...2 {
                    print("\n== sync \(pass)\(pass == 2 ? " (incremental: nothing changed at the source)" : "")")
                    var results: [RunResult] = []
                    for c in connections {
                        results.append(try await workspace.sync(c, options: SyncOptions(syncType: "manual")))
                    }
                    print(RunTable.render(results))
                }
                try await summary(workspace, connections: connections, sandbox: sandbox)
            }
        } catch {
            await sandbox.stop()
            throw error
        }
        await sandbox.stop()
    }

    /// The demo seals its tokens like any deployment: with the key its `secrets_key: file:…`
    /// names, made here (32 random bytes, base64, mode 0600) the first time.
    static func ensureKey(_ config: DeploymentConfig) throws {
        guard case .file(let path)? = config.secretsKey?.reference else { return }
        let full = path.hasPrefix("/") ? path : config.directory + "/" + path
        guard !FileManager.default.fileExists(atPath: full) else { return }
        let directory = (full as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: full, contents: Data((SecretKey.generateText() + "\n").utf8),
                                             attributes: [.posixPermissions: 0o600])
        else { throw CommandError("\(full): cannot create the demo's key file") }
        print("key: \(full) (new, mode 0600)")
    }

    /// The `env:` references of the demo connections, answered with the sandbox's client
    /// credentials; anything else falls through to the real environment.
    static func sandboxEnvironment(_ config: DeploymentConfig, sandbox: SandboxConfiguration) -> @Sendable (String) -> String? {
        var values: [String: String] = [:]
        for c in config.contractors.flatMap(\.connections) where connectionKeys.contains(c.id?.value ?? "") {
            let slots: [String: String]
            switch c.integration?.value {
            case "servicetitan":
                slots = ["client_id": sandbox.serviceTitan.clientId, "client_secret": sandbox.serviceTitan.clientSecret,
                         "app_key": sandbox.serviceTitan.appKey]
            case "google-business-profile":
                slots = ["client_id": sandbox.google.clientId, "client_secret": sandbox.google.clientSecret]
            default:
                slots = [:]
            }
            for e in c.credentials.entries {
                if case .environment(let name)? = e.value.reference, let v = slots[e.name] { values[name] = v }
            }
        }
        let fixed = values
        return { fixed[$0] ?? ProcessInfo.processInfo.environment[$0] }
    }

    func summary(_ workspace: Workspace, connections: [ConnectionRecord], sandbox: ProviderSandbox) async throws {
        print("\n== what is in the store")
        var rows = [["table", "rows", "sandbox has"]]
        let expected: [String: Int] = [
            "jobs": sandbox.serviceTitanRecordCount("jobs"), "customers": sandbox.serviceTitanRecordCount("customers"),
            "estimates": sandbox.serviceTitanRecordCount("estimates"), "invoices": sandbox.serviceTitanRecordCount("invoices"),
            "technicians": sandbox.serviceTitanRecordCount("technicians"), "reviews": sandbox.googleReviewCount(),
            "posts": sandbox.googlePostCount(),
        ]
        var ratings: [String: Int] = [:]
        var jobTypes: [String: Int] = [:]
        let project = workspace.project
        for c in connections {
            guard let integration = project.integration(c.integrationType) else { continue }
            for s in integration.streams.entries where !s.value.lookupOnly {
                guard let name = s.value.entity?.value, let entity = project.dataModel.entity(name) else { continue }
                let stored = try await workspace.storedRows(entity: name, connection: c)
                rows.append([entity.table, String(stored.count), expected[name].map(String.init) ?? "-"])
                if name == "reviews" { for r in stored.values { ratings[(r.values["rating"] ?? nil) ?? "null", default: 0] += 1 } }
                if name == "jobs" { for r in stored.values { jobTypes[(r.values["job_type"] ?? nil) ?? "null", default: 0] += 1 } }
            }
        }
        print(RunTable.table(rows))
        print("\nGoogle ratings stored as numbers: " + ratings.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
        print("ServiceTitan job types (via the job-types lookup): " + jobTypes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
    }
}

struct Sandbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the provider sandbox (ServiceTitan and Google Business Profile emulators) until interrupted.",
        discussion: """
            Exit status: 0 when interrupted, 1 on an error (the port cannot be bound), 64 on a command-line
            usage error.
            """
    )

    @Option(help: "Port on 127.0.0.1.")
    var port = 8099

    @Option(help: "ServiceTitan jobs.")
    var jobs = 1_200

    @Option(help: "Google reviews per location.")
    var reviews = 120

    @Option(help: "Records per ServiceTitan export page.")
    var exportPageSize = 500

    func run() async throws {
        var config = SandboxConfiguration()
        config.serviceTitan.jobs = jobs
        config.serviceTitan.exportPageSize = exportPageSize
        config.google.reviewsPerLocation = reviews
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: port)
        print("""
            sandbox listening on \(sandbox.baseURL)
              ServiceTitan  base_url \(sandbox.baseURL)/servicetitan  token_url \(sandbox.baseURL)/servicetitan/connect/token
                            tenant \(config.serviceTitan.tenantId), client_id \(config.serviceTitan.clientId), client_secret \(config.serviceTitan.clientSecret), app_key \(config.serviceTitan.appKey)
              Google        base_url \(sandbox.baseURL)/google  token_url \(sandbox.baseURL)/google/token
                            authorize_url \(sandbox.baseURL)/google/o/oauth2/v2/auth
                            client_id \(config.google.clientId), client_secret \(config.google.clientSecret)
                            a refresh token: \(sandbox.issueGoogleRefreshToken())
            (these are the sandbox's own made-up credentials; press Ctrl-C to stop)
            """)
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(3600))
        }
    }
}
