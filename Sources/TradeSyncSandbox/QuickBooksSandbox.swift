import Foundation
import Hummingbird
import NIOCore
import TradeSyncCore

/// What the QuickBooks emulator changes while it runs.
struct QuickBooksState: Sendable {
    var grants = RotatingGrants()
    /// Access tokens and the realm each was issued for.
    var access: [String: (realm: String, expires: Int64)] = [:]
    var changes: [QBEntity: [Int: QBChange]] = [:]
    /// Deleted records and when.
    var deleted: [QBEntity: [Int: Int64]] = [:]
    /// Admitted API requests of the last 60 seconds (per realm; the sandbox has one), oldest
    /// first: a sliding window, so a test never straddles a minute boundary.
    var recent: [Int64] = []

    /// `SandboxFault.expireTokens`: issued access tokens stay known but have expired (401
    /// "Token expired").
    mutating func expireAllAccessTokens() {
        for key in access.keys { access[key]?.expires = 0 }
    }
}

/// QuickBooks Online emulator under `/quickbooks`, at Intuit's own paths on its four hosts
/// (they do not collide): `/connect/oauth2` (appcenter.intuit.com, consent),
/// `/oauth2/v1/tokens/bearer` (oauth.platform.intuit.com), `/v2/oauth2/tokens/revoke`
/// (developer.api.intuit.com) and `/v3/company/{realmId}/query|cdc` (quickbooks.api.intuit.com).
struct QuickBooksSandbox: Sendable {
    let configuration: QuickBooksSandboxConfiguration
    let data: QuickBooksData
    let state: Locked<SandboxState>

    static let scope = "com.intuit.quickbooks.accounting"
    static let defaultMaxResults = 100
    static let maxMaxResults = 1_000

