import Foundation
import Hummingbird
import NIOCore
import TradeSyncCore

/// What the Jobber emulator changes while it runs.
struct JobberState: Sendable {
    var grants = RotatingGrants()
    /// Access tokens (JWTs) and when each expires.
    var access: [String: Int64] = [:]
    /// Records changed through the sandbox API: their new updatedAt, per connection.
    var changes: [String: [Int: Int64]] = [:]
    /// The query-cost bucket: points available at `refilled`.
    var available: Double?
    var refilled: Int64 = 0

    /// `SandboxFault.expireTokens`: the tokens stay known and are expired.
    mutating func expireAllAccessTokens() {
        for key in access.keys { access[key] = 0 }
    }
}

/// Jobber emulator under `/jobber`: OAuth at `/api/oauth/authorize` and `/api/oauth/token`
/// (refresh tokens rotate), and `POST /api/graphql`, which runs read queries over the
/// account's clients, jobs, quotes, visits and users with Jobber's relay connections, filters,
/// sorts and query-cost throttling.
struct JobberSandbox: Sendable {
    let configuration: JobberSandboxConfiguration
    let data: JobberData
    let state: Locked<SandboxState>

    static let rateLimitDocs = "https://developer.getjobber.com/docs/using_jobbers_api/api_rate_limits"
    /// Connections serve at most 100 nodes per page, and a connection without `first`/`last`
    /// is costed as 100.
    static let maxPageSize = 100

