import Hummingbird
import Logging
import TradeSyncCore
import TradeSyncEngine

/// One route of the API: what `register` adds and what the OpenAPI document describes (its
/// test checks the two name the same routes).
struct APIRoute: Sendable {
    enum Operation: String, Sendable, CaseIterable {
        case listIntegrations, createIntegration, disconnectIntegration, listTemplates, requestSync, listLogs,
             startConnect, openAPI, oauthCallback
    }

    let operation: Operation
    let method: HTTPRequest.Method
    let path: String
    /// Needs `Authorization: Bearer …`.
    let auth: Bool

    var methodName: String { method.rawValue }
}

/// The seed's /api/contractor/integrations routes, behind per-contractor bearer tokens, and the
/// OAuth callback that completes a connect started through them.
struct APIRoutes: Sendable {
    let workspace: Workspace
    let settings: ServerSettings
    let logger: Logger

    static let base = "/api/contractor/integrations"
    static let table: [APIRoute] = [
        APIRoute(operation: .listIntegrations, method: .get, path: base, auth: true),
        APIRoute(operation: .createIntegration, method: .post, path: base, auth: true),
        APIRoute(operation: .disconnectIntegration, method: .delete, path: base, auth: true),
        APIRoute(operation: .listTemplates, method: .get, path: base + "/templates", auth: true),
        APIRoute(operation: .requestSync, method: .post, path: base + "/sync", auth: true),
        APIRoute(operation: .listLogs, method: .get, path: base + "/logs", auth: true),
        APIRoute(operation: .startConnect, method: .post, path: base + "/connect", auth: true),
        APIRoute(operation: .openAPI, method: .get, path: "/api/openapi.json", auth: false),
        APIRoute(operation: .oauthCallback, method: .get, path: "/oauth/callback", auth: false),
    ]

    /// Logs a page shows by default, and the most one request may ask for.
    static let defaultLogLimit = 20
    static let maxLogLimit = 200

    func register(on router: Router<ServerRequestContext>) {
        // First, so it wraps every route registered after it and the router's not-found answer.
        router.add(middleware: APIErrorMiddleware(logger: logger))
        let authenticated = router.group().add(middleware: APIAuthMiddleware(workspace: workspace))
        for route in APIRoutes.table {
            let handler = self.handler(route.operation)
            if route.auth {
                authenticated.on(RouterPath(route.path), method: route.method, use: handler)
            } else {
                router.on(RouterPath(route.path), method: route.method, use: handler)
            }
        }
    }

    func handler(_ operation: APIRoute.Operation) -> @Sendable (Request, ServerRequestContext) async throws -> Response {
        switch operation {
        case .listIntegrations: return list
        case .createIntegration: return create
        case .disconnectIntegration: return disconnect
        case .listTemplates: return templates
        case .requestSync: return sync
        case .listLogs: return logs
        case .startConnect: return connect
        case .openAPI: return { _, _ in APIResponse.json(OpenAPIDocument.document) }
        case .oauthCallback: return callback
        }
    }

    // MARK: Handlers

    func caller(_ context: ServerRequestContext) throws -> APICaller {
        // The auth middleware sets it before any authenticated route runs.
        guard let caller = context.caller else { throw APIRequestError(401, "missing Authorization: Bearer <token>") }
        return caller
    }

    func list(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let rows = try await workspace.apiIntegrations(caller: caller(context), demoId: request.uri.queryParameters.get("demoId"))
        return APIResponse.json(.object(JSONObject([("integrations", .array(rows))])))
    }

    func create(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let caller = try caller(context)
        let body = try await json(request)
        let (record, warnings) = try await workspace.apiCreateIntegration(body, caller: caller)
        var out = JSONObject([("id", .string(record.id)), ("connection_key", .string(record.connectionKey)),
                              ("status", .string(record.status.rawValue))])
        if !warnings.isEmpty { out["warnings"] = .array(warnings.map(JSONValue.string)) }
        return APIResponse.json(.object(out), status: .created, headers: [.location: "\(APIRoutes.base)?id=\(record.id)"])
    }

    func disconnect(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let caller = try caller(context)
        let id = try await integrationId(request, query: "id", bodyKeys: ["integrationId", "id"])
        let (record, outcome) = try await workspace.apiDisconnect(id: id, caller: caller)
        return APIResponse.json(.object(JSONObject([
            ("id", .string(record.id)), ("status", .string(record.status.rawValue)), ("revoked", .bool(outcome.revoked)),
            ("note", outcome.note.map(JSONValue.string) ?? .null),
        ])))
    }