    func handle(_ request: Request, path: String, query: FormFields) async throws -> Response {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if segments == ["connect", "oauth2"] { return authorize(query: query) }
        if segments == ["oauth2", "v1", "tokens", "bearer"] { return try await token(request) }
        if segments == ["v2", "oauth2", "tokens", "revoke"] { return try await revoke(request) }
        guard segments.count == 4, segments[0] == "v3", segments[1] == "company", segments[3] == "query" || segments[3] == "cdc" else {
            return Self.fault(404, type: "ValidationFault", message: "Unsupported Operation", detail: "Operation \(path) is not supported.", code: "500")
        }
        guard request.method == .get || (request.method == .post && segments[3] == "query") else {
            return Self.fault(405, type: "ValidationFault", message: "Unsupported Operation", detail: "Method not allowed.", code: "500")
        }
        let realm = segments[2]
        let now = SandboxTime.now()
        let header = request.headers[.authorization] ?? ""
        let token = header.lowercased().hasPrefix("bearer ") ? String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces) : ""
        let issued = state.withLock { $0.quickbooks.access[token] }
        guard let issued, issued.expires > now else {
            return Self.authenticationFailed(detail: issued == nil ? "Token invalid" : "Token expired: \(token.prefix(12))…")
        }
        guard realm == issued.realm, realm == configuration.realmId else {
            return Self.fault(
                403, type: "AUTHENTICATION", message: "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                detail: "", code: "3100")
        }
        let limit = configuration.requestsPerMinute
        let throttled = state.withLock { s -> Bool in
            let horizon = now - 60 * SandboxTime.ticksPerSecond
            if let keep = s.quickbooks.recent.firstIndex(where: { $0 > horizon }) {
                s.quickbooks.recent.removeFirst(keep)
            } else {
                s.quickbooks.recent.removeAll()
            }
            guard s.quickbooks.recent.count < limit else { return true }
            s.quickbooks.recent.append(now)
            return false
        }
        if throttled {
            return Self.fault(
                429, type: "SERVICE", message: "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                detail: "The request limit was reached.", code: "3001")
        }
        if let minor = query["minorversion"], Int(minor) == nil {
            return Self.fault(400, type: "ValidationFault", message: "An application error has occurred while processing your request", detail: "Invalid minor version: \(minor)", code: "2010")
        }
        if segments[3] == "cdc" { return cdc(query: query, now: now) }
        var text = query["query"]
        if request.method == .post {
            // The query may also be POSTed as the body (Content-Type: application/text).
            var request = request
            let body = try await request.collectBody(upTo: 64 * 1024)
            text = String(buffer: body)
        }
        guard let text, !text.isEmpty else {
            return Self.fault(400, type: "ValidationFault", message: "Error parsing query", detail: "QueryParserError: Encountered \"<EOF>\" at line 1, column 0.", code: "4000")
        }
        return run(text)
    }

    // MARK: OAuth

    private func authorize(query: FormFields) -> Response {
        guard query["client_id"] == configuration.clientId else {
            return Reply.text(.badRequest, "invalid_client: the app was not found")
        }
        guard let redirect = query["redirect_uri"], !redirect.isEmpty else {
            return Reply.text(.badRequest, "invalid_request: redirect_uri is required")
        }
        guard query["response_type"] == "code" else {
            return Reply.redirect(to: ConsentRedirect.location(redirect: redirect, pairs: [("error", "unsupported_response_type")], state: query["state"]))
        }
        guard let scope = query["scope"], scope.split(separator: " ").contains(where: { $0 == Self.scope }) else {
            return Reply.redirect(to: ConsentRedirect.location(redirect: redirect, pairs: [("error", "invalid_scope")], state: query["state"]))
        }
        if state.withLock({ $0.tokens.denyConsent }) {
            return Reply.redirect(to: ConsentRedirect.location(redirect: redirect, pairs: [("error", "access_denied")], state: query["state"]))
        }
        let code = "AB11" + OpaqueToken.random(40)
        let now = SandboxTime.now()
        state.withLock {
            $0.quickbooks.grants.addCode(code, .init(redirectURI: redirect, realm: configuration.realmId, expires: now + 300 * SandboxTime.ticksPerSecond))
        }
        // Intuit's callback carries realmId next to code and state.
        return Reply.redirect(to: ConsentRedirect.location(
            redirect: redirect, pairs: [("code", code)], state: query["state"]) + "&" + FormFields.encode([("realmId", configuration.realmId)]))
    }

    private func token(_ request: Request) async throws -> Response {
        state.withLock {
            $0.quickbooks.grants.countRequest()
            $0.tokens.countRequest(.quickbooks)
        }
        guard request.method == .post else { return Self.oauthError(.methodNotAllowed, "invalid_request") }
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        let form = FormFields(String(buffer: body))
        // Intuit wants the client as HTTP Basic; client_id/secret in the form are not accepted.
        guard let basic = BasicCredentials(request.headers[.authorization]), basic.user == configuration.clientId,
            basic.password == configuration.clientSecret
        else {
            return Self.oauthError(.unauthorized, "invalid_client")
        }
        let now = SandboxTime.now()
        let lifetime = Int64(configuration.refreshTokenLifetimeSeconds) * SandboxTime.ticksPerSecond
        let access = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + OpaqueToken.random(180)
        let refresh = "AB11" + String(now / SandboxTime.ticksPerSecond + Int64(configuration.refreshTokenLifetimeSeconds)) + OpaqueToken.random(34)
        let grant: RotatingGrants.Grant?
        switch form["grant_type"] ?? "" {
        case "authorization_code":
            guard let code = form["code"], let redirect = form["redirect_uri"] else { return Self.oauthError(.badRequest, "invalid_request") }
            grant = state.withLock { s -> RotatingGrants.Grant? in
                guard let c = s.quickbooks.grants.takeCode(code), c.expires > now, c.redirectURI == redirect else {
                    s.quickbooks.grants.countInvalidGrant()
                    return nil
                }
                let g = RotatingGrants.Grant(realm: c.realm, consented: now, expires: now + lifetime)
                s.quickbooks.grants.add(refresh, g)
                return g
            }
        case "refresh_token":
            guard let old = form["refresh_token"], !old.isEmpty else { return Self.oauthError(.badRequest, "invalid_request") }
            grant = state.withLock { s -> RotatingGrants.Grant? in
                guard let g = s.quickbooks.grants.rotate(old, to: refresh, now: now) else {
                    s.quickbooks.grants.countInvalidGrant()
                    return nil
                }
                return g
            }
        default:
            return Self.oauthError(.badRequest, "unsupported_grant_type")
        }
        guard let grant else { return Self.oauthError(.badRequest, "invalid_grant") }
        state.withLock { s in
            if s.quickbooks.access.count > 10_000 { s.quickbooks.access = s.quickbooks.access.filter { $0.value.expires > now } }
            s.quickbooks.access[access] = (grant.realm, now + Int64(configuration.accessLifetimeSeconds) * SandboxTime.ticksPerSecond)
        }
        let left = max(0, ((grant.expires ?? now) - now) / SandboxTime.ticksPerSecond)
        var out = JSONBuffer(capacity: 512)
        out.raw("{\"token_type\":\"bearer\",\"access_token\":"); out.string(access)
        out.raw(",\"refresh_token\":"); out.string(refresh)
        out.raw(",\"expires_in\":"); out.int(configuration.accessLifetimeSeconds)
        out.raw(",\"x_refresh_token_expires_in\":"); out.int(left)
        out.raw("}")
        return Reply.json(.ok, out)
    }

    /// `POST /v2/oauth2/tokens/revoke` with `{"token":"…"}` (a refresh or access token).
    private func revoke(_ request: Request) async throws -> Response {
        guard request.method == .post else { return Self.oauthError(.methodNotAllowed, "invalid_request") }
        guard let basic = BasicCredentials(request.headers[.authorization]), basic.user == configuration.clientId,
            basic.password == configuration.clientSecret
        else {
            return Self.oauthError(.unauthorized, "invalid_client")
        }
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        let json = try? JSONValue.parse(String(buffer: body))
        guard let token = json?["token"]?.stringValue ?? FormFields(String(buffer: body))["token"], !token.isEmpty else {
            return Self.oauthError(.badRequest, "invalid_request")
        }
        state.withLock { s in
            _ = s.quickbooks.grants.revoke(token)
            s.quickbooks.access[token] = nil
        }
        return Reply.bytes(.ok, ByteBuffer(), contentType: "application/json", headers: [])
    }

    // MARK: query

    private func run(_ text: String) -> Response {
        let q: QuickBooksQuery
        do {
            q = try QuickBooksQuery.parse(text)
        } catch {
            return Self.fault(400, type: "ValidationFault", message: "Error parsing query", detail: error.detail, code: "4000")
        }
        guard let entity = QBEntity.allCases.first(where: { $0.rawValue.lowercased() == q.entity.lowercased() }) else {
            return Self.fault(400, type: "ValidationFault", message: "Invalid query", detail: "QueryValidationError: Invalid entity name: \(q.entity)", code: "4001")
        }
        for c in q.conditions where value(entity, 0, c.field) == nil {
            return Self.fault(400, type: "ValidationFault", message: "Invalid query", detail: "QueryValidationError: property '\(c.field)' is not queryable", code: "4001")
        }
        for o in q.order where value(entity, 0, o.field) == nil {
            return Self.fault(400, type: "ValidationFault", message: "Invalid query", detail: "QueryValidationError: property '\(o.field)' is not sortable", code: "4001")
        }
        let (changes, deleted) = state.withLock { ($0.quickbooks.changes[entity] ?? [:], $0.quickbooks.deleted[entity] ?? [:]) }
        // A query on Customer without an Active condition sees active customers only.
        let activeOnly = entity == .customer && !q.conditions.contains { $0.field == "active" }
        var matches: [Int] = []
        for i in 0..<data.count(entity) where deleted[i] == nil {
            if activeOnly, !data.customer(i).active { continue }
            var ok = true
            for c in q.conditions {
                guard let v = value(entity, i, c.field, change: changes[i]), let m = v.matches(c.op, c.values) else {
                    return Self.fault(400, type: "ValidationFault", message: "Invalid query", detail: "QueryValidationError: value in the condition on '\(c.field)' does not fit the property", code: "4001")
                }
                if !m { ok = false; break }
            }
            if ok { matches.append(i) }
        }
        if q.selection == .count {
            return Reply.json(.ok, text: #"{"QueryResponse":{"totalCount":\#(matches.count)},"time":\#(Reply.quote(QuickBooksData.localTime(SandboxTime.now())))}"#)
        }
        if !q.order.isEmpty {
            let keys = q.order
            matches.sort { x, y in
                for k in keys {
                    guard let a = value(entity, x, k.field, change: changes[x]), let b = value(entity, y, k.field, change: changes[y]) else { continue }
                    if a != b { return k.descending ? b < a : a < b }
                }
                return x < y
            }
        }
        let start = max(1, q.startPosition ?? 1)
        let size = min(Self.maxMaxResults, max(0, q.maxResults ?? Self.defaultMaxResults))
        let page = matches.dropFirst(start - 1).prefix(size)
        var out = JSONBuffer(capacity: 1_500 * max(1, page.count) + 256)
        out.raw("{\"QueryResponse\":{")
        if !page.isEmpty {
            out.raw("\""); out.rawText(entity.rawValue); out.raw("\":[")
            for (n, i) in page.enumerated() {
                if n > 0 { out.raw(",") }
                if case .fields(let fields) = q.selection {
                    var full = JSONBuffer(capacity: 2_048)
                    data.write(entity, i, change: changes[i], into: &full)
                    out.rawText(Self.project(String(buffer: full.buffer), fields))
                } else {
                    data.write(entity, i, change: changes[i], into: &out)
                }
            }
            out.raw("],\"startPosition\":"); out.int(start)
            out.raw(",\"maxResults\":"); out.int(page.count)
        }
        out.raw("},\"time\":"); out.string(QuickBooksData.localTime(SandboxTime.now()))
        out.raw("}")
        return Reply.json(.ok, out)
    }

    /// Only the named top-level properties (and the ones QuickBooks always returns).
    static func project(_ record: String, _ fields: [String]) -> String {
        guard case .object(let o)? = try? JSONValue.parse(record) else { return record }
        let wanted = Set(fields.map { $0.lowercased() } + ["id", "synctoken", "domain", "sparse", "metadata"])
        let kept = JSONObject(o.entries.filter { wanted.contains($0.key.lowercased()) })
        return JSONValue.object(kept).jsonText
    }

    /// A queryable property's value; nil when the property is not queryable on the entity.
    func value(_ e: QBEntity, _ i: Int, _ field: String, change: QBChange? = nil) -> QBValue? {
        switch field {
        case "id": return .number(Double(e.idBase + i))
        case "metadata.lastupdatedtime": return data.count(e) == 0 ? .time(0) : .time(change?.updated ?? data.baseUpdated(e, i))
        case "metadata.createtime": return data.count(e) == 0 ? .time(0) : .time(data.created(e, i))
        default: break
        }
        guard data.count(e) > 0 else { return e == .customer ? .text("") : .number(0) }
        switch (e, field) {
        case (.customer, "active"): return .bool(data.customer(i).active)
        case (.customer, "displayname"): return .text(data.customer(i).display)
        case (.customer, "givenname"): return .text(data.customer(i).given)
        case (.customer, "familyname"): return .text(data.customer(i).family)
        case (.invoice, "docnumber"): return .text(data.invoice(i).docNumber)
        case (.invoice, "txndate"): return .time(data.invoice(i).txnDay * SandboxTime.ticksPerDay - QuickBooksData.offsetSeconds * SandboxTime.ticksPerSecond)
        case (.invoice, "totalamt"): return .number(Double(data.invoice(i).total) / 100)
        case (.invoice, "balance"): return .number(Double(data.invoiceBalance(i)) / 100)
        case (.invoice, "customerref"): return .number(Double(QBEntity.customer.idBase + data.invoice(i).customer))
        case (.payment, "txndate"): return .time(data.created(.payment, i) / SandboxTime.ticksPerDay * SandboxTime.ticksPerDay)
        case (.payment, "totalamt"): return .number(Double(data.paymentAmount(i)) / 100)
        case (.payment, "customerref"): return .number(Double(QBEntity.customer.idBase + (data.paymentInvoice(i).map { data.invoice($0).customer } ?? 0)))
        default: return nil
        }
    }

    // MARK: CDC

    private func cdc(query: FormFields, now: Int64) -> Response {
        let names = (query["entities"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else {
            return Self.fault(400, type: "ValidationFault", message: "Invalid request", detail: "entities parameter is required", code: "2010")
        }
        var entities: [QBEntity] = []
        for name in names {
            guard let e = QBEntity.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
                return Self.fault(400, type: "ValidationFault", message: "Invalid request", detail: "Unsupported entity for CDC: \(name)", code: "2010")
            }
            entities.append(e)
        }
        guard let sinceText = query["changedSince"], let micros = Timestamp.parse(sinceText, defaultOffsetSeconds: QuickBooksData.offsetSeconds) else {
            return Self.fault(400, type: "ValidationFault", message: "Invalid request", detail: "changedSince is missing or not a date-time", code: "2010")
        }
        let since = micros * 10
        guard since >= now - Int64(configuration.cdcMaxDays) * SandboxTime.ticksPerDay else {
            return Self.fault(400, type: "ValidationFault", message: "Invalid request", detail: "changedSince must be within the last \(configuration.cdcMaxDays) days", code: "2010")
        }
        let (allChanges, allDeleted) = state.withLock { ($0.quickbooks.changes, $0.quickbooks.deleted) }
        var out = JSONBuffer(capacity: 4_096)
        out.raw("{\"CDCResponse\":[{\"QueryResponse\":[")
        for (n, e) in entities.enumerated() {
            if n > 0 { out.raw(",") }
            let changes = allChanges[e] ?? [:]
            let deleted = allDeleted[e] ?? [:]
            // Changed records in change order; generated records are older than any CDC window
            // except when the window reaches back into the generated timeline.
            var rows: [(at: Int64, i: Int, deletedAt: Int64?)] = []
            let first = firstIndex(e, updatedAtOrAfter: since)
            for i in first..<data.count(e) where changes[i] == nil && deleted[i] == nil { rows.append((data.baseUpdated(e, i), i, nil)) }
            for (i, c) in changes where deleted[i] == nil && c.updated >= since { rows.append((c.updated, i, nil)) }
            for (i, at) in deleted where at >= since { rows.append((at, i, at)) }
            rows.sort { $0.at != $1.at ? $0.at < $1.at : $0.i < $1.i }
            let shown = rows.prefix(1_000)
            out.raw("{")
            if !shown.isEmpty {
                out.raw("\""); out.rawText(e.rawValue); out.raw("\":[")
                for (k, row) in shown.enumerated() {
                    if k > 0 { out.raw(",") }
                    if let at = row.deletedAt {
                        out.raw("{\"domain\":\"QBO\",\"status\":\"Deleted\",\"Id\":"); out.string(data.id(e, row.i))
                        out.raw(",\"MetaData\":{\"LastUpdatedTime\":"); QuickBooksData.writeTime(at, into: &out); out.raw("}}")
                    } else {
                        data.write(e, row.i, change: changes[row.i], into: &out)
                    }
                }
                out.raw("],")
            }
            out.raw("\"startPosition\":1,\"maxResults\":"); out.int(shown.count)
            out.raw(",\"totalCount\":"); out.int(shown.count)
            out.raw("}")
        }
        out.raw("]}],\"time\":"); out.string(QuickBooksData.localTime(now)); out.raw("}")
        return Reply.json(.ok, out)
    }

    private func firstIndex(_ e: QBEntity, updatedAtOrAfter ticks: Int64) -> Int {
        var lo = 0
        var hi = data.count(e)
        while lo < hi {
            let mid = (lo + hi) / 2
            if data.baseUpdated(e, mid) >= ticks { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    // MARK: changes (driven by ProviderSandbox)

    func touch(_ e: QBEntity, count: Int) -> [String] {
        state.withLock { s in
            let total = data.count(e)
            var chosen: [Int] = []
            var seen = Set<Int>()
            let n = min(max(0, count), total - (s.quickbooks.deleted[e]?.count ?? 0))
            while chosen.count < n {
                let i = s.touchRandom.below(total)
                if s.quickbooks.deleted[e]?[i] == nil, seen.insert(i).inserted { chosen.append(i) }
            }
            for i in chosen {
                let t = s.nextChangeTime()
                let previous = s.quickbooks.changes[e]?[i]
                s.quickbooks.changes[e, default: [:]][i] = QBChange(updated: t - t % SandboxTime.ticksPerSecond + SandboxTime.ticksPerSecond, syncToken: (previous?.syncToken ?? 0) + 1)
            }
            return chosen.map { data.id(e, $0) }
        }
    }

    func delete(_ e: QBEntity, count: Int) -> [String] {
        state.withLock { s in
            let total = data.count(e)
            var chosen: [Int] = []
            let n = min(max(0, count), total - (s.quickbooks.deleted[e]?.count ?? 0))
            while chosen.count < n {
                let i = s.touchRandom.below(total)
                if s.quickbooks.deleted[e]?[i] == nil, !chosen.contains(i) { chosen.append(i) }
            }
            for i in chosen {
                let t = s.nextChangeTime()
                s.quickbooks.deleted[e, default: [:]][i] = t - t % SandboxTime.ticksPerSecond + SandboxTime.ticksPerSecond
            }
            return chosen.map { data.id(e, $0) }
        }
    }

    /// A refresh token for the configured company, as if consent had happened.
    func issueRefreshToken() -> String {
        let now = SandboxTime.now()
        let token = "AB11" + OpaqueToken.random(50)
        state.withLock {
            $0.quickbooks.grants.add(token, .init(
                realm: configuration.realmId, consented: now,
                expires: now + Int64(configuration.refreshTokenLifetimeSeconds) * SandboxTime.ticksPerSecond))
        }
        return token
    }

    // MARK: errors

    /// Intuit's `Fault` envelope.
    static func fault(_ status: Int, type: String, message: String, detail: String, code: String, headers: [(String, String)] = []) -> Response {
        var out = JSONBuffer(capacity: 256)
        out.raw("{\"Fault\":{\"Error\":[{\"Message\":"); out.string(message)
        out.raw(",\"Detail\":"); out.string(detail)
        out.raw(",\"code\":"); out.string(code)
        out.raw("}],\"type\":"); out.string(type)
        out.raw("},\"time\":"); out.string(QuickBooksData.localTime(SandboxTime.now())); out.raw("}")
        return Reply.json(HTTPResponse.Status(code: status), out, headers: headers)
    }

    /// 401 as Intuit sends it: lower-case `fault`/`error` keys, unlike every other fault.
    static func authenticationFailed(detail: String) -> Response {
        var out = JSONBuffer(capacity: 256)
        out.raw("{\"fault\":{\"error\":[{\"message\":\"message=AuthenticationFailed; errorCode=003200; statusCode=401\",\"detail\":")
        out.string(detail)
        out.raw(",\"code\":\"3200\"}],\"type\":\"AUTHENTICATION\"},\"time\":"); out.string(QuickBooksData.localTime(SandboxTime.now())); out.raw("}")
        return Reply.json(.unauthorized, out, headers: [("WWW-Authenticate", "Bearer realm=\"Intuit\", error=\"invalid_token\"")])
    }

    static func oauthError(_ status: HTTPResponse.Status, _ error: String) -> Response {
        Reply.json(status, text: "{\"error\":" + Reply.quote(error) + "}")
    }
}
