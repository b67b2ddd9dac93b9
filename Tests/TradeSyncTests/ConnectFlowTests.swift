import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncSources
import TradeSyncStore

/// `connect` → sync → disconnect → reconnect against the sandbox's Google OAuth endpoints, the
/// browser played by an HTTP client that follows the consent redirect into the loopback listener.
@Suite(.serialized) struct ConnectFlowTests {
    func connector(_ h: SyncHarness) -> OAuthConnector {
        OAuthConnector(project: h.project, vault: h.vault, transport: h.transport,
                       resolver: CredentialResolver(environment: h.environment))
    }

    /// What the provider redirects the browser to, as the listener receives it.
    func consent(_ h: SyncHarness, _ request: AuthorizationRequest) async throws -> [String: String] {
        try await CallbackListener.receive(redirectURI: request.redirectURI, timeout: .seconds(30)) {
            Task { _ = try? await h.transport.send(HTTPRequestData(url: request.url), timeout: .seconds(10)) }
        }
    }

    static func redirectURI() -> String { "http://127.0.0.1:\(freeLoopbackPort())/oauth/callback" }

    @Test(arguments: Backend.allCases)
    func approveDenyMismatchReuseSyncDisconnectReconnect(backend: Backend) async throws {
        if backend == .postgres && !postgresEnabled { return }
        try await SyncHarness.with(backend) { h in
            let connector = connector(h)
            // Start from a connection never authorised.
            try await h.store.deleteTokens(integrationId: h.google.id)

            // Approve.
            let request = try await connector.begin(h.google, redirectURI: Self.redirectURI())
            #expect(request.url.hasPrefix("http://127.0.0.1:\(h.sandbox.port)/google/o/oauth2/v2/auth?response_type=code"))
            for part in ["access_type=offline", "prompt=consent", "code_challenge_method=S256", "state=\(request.state)"] {
                #expect(request.url.contains(part), "\(part)")
            }
            let approved = try await consent(h, request)
            #expect(approved["state"] == request.state)
            let code = try #require(approved["code"])
            let connected = try await connector.complete(request, callback: approved)
            #expect(connected.status == .connected)
            let first = try #require(try await h.vault.load(integrationId: h.google.id)?.tokens)
            #expect(h.sandbox.isGoogleRefreshTokenValid(first.refreshToken))

            // The same code again (with a fresh state): refused, nothing stored.
            let again = try await connector.begin(h.google, redirectURI: Self.redirectURI())
            await #expect(throws: ConnectError.self) {
                _ = try await connector.complete(again, callback: ["code": code, "state": again.state])
            }
            // A state that is not the pending one.
            let forged = try await connector.begin(h.google, redirectURI: Self.redirectURI())
            do {
                _ = try await connector.complete(forged, callback: ["code": "4/0Abxyz", "state": "forged"])
                Issue.record("a forged state was accepted")
            } catch let error as ConnectError {
                #expect(error.description.contains("state does not match"))
            }
            // A state is single use: the real one after it was spent is refused too.
            let once = try await connector.begin(h.google, redirectURI: Self.redirectURI())
            let onceQuery = try await consent(h, once)
            _ = try await connector.complete(once, callback: onceQuery)
            await #expect(throws: ConnectError.self) { _ = try await connector.complete(once, callback: onceQuery) }
            // Deny.
            h.sandbox.setGoogleConsent(denied: true)
            let denied = try await connector.begin(h.google, redirectURI: Self.redirectURI())
            let deniedQuery = try await consent(h, denied)
            #expect(deniedQuery["error"] == "access_denied")
            do {
                _ = try await connector.complete(denied, callback: deniedQuery)
                Issue.record("a denied consent connected")
            } catch let error as ConnectError {
                #expect(error.description.contains("access_denied"))
            }
            h.sandbox.setGoogleConsent(denied: false)
            let kept = try #require(try await h.vault.load(integrationId: h.google.id)?.tokens)
            #expect(h.sandbox.isGoogleRefreshTokenValid(kept.refreshToken), "failed attempts stored nothing")

            // Sync with the connected tokens.
            let run = try await h.runner().run(h.google, options: SyncOptions(streams: ["reviews"]))
            #expect(run.status == .success, "\(run.error ?? "")")
            let synced = try await h.count("reviews", h.google)
            #expect(synced > 0)

            // Disconnect: revoked at the provider, tokens gone, data kept.
            let outcome = try await connector.disconnect(h.google)
            #expect(outcome.revoked, "\(outcome.note ?? "")")
            #expect(!h.sandbox.isGoogleRefreshTokenValid(kept.refreshToken))
            #expect(try await h.store.loadTokens(integrationId: h.google.id) == nil)
            #expect(try await h.store.connection(id: h.google.id)?.status == .disconnected)
            #expect(try await h.count("reviews", h.google) == synced)

            // Reconnect; the grant dies at the provider (needs_reauth); `connect` again fixes it.
            let re = try await connector.begin(h.google, redirectURI: Self.redirectURI())
            _ = try await connector.complete(re, callback: try await consent(h, re))
            let live = try #require(try await h.vault.load(integrationId: h.google.id)?.tokens)
            h.sandbox.revokeGoogleRefreshToken(live.refreshToken)
            // The access token from the consent is still valid: drop it so the run must refresh.
            _ = try await h.vault.save(OAuthTokens(accessToken: nil, refreshToken: live.refreshToken, expiresAt: nil),
                                       integrationId: h.google.id, replacing: try await h.store.loadTokens(integrationId: h.google.id))
            let failed = try await h.runner().run(h.google, options: SyncOptions(streams: ["reviews"]))
            #expect(failed.status == .failed)
            #expect(try await h.store.connection(id: h.google.id)?.status == .needsReauth)
            let fix = try await connector.begin(h.google, redirectURI: Self.redirectURI())
            _ = try await connector.complete(fix, callback: try await consent(h, fix))
            #expect(try await h.store.connection(id: h.google.id)?.status == .connected)
            let after = try await h.runner().run(h.google, options: SyncOptions(streams: ["reviews"]))
            #expect(after.status == .success, "\(after.error ?? "")")
        }
    }
}

