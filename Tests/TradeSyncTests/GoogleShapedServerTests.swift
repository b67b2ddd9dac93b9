import Foundation
import Hummingbird
import Logging
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncSources
import TradeSyncStore

/// A second Google Business Profile server, written here independently of the sandbox: Google's
/// own paths at its root, nothing else. A connection must sync from it when only its `base_url`
/// and `token_url` point there (issue #8: before, an overridden base_url sent every Google call
/// to `<base_url>/<host>/<path>`, a layout only our sandbox served, and this server answered 404).
final class GoogleShapedServer: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [(path: String, query: String)] = []
    private var task: Task<Void, Never>?
    private(set) var port = 0
    private var challenge: String?
    private var codeUsed = false
    private var revokedTokens: [String] = []
    var revoked: [String] { lock.withLock { revokedTokens } }

    static func form(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if parts.count == 2 { out[parts[0]] = parts[1] }
        }
        return out
    }

    static let account = "accounts/111"
    /// location id → its reviews, newest first (as `orderBy=updateTime desc` asks).
    static let reviews: [String: [String]] = [
        "222": [
            review("r-3", "FIVE", "2025-05-03T10:00:00Z"), review("r-2", "FOUR", "2025-05-02T10:00:00Z"),
            review("r-1", "ONE", "2025-05-01T10:00:00Z"),
        ],
        "333": [],
    ]

    static func review(_ id: String, _ rating: String, _ time: String) -> String {
        #"{"name":"accounts/111/locations/x/reviews/\#(id)","reviewId":"\#(id)","reviewer":{"displayName":"R \#(id)"},"starRating":"\#(rating)","comment":"ok","createTime":"\#(time)","updateTime":"\#(time)"}"#
    }

    var seen: [(path: String, query: String)] { lock.withLock { requests } }

    private func note(_ request: Request) {
        lock.withLock { requests.append((request.uri.path, request.uri.query ?? "")) }
    }

    static func json(_ text: String, _ status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=UTF-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static let unauthenticated = json(#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#, .unauthorized)

    static func authorized(_ request: Request) -> Bool { request.headers[.authorization] == "Bearer other-access-token" }

    func start() async throws {
        let router = Router()
        // Google's consent screen, consenting at once: back to redirect_uri with a code and the state.
        router.get("o/oauth2/v2/auth") { request, _ -> Response in
            self.note(request)
            let q = request.uri.queryParameters
            guard q["response_type"] == "code", q["client_id"] != nil, let redirect = q["redirect_uri"].map(String.init),
                let state = q["state"].map(String.init)
            else { return Self.json(#"{"error":"invalid_request"}"#, .badRequest) }
            self.lock.withLock { self.challenge = q["code_challenge"].map(String.init) }
            let location = redirect + "?state=" + (state.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? state)
                + "&code=4%2F0-other-code&scope=business.manage"
            return Response(status: .found, headers: [.location: location])
        }
        router.post("token") { request, context -> Response in
            self.note(request)
            let form = Self.form(String(buffer: try await request.body.collect(upTo: 65_536)))
            switch form["grant_type"] {
            case "authorization_code":
                // Single use, and bound to the PKCE challenge of the authorization.
                let (used, challenge) = self.lock.withLock { () -> (Bool, String?) in
                    defer { self.codeUsed = true }
                    return (self.codeUsed, self.challenge)
                }
                guard form["code"] == "4/0-other-code", !used,
                    challenge == nil || OAuthConnector.s256(form["code_verifier"] ?? "") == challenge
                else { return Self.json(#"{"error":"invalid_grant","error_description":"Bad Request"}"#, .badRequest) }
                return Self.json(#"{"access_token":"other-access-token","expires_in":3599,"refresh_token":"other-refresh-token","scope":"https://www.googleapis.com/auth/business.manage","token_type":"Bearer"}"#)
            default:
                return Self.json(#"{"access_token":"other-access-token","expires_in":3599,"scope":"https://www.googleapis.com/auth/business.manage","token_type":"Bearer"}"#)
            }
        }
        router.post("revoke") { request, _ -> Response in
            self.note(request)
            let form = Self.form(String(buffer: try await request.body.collect(upTo: 65_536)))
            guard let token = form["token"] ?? request.uri.queryParameters["token"].map(String.init) else {
                return Self.json(#"{"error":"invalid_request"}"#, .badRequest)
            }
            self.lock.withLock { self.revokedTokens.append(token) }
            return Self.json("{}")
        }
        router.get("v1/accounts") { request, _ -> Response in
            self.note(request)
            guard Self.authorized(request) else { return Self.unauthenticated }
            return Self.json(#"{"accounts":[{"name":"\#(Self.account)","accountName":"Other","type":"PERSONAL"}]}"#)
        }
        router.get("v1/accounts/:account/locations") { request, context -> Response in
            self.note(request)
            guard Self.authorized(request) else { return Self.unauthenticated }
            guard context.parameters.get("account") == "111", request.uri.queryParameters["readMask"] != nil else {
                return Self.json(#"{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT"}}"#, .badRequest)
            }
            return Self.json(#"{"locations":[{"name":"locations/222","title":"Shop"},{"name":"locations/333","title":"New shop"}]}"#)
        }
        router.get("v4/accounts/:account/locations/:location/reviews") { request, context -> Response in
            self.note(request)
            guard Self.authorized(request) else { return Self.unauthenticated }
            guard context.parameters.get("account") == "111", let location = context.parameters.get("location"),
                let list = Self.reviews[location]
            else { return Self.json(#"{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}"#, .notFound) }
            // Google leaves out an empty list (and its total).
            if list.isEmpty { return Self.json("{}") }
            return Self.json(#"{"reviews":[\#(list.joined(separator: ","))],"averageRating":3.3,"totalReviewCount":\#(list.count)}"#)
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var app = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            })
        app.logger.logLevel = .critical
        let application = app
        task = Task {
            try? await application.run()
            continuation.finish()
        }
        var iterator = ports.makeAsyncIterator()
        port = try #require(await iterator.next())
    }

    /// Called once the sync is over (no client is connecting).
    func stop() { task?.cancel() }
}

@Suite struct GoogleShapedServerTests {
    @Test func googleSyncsFromAnotherServerThroughBaseURLAndTokenURLAlone() async throws {
        try await SyncHarness.with(.sqlite) { h in
            let other = GoogleShapedServer()
            try await other.start()
            defer { other.stop() }
            // Only the overrides a user would write: base_url and token_url.
            var config = try JSONValue.parse(h.google.configJSON).objectValue ?? JSONObject()
            config["base_url"] = .string("http://127.0.0.1:\(other.port)")
            config["token_url"] = .string("http://127.0.0.1:\(other.port)/token")
            config["authorize_url"] = nil
            var connection = h.google
            connection.configJSON = JSONValue.object(config).jsonText
            connection = try await h.store.upsertConnection(connection)

            let r = try await h.runner().run(connection, options: SyncOptions(streams: ["reviews"]))
            #expect(r.status == .success, "\(r.error ?? "")")
            #expect(r.inserted == 3)
            let entity = try #require(h.project.dataModel.entity("reviews"))
            let rows = try await h.store.rows(entity: entity, integrationId: connection.id)
            #expect(Set(rows.keys) == ["r-1", "r-2", "r-3"])
            #expect(rows["r-3"]?.values["location_name"] ?? nil == "locations/222")

            // Google's own paths, at the root of the other server; nothing went to the sandbox.
            let paths = other.seen.map(\.path)
            #expect(paths == [
                "/token", "/v1/accounts", "/v1/accounts/111/locations", "/v4/accounts/111/locations/222/reviews",
                "/v4/accounts/111/locations/333/reviews",
            ])
            let reviewQuery = other.seen.first { $0.path.hasSuffix("/reviews") }?.query ?? ""
            #expect(reviewQuery.contains("orderBy=updateTime%20desc") || reviewQuery.contains("orderBy=updateTime+desc"), "\(reviewQuery)")
            #expect(h.sandbox.tokenRequestCount(provider: "google") == 0)
        }
    }

    /// The connect issue's check: Google's documented OAuth endpoints (consent, token, revoke) on
    /// a server written apart from the sandbox, reached by `authorize_url`, `token_url` and
    /// `base_url` overrides alone: connect, sync, disconnect.
    @Test func googleConnectsSyncsAndDisconnectsAgainstAnotherServerThroughOverridesAlone() async throws {
        try await SyncHarness.with(.sqlite) { h in
            let other = GoogleShapedServer()
            try await other.start()
            defer { other.stop() }
            var config = try JSONValue.parse(h.google.configJSON).objectValue ?? JSONObject()
            config["base_url"] = .string("http://127.0.0.1:\(other.port)")
            config["token_url"] = .string("http://127.0.0.1:\(other.port)/token")
            config["authorize_url"] = .string("http://127.0.0.1:\(other.port)/o/oauth2/v2/auth")
            var connection = h.google
            connection.configJSON = JSONValue.object(config).jsonText
            connection = try await h.store.upsertConnection(connection)
            try await h.store.deleteTokens(integrationId: connection.id)

            let flow = ConnectFlowTests()
            let connector = flow.connector(h)
            let request = try await connector.begin(connection, redirectURI: ConnectFlowTests.redirectURI())
            #expect(request.url.hasPrefix("http://127.0.0.1:\(other.port)/o/oauth2/v2/auth?"))
            let callback = try await flow.consent(h, request)
            let connected = try await connector.complete(request, callback: callback)
            #expect(connected.status == .connected)
            #expect(try await h.vault.load(integrationId: connection.id)?.tokens.refreshToken == "other-refresh-token")

            let r = try await h.runner().run(connected, options: SyncOptions(streams: ["reviews"]))
            #expect(r.status == .success, "\(r.error ?? "")")
            #expect(r.inserted == 3)

            let outcome = try await connector.disconnect(connected)
            #expect(outcome.revoked, "\(outcome.note ?? "")")
            #expect(other.revoked == ["other-refresh-token"])
            #expect(try await h.vault.load(integrationId: connection.id) == nil, "the tokens are forgotten")
            #expect(try await h.store.connection(id: connection.id)?.status == .disconnected)
            #expect(h.sandbox.tokenRequestCount(provider: "google") == 0, "nothing went to the sandbox")
        }
    }

}
