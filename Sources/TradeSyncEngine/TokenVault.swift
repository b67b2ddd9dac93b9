import Foundation
import Logging
import TradeSyncCore
import TradeSyncSources
import TradeSyncStore

/// What `rotate-key` did to the stored tokens.
public struct ResealReport: Sendable, Equatable {
    /// Connections whose tokens were sealed again under the current key.
    public var resealed = 0
    /// Already under the current key.
    public var current = 0
}

/// The store's tokens, sealed on the way in and unsealed on the way out. Nothing else in the
/// engine reads or writes `tradesync_tokens`. Internal: it speaks the store's and the sources'
/// types; callers rotate keys and connect through `Workspace`.
struct TokenVault: Sendable {
    let store: any SyncStore
    let sealer: SecretSealer

    init(store: any SyncStore, sealer: SecretSealer) {
        self.store = store
        self.sealer = sealer
    }

    static func context(_ integrationId: String, _ field: String) -> String { "\(integrationId):\(field)" }

    /// The stored tokens, unsealed, with the row as stored (its sealed refresh token is the
    /// compare-and-swap key).
    func load(integrationId: String) async throws -> (tokens: OAuthTokens, stored: StoredTokens)? {
        guard let stored = try await store.loadTokens(integrationId: integrationId) else { return nil }
        return (try unseal(stored, integrationId: integrationId), stored)
    }

    func unseal(_ s: StoredTokens, integrationId: String) throws -> OAuthTokens {
        OAuthTokens(
            accessToken: try s.accessToken.map { try sealer.unseal($0, context: TokenVault.context(integrationId, "access_token")) },
            refreshToken: try sealer.unseal(s.refreshToken, context: TokenVault.context(integrationId, "refresh_token")),
            expiresAt: s.expiresAtMicros, refreshExpiresAt: s.refreshExpiresAtMicros)
    }

    func seal(_ t: OAuthTokens, integrationId: String, callbackFieldsJSON: String? = nil) throws -> StoredTokens {
        StoredTokens(
            accessToken: try t.accessToken.map { try sealer.seal($0, context: TokenVault.context(integrationId, "access_token")) },
            refreshToken: try sealer.seal(t.refreshToken, context: TokenVault.context(integrationId, "refresh_token")),
            expiresAtMicros: t.expiresAt, refreshExpiresAtMicros: t.refreshExpiresAt, callbackFieldsJSON: callbackFieldsJSON)
    }

    /// Stores tokens sealed: replacing `previous` (compare-and-swap on its sealed refresh token),
    /// or only where none are stored when `previous` is nil.
    func save(_ tokens: OAuthTokens, integrationId: String, replacing previous: StoredTokens?,
                     callbackFieldsJSON: String? = nil) async throws -> Bool {
        try await store.replaceTokens(integrationId: integrationId, expectedRefreshToken: previous?.refreshToken,
                                      with: seal(tokens, integrationId: integrationId, callbackFieldsJSON: callbackFieldsJSON))
    }

    /// Stores tokens from a fresh authorization, replacing whatever was stored (a reconnect).
    func replaceAll(_ tokens: OAuthTokens, integrationId: String, callbackFieldsJSON: String?) async throws {
        for _ in 0..<5 {
            let current = try await store.loadTokens(integrationId: integrationId)
            if try await save(tokens, integrationId: integrationId, replacing: current, callbackFieldsJSON: callbackFieldsJSON) {
                return
            }
        }
        throw StoreError("the tokens of connection \(integrationId) kept changing while new ones were stored")
    }

    func persistence(integrationId: String, holder: String, seed: String? = nil,
                            logger: Logger = Logger(label: "tradesync.credentials")) -> SealedTokenPersistence {
        SealedTokenPersistence(vault: self, integrationId: integrationId, holder: holder, seed: seed, logger: logger)
    }

    /// Seals every stored token under the current key (`rotate-key`). Safe to stop and run
    /// again: each row is rewritten by compare-and-swap, and both keys read meanwhile.
    func resealAll() async throws -> ResealReport {
        var report = ResealReport()
        for id in try await store.tokenIntegrationIds() {
            var done = false
            for _ in 0..<10 where !done {
                guard let stored = try await store.loadTokens(integrationId: id) else { done = true; break }
                let fields = [stored.refreshToken] + (stored.accessToken.map { [$0] } ?? [])
                if !fields.contains(where: sealer.needsReseal) {
                    report.current += 1
                    done = true
                    break
                }
                let plain = try unseal(stored, integrationId: id)
                if try await save(plain, integrationId: id, replacing: stored) {
                    report.resealed += 1
                    done = true
                }
                // else: a refresh rotated it meanwhile; read it again.
            }
            if !done { throw StoreError("the tokens of connection \(id) kept changing during the rotation; run it again") }
        }
        return report
    }
}

/// One connection's tokens for the refresh-token authenticator: sealed in the store, a
/// credential lease per connection, and an optional seed from a `refresh_token` reference.
actor SealedTokenPersistence: TokenPersistence {
    let vault: TokenVault
    let integrationId: String
    let holder: String
    let seed: String?
    let logger: Logger
    /// The sealed refresh token as read, by its plain text: the compare-and-swap key (sealing is
    /// randomised, so sealing the same token again would not match).
    var sealedRefresh: [String: String] = [:]
    var toldSeed = false

    init(vault: TokenVault, integrationId: String, holder: String, seed: String?, logger: Logger) {
        self.vault = vault
        self.integrationId = integrationId
        self.holder = holder
        self.seed = seed
        self.logger = logger
    }

    func loadTokens() async throws -> OAuthTokens? {
        var loaded = try await vault.load(integrationId: integrationId)
        if loaded == nil, let seed {
            // Headless set-up: the configured refresh token seeds the store once.
            let seeded = OAuthTokens(accessToken: nil, refreshToken: seed, expiresAt: nil)
            if try await vault.save(seeded, integrationId: integrationId, replacing: nil) {
                logger.notice("seeded the sealed token store from the connection's refresh_token reference")
                toldSeed = true
            }
            loaded = try await vault.load(integrationId: integrationId)
        }
        guard let (tokens, stored) = loaded else { return nil }
        if let seed, seed != tokens.refreshToken, !toldSeed {
            toldSeed = true
            logger.notice("the stored refresh token (rotated since it was seeded) wins over the connection's refresh_token reference")
        }
        sealedRefresh[tokens.refreshToken] = stored.refreshToken
        return tokens
    }

    func replaceTokens(expected: String, with new: OAuthTokens) async throws -> Bool {
        // A token never read from the store cannot be the stored one.
        guard let sealed = sealedRefresh[expected] else { return false }
        let previous = StoredTokens(accessToken: nil, refreshToken: sealed, expiresAtMicros: nil)
        return try await vault.save(new, integrationId: integrationId, replacing: previous)
    }

    func acquireRefreshLease() async throws -> Bool {
        try await vault.store.acquireCredentialLease(integrationId: integrationId, holder: holder,
                                                     ttlSeconds: CredentialLease.ttlSeconds)
    }

    func releaseRefreshLease() async {
        try? await vault.store.releaseCredentialLease(integrationId: integrationId, holder: holder)
    }
}
