import ArgumentParser
import Foundation
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine
import TradeSyncSandbox

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the demo: a sandbox, six real syncs into SQLite, and a second pass that inserts nothing.",
        discussion: """
            Starts the provider sandbox on loopback, syncs the example contractor's ServiceTitan, Jobber,
            QuickBooks Online, Google Business Profile, Yelp and SerpApi connections into a fresh SQLite
            file, prints the runs, syncs again and shows that nothing was re-inserted. The connections
            reach the sandbox through their base_url / token_url / authorize_url overrides: the same
            code path as the real hosts. The OAuth grants (Jobber, QuickBooks with its realmId, Google)
            are the sandbox's, stored as `tradesync connect` would store them.
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

    /// The six pull connections of the example deployment, in the order the runs are shown.
    static let connectionKeys = ["austin-servicetitan", "austin-jobber", "austin-quickbooks", "austin-google",
                                 "austin-yelp", "austin-serpapi"]

    /// The port the example deployment's overrides name.
    static let deployedPort = 8099

    func run() async throws {
        _ = try await perform()
    }

    /// Runs the demo, printing as it goes; returns each pass's run results (for tests).
    func perform() async throws -> [[RunResult]] {
        let options = try DeploymentOptions.parse(["--deployment", deployment] + (store.map { ["--store", $0] } ?? []))
        let (project, config) = try options.load()
        var sandboxConfig = SandboxConfiguration()
        sandboxConfig.serviceTitan.jobs = jobs
        // Yelp's daily call limit and SerpApi's monthly searches are the defaults (5,000 calls;
        // 250 searches): the two passes spend 4 calls and 3 searches (the second SerpApi pass
        // within the hour is answered from SerpApi's cache, free), so neither pass is deferred.
        sandboxConfig.yelp.dailyLimit = max(sandboxConfig.yelp.dailyLimit, 100)
        sandboxConfig.serpapi.searchesLeft = max(sandboxConfig.serpapi.searchesLeft, 100)
        // Jobber's real bucket (10,000 points restoring 500 a second) makes a first sync of every
        // stream wait about a minute and a half for points; the demo's bucket restores faster so a
        // new user is not left waiting (the throttling itself is tested in ProviderSyncTests).
        sandboxConfig.jobber.restoreRate = max(sandboxConfig.jobber.restoreRate, 10_000)
        sandboxConfig.jobber.maximumAvailable = max(sandboxConfig.jobber.maximumAvailable, 50_000)
        let sandbox = ProviderSandbox(configuration: sandboxConfig)
        do {
            try await sandbox.start(port: port)
        } catch {
            try await sandbox.start(port: 0)
            print("port \(port) is taken: the sandbox listens on \(sandbox.port) and the demo points the overrides there")
        }
        print("sandbox: \(sandbox.baseURL)  (each provider under its own path: /servicetitan /jobber /quickbooks /google /yelp /serpapi)")
        var passes: [[RunResult]] = []
        do {
            try Demo.ensureKey(config)
            if store == nil, case .sqlite(let path)? = config.storeLocation {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
                print("store: sqlite:\(path) (fresh)")
            }
            // The sandbox's made-up credentials, its port and the refresh tokens an OAuth consent would
            // have given (with QuickBooks' realmId, which its callback carries) are inputs to the
            // engine, which stores and uses them as for any deployment.
            var inputs = WorkspaceInputs(
                storeOverride: try options.storeOverride(),
                environment: Demo.sandboxEnvironment(config, sandbox: sandboxConfig),
                movedOrigins: OriginMoves([(from: "http://127.0.0.1:\(Demo.deployedPort)", to: sandbox.baseURL)]),
                grants: ["austin-google": sandbox.issueGoogleRefreshToken(), "austin-jobber": sandbox.issueJobberRefreshToken(),
                         "austin-quickbooks": sandbox.issueQuickBooksRefreshToken()],
                requiresKey: true)
            inputs.grantCallbackFields = ["austin-quickbooks": ["realmId": sandboxConfig.quickbooks.realmId]]
            try await DeploymentOptions.withWorkspace(project: project, deployment: config, inputs: inputs) { workspace in
                let report = try await workspace.migrate()
                let connections = try Demo.connectionKeys.map { key in
                    try pick(key, from: report.connections)
                }
                for pass in 1...2 {
                    print(pass == 1 ? "\n== sync 1 (first sync: everything is new)"
                                    : "\n== sync 2 (incremental: nothing changed at the source, so nothing is inserted)")
                    var results: [RunResult] = []
                    for c in connections {
                        results.append(try await workspace.sync(c, options: SyncOptions(syncType: "manual")))
                    }
                    print(RunTable.render(results))
                    if pass == 2 {
                        // Rankings are a snapshot per keyword and day: the same day's second search
                        // finds the same snapshot rows, so they count as unchanged, not as new rows.
                        print("""
                            Streams with a cursor ask only for what changed since the last run (fetched 0, or the
                            record at the cursor's own instant); Jobber's jobs and Google's reviews, read newest
                            first, stop at the stored cursor after one page. Streams a provider cannot filter by
                            change (Jobber visits and users, Google posts and insights, Yelp) are read again and
                            compared: unchanged. SerpApi keeps one ranking snapshot per keyword and day: the same day's second
                            search (free: SerpApi's hour-long cache) finds today's rows unchanged; tomorrow adds new ones.
                            """)
                    }
                    passes.append(results)
                }
                try await summary(workspace, connections: connections, sandbox: sandbox, keywords: Demo.keywords(config))
            }
        } catch {
            await sandbox.stop()
            throw error
        }
        await sandbox.stop()
        return passes
    }

    /// The SerpApi connection's tracked keywords (for the expected ranking counts).
    static func keywords(_ config: DeploymentConfig) -> [String] {
        guard let c = config.contractors.flatMap(\.connections).first(where: { $0.id?.value == "austin-serpapi" }),
              case .array(let list)? = c.fields["tracked_keywords"] else { return [] }
        return list.compactMap(\.stringValue)
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
            case "jobber":
                slots = ["client_id": sandbox.jobber.clientId, "client_secret": sandbox.jobber.clientSecret]
            case "quickbooks":
                slots = ["client_id": sandbox.quickbooks.clientId, "client_secret": sandbox.quickbooks.clientSecret]
            case "yelp":
                slots = ["api_key": sandbox.yelp.apiKey]
            case "serpapi":
                slots = ["api_key": sandbox.serpapi.apiKey]
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

    /// What each connection's tables hold next to what the sandbox generated, where it can say.
    func summary(_ workspace: Workspace, connections: [ConnectionRecord], sandbox: ProviderSandbox,
                 keywords: [String]) async throws {
        print("\n== what is in the store")
        var rows = [["connection", "table", "rows", "sandbox has"]]
        // Rankings: the first 20 places per keyword, plus the contractor's own row when it is
        // not among them (position empty, "not in the first 20").
        let rankings = keywords.reduce(0) { total, k in
            let shown = min(20, sandbox.serpApiResultCount(k))
            return total + shown + ((sandbox.serpApiOwnRank(k) ?? .max) <= 20 ? 0 : 1)
        }
        let expected: [String: Int] = [
            "servicetitan/jobs": sandbox.serviceTitanRecordCount("jobs"),
            "servicetitan/customers": sandbox.serviceTitanRecordCount("customers"),
            "servicetitan/estimates": sandbox.serviceTitanRecordCount("estimates"),
            "servicetitan/invoices": sandbox.serviceTitanRecordCount("invoices"),
            "servicetitan/technicians": sandbox.serviceTitanRecordCount("technicians"),
            "jobber/jobs": sandbox.jobberRecordCount("jobs"), "jobber/customers": sandbox.jobberRecordCount("clients"),
            "jobber/estimates": sandbox.jobberRecordCount("quotes"), "jobber/visits": sandbox.jobberRecordCount("visits"),
            "jobber/technicians": sandbox.jobberRecordCount("users"),
            "quickbooks/invoices": sandbox.quickBooksRecordCount("Invoice"),
            "quickbooks/payments": sandbox.quickBooksRecordCount("Payment"),
            "quickbooks/customers": sandbox.quickBooksRecordCount("Customer"),
            "google-business-profile/reviews": sandbox.googleReviewCount(),
            "google-business-profile/posts": sandbox.googlePostCount(),
            // Yelp's API gives one business and at most three review excerpts, whatever its total.
            "yelp/listings": 1, "yelp/reviews": 3,
            "serpapi/rankings": rankings,
        ]
        var ratings: [String: Int] = [:]
        var jobTypes: [String: Int] = [:]
        let project = workspace.project
        for c in connections {
            guard let integration = project.integration(c.integrationType) else { continue }
            for s in integration.streams.entries where !s.value.lookupOnly {
                guard let name = s.value.entity?.value, let entity = project.dataModel.entity(name) else { continue }
                let stored = try await workspace.storedRows(entity: name, connection: c)
                rows.append([c.connectionKey, entity.table, String(stored.count),
                             expected[c.integrationType + "/" + name].map(String.init) ?? "-"])
                if name == "reviews" && c.integrationType == "google-business-profile" {
                    for r in stored.values { ratings[(r.values["rating"] ?? nil) ?? "null", default: 0] += 1 }
                }
                if name == "jobs" && c.integrationType == "servicetitan" {
                    for r in stored.values { jobTypes[(r.values["job_type"] ?? nil) ?? "null", default: 0] += 1 }
                }
            }
        }
        print(RunTable.table(rows))
        print("\nGoogle ratings stored as numbers: " + ratings.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
        print("ServiceTitan job types (via the job-types lookup): " + jobTypes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
    }
}

struct Sandbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the provider sandbox (emulators of the six pull providers) until interrupted.",
        discussion: """
            Emulates ServiceTitan, Jobber, QuickBooks Online, Google Business Profile, Yelp and SerpApi on
            127.0.0.1, each under its own path, and prints their URLs and made-up credentials.
            Exit status: 0 when interrupted, 1 on an error (the port cannot be bound), 64 on a command-line
            usage error.
            """,
    )

    @Option(help: "Port on 127.0.0.1.")
    var port = 8099

    @Option(help: "ServiceTitan jobs.")
    var jobs = 1_200

    @Option(help: "Google reviews per location.")
    var reviews = 120

    @Option(help: "Records per ServiceTitan export page.")
    var exportPageSize = 500

    @Option(help: ArgumentHelp(
        "Play Indeed Apply instead of serving: POST signed sample applications to this webhook URL, then one signed with the wrong secret, and exit.",
        valueName: "url"))
    var sendIndeedTo: String?

    @Option(help: "The Indeed Apply secret the applications are signed with (--send-indeed-to).")
    var indeedSecret: String?

    @Option(help: "Applications to send (--send-indeed-to).")
    var applications = 3

    func run() async throws {
        if let url = sendIndeedTo {
            guard let secret = indeedSecret, !secret.isEmpty else {
                throw ValidationError("--send-indeed-to needs --indeed-secret (the connection's apply_secret)")
            }
            // The receiver should answer 200 to each signed one and 401 to the last.
            for d in try await IndeedApplySender.send(to: url, secret: secret, count: max(0, applications)) {
                print("\(d.signedCorrectly ? "signed   " : "bad sig  ") \(d.applicationId.prefix(16))…  HTTP \(d.status)  \(d.responseBody)")
            }
            return
        }
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
              Jobber        base_url \(sandbox.baseURL)/jobber  token_url \(sandbox.baseURL)/jobber/api/oauth/token
                            authorize_url \(sandbox.baseURL)/jobber/api/oauth/authorize
                            client_id \(config.jobber.clientId), client_secret \(config.jobber.clientSecret)
                            a refresh token: \(sandbox.issueJobberRefreshToken())
              QuickBooks    base_url \(sandbox.baseURL)/quickbooks  token_url \(sandbox.baseURL)/quickbooks/oauth2/v1/tokens/bearer
                            authorize_url \(sandbox.baseURL)/quickbooks/connect/oauth2
                            client_id \(config.quickbooks.clientId), client_secret \(config.quickbooks.clientSecret), realmId \(config.quickbooks.realmId)
                            a refresh token: \(sandbox.issueQuickBooksRefreshToken())
              Yelp          base_url \(sandbox.baseURL)/yelp  api_key \(config.yelp.apiKey)  business_id \(sandbox.yelpBusiness.alias)
              SerpApi       base_url \(sandbox.baseURL)/serpapi  api_key \(config.serpapi.apiKey)  own place_id \(sandbox.serpApiOwnPlaceId)
            (these are the sandbox's own made-up credentials; press Ctrl-C to stop)
            """)
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(3600))
        }
    }
}
