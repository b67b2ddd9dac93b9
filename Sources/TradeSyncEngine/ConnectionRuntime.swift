import Foundation
import Logging
import TradeSyncConfig
import TradeSyncCore
import TradeSyncMapping
import TradeSyncSources
import TradeSyncStore

/// Everything needed to talk to one connection's provider: URLs, fields, credentials, auth.
struct ConnectionRuntime: Sendable {
    let record: ConnectionRecord
    let integration: IntegrationConfig
    private(set) var fields: [String: JSONValue]
    let streams: [String]
    /// The provider's API base for relative paths: the environment's, else the integration's.
    let providerBaseURL: String
    /// The connection's `base_url` and `hosts`: applied to every API URL, relative or absolute.
    let overrides: OriginOverrides
    /// Overridden on their own (`token_url`, `authorize_url`): OAuth endpoints are not API URLs.
    let tokenURL: String?
    let authorizeURL: String?
    let revokeURL: String?
    /// Resolved credential values by slot; empty until `resolvingCredentials`.
    private(set) var credentials: [String: String] = [:]

    init(record: ConnectionRecord, project: Project, resolver: CredentialResolver) throws {
        self = try ConnectionRuntime(record: record, project: project).resolvingCredentials(resolver)
    }

    /// The connection without its credentials: enough to check the integration and streams.
    init(record: ConnectionRecord, project: Project) throws {
        guard let integration = project.integration(record.integrationType) else {
            throw RunnerError.unknownIntegration(record.integrationType)
        }
        if integration.status != .available {
            throw RunnerError.notSyncable("\(integration.displayName) cannot be synced: \(integration.statusNote ?? integration.status.rawValue)")
        }
        self.record = record
        self.integration = integration
        let settings = try record.settings()
        var fields = settings.fields
        for e in integration.connectionFields.entries where fields[e.name] == nil {
            if let d = e.value.default { fields[e.name] = d }
        }
        self.fields = fields
        streams = settings.streams ?? integration.streams.entries.filter { !$0.value.lookupOnly }.map(\.name)
        let environment = settings.environment.flatMap { integration.environments[$0] }
        providerBaseURL = environment?.baseURL ?? integration.baseURL ?? ""
        overrides = OriginOverrides(base: settings.baseURL, hosts: settings.hosts ?? [:])
        tokenURL = settings.tokenURL ?? environment?.tokenURL ?? integration.auth.tokenURL
        authorizeURL = settings.authorizeURL ?? environment?.authorizeURL ?? integration.auth.authorizeURL
        // A connection whose token URL is overridden (a sandbox) revokes there too, never at the real host.
        revokeURL = settings.revokeURL
            ?? (settings.tokenURL != nil ? integration.auth.revokeURL.map { Self.sameHost($0, as: settings.tokenURL) } : nil)
            ?? integration.auth.revokeURL
    }

    /// The same connection with its credential references resolved (at the last moment: the
    /// values live only in memory, for the run).
    func resolvingCredentials(_ resolver: CredentialResolver) throws -> ConnectionRuntime {
        var credentials: [String: String] = [:]
        let refs = (try? JSONValue.parse(record.credentialsJSON))?.objectValue?.entries ?? []
        for e in refs {
            guard let text = e.value.stringValue, let reference = CredentialReference(parsing: text) else { continue }
            credentials[e.key] = try resolver.resolve(slot: e.key, reference)
        }
        for slot in integration.auth.credentials.entries where slot.value.required && credentials[slot.name] == nil {
            throw RunnerError.credential(slot: slot.name, reference: "none", reason: "the connection does not reference it")
        }
        var copy = self
        copy.credentials = credentials
        return copy
    }

    /// Every secret this connection sends, in each form it may travel in: for redaction.
    var secretValues: [String] {
        var out = Array(credentials.values)
        if let id = credentials["client_id"], let secret = credentials["client_secret"] {
            out.append(Data((id + ":" + secret).utf8).base64EncodedString())
        }
        return out
    }

    /// Text of a connection field for templates (lists join with commas).
    func field(_ name: String) -> String? {
        guard let v = fields[name] else { return nil }
        if case .array(let items) = v { return items.compactMap(\.scalarText).joined(separator: ",") }
        return v.scalarText
    }