/// Headless set-up: `refresh_token: env:…` seeds the sealed store once; after a rotation the
/// stored token wins over the reference.
@Suite struct RefreshTokenSeedTests {
    @Test func aRefreshTokenReferenceSeedsTheSealedStoreOnce() async throws {
        try await SyncHarness.with(.sqlite) { h in
            try await h.store.deleteTokens(integrationId: h.google.id)
            let seed = h.sandbox.issueGoogleRefreshToken()
            var c = h.google
            c.credentialsJSON = #"{"client_id":"env:GOOGLE_CLIENT_ID","client_secret":"env:GOOGLE_CLIENT_SECRET","refresh_token":"env:GOOGLE_REFRESH_TOKEN"}"#
            c = try await h.store.upsertConnection(c)
            let base = h.environment
            let runner = SyncRunner(project: h.project, store: h.store, transport: h.transport,
                                    resolver: CredentialResolver(environment: { $0 == "GOOGLE_REFRESH_TOKEN" ? seed : base($0) }),
                                    sealer: TestKeys.sealer)
            let r = try await runner.run(c, options: SyncOptions(streams: ["reviews"]))
            #expect(r.status == .success, "\(r.error ?? "")")
            let raw = try #require(try await h.store.loadTokens(integrationId: c.id))
            #expect(SecretSealer.isSealed(raw.refreshToken))
            #expect(try await h.vault.load(integrationId: c.id)?.tokens.refreshToken == seed)
            // Rotated elsewhere: the stored token is used, not the (now stale) reference.
            let rotated = h.sandbox.issueGoogleRefreshToken()
            let stored = try #require(try await h.vault.load(integrationId: c.id))
            #expect(try await h.vault.save(OAuthTokens(accessToken: nil, refreshToken: rotated, expiresAt: nil), integrationId: c.id,
                                           replacing: stored.stored))
            h.sandbox.revokeGoogleRefreshToken(seed)
            let again = try await runner.run(c, options: SyncOptions(streams: ["reviews"]))
            #expect(again.status == .success, "\(again.error ?? "")")
        }
    }
}

@Suite struct AuthorizationStateTests {
    @Test func aStateOlderThanTenMinutesIsRefusedAndNothingIsStored() async throws {
        try await SyncHarness.with(.sqlite) { h in
            try await h.store.deleteTokens(integrationId: h.google.id)
            let connector = OAuthConnector(project: h.project, vault: h.vault, transport: h.transport,
                                           resolver: CredentialResolver(environment: h.environment))
            let fresh = try await connector.begin(h.google, redirectURI: "http://127.0.0.1:1/cb")
            let old = OAuthStateRecord(state: "expired-state", integrationId: h.google.id, redirectURI: "http://127.0.0.1:1/cb",
                                       codeVerifier: nil, expiresAtMicros: currentMicros() - 1)
            try await h.store.saveOAuthState(old)
            let request = AuthorizationRequest(url: fresh.url, state: "expired-state", redirectURI: old.redirectURI,
                                               connection: h.google)
            do {
                _ = try await connector.complete(request, callback: ["code": "4/0Abx", "state": "expired-state"])
                Issue.record("an expired state was accepted")
            } catch let error as ConnectError {
                #expect(error.description.contains("expired"))
            }
            #expect(try await h.store.loadTokens(integrationId: h.google.id) == nil)
        }
    }
}

