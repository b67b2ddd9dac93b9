import Foundation
import Testing
@testable import TradeSyncCLI
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSources
import TradeSyncStore

@Suite struct ConnectionsCommandTests {
    @Test(arguments: Backend.allCases)
    func aRefreshTokenExpiringWithinSevenDaysIsFlagged(backend: Backend) async throws {
        if backend == .postgres && !postgresEnabled { return }
        try await withFreshStore(backend) { store in
            let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
            let day: Int64 = 86_400_000_000
            let soon = try await registeredConnection(store, key: "soon")
            let later = try await registeredConnection(store, key: "later")
            _ = try await registeredConnection(store, key: "never-connected")
            let vault = TokenVault(store: store, sealer: TestKeys.sealer)
            try await vault.replaceAll(OAuthTokens(accessToken: "a", refreshToken: "r1", expiresAt: now + 3_600_000_000,
                                                   refreshExpiresAt: now + 3 * day + day / 2),
                                       integrationId: soon.id, callbackFieldsJSON: nil)
            try await vault.replaceAll(OAuthTokens(accessToken: "a", refreshToken: "r2", expiresAt: nil,
                                                   refreshExpiresAt: now + 30 * day),
                                       integrationId: later.id, callbackFieldsJSON: nil)
            try await store.setConnectionStatus(id: soon.id, status: .connected, error: nil)
            let rows = Dictionary(ConnectionRow.rows(try await ConnectionOverview.all(store), now: now).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            #expect(rows.count == 3)
            #expect(rows["soon"]?.status == "connected")
            #expect(rows["soon"]?.warning == "the refresh token expires in 3 days: run `tradesync connect soon` before then")
            #expect(rows["soon"]?.accessTokenExpiresAt != nil)
            #expect(rows["later"]?.warning == nil)
            #expect(rows["later"]?.refreshTokenExpiresAt != nil)
            #expect(rows["never-connected"]?.refreshTokenExpiresAt == nil)
            let json = String(decoding: try JSONEncoder().encode(rows["soon"]), as: UTF8.self)
            #expect(json.contains("\"refresh_token_expires_at\""))
            #expect(!json.contains("r1"), "no token in the listing")
        }
    }
}
