import AsyncHTTPClient
import NIOCore
import Foundation
import HummingbirdWSClient
import Logging
import TradeSyncCore

/// Why the browser could not be driven. Its description says what to do (install chromium).
struct ChromiumError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A real headless Chromium, started for one test and driven over the DevTools protocol (CDP)
/// through a WebSocket (hummingbird-websocket's client). Launch it with `Chromium.with { … }`,
/// which also stops it and removes its profile.
final class Chromium: Sendable {
    let process: Process
    let profile: String
    let debuggingPort: Int

    private init(process: Process, profile: String, debuggingPort: Int) {
        self.process = process
        self.profile = profile
        self.debuggingPort = debuggingPort
    }

    /// The browser's executable: `TRADESYNC_CHROMIUM`, else the first of chromium,
    /// chromium-browser, google-chrome on PATH. Missing is an error, in CI and on a laptop alike:
    /// a browser test that passes without a browser would prove nothing.
    static func executable() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let given = env["TRADESYNC_CHROMIUM"], !given.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: given) else {
                throw ChromiumError("TRADESYNC_CHROMIUM=\(given) is not an executable file")
            }
            return given
        }
        let path = (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in path where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") { return "\(dir)/\(name)" }
        }
        throw ChromiumError("""
            headless Chromium is required for the browser test and was not found on PATH \
            (chromium, chromium-browser, google-chrome; or set TRADESYNC_CHROMIUM). \
            Install it: apt-get install -y chromium
            """)
    }

    static func with<T: Sendable>(_ body: (Chromium, CDPSession) async throws -> T) async throws -> T {
        let browser = try await launch()
        do {
            let page = try await browser.attachToPage()
            let result: T
            do {
                result = try await body(browser, page)
            } catch {
                await page.close()
                throw error
            }
            await page.close()
            await browser.stop()
            return result
        } catch {
            await browser.stop()
            throw error
        }
    }

    static func launch() async throws -> Chromium {
        let binary = try executable()
        let profile = try temporaryDirectory()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0", "--user-data-dir=\(profile)",
            // Chromium refuses DevTools WebSockets that carry an Origin it was not told of; the
            // WebSocket client sends its URL's scheme and host, exactly this.
            "--remote-allow-origins=ws://127.0.0.1",
            // Nothing but the page under test talks to the network.
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-default-apps", "--mute-audio",
            "about:blank",
        ]
        let log = profile + "/chromium.log"
        guard FileManager.default.createFile(atPath: log, contents: nil) else { throw ChromiumError("cannot create \(log)") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // Chromium writes the port it chose, then the browser target's path, once it listens.
        let portFile = profile + "/DevToolsActivePort"
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
               let line = text.split(separator: "\n").first, let port = Int(line) {
                return Chromium(process: process, profile: profile, debuggingPort: port)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        if process.isRunning { process.terminate() }
        await process.exited()
        try? FileManager.default.removeItem(atPath: profile)
        throw ChromiumError("\(binary) did not open its DevTools port within 30 s; its output:\n\(output.suffix(2000))")
    }

    /// The WebSocket of the browser's first page target, from the DevTools HTTP endpoint.
    func attachToPage() async throws -> CDPSession {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let listing: JSONValue
        do {
            let request = HTTPClientRequest(url: "http://127.0.0.1:\(debuggingPort)/json/list")
            let response = try await client.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            listing = try JSONValue.parse(body.readableBytesView)
        } catch {
            try? await client.shutdown()
            throw error
        }
        guard let page = listing.arrayValue?.first(where: { $0["type"]?.stringValue == "page" }),
              let url = page["webSocketDebuggerUrl"]?.stringValue
        else { throw ChromiumError("no page target in \(listing.jsonText)") }
        return try await CDPSession.connect(url: url)
    }

    func stop() async {
        if process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        await process.exited()
        try? FileManager.default.removeItem(atPath: profile)
    }
}

/// One CDP event as Chromium sent it.
struct CDPEvent: Sendable {
    var method: String
    var params: JSONValue
}

