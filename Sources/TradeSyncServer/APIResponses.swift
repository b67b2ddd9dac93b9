import Hummingbird
import Logging
import TradeSyncCore
import TradeSyncEngine

/// JSON bodies for the API: the rendering is `JSONValue`'s, so key order is the order written.
enum APIResponse {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.cacheControl] = "no-store"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: value.jsonText + "\n")))
    }

    /// `{ "error": message }`, with `errors: [{field, message}]` when a request had several problems.
    static func error(_ status: HTTPResponse.Status, _ message: String, fieldErrors: [(field: String, message: String)] = [],
                      headers: HTTPFields = [:]) -> Response {
        var body = JSONObject([("error", .string(message))])
        if !fieldErrors.isEmpty {
            body["errors"] = .array(fieldErrors.map { .object(JSONObject([("field", .string($0.field)), ("message", .string($0.message))])) })
        }
        return json(.object(body), status: status, headers: headers)
    }
}

/// Every answer under `/api` is JSON, errors too: the API's own (`APIRequestError`), the
/// framework's (404 for no route, 413 for a body over the limit) and a 405 for a path that
/// exists with another method. Paths outside `/api` pass untouched.
struct APIErrorMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path == "/api" || request.uri.path.hasPrefix("/api/") else {
            return try await next(request, context)
        }
        do {
            return try await next(request, context)
        } catch let e as APIRequestError {
            return APIResponse.error(HTTPResponse.Status(code: e.status), e.message, fieldErrors: e.fieldErrors)
        } catch let e as SealError {
            // No usable secrets_key: the deployment's to fix, and the message says how.
            return APIResponse.error(.serviceUnavailable, e.description)
        } catch let e as any HTTPResponseError {
            if e.status == .notFound {
                let allowed = APIRoutes.table.filter { $0.path == request.uri.path }.map(\.method.rawValue)
                if !allowed.isEmpty {
                    return APIResponse.error(.methodNotAllowed, "\(request.method.rawValue) is not allowed on \(request.uri.path) (allowed: \(allowed.joined(separator: ", ")))",
                                             headers: [.allow: allowed.joined(separator: ", ")])
                }
                return APIResponse.error(.notFound, "no route \(request.method.rawValue) \(request.uri.path)")
            }
            if e.status == .contentTooLarge { return APIResponse.error(.contentTooLarge, "the request body is over the server's limit") }
            return APIResponse.error(e.status, (e as? HTTPError)?.body ?? e.status.reasonPhrase)
        } catch {
            // The cause goes to the log, not to the caller: it may name paths or hosts.
            logger.error("API request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return APIResponse.error(.internalServerError, "internal error")
        }
    }
}
