import AsyncHTTPClient
import Foundation
import Testing
import TradeSyncSandbox
import TradeSyncSources

/// `tradesync connect` and `disconnect` as real processes: the URL alone on stdout, the
/// browser played by an HTTP client, exit 0 when connected and 1 when consent is denied.
@Suite(.serialized) struct ConnectCommandTests {
    func makeProject(sandboxPort: Int) throws -> String {
        let dir = try temporaryDirectory()
        for item in ["integrations.d", "mappings"] {
            try FileManager.default.copyItem(atPath: Repo.root + "/" + item, toPath: dir + "/" + item)
        }
        try Data(repeating: 0x33, count: 32).base64EncodedString().write(toFile: dir + "/secrets.key", atomically: true, encoding: .utf8)
        try """
            store: sqlite:store.sqlite
            secrets_key: file:secrets.key
            contractors:
              - id: demo-connect
                connections:
                  - id: google
                    integration: google-business-profile
                    base_url: http://127.0.0.1:\(sandboxPort)/google
                    token_url: http://127.0.0.1:\(sandboxPort)/google/token
                    authorize_url: http://127.0.0.1:\(sandboxPort)/google/o/oauth2/v2/auth
                    credentials:
                      client_id: env:CONNECT_GOOGLE_CLIENT_ID
                      client_secret: env:CONNECT_GOOGLE_CLIENT_SECRET
            """.write(toFile: dir + "/tradesync.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    /// Runs the command; `browse` gets the first stdout line (the URL). Returns exit status and stdout.
    /// The blocking reads and the wait run on their own thread: on the cooperative pool (two
    /// threads on a two-core machine) they would starve the in-process sandbox that the child
    /// process is waiting for.
    func run(_ arguments: [String], config: SandboxConfiguration, browse: (@Sendable (String) async -> Void)? = nil) async throws
        -> (status: Int32, stdout: String)
    {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CrashRecoveryTests.binary)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["CONNECT_GOOGLE_CLIENT_ID"] = config.google.clientId
        env["CONNECT_GOOGLE_CLIENT_SECRET"] = config.google.clientSecret
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let reader = out.fileHandleForReading
        var text = ""
        if let browse {
            // The URL line comes once the listener accepts connections.
            text = try await offPool {
                var line = ""
                while !line.contains("\n"), let chunk = try reader.read(upToCount: 1), !chunk.isEmpty {
                    line += String(decoding: chunk, as: UTF8.self)
                }
                return line
            }
            await browse(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let rest = try await offPool {
            let data = reader.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        return (p.terminationStatus, text + rest)
    }

    @Test func connectPrintsOnlyTheURLThenConnectsAndDeniedConsentExitsOne() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CrashRecoveryTests.binary),
                     "build the executable first (swift build --build-tests)")
        let config = SandboxConfiguration()
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        let dir = try makeProject(sandboxPort: sandbox.port)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let transport = AsyncHTTPTransport()
        let browser: @Sendable (String) async -> Void = { url in
            _ = try? await transport.send(HTTPRequestData(url: url), timeout: .seconds(10))
        }
        let redirect = "http://127.0.0.1:\(freeLoopbackPort())/oauth/callback"
        let deployment = dir + "/tradesync.yaml"

        let ok = try await run(["connect", "google", "-d", deployment, "--redirect-uri", redirect, "--timeout", "30"],
                               config: config, browse: browser)
        #expect(ok.status == 0)
        let lines = ok.stdout.split(separator: "\n")
        #expect(lines.count == 1, "stdout is the URL alone: \(ok.stdout)")
        #expect(lines.first?.hasPrefix("http://127.0.0.1:\(sandbox.port)/google/o/oauth2/v2/auth?") == true)
        let listed = try await run(["connections", "-d", deployment, "--json"], config: config)
        #expect(listed.stdout.contains("\"status\" : \"connected\""))

        sandbox.setGoogleConsent(denied: true)
        let denied = try await run(["connect", "google", "-d", deployment, "--redirect-uri", redirect, "--timeout", "30"],
                                   config: config, browse: browser)
        #expect(denied.status == 1)
        sandbox.setGoogleConsent(denied: false)

        let gone = try await run(["disconnect", "google", "-d", deployment], config: config)
        #expect(gone.status == 0)
        #expect(gone.stdout.contains("revoked at the provider"))
        let after = try await run(["connections", "-d", deployment, "--json"], config: config)
        #expect(after.stdout.contains("\"status\" : \"disconnected\""))
        await transport.shutdown()
        await sandbox.stop()
    }

    /// Four `tradesync refresh` processes spend one rotating refresh token 250 times each: the
    /// provider kills the old token on every refresh, so a token spent twice would be lost.
    @Test(arguments: StoreSuite.backends)
    func fourProcessesRefreshingOneRotatingTokenNeverLoseIt(backend: Backend) async throws {
        if backend == .postgres, postgresAdminURL == nil { return }
        var config = SandboxConfiguration()
        config.google.rotateRefreshTokens = true
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        let dir = try makeProject(sandboxPort: sandbox.port)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var yaml = try String(contentsOfFile: dir + "/tradesync.yaml", encoding: .utf8)
        yaml += "\n          refresh_token: env:CONNECT_GOOGLE_REFRESH_TOKEN\n"
        try yaml.write(toFile: dir + "/tradesync.yaml", atomically: true, encoding: .utf8)
        let scratch = backend == .postgres ? try await ScratchDatabase.create() : nil
        let seed = sandbox.issueGoogleRefreshToken()
        let perProcess = 250
        func refresher(times: Int) -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CrashRecoveryTests.binary)
            p.arguments = ["refresh", "google", "-d", dir + "/tradesync.yaml", "--times", String(times)]
                + (scratch.map { ["--store", $0.url] } ?? [])
            var env = ProcessInfo.processInfo.environment
            env["CONNECT_GOOGLE_CLIENT_ID"] = config.google.clientId
            env["CONNECT_GOOGLE_CLIENT_SECRET"] = config.google.clientSecret
            env["CONNECT_GOOGLE_REFRESH_TOKEN"] = seed
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            return p
        }
        let processes = (0..<4).map { _ in refresher(times: perProcess) }
        for p in processes { try p.run() }
        for p in processes { await p.exited() }
        #expect(processes.map(\.terminationStatus) == [0, 0, 0, 0], "no process met invalid_grant")
        #expect(sandbox.googleInvalidGrantCount == 0)
        #expect(sandbox.tokenRequestCount(provider: "google") == 4 * perProcess, "every refresh rotated the token once")
        // The token left in the store still works (the stale seed is not used again): one more refresh succeeds.
        let last = refresher(times: 1)
        try last.run()
        await last.exited()
        #expect(last.terminationStatus == 0)
        #expect(sandbox.googleInvalidGrantCount == 0)
        #expect(sandbox.tokenRequestCount(provider: "google") == 4 * perProcess + 1)
        await scratch?.drop()
        await sandbox.stop()
    }
}

/// Runs blocking work on a thread of its own, outside the cooperative pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