    func handle(_ request: Request, path: String, query: FormFields) async throws -> Response {
        switch path {
        case "/api/oauth/authorize": return authorize(query: query)
        case "/api/oauth/token": return try await token(request, query: query)
        case "/api/graphql": return try await graphql(request)
        default: return Reply.json(.notFound, text: #"{"message":"Not Found"}"#)
        }
    }

    // MARK: OAuth

    private func authorize(query: FormFields) -> Response {
        guard query["client_id"] == configuration.clientId else {
            return Reply.text(.unauthorized, "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
        }
        guard let redirect = query["redirect_uri"], !redirect.isEmpty else {
            return Reply.text(.badRequest, "The request is missing a required parameter: redirect_uri.")
        }
        guard query["response_type"] == "code" else {
            return Reply.redirect(to: ConsentRedirect.location(redirect: redirect, pairs: [("error", "unsupported_response_type")], state: query["state"]))
        }
        if state.withLock({ $0.tokens.denyConsent }) {
            return Reply.redirect(to: ConsentRedirect.location(redirect: redirect, pairs: [("error", "access_denied")], state: query["state"]))
        }
        let code = OpaqueToken.random(43)
        let now = SandboxTime.now()
        state.withLock { $0.jobber.grants.addCode(code, .init(redirectURI: redirect, realm: "", expires: now + 600 * SandboxTime.ticksPerSecond)) }
        return Reply.redirect(to: ConsentRedirect.location(redirect: redirect, pairs: [("code", code)], state: query["state"]))
    }

    private func token(_ request: Request, query: FormFields) async throws -> Response {
        state.withLock {
            $0.jobber.grants.countRequest()
            $0.tokens.countRequest(.jobber)
        }
        guard request.method == .post else { return Self.oauthError(.methodNotAllowed, "invalid_request", "Method not allowed.") }
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        // Jobber reads the parameters from the form body (or, leniently, the query string).
        let form = FormFields(String(buffer: body))
        func field(_ name: String) -> String? { form[name] ?? query[name] }
        guard field("client_id") == configuration.clientId, field("client_secret") == configuration.clientSecret else {
            return Self.oauthError(.unauthorized, "invalid_client", "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
        }
        let now = SandboxTime.now()
        let refresh = OpaqueToken.random(32)
        let ok: Bool
        switch field("grant_type") ?? "" {
        case "authorization_code":
            guard let code = field("code") else { return Self.oauthError(.badRequest, "invalid_request", "The request is missing a required parameter: code.") }
            let redirect = field("redirect_uri")
            ok = state.withLock { s in
                guard let c = s.jobber.grants.takeCode(code), c.expires > now, redirect == nil || redirect == c.redirectURI else {
                    s.jobber.grants.countInvalidGrant()
                    return false
                }
                s.jobber.grants.add(refresh, .init(realm: "", consented: now, expires: nil))
                return true
            }
        case "refresh_token":
            guard let old = field("refresh_token"), !old.isEmpty else {
                return Self.oauthError(.badRequest, "invalid_request", "The request is missing a required parameter: refresh_token.")
            }
            ok = state.withLock { s in
                guard s.jobber.grants.rotate(old, to: refresh, now: now) != nil else {
                    s.jobber.grants.countInvalidGrant()
                    return false
                }
                return true
            }
        default:
            return Self.oauthError(.badRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
        }
        guard ok else { return Self.oauthError(.unauthorized, "invalid_grant", "The provided refresh token is not valid.") }
        let access = issueAccess(now: now)
        // Jobber answers the two tokens only: the access token's expiry is its JWT `exp` claim.
        return Reply.json(.ok, text: #"{"access_token":\#(Reply.quote(access)),"refresh_token":\#(Reply.quote(refresh))}"#)
    }

    private func issueAccess(now: Int64) -> String {
        let exp = now / SandboxTime.ticksPerSecond + Int64(configuration.accessLifetimeSeconds)
        let payload = #"{"iss":"Jobber","sub":1500000,"account_id":5500000,"app_id":\#(Reply.quote(configuration.clientId)),"iat":\#(now / SandboxTime.ticksPerSecond),"exp":\#(exp)}"#
        let access = "eyJhbGciOiJIUzI1NiJ9." + OpaqueToken.encode(payload) + "." + OpaqueToken.random(43)
        state.withLock { s in
            if s.jobber.access.count > 10_000 { s.jobber.access = s.jobber.access.filter { $0.value > now } }
            s.jobber.access[access] = now + Int64(configuration.accessLifetimeSeconds) * SandboxTime.ticksPerSecond
        }
        return access
    }

    /// A refresh token, as if the account owner had approved the app.
    func issueRefreshToken() -> String {
        let token = OpaqueToken.random(32)
        state.withLock { $0.jobber.grants.add(token, .init(realm: "", consented: SandboxTime.now(), expires: nil)) }
        return token
    }

    // MARK: GraphQL endpoint

    private func graphql(_ request: Request) async throws -> Response {
        guard request.method == .post else { return Reply.json(.notFound, text: #"{"message":"Not Found"}"#) }
        let header = request.headers[.authorization] ?? ""
        let token = header.lowercased().hasPrefix("bearer ") ? String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces) : ""
        let now = SandboxTime.now()
        guard let expires = state.withLock({ $0.jobber.access[token] }) else {
            return Reply.json(.unauthorized, text: #"{"message":"Unauthorized"}"#)
        }
        guard expires > now else {
            // A known token past its expiry: Jobber answers 200 with UNAUTHENTICATED.
            return Reply.json(.ok, text: #"{"errors":[{"message":"Unauthenticated: the access token has expired","extensions":{"code":"UNAUTHENTICATED"}}]}"#)
        }
        guard let version = request.headers.value(named: "X-JOBBER-GRAPHQL-VERSION"), !version.isEmpty else {
            return Self.errors(.badRequest, "An API version must be given in the X-JOBBER-GRAPHQL-VERSION header (e.g. 2025-04-16).", code: "MISSING_API_VERSION")
        }
        let parts = version.split(separator: "-")
        guard parts.count == 3, let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]), SandboxTime.isValid(year: y, month: m, day: d), y >= 2022 else {
            return Self.errors(.badRequest, "Unsupported API version: \(version)", code: "UNSUPPORTED_API_VERSION")
        }
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        guard let json = try? JSONValue.parse(String(buffer: body)), let text = json["query"]?.stringValue else {
            return Self.errors(.ok, "No query string was present")
        }
        let variables = json["variables"]?.objectValue ?? JSONObject()
        let document: GraphQLDocument
        do {
            document = try GraphQLDocument.parse(text)
        } catch {
            return Self.errors(.ok, error.message, line: error.line, column: error.column)
        }
        let wanted = json["operationName"]?.stringValue
        let operations = document.operations.filter { wanted == nil || $0.name == wanted }
        guard operations.count == 1, let operation = operations.first else {
            return Self.errors(.ok, wanted == nil ? "An operation name is required" : "No operation named \"\(wanted ?? "")\"")
        }
        guard operation.kind == "query" else {
            return Self.errors(.ok, "The sandbox emulates Jobber's read API only: \(operation.kind) operations are not supported")
        }
        var execution = JobberExecution(data: data, document: document, operation: operation, variables: variables, changes: state.withLock { $0.jobber.changes })
        let requested: Int
        do {
            try execution.checkVariables()
            requested = try execution.cost(operation.selections, actual: nil)
        } catch {
            return Self.errors(.ok, error.message, line: error.line, column: error.column, code: error.code)
        }
        let maximum = Double(configuration.maximumAvailable)
        let restore = Double(configuration.restoreRate)
        // Leaky bucket: refill for the time passed, refuse when the query's requested cost is
        // more than what is left.
        let admitted: Double? = state.withLock { s in
            let elapsed = Double(max(0, now - s.jobber.refilled)) / Double(SandboxTime.ticksPerSecond)
            let available = min(maximum, (s.jobber.available ?? maximum) + elapsed * restore)
            s.jobber.available = available
            s.jobber.refilled = now
            return Double(requested) <= available ? available : nil
        }
        guard admitted != nil else {
            let available = state.withLock { Int($0.jobber.available ?? maximum) }
            var out = JSONBuffer(capacity: 512)
            out.raw("{\"errors\":[{\"message\":\"Throttled\",\"extensions\":{\"code\":\"THROTTLED\",\"documentation\":"); out.string(Self.rateLimitDocs)
            out.raw("}}],\"extensions\":{\"cost\":{\"requestedQueryCost\":"); out.int(requested)
            out.raw(",\"actualQueryCost\":null,\"throttleStatus\":{\"maximumAvailable\":"); out.int(configuration.maximumAvailable)
            out.raw(",\"currentlyAvailable\":"); out.int(available)
            out.raw(",\"restoreRate\":"); out.int(configuration.restoreRate)
            out.raw("}}}}")
            return Reply.json(.ok, out)
        }
        var payload = JSONBuffer(capacity: 16 * 1_024)
        let actual: Int
        do {
            try execution.run(into: &payload)
            actual = try execution.cost(operation.selections, actual: execution.returned)
        } catch {
            return Self.errors(.ok, error.message, line: error.line, column: error.column, code: error.code)
        }
        let left = state.withLock { s -> Int in
            s.jobber.available = max(0, (s.jobber.available ?? maximum) - Double(actual))
            return Int(s.jobber.available ?? 0)
        }
        var out = JSONBuffer(capacity: payload.buffer.readableBytes + 512)
        out.raw("{\"data\":"); out.rawBytes(payload)
        out.raw(",\"extensions\":{\"cost\":{\"requestedQueryCost\":"); out.int(requested)
        out.raw(",\"actualQueryCost\":"); out.int(actual)
        out.raw(",\"throttleStatus\":{\"maximumAvailable\":"); out.int(configuration.maximumAvailable)
        out.raw(",\"currentlyAvailable\":"); out.int(left)
        out.raw(",\"restoreRate\":"); out.int(configuration.restoreRate)
        out.raw("}},\"versioning\":{\"version\":"); out.string(version)
        out.raw("}}}")
        return Reply.json(.ok, out)
    }

    func currentlyAvailable() -> Int {
        let maximum = Double(configuration.maximumAvailable)
        return state.withLock { s in
            let elapsed = Double(max(0, SandboxTime.now() - s.jobber.refilled)) / Double(SandboxTime.ticksPerSecond)
            return Int(min(maximum, (s.jobber.available ?? maximum) + elapsed * Double(configuration.restoreRate)))
        }
    }

    /// Changes `count` records of a connection now (a new updatedAt); returns their ids.
    func touch(_ connection: String, count: Int) -> [String] {
        let total = data.count(connection)
        guard total > 0, ["clients", "jobs", "quotes"].contains(connection) else { return [] }
        return state.withLock { s in
            var chosen: [Int] = []
            var seen = Set<Int>()
            while chosen.count < min(max(0, count), total) {
                let i = s.touchRandom.below(total)
                if seen.insert(i).inserted { chosen.append(i) }
            }
            for i in chosen {
                let t = s.nextChangeTime()
                s.jobber.changes[connection, default: [:]][i] = t - t % SandboxTime.ticksPerSecond + SandboxTime.ticksPerSecond
            }
            return chosen.map { data.encodedId(connection, $0) }
        }
    }

    // MARK: errors

    /// `{"errors":[{"message":…}]}`, as GraphQL answers a request it cannot run.
    static func errors(_ status: HTTPResponse.Status, _ message: String, line: Int? = nil, column: Int? = nil, code: String? = nil) -> Response {
        var out = JSONBuffer(capacity: 256)
        out.raw("{\"errors\":[{\"message\":"); out.string(message)
        if let line, let column {
            out.raw(",\"locations\":[{\"line\":"); out.int(line); out.raw(",\"column\":"); out.int(column); out.raw("}]")
        }
        if let code { out.raw(",\"extensions\":{\"code\":"); out.string(code); out.raw("}") }
        out.raw("}]}")
        return Reply.json(status, out)
    }

    static func oauthError(_ status: HTTPResponse.Status, _ error: String, _ description: String) -> Response {
        Reply.json(status, text: #"{"error":\#(Reply.quote(error)),"error_description":\#(Reply.quote(description))}"#)
    }
}

extension JSONBuffer {
    /// Appends another buffer's bytes.
    mutating func rawBytes(_ other: JSONBuffer) {
        rawText(String(buffer: other.buffer))
    }
}