/// A DevTools protocol session over one WebSocket: commands are answered by id, events are
/// kept in arrival order for the test to read.
actor CDPSession {
    private var nextId: Int64 = 0
    private var pending: [Int64: CheckedContinuation<JSONValue, any Error>] = [:]
    private(set) var events: [CDPEvent] = []
    private var closedBecause: (any Error)?
    private let outbound: AsyncStream<String>.Continuation
    private var connection: Task<Void, Never>?

    private init(outbound: AsyncStream<String>.Continuation) {
        self.outbound = outbound
    }

    static func connect(url: String) async throws -> CDPSession {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let session = CDPSession(outbound: continuation)
        var logger = Logger(label: "cdp")
        logger.logLevel = .warning
        // Screens of DOM or long results come in big frames.
        let configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 24)
        let task = Task {
            do {
                try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await text in stream { try await outbound.write(.text(text)) }
                        }
                        group.addTask {
                            for try await message in inbound.messages(maxSize: 1 << 26) {
                                if case .text(let text) = message { await session.receive(text) }
                            }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                }
                await session.closed(ChromiumError("the DevTools WebSocket closed"))
            } catch {
                await session.closed(error)
            }
        }
        await session.started(task)
        return session
    }

    private func started(_ task: Task<Void, Never>) { connection = task }

    private func receive(_ text: String) {
        guard let message = try? JSONValue.parse(text) else { return }
        if case .integer(let id)? = message["id"], let waiter = pending.removeValue(forKey: id) {
            if let error = message["error"] {
                waiter.resume(throwing: ChromiumError("CDP error: \(error.jsonText)"))
            } else {
                waiter.resume(returning: message["result"] ?? .null)
            }
        } else if let method = message["method"]?.stringValue {
            events.append(CDPEvent(method: method, params: message["params"] ?? .null))
        }
    }

    private func closed(_ error: any Error) {
        closedBecause = error
        for (_, waiter) in pending { waiter.resume(throwing: error) }
        pending = [:]
    }

    /// Sends one command and waits for its answer (30 s at most).
    func send(_ method: String, _ params: JSONValue = .object(JSONObject())) async throws -> JSONValue {
        if let closedBecause { throw closedBecause }
        nextId += 1
        let id = nextId
        let text = JSONValue.object(JSONObject([("id", .integer(id)), ("method", .string(method)), ("params", params)])).jsonText
        let timeout = Task { [weak self] in
            try await Task.sleep(for: .seconds(30))
            await self?.timedOut(id, method)
        }
        defer { timeout.cancel() }
        return try await withCheckedThrowingContinuation { waiter in
            pending[id] = waiter
            outbound.yield(text)
        }
    }

    private func timedOut(_ id: Int64, _ method: String) {
        pending.removeValue(forKey: id)?.resume(throwing: ChromiumError("CDP \(method) got no answer within 30 s"))
    }

    /// Evaluates JavaScript in the page (awaiting a promise it returns) and returns its value as
    /// JSON; an exception thrown by the script is an error with its text.
    func evaluate(_ expression: String) async throws -> JSONValue {
        let result = try await send("Runtime.evaluate", .object(JSONObject([
            ("expression", .string(expression)), ("returnByValue", .bool(true)), ("awaitPromise", .bool(true)),
        ])))
        if let details = result["exceptionDetails"] {
            let text = details["exception"]?["description"]?.stringValue ?? details["text"]?.stringValue ?? details.jsonText
            throw ChromiumError("script failed: \(text)\n  in: \(expression.prefix(300))")
        }
        return result["result"]?["value"] ?? .null
    }

    /// Evaluates `condition` until it is true; fails with `what` (and the last value of `show`,
    /// when given) after `timeout`.
    func waitUntil(_ condition: String, _ what: String, timeout: Duration = .seconds(20), show: String? = nil) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await evaluate("Boolean(\(condition))"))?.boolValue == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        var seen = ""
        if let show { seen = "; " + ((try? await evaluate(show))?.jsonText ?? "?") }
        throw ChromiumError("timed out after \(timeout) waiting for \(what)\(seen)")
    }

    /// Navigates the page and waits until the new document has loaded.
    func navigate(_ url: String) async throws {
        let answer = try await send("Page.navigate", .object(JSONObject([("url", .string(url))])))
        if let error = answer["errorText"]?.stringValue { throw ChromiumError("navigation to \(url) failed: \(error)") }
        try await waitUntil("document.readyState === 'complete' && location.href.startsWith(\(JSONValue.string(url).jsonText))",
                            "\(url) to load", show: "location.href")
    }

    func events(_ method: String) -> [CDPEvent] { events.filter { $0.method == method } }

    func close() async {
        outbound.finish()
        connection?.cancel()
        closed(ChromiumError("closed"))
    }
}
