import Foundation
import TradeSyncConfig
import TradeSyncStore

extension Workspace {
    /// One delivery of a signed webhook (`POST /webhooks/{provider}/{connection}`): `header`
    /// answers the request's headers by name (the signature's header is the integration's
    /// `auth.signature.header`). The body is the raw bytes as received: the signature covers them.
    public func receiveWebhook(provider: String, connection: String, body: [UInt8],
                               header: (String) -> String?) async throws -> WebhookOutcome {
        try await WebhookReceiver(project: project, store: store, resolver: resolver, logger: inputs.logger)
            .receive(provider: provider, connectionKey: connection, body: body, header: header)
    }

    /// A delivery the route refused by its size before reading it (413): counted with the others.
    public func webhookTooLarge(provider: String) {
        EngineMetrics.webhook(provider: WebhookReceiver.providerLabel(provider, in: project), outcome: "too_large")
    }
}
