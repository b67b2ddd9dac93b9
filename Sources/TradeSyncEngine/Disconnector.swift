import Foundation
import TradeSyncConfig
public import TradeSyncCore
import TradeSyncSources
import TradeSyncStore

/// What `disconnect` did at the provider.
public struct DisconnectOutcome: Sendable, Equatable {
    /// The refresh token was revoked at the provider's revoke endpoint.
    public var revoked: Bool
    /// Why it was not (no endpoint, no token, the provider's answer); the local tokens are gone anyway.
    public var note: String?
}

extension OAuthConnector {
    /// Revokes the grant where the provider has a revoke endpoint, deletes the stored tokens and
    /// marks the connection `disconnected`. Synced data stays.
    public func disconnect(_ connection: ConnectionRecord) async throws -> DisconnectOutcome {
        let runtime = try runtime(connection)
        var outcome = DisconnectOutcome(revoked: false, note: nil)
        let loaded: OAuthTokens?
        do {
            loaded = try await vault.load(integrationId: connection.id)?.tokens
        } catch {
            // A token no configured key opens cannot be revoked, but can still be forgotten.
            loaded = nil
            outcome.note = "the stored token could not be unsealed (\(error)); not revoked at the provider"
        }
        if let tokens = loaded {
            if let revokeURL = runtime.revokeURL {
                outcome = await revoke(tokens.refreshToken, at: revokeURL, runtime: runtime)
            } else {
                outcome.note = "\(runtime.integration.displayName) has no revoke endpoint: remove the app's access in the provider's settings"
            }
        } else if outcome.note == nil {
            outcome.note = "no stored tokens"
        }
        try await store.deleteTokens(integrationId: connection.id)
        try await store.setConnectionStatus(id: connection.id, status: .disconnected, error: nil)
        return outcome
    }

    /// RFC 7009: Google takes `token` as a form; Intuit takes `{"token": …}` with HTTP Basic.
    func revoke(_ token: String, at url: String, runtime: ConnectionRuntime) async -> DisconnectOutcome {
        var request = HTTPRequestData(method: "POST", url: url)
        request.setHeader("Accept", "application/json")
        if (runtime.integration.auth.method as? any OAuthGrant)?.clientAuth == .basic, let id = runtime.credentials["client_id"],
           let secret = runtime.credentials["client_secret"]
        {
            request.setHeader("Authorization", "Basic " + Data((id + ":" + secret).utf8).base64EncodedString())
            request.setHeader("Content-Type", "application/json")
            request.body = Array(JSONValue.object(JSONObject([(key: "token", value: .string(token))])).jsonText.utf8)
        } else {
            request.setHeader("Content-Type", "application/x-www-form-urlencoded")
            request.body = URLEncoding.form([("token", token)])
        }
        do {
            let response = try await transport.send(request, timeout: retry.requestTimeout)
            if (200..<300).contains(response.status) { return DisconnectOutcome(revoked: true, note: nil) }
            let detail = ProviderErrorDetail.summary(response.body)
            return DisconnectOutcome(revoked: false, note: "the revoke endpoint answered HTTP \(response.status)\(detail.isEmpty ? "" : ": \(detail)")")
        } catch {
            return DisconnectOutcome(revoked: false, note: "the revoke endpoint could not be reached: \(TransportCause(error).words)")
        }
    }
}
