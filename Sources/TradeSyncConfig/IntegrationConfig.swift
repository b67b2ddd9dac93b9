public import TradeSyncCore
public import TradeSyncSources

/// Whether a provider can be synced, and how. Anything but `available` must say why in `status_note`.
public enum IntegrationStatus: String, ConfigEnum, Sendable {
    case available
    /// Data arrives by signed webhook only (Indeed Apply).
    case webhookOnly = "webhook_only"
    /// No API: data can only be imported from an export file.
    case importOnly = "import_only"
    /// The provider shut the API down.
    case retired
}

/// `integrations.d/<provider>.yaml`: everything tradesync knows about one provider.
public struct IntegrationConfig: Sendable, ConfigDecodable {
    /// Provider id; equals the file name without `.yaml`.
    public var provider = ""
    public var providerLocation: SourceLocation?
    public var displayName = ""
    public var description: String?
    public var status = IntegrationStatus.available
    /// Required unless `status` is `available`: the truth about what can and cannot be synced.
    public var statusNote: String?
    public var docsURL: String?
    /// Entities this provider can fill (model entity names).
    public var capabilities: [Located<String>] = []
    /// `manual | realtime | hourly | daily | cron:<expr>`.
    public var defaultFrequency = SyncFrequency.daily
    /// Scheduled runs in a row that may fail (each retried with backoff) before the connection
    /// waits for its next scheduled time and shows `error`.
    public var maxAttempts = IntegrationConfig.defaultMaxAttempts
    public static let defaultMaxAttempts = 3
    /// Runs of this provider at once across every worker of the store; nil for no cap.
    public var maxConcurrentRuns: Int?
    /// The real production API host. Connections may override it (sandbox, test hosts).
    public var baseURL: String?
    /// Named alternatives to `base_url` and `auth.token_url` (ServiceTitan integration, QuickBooks sandbox).
    public var environments = NamedMap<EnvironmentConfig>()
    public var auth = AuthConfig()
    public var connectionFields = NamedMap<ConnectionFieldConfig>()
    public var streams = NamedMap<StreamConfig>()
    public var location = SourceLocation(file: "", line: 1, column: 1)

    public init() {}

    public static func decode(_ node: ConfigNode) -> IntegrationConfig? {
        guard let o = node.object() else { return nil }
        var c = IntegrationConfig()
        c.location = node.location
        let provider: Located<String>? = o.required("provider")
        c.provider = provider?.value ?? ""
        c.providerLocation = provider?.location
        c.displayName = o.required("display_name") ?? ""
        c.description = o.optional("description")
        c.status = o.optional("status") ?? .available
        c.statusNote = o.optional("status_note")
        c.docsURL = o.optional("docs_url")
        c.capabilities = o.optional("capabilities") ?? []
        if let f = o.optional("default_frequency", as: FrequencyValue.self) { c.defaultFrequency = f.value }
        c.maxAttempts = IntegrationConfig.atLeastOne(o, "max_attempts") ?? IntegrationConfig.defaultMaxAttempts
        c.maxConcurrentRuns = IntegrationConfig.atLeastOne(o, "max_concurrent_runs")
        c.baseURL = o.optional("base_url")
        c.environments = o.optional("environments") ?? NamedMap()
        c.auth = o.required("auth") ?? AuthConfig()
        c.connectionFields = o.optional("connection_fields") ?? NamedMap()
        c.streams = o.optional("streams") ?? NamedMap()
        if c.status != .available, c.statusNote == nil {
            node.sink.add(Diagnostic(.error, node.location, keyPath: "status_note",
                                     "required when status is '\(c.status.rawValue)': say what can and cannot be synced"))
        }
        if c.status == .available, c.baseURL == nil, !c.streams.isEmpty {
            o.missingUnlessWritten("base_url")
        }
        o.finish()
        return c
    }
}

extension IntegrationConfig {
    /// A scheduling count: a whole number, 1 or more.
    static func atLeastOne(_ o: ConfigObject, _ key: String) -> Int? {
        guard let n: Located<Int> = o.optional(key) else { return nil }
        guard n.value >= 1 else {
            o.node.sink.add(Diagnostic(.error, n.location, keyPath: n.keyPath, "must be at least 1"))
            return nil
        }
        return n.value
    }
}

/// A wrapper that reads `SyncFrequency` from its YAML string form.
public struct FrequencyValue: ConfigDecodable, Sendable {
    public var value: SyncFrequency

    public static func decode(_ node: ConfigNode) -> FrequencyValue? {
        guard let text = String.decode(node) else { return nil }
        do {
            if let f = try SyncFrequency(parsing: text) { return FrequencyValue(value: f) }
        } catch {
            node.error(error.description)
            return nil
        }
        let names = ["manual", "realtime", "hourly", "daily"]
        if let s = closestMatch(to: text, in: names) {
            node.error("unknown frequency '\(text)'; did you mean '\(s)'?")
        } else {
            node.error("unknown frequency '\(text)' (expected manual, realtime, hourly, daily, every 15m, cron:<5 fields> or cron \"<5 fields>\")")
        }
        return nil
    }
}

