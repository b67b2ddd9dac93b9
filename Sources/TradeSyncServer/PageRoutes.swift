import Hummingbird
import Logging
import TradeSyncEngine

/// The integrations page at `/`.
struct PageRoutes: Sendable {
    let workspace: Workspace
    let logger: Logger

    func register(on router: Router<ServerRequestContext>) {}
}
