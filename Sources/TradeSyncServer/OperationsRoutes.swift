import Hummingbird
import Logging
import TradeSyncEngine

/// /health, /ready and /metrics.
struct OperationsRoutes: Sendable {
    let workspace: Workspace
    let logger: Logger

    func register(on router: Router<ServerRequestContext>) {
        router.get("/health") { _, _ in "ok\n" }
    }
}
