public import TradeSyncCore
import Yams

/// A deployment file (`tradesync.yaml`): the store and every contractor's connections.
public struct DeploymentConfig: Sendable, ConfigDecodable {
    /// `sqlite:PATH` (relative to the file) or `postgres://…`.
    public var store: Located<String>?
    public var contractors: [ContractorConfig] = []
    /// `env:NAME` or `file:PATH` holding the key that seals tokens at rest: 32 random bytes in
    /// base64 (`head -c 32 /dev/urandom | base64`). Commands that store tokens refuse without it.
    public var secretsKey: CredentialValue?
    /// The key before the last rotation: still read, never written (see `tradesync rotate-key`).
    public var secretsKeyPrevious: CredentialValue?
    /// The file as shown in diagnostics.
    public var file = ""
    /// The file's path on disk, to resolve relative store and `file:` paths.
    public var path = ""

    public var directory: String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    /// The store, with a relative SQLite path resolved against the file's folder.
    public var storeLocation: StoreLocation? {
        store.flatMap { StoreLocation(parsing: $0.value, relativeTo: directory) }
    }

    public static func decode(_ node: ConfigNode) -> DeploymentConfig? {
        guard let o = node.object() else { return nil }
        var c = DeploymentConfig()
        c.file = node.file
        c.store = o.required("store")
        c.contractors = o.required("contractors") ?? []
        c.secretsKey = o.optional("secrets_key")
        c.secretsKeyPrevious = o.optional("secrets_key_previous")
        o.finish()
        if let store = c.store, StoreLocation(parsing: store.value, relativeTo: "") == nil {
            node.sink.add(Diagnostic(.error, store.location, keyPath: store.keyPath,
                                     "expected sqlite:PATH or postgres://user@host:port/database"))
        }
        return c
    }
}

public struct ContractorConfig: Sendable, ConfigDecodable {
    /// The seed's demo/contractor id.
    public var id: Located<String>?
    public var name: String?
    public var connections: [ConnectionConfig] = []

    public static func decode(_ node: ConfigNode) -> ContractorConfig? {
        guard let o = node.object() else { return nil }
        var c = ContractorConfig()
        c.id = o.required("id")
        c.name = o.optional("name")
        c.connections = o.optional("connections") ?? []
        o.finish()
        return c
    }
}

/// A credential value as written: a reference, or a literal that is reported (never echoed).
public struct CredentialValue: Sendable, ConfigDecodable {
    public var reference: CredentialReference?
    public var location: SourceLocation
    public var keyPath: String

    public static func decode(_ node: ConfigNode) -> CredentialValue? {
        guard case .scalar(let s) = node.node else {
            node.error("expected env:NAME or file:PATH, found \(node.kindName)")
            return nil
        }
        let reference = CredentialReference(parsing: s.string)
        if reference == nil {
            node.error("a literal secret is not allowed in configuration; write env:NAME or file:PATH")
        }
        return CredentialValue(reference: reference, location: node.location, keyPath: node.keyPath)
    }
}

/// One contractor's connection to one integration.
public struct ConnectionConfig: Sendable, ConfigDecodable {
    public var id: Located<String>?
    public var integration: Located<String>?
    /// One of the integration's `environments`.
    public var environment: Located<String>?
    /// Replaces scheme, host and port of every API URL of the integration, keeping the
    /// provider's path; a path written here goes in front of it (DESIGN §7).
    public var baseURL: String?
    /// Provider host → origin (with an optional path prefix) for that host alone; wins over
    /// `baseURL` (Google's API is spread over five hosts).
    public var hosts = NamedMap<String>()
    /// The OAuth endpoints are not API URLs: `base_url` and `hosts` leave them alone.
    public var tokenURL: String?
    public var authorizeURL: String?
    public var fields = NamedMap<JSONValue>()
    public var credentials = NamedMap<CredentialValue>()
    public var frequency: SyncFrequency?
    public var autoSync = true
    /// Streams to sync; nil = every stream of the integration.
    public var streams: [Located<String>]?
    /// Stream → frequency, for streams that sync at their own pace (`stream_frequencies`);
    /// wins over the stream's default in the integration and over `frequency`.
    public var streamFrequencies = NamedMap<FrequencyValue>()
    public var location = SourceLocation(file: "", line: 1, column: 1)
    public var keyPath = ""

    public static func decode(_ node: ConfigNode) -> ConnectionConfig? {
        guard let o = node.object() else { return nil }
        var c = ConnectionConfig()
        c.location = node.location
        c.keyPath = node.keyPath
        c.id = o.required("id")
        c.integration = o.required("integration")
        c.environment = o.optional("environment")
        c.baseURL = EndpointOverrideConfig.origin(o, "base_url")
        c.hosts = EndpointOverrideConfig.hosts(o)
        c.tokenURL = EndpointOverrideConfig.endpoint(o, "token_url")
        c.authorizeURL = EndpointOverrideConfig.endpoint(o, "authorize_url")
        c.fields = o.optional("fields") ?? NamedMap()
        c.credentials = o.optional("credentials") ?? NamedMap()
        c.frequency = o.optional("frequency", as: FrequencyValue.self)?.value
        c.autoSync = o.optional("auto_sync") ?? true
        c.streams = o.optional("streams")
        c.streamFrequencies = o.optional("stream_frequencies") ?? NamedMap()
        o.finish()
        return c
    }
}
