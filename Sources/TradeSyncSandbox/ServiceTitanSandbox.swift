import Foundation
import Hummingbird
import NIOCore
import TradeSyncCore

/// ServiceTitan emulator: `POST /connect/token` (client credentials) and the v2 export and
/// list endpoints of jobs, customers, estimates, invoices, technicians and job types.
struct ServiceTitanSandbox: Sendable {
    let configuration: ServiceTitanSandboxConfiguration
    let data: ServiceTitanData
    let state: Locked<SandboxState>
    /// Export pages as served, rendered once: a benchmark's download baseline then measures the
    /// client, not the JSON rendering of the sandbox.
    let renderedExports = RenderedPages()

    static let listMaxPageSize = 5_000
    static let listDefaultPageSize = 50
    /// Without includeRecentChanges, the export feeds lag this far behind.
    static let recentChangesLag: Int64 = 15 * 60 * SandboxTime.ticksPerSecond
    static let scope = "tn.jpm.jobs:r tn.crm.customers:r tn.sales.estimates:r tn.acc.invoices:r tn.set.technicians:r tn.jpm.jobtypes:r"

    /// `path` is what follows `/servicetitan`.
    func handle(_ request: Request, path: String, query: FormFields) async throws -> Response {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if segments == ["connect", "token"] {
            return try await token(request)
        }
        // {module}/v2/tenant/{tenant}/[export/]{entity}
        guard segments.count == 5 || segments.count == 6, segments[1] == "v2", segments[2] == "tenant" else {
            return Self.problem(.notFound, title: "Not Found", errors: [:])
        }
        let isExport = segments.count == 6
        if isExport, segments[4] != "export" {
            return Self.problem(.notFound, title: "Not Found", errors: [:])
        }
        guard let entity = STEntity(rawValue: segments[segments.count - 1]), entity.module == segments[0],
            !isExport || entity.hasExport
        else {
            return Self.problem(.notFound, title: "Not Found", errors: [:])
        }
        guard request.method == .get else {
            return Self.problem(.methodNotAllowed, title: "Method Not Allowed", errors: [:])
        }
        if let denied = authenticate(request.headers) { return denied }
        guard segments[3] == configuration.tenantId else {
            return Self.problem(.notFound, title: "Tenant not found", errors: ["tenant": ["Tenant \(segments[3]) was not found."]])
        }
        return isExport ? export(entity, query: query) : list(entity, query: query)
    }

    // MARK: auth

