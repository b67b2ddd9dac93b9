import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncSources

/// Each auth kind reads only its own keys under `auth:` and builds its own authenticator.
@Suite struct AuthMethodTests {
    static func auth(_ pairs: [(String, ConfigTree)]) -> (AuthConfig?, [String]) {
        var line = 0
        let mapping = ConfigTree.Mapping(pairs.map { key, value in
            line += 1
            return (key: .scalar(ConfigTree.Scalar(key, mark: ConfigTree.Mark(line: line, column: 3))), value: value)
        }, mark: ConfigTree.Mark(line: 1, column: 3))
        let sink = DiagnosticSink()
        let a = AuthConfig.decode(ConfigNode(node: .mapping(mapping), path: ["auth"], file: "x.yaml", sink: sink))
        return (a, sink.diagnostics.map(\.description))
    }

    static func text(_ s: String) -> ConfigTree { .scalar(ConfigTree.Scalar(s, mark: ConfigTree.Mark(line: 1, column: 9))) }

    static func slots(_ names: [String]) -> ConfigTree {
        .mapping(ConfigTree.Mapping(names.map { (key: text($0), value: .mapping(ConfigTree.Mapping([]))) }))
    }

    @Test func aKeyOfAnotherKindIsUnknown() {
        let (a, messages) = Self.auth([
            ("kind", Self.text("api_key")),
            ("api_key", .mapping(ConfigTree.Mapping([(key: Self.text("name"), value: Self.text("X-Key"))]))),
            ("token_url", Self.text("https://x.test/token")),
            ("credentials", Self.slots(["api_key"])),
        ])
        #expect(a?.method is APIKeyAuth)
        #expect(messages == ["x.yaml:3:3: error: auth.token_url: unknown key (expected one of: kind, api_key, credentials, headers)"])
    }

    @Test func anOAuthGrantNeedsItsEndpointAndClientSlots() {
        let (a, messages) = Self.auth([("kind", Self.text("oauth2_client_credentials")), ("credentials", Self.slots(["client_id"]))])
        #expect(a?.method is ClientCredentialsGrant)
        #expect(messages.sorted() == [
            "x.yaml:1:1: error: auth.credentials: OAuth 2.0 needs a 'client_secret' credential slot",
            "x.yaml:1:3: error: auth.token_url: missing required key",
        ].sorted())
    }

    @Test func theAPIKeyAuthenticatorIsBuiltFromItsSlot() async throws {
        var method = APIKeyAuth()
        method.placement = .query
        method.name = "api_key"
        method.credential = "key"
        let context = AuthContext(credentials: ["key": "k&1"], tokenURL: nil, transport: ScriptedTransport { _, _ in
            HTTPResponseData(status: 200, body: [])
        }, retry: .immediate, persistence: { throw AuthError.noRefreshToken })
        var request = HTTPRequestData(url: "http://x/y?a=1")
        try await method.authenticator(context).authorize(&request)
        #expect(request.url == "http://x/y?a=1&api_key=k%261")
        var missing = context
        missing.credentials = [:]
        #expect(throws: AuthError.self) { _ = try method.authenticator(missing) }
    }

    @Test func everyKindIsRegisteredOnce() {
        let kinds = AuthConfig.methods.map { $0.kind }
        #expect(Set(kinds) == ["oauth2_client_credentials", "oauth2_authorization_code", "api_key", "webhook_signature", "none"])
        #expect(kinds.count == 5)
    }
}
