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
/// overrides moved to its port), the HTTP server on a free loopback port and one worker that
/// runs what is queued. The scheduler is left out on purpose: it would queue every connection
/// that never synced at once, and this test wants only the runs "sync now" asks for (the
/// scheduler has its own tests).
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
            let worker = RunWorker(workspace: workspace, settings: SchedulerSettings(pollMilliseconds: 100), logger: logger)
            let group = ServiceGroup(configuration: .init(services: [app, worker], gracefulShutdownSignals: [], logger: logger))
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

    /// The whole page as a contractor uses it: a refused token, sign-in, connect through the
    /// provider's consent (the sandbox's Google), sync now, the new run in the logs and the chart.
    @Test func signInConnectSyncNowAndSeeTheRunInTheLogsAndTheChart() async throws {
        try await ServedDeployment.with { served in
            let google = try served.connection("austin-google")
            // A name the page must show as text, never as markup.
            let hostile = "<img src=x onerror=window.__pwned=1>"
            _ = try await served.workspace.register(ConnectionRecord(
                demoId: "demo-123", connectionKey: hostile, integrationType: "yelp", syncFrequency: "daily", autoSync: false))
            let (tokenRecord, token) = try await served.workspace.createAPIToken(contractor: "demo-123", admin: false, label: "browser test")
            let googleCard = "document.querySelector('article[data-connection-key=\"austin-google\"]')"

            try await Chromium.with { _, page in
                try await Self.enable(page)
                try await page.navigate(served.baseURL + "/")
                try await page.waitUntil("!document.getElementById('signin').hidden", "the sign-in form")

                // A token the server refuses (401) leads back to the form, with a message.
                _ = try await page.evaluate("""
                    document.getElementById('token').value = 'tsk_0000000000000000_wrong';
                    document.getElementById('signin-form').requestSubmit(); true
                    """)
                try await page.waitUntil("!document.getElementById('signin-error').hidden", "the refused-token message")
                #expect(try await page.evaluate("document.getElementById('signin').hidden") == false)
                #expect(try await page.evaluate("sessionStorage.length") == .integer(0))

                // Sign in.
                _ = try await page.evaluate("""
                    document.getElementById('token').value = \(JSONValue.string(token).jsonText);
                    document.getElementById('signin-form').requestSubmit(); true
                    """)
                try await page.waitUntil("\(googleCard) !== null", "the Google Business Profile connection",
                                         show: "document.getElementById('status').textContent")
                #expect(try await page.evaluate("document.getElementById('signin').hidden") == true)
                // Every template has a card; Facebook Jobs is retired.
                #expect(try await page.evaluate("document.querySelectorAll('section.template').length") == .integer(8))
                #expect(try await page.evaluate(
                    "document.querySelector('section[data-integration-type=\"facebook-jobs\"] .badge').textContent") == "retired")
                #expect(try await page.evaluate("\(googleCard).querySelector('.badge').dataset.status") == "pending")
                // The hostile name is text: no element made of it, no script run.
                #expect(try await page.evaluate("document.querySelectorAll('#panel img').length") == .integer(0))
                #expect(try await page.evaluate("window.__pwned === undefined") == true)
                #expect(try await page.evaluate(
                    "[...document.querySelectorAll('#panel h3')].some(h => h.textContent === \(JSONValue.string(hostile).jsonText))") == true)
                // Declared in git: no Disconnect, a note instead.
                #expect(try await page.evaluate("\(googleCard).querySelector('button[data-action=disconnect]') === null") == true)
                #expect(try await page.evaluate("\(googleCard).querySelector('.note').textContent.startsWith('Managed in git')") == true)

                // Connect: the page asks the API for the consent URL, the browser goes to the
                // provider (the sandbox consents at once), which redirects to /oauth/callback,
                // which exchanges the code and redirects back to the page.
                _ = try await page.evaluate("\(googleCard).querySelector('button[data-action=connect]').click(); true")
                try await page.waitUntil(
                    "location.href.startsWith(\(JSONValue.string(served.baseURL + "/").jsonText)) && \(googleCard) !== null"
                        + " && \(googleCard).querySelector('.badge').dataset.status === 'connected'",
                    "the connection to come back connected", show: "[location.href, document.getElementById('status').textContent]")
                #expect(try await page.evaluate("document.getElementById('status').textContent") == "austin-google connected.")
                #expect(try await page.evaluate("location.search") == "")
                let documents = await page.events("Network.requestWillBeSent").filter { $0.params["type"]?.stringValue == "Document" }
                    .compactMap { $0.params["request"]?["url"]?.stringValue }
                #expect(documents.contains { $0.hasPrefix(served.sandbox.baseURL + "/google/o/oauth2/v2/auth?") }, "\(documents)")
                #expect(documents.contains { $0.hasPrefix(served.baseURL + "/oauth/callback?") }, "\(documents)")
                let stored = try #require(try await served.workspace.connections().first { $0.id == google.id })
                #expect(stored.status == .connected)
                #expect(try await page.evaluate("\(googleCard).querySelectorAll('tbody tr').length") == .integer(0))
                #expect(try await page.evaluate("\(googleCard).querySelectorAll('svg.chart circle.pt-records').length") == .integer(0))

                // Sync now, twice: each press queues a run, the worker runs it, and it appears as a
                // row and a point.
                for n in 1...2 {
                    _ = try await page.evaluate("(() => { const b = \(googleCard).querySelector('button[data-action=sync]'); b.focus(); b.click(); return true })()")
                    // Pending: the button says so and keeps the focus through the redraws.
                    #expect(try await page.evaluate("\(googleCard).querySelector('button[data-action=sync]').getAttribute('aria-disabled')") == "true")
                    try await page.waitUntil("\(googleCard).querySelectorAll('tbody tr').length === \(n)", "run \(n) in the logs",
                                             timeout: .seconds(60), show: "document.getElementById('status').textContent")
                    try await page.waitUntil("document.getElementById('status').textContent.startsWith('Sync of austin-google finished')",
                                             "the finished message", show: "document.getElementById('status').textContent")
                    #expect(try await page.evaluate("document.activeElement.dataset.action") == "sync")
                    #expect(try await page.evaluate("\(googleCard).querySelector('button[data-action=sync]').hasAttribute('aria-disabled')") == false)
                }
                let runs = try await served.workspace.runs(connectionId: google.id, limit: 30)
                #expect(runs.count == 2)
                #expect(runs.allSatisfy { $0.status == .success }, "\(runs.map { "\($0.status) \($0.errorMessage ?? "")" })")
                // The newest run is the table's first row, with its counts.
                #expect(try await page.evaluate("\(googleCard).querySelector('tbody tr').dataset.runId") == .string(runs[0].id))
                #expect(try await page.evaluate("\(googleCard).querySelector('tbody tr td:nth-child(4)').textContent")
                    == .string(String(runs[0].fetched)))
                // The chart: one point per run and series, oldest on the left.
                #expect(try await page.evaluate("\(googleCard).querySelector('svg.chart').dataset.runs") == "2")
                #expect(try await page.evaluate("\(googleCard).querySelectorAll('svg.chart circle.pt-records').length") == .integer(2))
                #expect(try await page.evaluate("\(googleCard).querySelectorAll('svg.chart circle.pt-duration').length") == .integer(2))
                #expect(try await page.evaluate("[...\(googleCard).querySelectorAll('svg.chart circle.pt-records')].map(c => c.dataset.runId)")
                    == .array([.string(runs[1].id), .string(runs[0].id)]))
                #expect(try await page.evaluate("\(googleCard).querySelector('svg.chart polyline.line-records').points.length") == .integer(2))
                let recordsSynced = runs.reduce(0) { $0 + $1.inserted + $1.updated }
                #expect(try await page.evaluate("Number(\(googleCard).querySelector('.facts div:nth-child(2) dd').textContent.replace(/\\D/g, ''))")
                    == .integer(Int64(recordsSynced)))

                // TRADESYNC_PAGE_SCREENSHOT=file.png: what the page looks like at this point.
                if let path = ProcessInfo.processInfo.environment["TRADESYNC_PAGE_SCREENSHOT"], !path.isEmpty {
                    _ = try await page.send("Emulation.setDeviceMetricsOverride", .object(JSONObject([
                        ("width", .integer(1280)), ("height", .integer(900)), ("deviceScaleFactor", .integer(1)), ("mobile", .bool(false)),
                    ])))
                    let shot = try await page.send("Page.captureScreenshot", .object(JSONObject([("captureBeyondViewport", .bool(true))])))
                    let data = try #require(Data(base64Encoded: shot["data"]?.stringValue ?? ""))
                    try data.write(to: URL(fileURLWithPath: path))
                }

                // Disconnect (a connection made through the API), confirmed in a dialog.
                let hostileCard = "[...document.querySelectorAll('#panel article')].find(a => a.dataset.connectionKey === \(JSONValue.string(hostile).jsonText))"
                _ = try await page.evaluate("\(hostileCard).querySelector('button[data-action=disconnect]').click(); true")
                #expect(try await page.evaluate("document.getElementById('confirm').open") == true)
                _ = try await page.evaluate("document.querySelector('#confirm button[value=cancel]').click(); true")
                try await page.waitUntil("document.getElementById('status').textContent === 'Nothing was disconnected.'", "the cancel")
                _ = try await page.evaluate("\(hostileCard).querySelector('button[data-action=disconnect]').click(); true")
                _ = try await page.evaluate("document.getElementById('confirm-ok').click(); true")
                try await page.waitUntil("\(hostileCard).querySelector('.badge').dataset.status === 'disconnected'", "the disconnect",
                                         show: "document.getElementById('status').textContent")
                #expect(try await page.evaluate("\(hostileCard).querySelector('button[data-action=disconnect]') === null") == true)

                // Nothing left the server but the consent page the test itself went to; no errors,
                // except the refused token's 401, which the browser reports as a failed resource.
                let problems = await pageMisbehaviour(page, origin: served.baseURL,
                                                      allowedDocuments: [served.sandbox.baseURL + "/google/o/oauth2/v2/auth?"])
                    .filter { !($0.hasPrefix("log: Failed to load resource: the server responded with a status of 401")) }
                #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
                // Exactly the refused sign-in's two requests (templates and connections, in parallel).
                func refused() async -> [String] {
                    await page.events("Log.entryAdded").filter { $0.params["entry"]?["level"]?.stringValue == "error" }
                        .compactMap { $0.params["entry"]?["url"]?.stringValue }.sorted()
                }
                let api = served.baseURL + "/api/contractor/integrations"
                #expect(await refused() == [api, api + "/templates"])

                // The token is revoked while the page is open: the next call's 401 leads back to the
                // sign-in form, and the token is forgotten.
                #expect(try await served.workspace.revokeAPIToken(id: tokenRecord.id))
                _ = try await page.evaluate("document.getElementById('refresh').click(); true")
                try await page.waitUntil("!document.getElementById('signin').hidden", "the sign-in form after the revocation")
                #expect(try await page.evaluate("document.getElementById('signin-error').textContent") == "The token was refused. Sign in again.")
                #expect(try await page.evaluate("document.getElementById('panel').hidden && document.getElementById('panel').children.length === 0") == true)
                #expect(try await page.evaluate("sessionStorage.length") == .integer(0))
                // Both parallel requests were refused; the second one's report may trail the first.
                let deadline = ContinuousClock.now + .seconds(5)
                while await refused().count < 4 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
                #expect(await refused() == [api, api, api + "/templates", api + "/templates"])
            }
        }
    }
}
