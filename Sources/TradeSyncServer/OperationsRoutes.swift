import Hummingbird
import Logging
import TradeSyncEngine

/// /health, /ready and /metrics: for a load balancer, an orchestrator and Prometheus. None needs
/// a token; none says more than whether the process works (no connection names, no secrets).
struct OperationsRoutes: Sendable {
    let workspace: Workspace
    let logger: Logger
    /// The registry `/metrics` shows; nil = the one `ServerMetrics.bootstrap()` installed.
    var metrics: ServerMetrics? = nil

    func register(on router: Router<ServerRequestContext>) {
        // The process answers: nothing else is checked (a liveness probe must not fail because
        // the database is down, or the orchestrator restarts a process that would recover).
        router.get("/health") { _, _ in "ok\n" }
        // The store answers and is migrated for this project: the process can do its work.
        router.get("/ready") { _, _ -> Response in
            let readiness = await workspace.readiness()
            if readiness.ready { return Self.text(.ok, "ready\n") }
            logger.warning("not ready", metadata: ["problems": "\(readiness.problems.joined(separator: "; "))"])
            return Self.text(.serviceUnavailable, "not ready: " + readiness.problems.joined(separator: "; ") + "\n")
        }
        router.get("/metrics") { _, _ -> Response in
            guard let metrics = metrics ?? ServerMetrics.bootstrapped else {
                return Self.text(.serviceUnavailable, "no metrics backend: the process did not call ServerMetrics.bootstrap()\n")
            }
            var response = Self.text(.ok, metrics.text())
            response.headers[.contentType] = ServerMetrics.contentType
            return response
        }
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
