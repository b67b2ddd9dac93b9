import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncSources
@testable import TradeSyncStore

/// Fixed test keys (32 bytes each, base64), so that failures are reproducible.
enum TestKeys {
    static let one = Data(repeating: 0x11, count: 32).base64EncodedString()
    static let two = Data(repeating: 0x22, count: 32).base64EncodedString()
    static func key(_ text: String) -> SecretKey {
        // The texts above are valid by construction.
        (try? SecretKey(base64: text, field: "test", reference: "test")) ?? { fatalError("bad test key") }()
    }
    static let sealer = SecretSealer(current: key(one))
}

/// A store location several independent store instances can open: a SQLite file, or a fresh
/// PostgreSQL database on the test server (dropped afterwards).
func withStoreLocation(_ backend: Backend, _ body: (String) async throws -> Void) async throws {
    switch backend {
    case .sqlite:
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await body("sqlite:" + dir + "/store.sqlite")
    case .postgres:
        guard let admin = postgresAdminURL else {
            if isCI { Issue.record("CI=true but TRADESYNC_TEST_POSTGRES_URL is not set") }
            return
        }
        let name = "tradesync_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let adminStore = try await PostgresStore.connect(url: admin)
        _ = try await adminStore.query("CREATE DATABASE \(name)")
        var components = try #require(URLComponents(string: admin))
        components.path = "/" + name
        var failure: (any Error)?
        do { try await body(components.string ?? admin) } catch { failure = error }
        _ = try? await adminStore.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        try await adminStore.close()
        if let failure { throw failure }
    }
}

func registeredConnection(_ store: any SyncStore, key: String = "google") async throws -> ConnectionRecord {
    _ = try await store.migrate(model: DataModel(entities: []))
    return try await store.upsertConnection(ConnectionRecord(
        demoId: "d", connectionKey: key, integrationType: "google-business-profile", syncFrequency: "hourly", autoSync: true))
}

@Suite struct SealedCredentialTests {
    static let access = "ya29.PLAINTEXT-ACCESS-" + UUID().uuidString
    static let refresh = "1//0g-PLAINTEXT-REFRESH-" + UUID().uuidString

