public import Hummingbird
public import TradeSyncEngine

/// The request context every route shares.
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Who the request's bearer token speaks for; set by `APIAuthMiddleware` on `/api` routes
    /// (nil elsewhere, and on `/api/openapi.json`, which needs no token).
    public var caller: APICaller?

    public init(source: Source) {
        coreContext = .init(source: source)
    }
}
