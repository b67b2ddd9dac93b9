import Hummingbird
import Logging
import TradeSyncEngine

/// The integrations page at `/`, with its stylesheet and script (see Page/IntegrationsPanel.swift).
struct PageRoutes: Sendable {
    let workspace: Workspace
    let logger: Logger

    func register(on router: Router<ServerRequestContext>) {
        router.get("/") { _, _ in
            IntegrationsPanel.response(IntegrationsPanel.html, contentType: "text/html; charset=utf-8")
        }
        router.get("/assets/integrations.css") { _, _ in
            IntegrationsPanel.response(IntegrationsPanel.css, contentType: "text/css; charset=utf-8")
        }
        router.get("/assets/integrations.js") { _, _ in
            IntegrationsPanel.response(IntegrationsPanel.js, contentType: "text/javascript; charset=utf-8")
        }
    }
}