    @Test(arguments: Backend.allCases)
    func tokensAreSealedAtRestAndRoundTrip(backend: Backend) async throws {
        if backend == .postgres && !postgresEnabled { return }
        try await withFreshStore(backend) { store in
            let c = try await registeredConnection(store)
            let vault = TokenVault(store: store, sealer: TestKeys.sealer)
            let tokens = OAuthTokens(accessToken: Self.access, refreshToken: Self.refresh, expiresAt: 1_000,
                                     refreshExpiresAt: 2_000)
            try await vault.replaceAll(tokens, integrationId: c.id, callbackFieldsJSON: #"{"realmId":"123"}"#)
            #expect(try await vault.load(integrationId: c.id)?.tokens == tokens)
            let raw = try #require(try await store.loadTokens(integrationId: c.id))
            let keyId = TestKeys.sealer.current.id
            #expect(raw.refreshToken.hasPrefix("v1:\(keyId):"))
            #expect(raw.accessToken?.hasPrefix("v1:\(keyId):") == true)
            #expect(raw.refreshExpiresAtMicros == 2_000)
            #expect(raw.callbackFieldsJSON == #"{"realmId":"123"}"#)
            #expect(!raw.refreshToken.contains("PLAINTEXT"))
            if let sqlite = store as? SQLiteStore {
                for suffix in ["", "-wal"] {
                    let bytes = FileManager.default.contents(atPath: sqlite.path + suffix) ?? Data()
                    for secret in [Self.access, Self.refresh] {
                        #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret.prefix(12))… in store\(suffix)")
                    }
                }
            }
        }
    }

    @Test func aWrongKeyIsAClearError() async throws {
        try await withFreshStore(.sqlite) { store in
            let c = try await registeredConnection(store)
            try await TokenVault(store: store, sealer: TestKeys.sealer)
                .replaceAll(OAuthTokens(accessToken: nil, refreshToken: "r", expiresAt: nil), integrationId: c.id, callbackFieldsJSON: nil)
            let other = SecretSealer(current: TestKeys.key(TestKeys.two))
            do {
                _ = try await TokenVault(store: store, sealer: other).load(integrationId: c.id)
                Issue.record("unsealed with the wrong key")
            } catch let error as SealError {
                #expect(error.description.hasPrefix("cannot unseal: key id \(TestKeys.sealer.current.id) not configured"))
            }
        }
    }

    @Test func aValueMovedToAnotherRowDoesNotUnseal() throws {
        let sealed = try TestKeys.sealer.seal("secret", context: "a:refresh_token")
        #expect(throws: SealError.self) { try TestKeys.sealer.unseal(sealed, context: "b:refresh_token") }
        #expect(try TestKeys.sealer.unseal(sealed, context: "a:refresh_token") == "secret")
    }

    @Test func aKeyOfTheWrongLengthOrFormatIsRefusedNamingTheField() {
        for (text, words) in [("not base64!", "not base64"), (Data(count: 16).base64EncodedString(), "16 bytes")] {
            do {
                _ = try SecretKey(base64: text, field: "tradesync.yaml: secrets_key", reference: "env:KEY")
                Issue.record("accepted \(text)")
            } catch {
                let message = String(describing: error)
                #expect(message.hasPrefix("tradesync.yaml: secrets_key (env:KEY): "))
                #expect(message.contains(words))
                #expect(message.contains("head -c 32 /dev/urandom | base64"))
            }
        }
    }

    @Test func aRotationStoppedHalfwayStillReadsAndCanBeRunAgain() async throws {
        try await withFreshStore(.sqlite) { store in
            let a = try await registeredConnection(store, key: "a")
            let b = try await registeredConnection(store, key: "b")
            let old = TokenVault(store: store, sealer: TestKeys.sealer)
            for (c, r) in [(a, "ra"), (b, "rb")] {
                try await old.replaceAll(OAuthTokens(accessToken: "x" + r, refreshToken: r, expiresAt: nil), integrationId: c.id,
                                         callbackFieldsJSON: nil)
            }
            // Configuration first: the new key seals, the old one still reads.
            let rotating = TokenVault(store: store, sealer: SecretSealer(current: TestKeys.key(TestKeys.two),
                                                                         previous: [TestKeys.key(TestKeys.one)]))
            // Stopped after one connection.
            let first = try #require(try await rotating.load(integrationId: a.id))
            #expect(try await rotating.save(first.tokens, integrationId: a.id, replacing: first.stored))
            #expect(try await rotating.load(integrationId: a.id)?.tokens.refreshToken == "ra")
            #expect(try await rotating.load(integrationId: b.id)?.tokens.refreshToken == "rb")
            // Run again: only what is left is sealed again.
            #expect(try await rotating.resealAll() == ResealReport(resealed: 1, current: 1))
            let newOnly = TokenVault(store: store, sealer: SecretSealer(current: TestKeys.key(TestKeys.two)))
            #expect(try await newOnly.load(integrationId: b.id)?.tokens.accessToken == "xrb")
        }
    }

    @Test func aSyncThatMustKeepTokensRefusesWithoutAKeyAndSaysHowToMakeOne() async throws {
        try await SyncHarness.with(.sqlite) { h in
            do {
                _ = try await h.runner(sealer: nil).run(h.google, options: SyncOptions(streams: ["reviews"]))
                Issue.record("ran without a key")
            } catch {
                #expect(String(describing: error).contains("head -c 32 /dev/urandom | base64"))
                #expect(String(describing: error).contains("secrets_key"))
            }
        }
    }
}

/// Several independent store connections refresh one connection's rotating token at once.
/// One backend at a time: 1,000 refreshes per case are load enough for a shared machine.
@Suite(.serialized) struct ConcurrentRefreshTests {
    @Test(arguments: Backend.allCases)
    func fourWorkersRefreshingARotatingTokenNeverLoseIt(backend: Backend) async throws {
        if backend == .postgres && !postgresEnabled { return }
        var config = SandboxConfiguration()
        config.google.rotateRefreshTokens = true
        config.google.refreshTokenLifetimeSeconds = 100 * 86_400
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        let transport = AsyncHTTPTransport()
        var failure: (any Error)?
        do {
            try await withStoreLocation(backend) { location in
                let setup = try await StoreFactory.open(location)
                let c = try await registeredConnection(setup)
                try await TokenVault(store: setup, sealer: TestKeys.sealer).replaceAll(
                    OAuthTokens(accessToken: nil, refreshToken: sandbox.issueGoogleRefreshToken(), expiresAt: nil),
                    integrationId: c.id, callbackFieldsJSON: nil)
                let client = OAuthClient(tokenURL: sandbox.baseURL + "/google/token", clientId: config.google.clientId,
                                         clientSecret: config.google.clientSecret, style: .form)
                let perWorker = 250
                let outcomes = try await withThrowingTaskGroup(of: (refreshed: Int, invalidGrant: Int).self) { group in
                    for worker in 0..<4 {
                        group.addTask {
                            // Its own store connection, as another process would have.
                            let store = try await StoreFactory.open(location)
                            let auth = OAuth2RefreshToken(
                                client: client,
                                persistence: TokenVault(store: store, sealer: TestKeys.sealer)
                                    .persistence(integrationId: c.id, holder: "worker-\(worker)"),
                                transport: transport)
                            var refreshed = 0
                            var invalidGrant = 0
                            for _ in 0..<perWorker {
                                do {
                                    try await auth.forceRefresh()
                                    refreshed += 1
                                } catch AuthError.needsReauthorization {
                                    invalidGrant += 1
                                }
                            }
                            try await store.close()
                            return (refreshed, invalidGrant)
                        }
                    }
                    var all: [(refreshed: Int, invalidGrant: Int)] = []
                    for try await o in group { all.append(o) }
                    return all
                }
                #expect(outcomes.map(\.invalidGrant).reduce(0, +) == 0)
                #expect(outcomes.map(\.refreshed).reduce(0, +) == 4 * perWorker)
                #expect(sandbox.googleInvalidGrantCount == 0)
                #expect(sandbox.tokenRequestCount(provider: "google") == 4 * perWorker, "every forced refresh rotated the token")
                let final = try #require(try await TokenVault(store: setup, sealer: TestKeys.sealer).load(integrationId: c.id))
                #expect(sandbox.isGoogleRefreshTokenValid(final.tokens.refreshToken), "the stored refresh token still works")
                #expect(sandbox.isGoogleAccessTokenValid(final.tokens.accessToken ?? ""))
                let expiry = try #require(final.tokens.refreshExpiresAt)
                let days = (expiry - Int64(Date().timeIntervalSince1970 * 1_000_000)) / 86_400_000_000
                #expect(days == 99 || days == 100, "refresh_token_expires_in is tracked")
                try await setup.close()
            }
        } catch {
            failure = error
        }
        await transport.shutdown()
        await sandbox.stop()
        if let failure { throw failure }
    }
}