    /// Renders a template; `encode` is applied to each substituted value (paths percent-encode).
    func render(_ text: String, parent: [String: String], cursor: String?, encode: (String) -> String = { $0 }) throws
        -> String
    {
        let result = Template(text).render { ns, name in
            let raw: String?
            switch ns {
            case "connection": raw = field(name)
            case "credentials": raw = credentials[name]
            case "parent": raw = parent[name]
            case "cursor": raw = name == "value" ? (cursor ?? "") : nil
            // The UTC day the run renders its requests: a snapshot's date.
            case "run": raw = name == "date" ? String(Timestamp.iso8601(micros: currentMicros()).prefix(10)) : nil
            default: raw = nil
            }
            return raw.map(encode)
        }
        switch result {
        case .success(let s): return s
        case .failure(let e): throw RunnerError.configuration("\(integration.provider): \(e.description)")
        }
    }

    /// Absolute URL of a stream path: the provider's URL (a relative path goes to the provider's
    /// base URL), then the connection's origin overrides.
    func url(forPath path: String) -> String {
        let absolute = path.hasPrefix("https://") || path.hasPrefix("http://")
        let provider = absolute ? path : Self.trimmed(providerBaseURL) + path
        if !absolute, HTTPURL(provider) == nil, let base = overrides.base {
            // An integration without a base_url of its own: the override is the only base.
            return Self.trimmed(base.origin + base.path) + path
        }
        return overrides.apply(to: provider)
    }

    static func trimmed(_ base: String) -> String {
        var b = Substring(base)
        while b.hasSuffix("/") { b = b.dropLast() }
        return String(b)
    }

    /// Renders a path template, percent-encoding values but keeping `/` (Google resource names).
    func renderPath(_ template: String, parent: [String: String], cursor: String?) throws -> String {
        try render(template, parent: parent, cursor: cursor, encode: URLEncoding.pathSegment)
    }

    /// The token endpoint client of an OAuth connection.
    func oauthClient() throws -> OAuthClient {
        guard let grant = integration.auth.method as? any OAuthGrant else {
            throw RunnerError.configuration("\(integration.provider): auth kind \(integration.auth.kind) has no token endpoint")
        }
        return try grant.client(credentials: credentials, tokenURL: tokenURL)
    }

    /// The revoke URL's path on the overridden token URL's host: `https://oauth2.googleapis.com/revoke`
    /// with token URL `http://127.0.0.1:8099/google/token` gives `http://127.0.0.1:8099/google/revoke`.
    static func sameHost(_ revoke: String, as token: String?) -> String {
        guard let token, let slash = token.lastIndex(of: "/"), let revokeSlash = revoke.lastIndex(of: "/") else { return revoke }
        return String(token[..<slash]) + String(revoke[revokeSlash...])
    }

    /// The connection's fields with those kept from the OAuth callback (QuickBooks `realm_id`).
    func withCallbackFields(_ json: String?) -> ConnectionRuntime {
        guard let json, let object = (try? JSONValue.parse(json))?.objectValue else { return self }
        var fields = self.fields
        for e in object.entries where fields[e.key] == nil { fields[e.key] = e.value }
        var copy = self
        copy.fields = fields
        return copy
    }

    /// `vault` is nil when the deployment has no `secrets_key`: connections that keep tokens refuse.
    func authenticator(store: any SyncStore, vault: TokenVault?, keyProblem: SealError, holder: String,
                       transport: any HTTPTransport, retry: RetryPolicy, logger: Logger) throws -> any Authenticator {
        let id = record.id
        let seed = credentials["refresh_token"]
        let context = AuthContext(credentials: credentials, tokenURL: tokenURL, transport: transport, retry: retry) {
            guard let vault else { throw keyProblem }
            // Per authenticator, not per process: two runs in one process must not share a refresh.
            return vault.persistence(integrationId: id, holder: holder + "/" + UUID().uuidString.prefix(8), seed: seed, logger: logger)
        }
        return try integration.auth.method.authenticator(context)
    }
}
