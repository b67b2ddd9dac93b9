import Hummingbird
import TradeSyncEngine

/// `Authorization: Bearer tsk_…` on every API route: none, a malformed, unknown or revoked
/// token answers 401 before the route runs; a good one sets `context.caller`.
struct APIAuthMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext
    let workspace: Workspace

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            return APIResponse.error(.unauthorized, "missing Authorization: Bearer <token> (tradesync token create)",
                                     headers: [.wwwAuthenticate: "Bearer"])
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
              let caller = try await workspace.authenticate(bearer: String(parts[1].filter { $0 != " " }))
        else {
            return APIResponse.error(.unauthorized, "invalid or revoked token", headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
        }
        var context = context
        context.caller = caller
        return try await next(request, context)
    }
}
