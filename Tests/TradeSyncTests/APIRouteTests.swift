import AsyncHTTPClient
import Foundation
import NIOHTTP1
import Testing
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncSources
@testable import TradeSyncServer
import TradeSyncStore

/// `tradesync serve`'s HTTP API over real HTTP on loopback, against a real store and the
/// provider sandbox: auth and tenancy on every route, YAML-managed connections read-only,
/// create validated like YAML, logs, de-duplicated sync requests, the OAuth callback, and no
/// secret in any answer.
@Suite(.serialized) struct APIRouteTests {
    /// The tokens of the matrix, and the ids of the connections they are tried against.
    struct Fixture: Sendable {
        var admin: String
        var tokenA: String
        var tokenB: String
        var revokedA: String
        /// demo-a's connection made through the API (mutable), and its YAML-declared ones.
        var apiConnectionA: String
        var googleA: String
        var yelpA: String
    }

    static func fixture(_ h: APIHarness) async throws -> Fixture {
        let w = h.workspace
        let admin = try await w.createAPIToken(contractor: nil, admin: true, label: "ops").token
        let tokenA = try await w.createAPIToken(contractor: "demo-a", admin: false, label: nil).token
        let tokenB = try await w.createAPIToken(contractor: "demo-b", admin: false, label: nil).token
        let revoked = try await w.createAPIToken(contractor: "demo-a", admin: false, label: "old")
        #expect(try await w.revokeAPIToken(id: revoked.record.id))
        let created = try await w.apiCreateIntegration([
            "demoId": "demo-a", "integration_type": "yelp", "connection_key": "a-yelp-api",
            "base_url": .string(h.sandbox.baseURL + "/yelp"), "config": ["business_id": "austin-comfort-hvac-austin"],
            "credentials": ["api_key": "env:API_YELP_KEY"],
        ], caller: .admin(tokenId: "setup"))
        let all = try await w.connections()
        func id(_ key: String) throws -> String { try #require(all.first { $0.connectionKey == key }).id }
        return Fixture(admin: admin, tokenA: tokenA, tokenB: tokenB, revokedA: revoked.token,
                       apiConnectionA: created.record.id, googleA: try id("a-google"), yelpA: try id("a-yelp"))
    }

    enum Who: String, CaseIterable, CustomTestStringConvertible {
        case noToken, malformed, unknown, revoked, otherContractor, ownContractor, admin
        var testDescription: String { rawValue }

        func token(_ f: Fixture) -> String? {
            switch self {
            case .noToken: return nil
            case .malformed: return "not-a-token"
            // Well formed, with a real token's id and a wrong secret: the hash check refuses it.
            case .unknown: return String(f.tokenA.prefix(21)) + String(repeating: "A", count: 43)
            case .revoked: return f.revokedA
            case .otherContractor: return f.tokenB
            case .ownContractor: return f.tokenA
            case .admin: return f.admin
            }
        }
    }

    /// One API route as the matrix calls it, with the statuses it answers a caller that may see demo-a's connection.
    struct Call: Sendable {
        var name: String
        var method: HTTPMethod
        var path: @Sendable (Fixture) -> String
        var body: @Sendable (Fixture, Who) -> String? = { _, _ in nil }
        var ok: Set<Int>
        /// Whether demo-b's token is refused (404): false for the tenant-free template list.
        var tenantScoped = true
    }

    static let calls: [Call] = [
        Call(name: "list", method: .GET, path: { _ in "/api/contractor/integrations?demoId=demo-a" }, ok: [200]),
        Call(name: "create", method: .POST, path: { _ in "/api/contractor/integrations" },
             body: { _, who in
                 #"{"demoId":"demo-a","integration_type":"yelp","connection_key":"a-yelp-\#(who.rawValue)","config":{"business_id":"x"},"credentials":{"api_key":"env:API_YELP_KEY"}}"#
             }, ok: [201]),
        Call(name: "templates", method: .GET, path: { _ in "/api/contractor/integrations/templates" }, ok: [200], tenantScoped: false),
        Call(name: "sync", method: .POST, path: { f in "/api/contractor/integrations/sync?integrationId=\(f.apiConnectionA)" }, ok: [202]),
        Call(name: "sync (body)", method: .POST, path: { _ in "/api/contractor/integrations/sync" },
             body: { f, _ in #"{"integrationId":"\#(f.apiConnectionA)"}"# }, ok: [202]),
        Call(name: "logs", method: .GET, path: { f in "/api/contractor/integrations/logs?integrationId=\(f.apiConnectionA)&limit=5" }, ok: [200]),
        Call(name: "connect", method: .POST, path: { f in "/api/contractor/integrations/connect?id=\(f.googleA)" }, ok: [200]),
        // Last: it disconnects the connection the others use.
        Call(name: "disconnect", method: .DELETE, path: { f in "/api/contractor/integrations?id=\(f.apiConnectionA)" }, ok: [200]),
    ]

    @Test(arguments: Backend.allCases)
    func everyRouteChecksTheTokenAndTheTenant(backend: Backend) async throws {
        if backend == .postgres && !postgresEnabled { return }
        try await APIHarness.with(backend) { h in
            let f = try await Self.fixture(h)
            // Every route of the table is in the matrix (the OpenAPI and callback routes need no token).
            let covered = Set(Self.calls.map { "\($0.method.rawValue) \($0.path(f).split(separator: "?")[0])" })
            for route in APIRoutes.table where route.auth {
                #expect(covered.contains("\(route.methodName) \(route.path)"), "no matrix row for \(route.path)")
            }
            for call in Self.calls {
                for who in Who.allCases {
                    let answer = try await h.send(call.method, call.path(f), token: who.token(f), body: call.body(f, who))
                    let expected: Set<Int>
                    switch who {
                    case .noToken, .malformed, .unknown, .revoked: expected = [401]
                    case .otherContractor: expected = call.tenantScoped ? [404] : call.ok
                    case .ownContractor, .admin: expected = call.ok
                    }
                    #expect(expected.contains(answer.status), "\(call.name) as \(who): \(answer.status) \(answer.text)")
                    #expect(answer.headers["Content-Type"].first?.hasPrefix("application/json") == true, "\(call.name) as \(who)")
                    #expect(answer.error != nil || (200..<300).contains(answer.status), "\(call.name) as \(who): \(answer.text)")
                    if who == .otherContractor, call.tenantScoped {
                        // Not 403: another contractor's connection answers exactly as one that never existed.
                        func ghostly(_ text: String) -> String {
                            text.replacingOccurrences(of: f.apiConnectionA, with: "no-such-id").replacingOccurrences(of: f.googleA, with: "no-such-id")
                        }
                        let ghost = try await h.send(call.method, ghostly(call.path(f)), token: f.tokenB, body: call.body(f, who).map(ghostly))
                        #expect(ghost.status == answer.status, "\(call.name)")
                        #expect(ghost.error == answer.error.map(ghostly), "\(call.name): \(ghost.text) vs \(answer.text)")
                    }
                }
            }
            // A contractor's list holds only its own; demo-b's names none of demo-a's.
            let listB = try await h.send(.GET, "/api/contractor/integrations", token: f.tokenB)
            let demoIds = Set(listB.json?["integrations"]?.arrayValue?.compactMap { $0["demo_id"]?.stringValue } ?? [])
            #expect(demoIds == ["demo-b"])
            let listAdmin = try await h.send(.GET, "/api/contractor/integrations", token: f.admin)
            #expect(Set(listAdmin.json?["integrations"]?.arrayValue?.compactMap { $0["demo_id"]?.stringValue } ?? []) == ["demo-a", "demo-b"])
        }
    }

    @Test func yamlManagedConnectionsAreReadOnly() async throws {
        try await APIHarness.with(.sqlite) { h in
            let f = try await Self.fixture(h)
            let delete = try await h.send(.DELETE, "/api/contractor/integrations?id=\(f.yelpA)", token: f.tokenA)
            #expect(delete.status == 409)
            #expect(delete.error == "managed in git: tradesync.yaml")
            let seedShape = try await h.send(.DELETE, "/api/contractor/integrations", token: f.admin, body: #"{"integrationId":"\#(f.yelpA)"}"#)
            #expect(seedShape.status == 409)
            let create = try await h.send(.POST, "/api/contractor/integrations", token: f.tokenA, body: """
                {"integration_type":"yelp","connection_key":"a-yelp","config":{"business_id":"x"},"credentials":{"api_key":"env:API_YELP_KEY"}}
                """)
            #expect(create.status == 409)
            #expect(create.error == "managed in git: tradesync.yaml")
            #expect(try await h.workspace.connections().first { $0.id == f.yelpA }?.status != .disconnected)
            // Reading them, syncing them and connecting them are not changes to what git declares.
            #expect(try await h.send(.POST, "/api/contractor/integrations/sync?integrationId=\(f.yelpA)", token: f.tokenA).status == 202)
            let list = try await h.send(.GET, "/api/contractor/integrations?demoId=demo-a", token: f.tokenA)
            let rows = list.json?["integrations"]?.arrayValue ?? []
            let yelp = try #require(rows.first { $0["id"]?.stringValue == f.yelpA })
            #expect(yelp["created_by"] == "git")
            #expect(yelp["managed_in"] == "tradesync.yaml")
            let api = try #require(rows.first { $0["id"]?.stringValue == f.apiConnectionA })
            #expect(api["created_by"] == "api")
            #expect(api["managed_in"] == .null)
        }
    }

    @Test func createIsValidatedLikeYAMLAndNamesTheRequestField() async throws {
        try await APIHarness.with(.sqlite) { h in
            let f = try await Self.fixture(h)
            func create(_ body: String, token: String? = nil) async throws -> APIHarness.Answer {
                try await h.send(.POST, "/api/contractor/integrations", token: token ?? f.tokenA, body: body)
            }
            let cases: [(body: String, field: String, words: String)] = [
                (#"{"integration_type":"yelp","credentials":{"api_key":"env:K"}}"#, "config.business_id", "requires connection field 'business_id'"),
                (#"{"integration_type":"yelp","config":{"business_id":"x"},"credentials":{"api_key":"sk-live-123"}}"#,
                 "credentials.api_key", "a literal secret is not allowed"),
                (#"{"integration_type":"yelpp","config":{}}"#, "integration_type", "did you mean 'yelp'?"),
                (#"{"integration_type":"yelp","config":{"business_id":7},"credentials":{"api_key":"env:K"}}"#, "config.business_id", "expected string"),
                (#"{"integration_type":"yelp","config":{"business_id":"x","colour":"red"},"credentials":{"api_key":"env:K"}}"#,
                 "config.colour", "no connection field 'colour'"),
                (#"{"integration_type":"yelp","config":{"business_id":"x"},"credentials":{"api_key":"env:K"},"sync_frequency":"weekly"}"#,
                 "sync_frequency", "weekly"),
                (#"{"integration_type":"yelp","config":{"business_id":"x"},"credentials":{"api_key":"env:K"},"streams":["nope"]}"#,
                 "streams[0]", "no stream 'nope'"),
                (#"{"integration_type":"yelp","config":{"business_id":"x"},"credentials":{"api_key":"env:K"},"shiny":1}"#, "shiny", "unknown field"),
                (#"{"integration_type":"yelp","credentials":{"api_key":"env:K"},"config":{"business_id":"x"},"demoId":"demo-zzz"}"#,
                 "demoId", "no contractor 'demo-zzz' in tradesync.yaml"),
                (#"["not","an","object"]"#, "body", "expected a JSON object"),
                (#"{"integration_type":"#, "body", "malformed JSON"),
            ]
            for c in cases {
                let answer = try await create(c.body, token: c.field == "demoId" ? f.admin : nil)
                #expect(answer.status == 400, "\(c.body): \(answer.status) \(answer.text)")
                let error = answer.error ?? ""
                #expect(error.hasPrefix(c.field + ":") || error.contains("; " + c.field + ":"), "\(c.body): \(error)")
                #expect(error.contains(c.words), "\(c.body): \(error)")
                let fields = answer.json?["errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [c.field]
                #expect(fields.contains(c.field), "\(c.body): \(answer.text)")
            }
            #expect(!(try await create(#"{"integration_type":"yelp","config":{"business_id":"x"},"credentials":{"api_key":"sk-live-123"}}"#)).text
                .contains("sk-live-123"), "a literal secret is not echoed")

            // A good one: 201 with its id, stored as the API's, listed for its contractor.
            let good = try await create("""
                {"demoId":"demo-a","integration_type":"yelp","connection_key":"a-yelp-2","config":{"business_id":"austin-comfort-hvac-austin"},
                 "credentials":{"api_key":"env:API_YELP_KEY"},"sync_frequency":"daily","base_url":"\(h.sandbox.baseURL)/yelp"}
                """)
            #expect(good.status == 201, "\(good.text)")
            let id = try #require(good.json?["id"]?.stringValue)
            #expect(good.headers["Location"].first == "/api/contractor/integrations?id=\(id)")
            let stored = try #require(try await h.workspace.connections().first { $0.id == id })
            #expect(stored.demoId == "demo-a")
            #expect(stored.syncFrequency == "daily")
            #expect(try stored.settings().createdBy == "api")
            #expect(stored.credentialsJSON == #"{"api_key":"env:API_YELP_KEY"}"#)
            // The same key again: a conflict, not a second row.
            #expect(try await create(#"{"integration_type":"yelp","connection_key":"a-yelp-2","config":{"business_id":"x"},"credentials":{"api_key":"env:K"}}"#).status == 409)
            // An admin must say which contractor; a contractor token may not create for another.
            #expect(try await create(#"{"integration_type":"yelp","config":{"business_id":"x"},"credentials":{"api_key":"env:K"}}"#, token: f.admin).status == 400)
            #expect(try await create(#"{"demoId":"demo-b","integration_type":"yelp","config":{"business_id":"x"},"credentials":{"api_key":"env:K"}}"#).status == 404)
            // The one made through the API syncs against the sandbox like a declared one.
            let run = try await h.workspace.sync(stored)
            #expect(run.status == .success, "\(run.error ?? "")")
        }
    }

    @Test func logsListTheConnectionsRunsNewestFirst() async throws {
        try await APIHarness.with(.sqlite) { h in
            let f = try await Self.fixture(h)
            let c = try #require(try await h.workspace.connections().first { $0.id == f.apiConnectionA })
            let first = try await h.workspace.sync(c)
            let second = try await h.workspace.sync(c)
            #expect(first.status == .success && second.status == .success)
            let answer = try await h.send(.GET, "/api/contractor/integrations/logs?integrationId=\(c.id)", token: f.tokenA)
            #expect(answer.status == 200)
            let logs = answer.json?["logs"]?.arrayValue ?? []
            #expect(logs.count == 2)
            #expect(logs.first?["id"]?.stringValue == second.runId)
            #expect(logs.last?["id"]?.stringValue == first.runId)
            for log in logs {
                #expect(log["status"] == "success")
                #expect(log["integration_id"]?.stringValue == c.id)
                for key in ["records_fetched", "records_inserted", "records_updated", "records_unchanged", "records_failed", "duration_ms",
                            "started_at", "completed_at", "entity_type", "sync_type", "error_message", "details"] {
                    #expect(log[key] != nil, "logs carry \(key)")
                }
            }
            #expect((logs.last?["records_inserted"]?.scalarText).flatMap { Int($0) } ?? 0 > 0)
            let one = try await h.send(.GET, "/api/contractor/integrations/logs?integrationId=\(c.id)&limit=1", token: f.tokenA)
            #expect(one.json?["logs"]?.arrayValue?.count == 1)
            for bad in ["0", "-3", "ten"] {
                let answer = try await h.send(.GET, "/api/contractor/integrations/logs?integrationId=\(c.id)&limit=\(bad)", token: f.tokenA)
                #expect(answer.status == 400 && answer.error?.hasPrefix("limit:") == true, "\(bad): \(answer.text)")
            }
            #expect(try await h.send(.GET, "/api/contractor/integrations/logs", token: f.tokenA).error == "integrationId: required")
            // The list carries the summary of those runs.
            let list = try await h.send(.GET, "/api/contractor/integrations?demoId=demo-a", token: f.tokenA)
            let row = try #require(list.json?["integrations"]?.arrayValue?.first { $0["id"]?.stringValue == c.id })
            #expect(row["total_syncs"] == 2)
            #expect(row["successful_syncs"] == 2)
            #expect(row["last_run_status"] == "success")
            #expect(row["last_synced_at"] != .null)
            for key in ["integration_id", "demo_id", "integration_type", "status", "failed_syncs", "records_inserted", "records_synced",
                        "last_run_started_at", "sync_frequency", "auto_sync"] {
                #expect(row[key] != nil, "the summary carries \(key)")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func syncRequestsAreDeduplicatedUntilARunStarts(backend: Backend) async throws {
        if backend == .postgres && !postgresEnabled { return }
        try await APIHarness.with(backend) { h in
            let f = try await Self.fixture(h)
            let first = try await h.send(.POST, "/api/contractor/integrations/sync", token: f.tokenA, body: #"{"integrationId":"\#(f.apiConnectionA)"}"#)
            #expect(first.status == 202)
            #expect(first.json?["status"] == "queued")
            for token in [f.tokenA, f.admin] {
                let again = try await h.send(.POST, "/api/contractor/integrations/sync?integrationId=\(f.apiConnectionA)", token: token)
                #expect(again.status == 202)
                #expect(again.json?["status"] == "already_queued")
            }
            // Another connection has its own request.
            let other = try await h.send(.POST, "/api/contractor/integrations/sync?integrationId=\(f.yelpA)", token: f.tokenA)
            #expect(other.json?["status"] == "queued")
            #expect(try await h.send(.POST, "/api/contractor/integrations/sync", token: f.tokenA).error?.hasPrefix("integrationId: required") == true)
        }
    }

    @Test func theCallbackCompletesAConnectStartedThroughTheAPI() async throws {
        try await APIHarness.with(.sqlite) { h in
            let f = try await Self.fixture(h)
            let start = try await h.send(.POST, "/api/contractor/integrations/connect", token: f.tokenA, body: #"{"integrationId":"\#(f.googleA)"}"#)
            #expect(start.status == 200, "\(start.text)")
            let url = try #require(start.json?["authorizeUrl"]?.stringValue)
            #expect(url.hasPrefix(h.sandbox.baseURL + "/google/o/oauth2/v2/auth?"))
            #expect(start.json?["redirectUri"]?.stringValue == h.baseURL + "/oauth/callback")
            // The browser: the sandbox consents at once and redirects to this server's callback.
            let consent = try await h.send(.GET, url)
            #expect((300..<400).contains(consent.status))
            let back = try #require(consent.headers["Location"].first)
            #expect(back.hasPrefix(h.baseURL + "/oauth/callback?"))
            let done = try await h.send(.GET, back)
            #expect(done.status == 303)
            #expect(done.headers["Location"].first == "/?connected=a-google")
            let google = try #require(try await h.workspace.connections().first { $0.id == f.googleA })
            #expect(google.status == .connected)
            let raw = try #require(try await h.workspace.store.loadTokens(integrationId: f.googleA))
            #expect(SecretSealer.isSealed(raw.refreshToken), "tokens are sealed at rest")
            let tokens = try #require(try await TokenVault(store: h.workspace.store, sealer: h.workspace.sealer()).load(integrationId: f.googleA)?.tokens)
            #expect(h.sandbox.isGoogleRefreshTokenValid(tokens.refreshToken))
            // The same callback again: its state is spent.
            let replay = try await h.send(.GET, back)
            #expect(replay.status == 303)
            #expect(replay.headers["Location"].first?.hasPrefix("/?connect_error=") == true)
            #expect(replay.headers["Location"].first?.contains("state") == true)
            // A forged state, and a refused consent.
            #expect(try await h.send(.GET, "/oauth/callback?state=forged&code=x").headers["Location"].first?.hasPrefix("/?connect_error=") == true)
            #expect(try await h.send(.GET, "/oauth/callback?error=access_denied").headers["Location"].first?.contains("access_denied") == true)
            // An API-key connection has no OAuth flow to start.
            let notOAuth = try await h.send(.POST, "/api/contractor/integrations/connect?id=\(f.yelpA)", token: f.tokenA)
            #expect(notOAuth.status == 400)
            #expect(notOAuth.error?.contains("oauth2_authorization_code") == true)
            // Nothing in any answer is a secret.
            for answer in [start, consent, done, replay] {
                for secret in [tokens.refreshToken, tokens.accessToken ?? "-", h.config.google.clientSecret, f.tokenA] {
                    #expect(!answer.text.contains(secret) && !(answer.headers["Location"].first ?? "").contains(secret))
                }
            }
        }
    }

    @Test func noAnswerCarriesASecret() async throws {
        try await APIHarness.with(.sqlite) { h in
            let f = try await Self.fixture(h)
            let c = try #require(try await h.workspace.connections().first { $0.id == f.apiConnectionA })
            _ = try await h.workspace.sync(c)
            let secrets = [h.config.yelp.apiKey, h.config.google.clientSecret, h.config.google.clientId, f.tokenA, f.tokenB, f.admin,
                           String(f.tokenA.dropFirst(22))]
            var answers: [APIHarness.Answer] = []
            for path in ["/api/contractor/integrations", "/api/contractor/integrations/templates",
                         "/api/contractor/integrations/logs?integrationId=\(c.id)", "/api/openapi.json"] {
                answers.append(try await h.send(.GET, path, token: f.admin))
            }
            answers.append(try await h.send(.DELETE, "/api/contractor/integrations?id=\(c.id)", token: f.admin))
            for answer in answers {
                #expect((200..<300).contains(answer.status), "\(answer.text)")
                for secret in secrets { #expect(!answer.text.contains(secret), "an answer holds a secret: \(answer.text.prefix(200))") }
            }
            for answer in answers.prefix(1) + answers.dropFirst(2).prefix(1) {
                // The list and the logs carry no credentials object, not even its references.
                #expect(!answer.text.contains("\"credentials\"") && !answer.text.contains("env:API_"), "\(answer.text.prefix(200))")
            }
            // The disconnect went through: status disconnected, data kept.
            #expect(answers.last?.json?["status"] == "disconnected")
            // The store holds only hashes of the API tokens, and when each was last used.
            let rows = try await h.workspace.apiTokens()
            #expect(rows.count == 4)
            #expect(rows.first { $0.admin }?.lastUsedAt != nil)
            #expect(rows.first { $0.contractorId == "demo-b" }?.lastUsedAt == nil, "demo-b's token was not used here")
            for row in rows {
                #expect(row.hash.count == 64)
                for token in [f.tokenA, f.tokenB, f.admin, f.revokedA] { #expect(!row.hash.contains(token) && row.hash != token) }
            }
            let file = try Data(contentsOf: URL(fileURLWithPath: h.directory + "/store.sqlite"))
            for token in [f.tokenA, f.tokenB, f.admin] {
                #expect(file.range(of: Data(token.utf8)) == nil, "a token is written in the store file")
                #expect(file.range(of: Data(String(token.dropFirst(22)).utf8)) == nil, "a token's secret part is in the store file")
            }
        }
    }

    @Test func frameworkAnswersUnderAPIAreJSONToo() async throws {
        try await APIHarness.with(.sqlite, maxBodyBytes: 4096) { h in
            let f = try await Self.fixture(h)
            let missing = try await h.send(.GET, "/api/nothing/here", token: f.admin)
            #expect(missing.status == 404)
            #expect(missing.error?.contains("/api/nothing/here") == true)
            let wrongMethod = try await h.send(.PUT, "/api/contractor/integrations", token: f.admin, body: "{}")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.headers["Allow"].first == "GET, POST, DELETE")
            #expect(wrongMethod.error != nil)
            let big = "{\"integration_type\":\"" + String(repeating: "x", count: 10_000) + "\"}"
            let tooLarge = try await h.send(.POST, "/api/contractor/integrations", token: f.admin, body: big)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.error != nil)
            // Outside /api the framework's own answers are left alone.
            let page = try await h.send(.GET, "/no-such-page")
            #expect(page.status == 404)
            #expect(page.json?["error"]?.stringValue == nil)
        }
    }

    @Test func theOpenAPIDocumentNamesEveryRouteAndNoOther() async throws {
        try await APIHarness.with(.sqlite) { h in
            let answer = try await h.send(.GET, "/api/openapi.json")
            #expect(answer.status == 200, "served without a token")
            let document = try #require(answer.json)
            #expect(document["openapi"] == "3.1.0")
            var documented: Set<String> = []
            for entry in document["paths"]?.objectValue?.entries ?? [] {
                for method in entry.value.objectValue?.keys ?? [] { documented.insert(method.uppercased() + " " + entry.key) }
            }
            let registered = Set(APIRoutes.table.map { "\($0.methodName) \($0.path)" })
            #expect(documented == registered)
            // Each documented operation's id is its route's, and each `$ref` resolves.
            for route in APIRoutes.table {
                let op = document["paths"]?[route.path]?[route.methodName.lowercased()]
                #expect(op?["operationId"]?.stringValue == route.operation.rawValue)
                #expect(op?["responses"]?.objectValue?.entries.isEmpty == false)
            }
            let schemas = Set(document["components"]?["schemas"]?.objectValue?.keys ?? [])
            for ref in Self.refs(document) {
                #expect(schemas.contains(String(ref.dropFirst("#/components/schemas/".count))), "\(ref)")
            }
            // And every route the table names is registered: none answers the router's not-found.
            for route in APIRoutes.table where route.path.hasPrefix("/api/contractor") {
                let probe = try await h.send(HTTPMethod(rawValue: route.methodName), route.path)
                #expect(probe.status == 401, "\(route.methodName) \(route.path): \(probe.status)")
            }
        }
    }

    static func refs(_ value: JSONValue) -> [String] {
        switch value {
        case .object(let o):
            return o.entries.flatMap { $0.key == "$ref" ? [$0.value.stringValue ?? ""] : refs($0.value) }
        case .array(let items): return items.flatMap(refs)
        default: return []
        }
    }
}
