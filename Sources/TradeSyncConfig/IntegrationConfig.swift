import TradeSyncCore

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

public enum AuthKind: String, ConfigEnum, Sendable {
    case oauth2ClientCredentials = "oauth2_client_credentials"
    case oauth2AuthorizationCode = "oauth2_authorization_code"
    case apiKey = "api_key"
    case webhookSignature = "webhook_signature"
    case none
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

/// A wrapper that reads `SyncFrequency` from its YAML string form.
public struct FrequencyValue: ConfigDecodable, Sendable {
    public var value: SyncFrequency

    public static func decode(_ node: ConfigNode) -> FrequencyValue? {
        guard let text = String.decode(node) else { return nil }
        do {
            if let f = try SyncFrequency(parsing: text) { return FrequencyValue(value: f) }
        } catch {
            node.error("invalid cron expression: \(error.description)")
            return nil
        }
        let names = ["manual", "realtime", "hourly", "daily"]
        if let s = closestMatch(to: text, in: names) {
            node.error("unknown frequency '\(text)'; did you mean '\(s)'?")
        } else {
            node.error("unknown frequency '\(text)' (expected manual, realtime, hourly, daily or cron:<5 fields>)")
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

public enum ClientAuthentication: String, ConfigEnum, Sendable {
    /// client_id and client_secret in the form body.
    case form
    /// HTTP Basic with client_id:client_secret (QuickBooks).
    case basic
}

public enum APIKeyPlacement: String, ConfigEnum, Sendable {
    case header, query
}

public enum SignatureAlgorithm: String, ConfigEnum, Sendable {
    case hmacSHA1Base64 = "hmac_sha1_base64"
    case hmacSHA256Hex = "hmac_sha256_hex"
    case hmacSHA256Base64 = "hmac_sha256_base64"
}

/// How a provider authenticates API calls.
public struct AuthConfig: Sendable, ConfigDecodable {
    public var kind = AuthKind.none
    public var authorizeURL: String?
    public var tokenURL: String?
    public var scopes: [String] = []
    public var scopeSeparator = " "
    /// Extra query parameters on the authorize URL (Google: access_type=offline, prompt=consent).
    public var authorizeParams = NamedMap<String>()
    public var clientAuth = ClientAuthentication.form
    /// Each refresh returns a new refresh token and kills the old one (Jobber, QuickBooks).
    public var refreshTokenRotates = false
    /// Used when a token response carries no `expires_in`.
    public var tokenLifetimeSeconds = 3600
    /// Callback query parameters kept as connection fields (QuickBooks `realmId`).
    public var callbackFields: [String] = []
    /// The provider supports PKCE (RFC 7636): `connect` sends an S256 code challenge.
    public var pkce = false
    /// Where `disconnect` revokes the refresh token (RFC 7009), if the provider has such an endpoint.
    public var revokeURL: String?
    public var apiKey: APIKeyConfig?
    public var signature: SignatureConfig?
    /// Credential slots a connection must reference.
    public var credentials = NamedMap<CredentialSlotConfig>()
    /// Headers on every API call; values may use `{credentials.X}` and `{connection.X}`.
    public var headers = NamedMap<String>()
    public var location = SourceLocation(file: "", line: 1, column: 1)

    public init() {}

    public static func decode(_ node: ConfigNode) -> AuthConfig? {
        guard let o = node.object() else { return nil }
        var c = AuthConfig()
        c.location = node.location
        c.kind = o.required("kind") ?? .none
        c.authorizeURL = o.optional("authorize_url")
        c.tokenURL = o.optional("token_url")
        c.scopes = o.optional("scopes") ?? []
        c.scopeSeparator = o.optional("scope_separator") ?? " "
        c.authorizeParams = o.optional("authorize_params") ?? NamedMap()
        c.clientAuth = o.optional("client_auth") ?? .form
        c.refreshTokenRotates = o.optional("refresh_token_rotates") ?? false
        c.tokenLifetimeSeconds = o.optional("token_lifetime_seconds") ?? 3600
        c.callbackFields = o.optional("callback_fields") ?? []
        c.pkce = o.optional("pkce") ?? false
        c.revokeURL = o.optional("revoke_url")
        c.apiKey = o.optional("api_key")
        c.signature = o.optional("signature")
        c.credentials = o.optional("credentials") ?? NamedMap()
        c.headers = o.optional("headers") ?? NamedMap()
        switch c.kind {
        case .oauth2AuthorizationCode:
            if c.authorizeURL == nil { o.missingUnlessWritten("authorize_url") }
            if c.tokenURL == nil { o.missingUnlessWritten("token_url") }
        case .oauth2ClientCredentials:
            if c.tokenURL == nil { o.missingUnlessWritten("token_url") }
        case .apiKey:
            if c.apiKey == nil { o.missingUnlessWritten("api_key") }
        case .webhookSignature:
            if c.signature == nil { o.missingUnlessWritten("signature") }
        case .none:
            break
        }
        if c.kind == .oauth2AuthorizationCode || c.kind == .oauth2ClientCredentials {
            for slot in ["client_id", "client_secret"] where c.credentials[slot] == nil {
                node.sink.add(Diagnostic(.error, o.child("credentials")?.location ?? node.location,
                                         keyPath: ConfigNode.render(node.path + ["credentials"]),
                                         "OAuth 2.0 needs a '\(slot)' credential slot"))
            }
        }
        o.finish()
        return c
    }
}

public struct APIKeyConfig: Sendable, ConfigDecodable {
    public var placement = APIKeyPlacement.header
    public var name = "Authorization"
    public var prefix = ""
    /// The credential slot holding the key.
    public var credential = "api_key"

    public static func decode(_ node: ConfigNode) -> APIKeyConfig? {
        guard let o = node.object() else { return nil }
        var c = APIKeyConfig()
        c.placement = o.optional("in") ?? .header
        c.name = o.required("name") ?? "Authorization"
        c.prefix = o.optional("prefix") ?? ""
        c.credential = o.optional("credential") ?? "api_key"
        o.finish()
        return c
    }
}

public struct SignatureConfig: Sendable, ConfigDecodable {
    public var header = ""
    public var algorithm = SignatureAlgorithm.hmacSHA256Hex
    /// The credential slot holding the shared secret.
    public var credential = "webhook_secret"

    public static func decode(_ node: ConfigNode) -> SignatureConfig? {
        guard let o = node.object() else { return nil }
        var c = SignatureConfig()
        c.header = o.required("header") ?? ""
        c.algorithm = o.required("algorithm") ?? .hmacSHA256Hex
        c.credential = o.optional("credential") ?? "webhook_secret"
        o.finish()
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
