public import Hummingbird
public import Logging
public import TradeSyncEngine

/// What the server needs besides the workspace.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: Int
    /// The largest API request body read; a larger one answers 413.
    public var maxBodyBytes: Int
    /// The largest webhook delivery read; a larger one answers 413. Larger than the API's: an
    /// Indeed Apply delivery carries the applicant's resume file in the body, base64-encoded.
    public var maxWebhookBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20,
                maxWebhookBodyBytes: Int = 16 << 20) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxWebhookBodyBytes = maxWebhookBodyBytes
    }
}

/// The HTTP side of `tradesync serve`: one router, its routes registered by the file that owns them
/// (API, page, webhooks, operations). The scheduler and workers run beside it in the same service group.
public enum ServerApplication {
    /// `metrics`: the registry `/metrics` shows; nil = the one `ServerMetrics.bootstrap()` installed.
    public static func router(workspace: Workspace, settings: ServerSettings, logger: Logger,
                              metrics: ServerMetrics? = nil) -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        OperationsRoutes(workspace: workspace, logger: logger, metrics: metrics).register(on: router)
        APIRoutes(workspace: workspace, settings: settings, logger: logger).register(on: router)
        WebhookRoutes(workspace: workspace, settings: settings, logger: logger).register(on: router)
        PageRoutes(workspace: workspace, logger: logger).register(on: router)
        return router
    }

    public static func application(workspace: Workspace, settings: ServerSettings, logger: Logger,
                                   metrics: ServerMetrics? = nil)
        -> some ApplicationProtocol & Sendable
    {
        Application(
            router: router(workspace: workspace, settings: settings, logger: logger, metrics: metrics),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "tradesync"),
            logger: logger
        )
    }
}