    func templates(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try caller(context)
        return APIResponse.json(.object(JSONObject([("templates", .array(try await workspace.apiTemplates()))])))
    }

    func sync(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let caller = try caller(context)
        let id = try await integrationId(request, query: "integrationId", bodyKeys: ["integrationId", "id"])
        let c = try await workspace.visibleConnection(id: id, caller: caller)
        let outcome = try await workspace.requestSync(connectionId: c.id)
        return APIResponse.json(.object(JSONObject([("integrationId", .string(c.id)), ("status", .string(outcome.rawValue))])),
                                status: .accepted)
    }

    func logs(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let caller = try caller(context)
        guard let id = request.uri.queryParameters.get("integrationId"), !id.isEmpty else {
            throw APIRequestError(400, "integrationId: required", fieldErrors: [("integrationId", "required")])
        }
        var limit = APIRoutes.defaultLogLimit
        if let text = request.uri.queryParameters.get("limit") {
            guard let n = Int(text), n >= 1 else {
                throw APIRequestError(400, "limit: expected a whole number from 1 to \(APIRoutes.maxLogLimit)",
                                      fieldErrors: [("limit", "expected a whole number from 1 to \(APIRoutes.maxLogLimit)")])
            }
            limit = min(n, APIRoutes.maxLogLimit)
        }
        let rows = try await workspace.apiLogs(integrationId: id, limit: limit, caller: caller)
        return APIResponse.json(.object(JSONObject([("logs", .array(rows))])))
    }

    /// Starts the OAuth flow of a connection the caller sees: the provider sends the browser back
    /// to this server's `/oauth/callback`, on the host and scheme the request came in on.
    func connect(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let caller = try caller(context)
        let id = try await integrationId(request, query: "id", bodyKeys: ["integrationId", "id"])
        let c = try await workspace.visibleConnection(id: id, caller: caller)
        // The authority the browser used (its Host header): the provider must send it back there.
        let host = request.head.authority ?? "\(settings.host):\(settings.port)"
        let scheme = "http"
        do {
            let started = try await workspace.oauth().begin(c, redirectURI: "\(scheme)://\(host)/oauth/callback")
            return APIResponse.json(.object(JSONObject([("authorizeUrl", .string(started.url)), ("redirectUri", .string(started.redirectURI))])))
        } catch let e as ConnectError {
            throw APIRequestError(400, e.description)
        } catch let e as SealError {
            throw APIRequestError(503, e.description)
        }
    }

    /// The provider's redirect: state checked, code exchanged, tokens sealed; then back to the
    /// page with the outcome in the query (`connected=<key>` or `connect_error=<why>`).
    func callback(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        var query: [String: String] = [:]
        for p in request.uri.queryParameters { query[String(p.key)] = String(p.value) }
        let target: String
        do {
            let connected = try await workspace.oauth().complete(callback: query)
            target = "/?connected=" + APIRoutes.queryEscape(connected.connectionKey)
        } catch let e as ConnectError {
            target = "/?connect_error=" + APIRoutes.queryEscape(e.description)
        } catch let e as SealError {
            target = "/?connect_error=" + APIRoutes.queryEscape(e.description)
        } catch {
            logger.error("OAuth callback failed", metadata: ["error": "\(error)"])
            target = "/?connect_error=" + APIRoutes.queryEscape("the authorization could not be completed")
        }
        return Response(status: .seeOther, headers: [.location: target, .cacheControl: "no-store"])
    }

    // MARK: Request parts

    func json(_ request: Request) async throws -> JSONValue {
        let buffer = try await request.body.collect(upTo: settings.maxBodyBytes)
        guard buffer.readableBytes > 0 else { throw APIRequestError(400, "body: expected a JSON object") }
        do {
            return try JSONValue.parse(buffer.readableBytesView)
        } catch {
            throw APIRequestError(400, "body: \(error)")
        }
    }

    /// The connection id from the query (`?id=`) or the JSON body (`{"integrationId": …}`, the seed's shape).
    func integrationId(_ request: Request, query name: String, bodyKeys: [String]) async throws -> String {
        if let id = request.uri.queryParameters.get(name), !id.isEmpty { return id }
        let buffer = try await request.body.collect(upTo: settings.maxBodyBytes)
        if buffer.readableBytes > 0, case .object(let o)? = try? JSONValue.parse(buffer.readableBytesView) {
            for key in bodyKeys { if case .string(let id)? = o[key], !id.isEmpty { return id } }
        }
        throw APIRequestError(400, "\(name): required (in the query, or \(bodyKeys[0]) in a JSON body)",
                              fieldErrors: [(name, "required")])
    }

    static func queryEscape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPad(2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