public struct EnvironmentConfig: Sendable, ConfigDecodable {
    public var baseURL: String?
    public var tokenURL: String?
    public var authorizeURL: String?

    public static func decode(_ node: ConfigNode) -> EnvironmentConfig? {
        guard let o = node.object() else { return nil }
        let c = EnvironmentConfig(
            baseURL: o.optional("base_url"), tokenURL: o.optional("token_url"), authorizeURL: o.optional("authorize_url"))
        o.finish()
        return c
    }
}

/// How a provider authenticates API calls: the keys every kind shares, and the kind's own
/// (`AuthMethod`), decoded by the method itself.
public struct AuthConfig: Sendable, ConfigDecodable {
    /// Every auth method, once. Adding one is a new file in Sources/TradeSyncSources/Auth and a line here.
    public static let methods: [any AuthMethod.Type] = [
        ClientCredentialsGrant.self, AuthorizationCodeGrant.self, APIKeyAuth.self, WebhookSignatureAuth.self, NoAuth.self,
    ]

    /// The `kind` as written.
    public var kind = NoAuth.kind
    public var method: any AuthMethod = NoAuth()
    /// Credential slots a connection must reference.
    public var credentials = NamedMap<CredentialSlotConfig>()
    /// Headers on every API call; values may use `{credentials.X}` and `{connection.X}`.
    public var headers = NamedMap<String>()
    public var location = SourceLocation(file: "", line: 1, column: 1)

    public init() {}

    /// The OAuth grant's token endpoint, if the method is one.
    public var tokenURL: String? { (method as? any OAuthGrant)?.tokenURL }
    public var authorizeURL: String? { (method as? AuthorizationCodeGrant)?.authorizeURL }
    public var revokeURL: String? { (method as? AuthorizationCodeGrant)?.revokeURL }

    public static func decode(_ node: ConfigNode) -> AuthConfig? {
        guard let o = node.object() else { return nil }
        var c = AuthConfig()
        c.location = node.location
        var decoded: (any AuthMethod)?
        var known = false
        if let kindNode = o.child("kind") {
            if let kind = String.decode(kindNode) {
                if let type = methods.first(where: { $0.kind == kind }) {
                    known = true
                    c.kind = kind
                    decoded = type.decodeAny(o)
                } else {
                    let names = methods.map { $0.kind }
                    if let s = closestMatch(to: kind, in: names) {
                        kindNode.error("unknown value '\(kind)'; did you mean '\(s)'?")
                    } else {
                        kindNode.error("unknown value '\(kind)' (expected one of: \(names.joined(separator: ", ")))")
                    }
                }
            }
        } else {
            o.missing("kind")
        }
        c.credentials = o.optional("credentials") ?? NamedMap()
        c.headers = o.optional("headers") ?? NamedMap()
        if let decoded {
            c.method = decoded
            for slot in decoded.requiredSlots where c.credentials[slot] == nil {
                node.sink.add(Diagnostic(.error, o.child("credentials")?.location ?? node.location,
                                         keyPath: ConfigNode.render(node.path + ["credentials"]),
                                         "OAuth 2.0 needs a '\(slot)' credential slot"))
            }
        }
        // Without a usable kind, which keys belong is unknown: they are not reported one by one.
        if known { o.finish() } else { o.skipRest() }
        return c
    }
}

public struct CredentialSlotConfig: Sendable, ConfigDecodable {
    /// Secret slots are never shown in logs, plan output or API responses.
    public var secret = true
    public var required = true
    public var description: String?

    public static func decode(_ node: ConfigNode) -> CredentialSlotConfig? {
        guard let o = node.object() else { return nil }
        var c = CredentialSlotConfig()
        c.secret = o.optional("secret") ?? true
        c.required = o.optional("required") ?? true
        c.description = o.optional("description")
        o.finish()
        return c
    }
}

public enum ConnectionFieldType: String, ConfigEnum, Sendable {
    case string, integer, boolean
    case stringList = "string_list"
}

public struct ConnectionFieldConfig: Sendable, ConfigDecodable {
    public var type = ConnectionFieldType.string
    public var required = false
    public var description: String?
    public var `default`: JSONValue?

    public static func decode(_ node: ConfigNode) -> ConnectionFieldConfig? {
        guard let o = node.object() else { return nil }
        var c = ConnectionFieldConfig()
        c.type = o.optional("type") ?? .string
        c.required = o.optional("required") ?? false
        c.description = o.optional("description")
        c.default = o.optional("default")
        o.finish()
        return c
    }
}