    private func token(_ request: Request) async throws -> Response {
        state.withLock { $0.tokens.countRequest(.serviceTitan) }
        guard request.method == .post else {
            return Reply.json(.methodNotAllowed, text: #"{"error":"invalid_request"}"#)
        }
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("application/x-www-form-urlencoded") else {
            return Reply.json(.badRequest, text: #"{"error":"invalid_request"}"#)
        }
        let form = FormFields(String(buffer: body))
        var clientId = form["client_id"]
        var clientSecret = form["client_secret"]
        if clientId == nil, let basic = BasicCredentials(request.headers[.authorization]) {
            clientId = basic.user
            clientSecret = basic.password
        }
        guard clientId == configuration.clientId, clientSecret == configuration.clientSecret else {
            return Reply.json(.badRequest, text: #"{"error":"invalid_client"}"#)
        }
        guard let grant = form["grant_type"], !grant.isEmpty else {
            return Reply.json(.badRequest, text: #"{"error":"invalid_request"}"#)
        }
        guard grant == "client_credentials" else {
            return Reply.json(.badRequest, text: #"{"error":"unsupported_grant_type"}"#)
        }
        let now = SandboxTime.now()
        let lifetime = configuration.tokenLifetimeSeconds
        let payload = #"{"iss":"https://auth.servicetitan.io","client_id":"\#(configuration.clientId)","tenant":"\#(configuration.tenantId)","exp":\#(now / SandboxTime.ticksPerSecond + Int64(lifetime))}"#
        let token = "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9." + OpaqueToken.encode(payload) + "." + OpaqueToken.random(43)
        state.withLock { $0.tokens.issueAccess(.serviceTitan, token: token, lifetimeSeconds: lifetime, now: now) }
        return Reply.json(
            .ok,
            text: #"{"access_token":"\#(token)","expires_in":\#(lifetime),"token_type":"Bearer","scope":"\#(Self.scope)"}"#)
    }

    /// nil when the request may go on; otherwise the 401.
    private func authenticate(_ headers: HTTPFields) -> Response? {
        guard let appKey = headers.value(named: "ST-App-Key"), appKey == configuration.appKey else {
            return Self.problem(
                .unauthorized, title: "Unauthorized",
                type: "https://tools.ietf.org/html/rfc7235#section-3.1",
                errors: ["ST-App-Key": ["The ST-App-Key header is missing or not valid for this application."]])
        }
        var token = headers[.authorization] ?? ""
        if token.lowercased().hasPrefix("bearer ") { token = String(token.dropFirst(7)) }
        token = token.trimmingCharacters(in: .whitespaces)
        let now = SandboxTime.now()
        let valid = !token.isEmpty && state.withLock { $0.tokens.isValid(token, for: .serviceTitan, now: now) }
        guard valid else {
            return Self.problem(
                .unauthorized, title: "Unauthorized",
                type: "https://tools.ietf.org/html/rfc7235#section-3.1",
                errors: ["Authorization": ["The access token is missing, invalid or expired."]],
                headers: [("WWW-Authenticate", #"Bearer error="invalid_token""#)])
        }
        return nil
    }

    // MARK: export

    private func export(_ entity: STEntity, query: FormFields) -> Response {
        var position = ExportPosition.start
        if let from = query["from"], !from.isEmpty {
            if let micros = Timestamp.parse(from) {
                // A date: modifiedOn ≥ it.
                position = ExportPosition(ticks: micros * 10, id: Int64.min)
            } else if let decoded = Self.decodeContinuation(from, entity: entity) {
                position = decoded
            } else {
                return Self.problem(.badRequest, title: "One or more validation errors occurred.", errors: ["from": ["The continuation token is not valid."]])
            }
        }
        var recent = false
        if let value = query["includeRecentChanges"] {
            guard let b = Self.parseBool(value) else {
                return Self.problem(.badRequest, title: "One or more validation errors occurred.", errors: ["includeRecentChanges": ["The value '\(value)' is not valid."]])
            }
            recent = b
        }
        let overlay = entity == .jobs ? state.withLock { $0.jobs } : JobOverlay()
        // With includeRecentChanges a page depends only on the data and its position, not on the
        // clock: render it once per generation of the overlay, then serve the bytes.
        let cacheKey = recent ? "\(entity.rawValue)|\(overlay.generation)|\(query["from"] ?? "")" : nil
        if let cacheKey, let page = renderedExports.page(cacheKey) {
            return Reply.bytes(.ok, page, contentType: "application/json; charset=utf-8", headers: [])
        }
        let visibleUntil = recent ? Int64.max : SandboxTime.now() - Self.recentChangesLag
        var cursor = ExportCursor(data: data, entity: entity, overlay: overlay, after: position, visibleUntil: visibleUntil)
        let limit = max(1, configuration.exportPageSize)
        var out = JSONBuffer(capacity: limit * (entity == .jobs ? 900 : 1_400) + 256)
        out.raw("{\"data\":[")
        var last = position
        var written = 0
        var pending = cursor.next()
        while let item = pending, written < limit {
            if written > 0 { out.raw(",") }
            data.write(entity, item.index, change: item.change, into: &out)
            last = ExportPosition(ticks: item.modified, id: item.id)
            written += 1
            pending = cursor.next()
        }
        out.raw("],\"hasMore\":")
        out.bool(pending != nil)
        out.raw(",\"continueFrom\":")
        out.string(Self.encodeContinuation(last, entity: entity))
        out.raw("}")
        if let cacheKey { renderedExports.keep(out.buffer, as: cacheKey) }
        return Reply.json(.ok, out)
    }

    static func encodeContinuation(_ position: ExportPosition, entity: STEntity) -> String {
        OpaqueToken.encode("st1|\(entity.rawValue)|\(position.ticks)|\(position.id)")
    }

    static func decodeContinuation(_ token: String, entity: STEntity) -> ExportPosition? {
        guard let text = OpaqueToken.decode(token) else { return nil }
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "st1", parts[1] == entity.rawValue,
            let ticks = Int64(parts[2]), let id = Int64(parts[3])
        else { return nil }
        return ExportPosition(ticks: ticks, id: id)
    }

    // MARK: list

    private func list(_ entity: STEntity, query: FormFields) -> Response {
        var errors: [String: [String]] = [:]
        var page = 1
        var pageSize = Self.listDefaultPageSize
        if let text = query["page"] {
            if let v = Int(text), v >= 1 { page = v } else { errors["page"] = ["The field page must be between 1 and 2147483647."] }
        }
        if let text = query["pageSize"] {
            if let v = Int(text), (1...Self.listMaxPageSize).contains(v) {
                pageSize = v
            } else {
                errors["pageSize"] = ["The field pageSize must be between 1 and \(Self.listMaxPageSize)."]
            }
        }
        var includeTotal = false
        if let text = query["includeTotal"] {
            if let b = Self.parseBool(text) { includeTotal = b } else { errors["includeTotal"] = ["The value '\(text)' is not valid."] }
        }
        var modifiedAtOrAfter: Int64?
        if let text = query["modifiedOnOrAfter"], !text.isEmpty {
            if let micros = Timestamp.parse(text) { modifiedAtOrAfter = micros * 10 } else { errors["modifiedOnOrAfter"] = ["The value '\(text)' is not valid."] }
        }
        guard errors.isEmpty else {
            return Self.problem(.badRequest, title: "One or more validation errors occurred.", errors: errors)
        }
        let overlay = entity == .jobs ? state.withLock { $0.jobs } : JobOverlay()
        let sequence = ListSequence(data: data, entity: entity, overlay: overlay, modifiedAtOrAfter: modifiedAtOrAfter)
        let (start, overflow) = (page - 1).multipliedReportingOverflow(by: pageSize)
        let first = overflow ? sequence.count : min(start, sequence.count)
        let end = min(first + pageSize, sequence.count)
        var out = JSONBuffer(capacity: (end - first) * 1_000 + 256)
        out.raw("{\"page\":"); out.int(page)
        out.raw(",\"pageSize\":"); out.int(pageSize)
        out.raw(",\"hasMore\":"); out.bool(end < sequence.count)
        out.raw(",\"totalCount\":")
        if includeTotal { out.int(sequence.count) } else { out.raw("null") }
        out.raw(",\"data\":[")
        for position in first..<end {
            if position > first { out.raw(",") }
            let index = sequence[position]
            data.write(entity, index, change: overlay.changes[index], into: &out)
        }
        out.raw("]}")
        return Reply.json(.ok, out)
    }

    // MARK: helpers

    static func parseBool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true": true
        case "false": false
        default: nil
        }
    }

    /// RFC 7807 problem details, as ServiceTitan's API returns them.
    static func problem(
        _ status: HTTPResponse.Status, title: String, type: String? = nil, errors: [String: [String]],
        headers: [(String, String)] = []
    ) -> Response {
        let typeURI = type ?? "https://tools.ietf.org/html/rfc7231#section-\(status.code == 404 ? "6.5.4" : status.code == 405 ? "6.5.5" : status.code >= 500 ? "6.6.1" : "6.5.1")"
        var out = JSONBuffer(capacity: 256)
        out.raw("{\"type\":"); out.string(typeURI)
        out.raw(",\"title\":"); out.string(title)
        out.raw(",\"status\":"); out.int(status.code)
        out.raw(",\"traceId\":"); out.string(traceId())
        out.raw(",\"errors\":{")
        for (n, key) in errors.keys.sorted().enumerated() {
            if n > 0 { out.raw(",") }
            out.string(key)
            out.raw(":[")
            for (m, message) in (errors[key] ?? []).enumerated() {
                if m > 0 { out.raw(",") }
                out.string(message)
            }
            out.raw("]")
        }
        out.raw("}}")
        return Reply.bytes(status, out.buffer, contentType: "application/problem+json; charset=utf-8", headers: headers)
    }

    static func traceId() -> String {
        var g = SystemRandomNumberGenerator()
        func hex(_ n: Int) -> String {
            var s = ""
            while s.count < n { s += String(g.next() as UInt64, radix: 16) }
            return String(s.prefix(n))
        }
        return "00-" + hex(32) + "-" + hex(16) + "-00"
    }
}

/// `Authorization: Basic base64(user:password)`.
struct BasicCredentials {
    var user: String
    var password: String

    init?(_ header: String?) {
        guard let header, header.lowercased().hasPrefix("basic ") else { return nil }
        guard let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        user = FormFields.decode(text[..<colon])
        password = FormFields.decode(text[text.index(after: colon)...])
    }
}

/// Rendered export pages, up to a memory budget (past it, pages are rendered per request).
final class RenderedPages: @unchecked Sendable {
    private let lock = NSLock()
    private var pages: [String: ByteBuffer] = [:]
    private var bytes = 0
    /// 1,000,000 jobs render to about 900 MB; the budget keeps the sandbox's memory bounded.
    static let budget = 512 << 20

    func page(_ key: String) -> ByteBuffer? { lock.withLock { pages[key] } }

    func keep(_ page: ByteBuffer, as key: String) {
        lock.withLock {
            guard pages[key] == nil, bytes + page.readableBytes <= RenderedPages.budget else { return }
            pages[key] = page
            bytes += page.readableBytes
        }
    }
}
