import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Testing
@testable import TradeSyncCLI
import TradeSyncCore
import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncServer

/// The server of `tradesync serve`, in this process, on the example deployment: a fresh SQLite
/// file, the provider sandbox on loopback standing in for the providers (the deployment's
/// overrides moved to its port), and the HTTP server on a free loopback port.
struct ServedDeployment: Sendable {
    let workspace: Workspace
    let sandbox: ProviderSandbox
    let baseURL: String
    let connections: [ConnectionRecord]

    func connection(_ key: String) throws -> ConnectionRecord {
        guard let c = connections.first(where: { $0.connectionKey == key }) else { throw ChromiumError("no connection \(key)") }
        return c
    }

    static func with(_ body: (ServedDeployment) async throws -> Void) async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let options = try DeploymentOptions.parse(["--deployment", Repo.root + "/examples/austin-hvac/tradesync.yaml",
                                                   "--store", "sqlite:\(dir)/serve.sqlite"])
        let (project, config) = try options.load()
        try Demo.ensureKey(config)
        let sandboxConfig = SandboxConfiguration()
        let sandbox = ProviderSandbox(configuration: sandboxConfig)
        try await sandbox.start(port: 0)
        defer { Task { await sandbox.stop() } }
        var logger = Logger(label: "tradesync-test")
        logger.logLevel = .warning
        let inputs = WorkspaceInputs(
            storeOverride: try options.storeOverride(),
            environment: Demo.sandboxEnvironment(config, sandbox: sandboxConfig),
            movedOrigins: OriginMoves([(from: "http://127.0.0.1:\(Demo.deployedPort)", to: sandbox.baseURL)]),
            requiresKey: true, logger: logger)
        try await Workspace.with(project: project, deployment: config, inputs: inputs) { workspace in
            let report = try await workspace.migrate()
            let port = freeLoopbackPort()
            let settings = ServerSettings(host: "127.0.0.1", port: port)
            let app = ServerApplication.application(workspace: workspace, settings: settings, logger: logger)
            let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
            let server = Task { try await group.run() }
            defer { server.cancel() }
            let baseURL = "http://127.0.0.1:\(port)"
            try await waitForHealth(baseURL)
            try await body(ServedDeployment(workspace: workspace, sandbox: sandbox, baseURL: baseURL,
                                            connections: report.connections))
            await group.triggerGracefulShutdown()
            _ = await server.result
        }
        await sandbox.stop()
    }

    static func waitForHealth(_ baseURL: String) async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let r = try? await client.execute(HTTPClientRequest(url: baseURL + "/health"), timeout: .seconds(2)), r.status == .ok {
                try await client.shutdown()
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await client.shutdown()
        throw ChromiumError("the server at \(baseURL) did not answer /health within 20 s")
    }
}

/// What the page did that it must not: console errors, uncaught exceptions, CSP violations, and
/// requests that left the server's origin (`allowedDocuments`: top-level navigations the test
/// itself causes, such as the OAuth consent page).
func pageMisbehaviour(_ page: CDPSession, origin: String, allowedDocuments: [String] = []) async -> [String] {
    var problems: [String] = []
    for e in await page.events("Runtime.exceptionThrown") {
        problems.append("exception: " + (e.params["exceptionDetails"]?["exception"]?["description"]?.stringValue
                                         ?? e.params.jsonText))
    }
    for e in await page.events("Runtime.consoleAPICalled") where ["error", "assert"].contains(e.params["type"]?.stringValue ?? "") {
        problems.append("console.\(e.params["type"]?.stringValue ?? ""): \(e.params["args"]?.jsonText ?? "")")
    }
    for e in await page.events("Log.entryAdded") where e.params["entry"]?["level"]?.stringValue == "error" {
        problems.append("log: \(e.params["entry"]?["text"]?.stringValue ?? e.params.jsonText) \(e.params["entry"]?["url"]?.stringValue ?? "")")
    }
    for e in await page.events("Network.requestWillBeSent") {
        let url = e.params["request"]?["url"]?.stringValue ?? ""
        if url.hasPrefix(origin + "/") || url.hasPrefix("data:") { continue }
        if e.params["type"]?.stringValue == "Document", allowedDocuments.contains(where: { url.hasPrefix($0) }) { continue }
        problems.append("request outside the server: \(e.params["type"]?.stringValue ?? "?") \(url)")
    }
    return problems
}

/// The header of a CDP `Network.Response`, by name in any case.
func header(_ response: JSONValue?, _ name: String) -> String? {
    response?["headers"]?.objectValue?.entries.first(where: { $0.key.lowercased() == name.lowercased() })?.value.stringValue
}

@Suite(.serialized) struct IntegrationsPageBrowserTests {
    /// The domains whose events the checks read.
    static func enable(_ page: CDPSession) async throws {
        for domain in ["Page", "Runtime", "Log", "Network"] { _ = try await page.send("\(domain).enable") }
    }

    @Test func thePageLoadsSelfContainedUnderAStrictPolicyAndAsksForAToken() async throws {
        try await ServedDeployment.with { served in
            try await Chromium.with { _, page in
                try await Self.enable(page)
                try await page.navigate(served.baseURL + "/")
                try await page.waitUntil("!document.getElementById('signin').hidden", "the sign-in form")
                #expect(try await page.evaluate("document.activeElement && document.activeElement.id") == "token")
                #expect(try await page.evaluate("document.querySelector('label[for=token]').textContent") == "API token")
                #expect(try await page.evaluate("document.getElementById('panel').hidden") == true)
                // The stylesheet applied (the script and the sheet both came from the server).
                #expect(try await page.evaluate("getComputedStyle(document.querySelector('header')).display") == "flex")

                let documents = await page.events("Network.responseReceived").filter { $0.params["type"]?.stringValue == "Document" }
                let response = try #require(documents.first?.params["response"])
                let csp = try #require(header(response, "Content-Security-Policy"))
                for part in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
                    #expect(csp.contains(part), "\(csp)")
                }
                #expect(!csp.contains("unsafe"), "\(csp)")
                #expect(header(response, "X-Content-Type-Options") == "nosniff")
                let assets = await page.events("Network.responseReceived").compactMap { $0.params["response"]?["url"]?.stringValue }
                #expect(assets.contains(served.baseURL + "/assets/integrations.js"))
                #expect(assets.contains(served.baseURL + "/assets/integrations.css"))
                let problems = await pageMisbehaviour(page, origin: served.baseURL)
                #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
            }
        }
    }
}
