import Hummingbird
import Logging
import TradeSyncEngine

/// Signed provider webhooks (Indeed Apply).
struct WebhookRoutes: Sendable {
    let workspace: Workspace
    let settings: ServerSettings
    let logger: Logger

    func register(on router: Router<ServerRequestContext>) {}
}
