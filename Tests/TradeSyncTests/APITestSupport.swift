import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
@testable import TradeSyncServer
@testable import TradeSyncStore

/// A project with two contractors (demo-a, demo-b) whose connections point at the sandbox, the
/// engine's workspace over it (SQLite, or a scratch PostgreSQL database), and `tradesync serve`'s
/// HTTP application listening on a loopback port: the API tests talk to it over real HTTP.
struct APIHarness {
    let directory: String
    let sandbox: ProviderSandbox
    let config: SandboxConfiguration
    let workspace: Workspace
    let baseURL: String
    let client: HTTPClient

    static func writeProject(sandboxPort: Int) throws -> String {
        let dir = try temporaryDirectory()
        for item in ["integrations.d", "mappings"] {
            try FileManager.default.copyItem(atPath: Repo.root + "/" + item, toPath: dir + "/" + item)
        }
        try Data(repeating: 0x44, count: 32).base64EncodedString().write(toFile: dir + "/secrets.key", atomically: true, encoding: .utf8)
        let s = "http://127.0.0.1:\(sandboxPort)"
        try """
            store: sqlite:store.sqlite
            secrets_key: file:secrets.key
            contractors:
              - id: demo-a
                connections:
                  - id: a-google
                    integration: google-business-profile
                    base_url: \(s)/google
                    token_url: \(s)/google/token
                    authorize_url: \(s)/google/o/oauth2/v2/auth
                    credentials:
                      client_id: env:API_GOOGLE_CLIENT_ID
                      client_secret: env:API_GOOGLE_CLIENT_SECRET
                  - id: a-yelp
                    integration: yelp
                    base_url: \(s)/yelp
                    fields: { business_id: austin-comfort-hvac-austin }
                    credentials:
                      api_key: env:API_YELP_KEY
              - id: demo-b
                connections:
                  - id: b-yelp
                    integration: yelp
                    base_url: \(s)/yelp
                    fields: { business_id: austin-comfort-hvac-austin }
                    credentials:
                      api_key: env:API_YELP_KEY
            """.write(toFile: dir + "/tradesync.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    /// The environment the deployment's references resolve in: the sandbox's made-up credentials.
    static func environment(_ config: SandboxConfiguration) -> @Sendable (String) -> String? {
        let values = ["API_GOOGLE_CLIENT_ID": config.google.clientId, "API_GOOGLE_CLIENT_SECRET": config.google.clientSecret,
                      "API_YELP_KEY": config.yelp.apiKey]
        return { values[$0] }
    }

    static func with(_ backend: Backend, maxBodyBytes: Int = 1 << 20, _ body: (APIHarness) async throws -> Void) async throws {
        let config = SandboxConfiguration()
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        let dir = try writeProject(sandboxPort: sandbox.port)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Named relative to the root, as `-d tradesync.yaml` run in the project folder shows it.
        let project = ProjectLoader.load(root: dir, deploymentFiles: ["tradesync.yaml"], environment: environment(config))
        let errors = project.diagnostics.filter { $0.severity == .error }
        try #require(errors.isEmpty, "\(errors)")
        let deployment = try #require(project.deployments.first)

        var override: StoreLocation?
        var dropDatabase: (@Sendable () async -> Void)?
        if backend == .postgres {
            guard let admin = postgresAdminURL else {
                if isCI { Issue.record("CI=true but TRADESYNC_TEST_POSTGRES_URL is not set") }
                await sandbox.stop()
                return
            }
            let name = "tradesync_api_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let adminStore = try await PostgresStore.connect(url: admin)
            _ = try await adminStore.query("CREATE DATABASE \(name)")
            var components = try #require(URLComponents(string: admin))
            components.path = "/" + name
            override = .postgres(url: try #require(components.string))
            dropDatabase = {
                _ = try? await adminStore.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
                try? await adminStore.close()
            }
        }
        let inputs = WorkspaceInputs(storeOverride: override, environment: environment(config), requiresKey: true)
        let workspace = try await Workspace.open(project: project, deployment: deployment, inputs: inputs)
        let port = freeLoopbackPort()
        var logger = Logger(label: "api-test")
        logger.logLevel = .critical
        let app = ServerApplication.application(
            workspace: workspace, settings: ServerSettings(host: "127.0.0.1", port: port, maxBodyBytes: maxBodyBytes), logger: logger)
        let server = Task { try await app.runService() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        let harness = APIHarness(directory: dir, sandbox: sandbox, config: config, workspace: workspace,
                                 baseURL: "http://127.0.0.1:\(port)", client: client)
        var failure: (any Error)?
        do {
            _ = try await workspace.migrate()
            try await harness.waitUntilListening()
            try await body(harness)
        } catch {
            failure = error
        }
        server.cancel()
        _ = await server.result
        try? await client.shutdown()
        try? await workspace.close()
        await dropDatabase?()
        await sandbox.stop()
        if let failure { throw failure }
    }

    func waitUntilListening() async throws {
        for _ in 0..<200 {
            if (try? await send(.GET, "/api/openapi.json")) != nil { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("the server did not start listening")
    }

    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var text: String
        var json: JSONValue? { try? JSONValue.parse(text) }
        var error: String? { json?["error"]?.stringValue }
    }

    /// One request; `url` is a path on this server or an absolute URL.
    func send(_ method: HTTPMethod, _ url: String, token: String? = nil, body: String? = nil,
              headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(url: url.hasPrefix("http") ? url : baseURL + url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 16 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, text: String(buffer: buffer))
    }
}
