import Hummingbird
import Logging
import TradeSyncEngine

/// The seed's /api/contractor/integrations routes, behind per-contractor bearer tokens.
struct APIRoutes: Sendable {
    let workspace: Workspace
    let settings: ServerSettings
    let logger: Logger

    func register(on router: Router<ServerRequestContext>) {}
}
