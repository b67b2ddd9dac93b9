public import TradeSyncCore

/// A static API key (`api_key: {in, name, prefix, credential}`).
public struct APIKeyAuth: AuthMethod {
    public static let kind = "api_key"

    public enum Placement: String, ConfigEnum, Sendable { case header, query }

    public var placement = Placement.header
    public var name = "Authorization"
    public var prefix = ""
    /// The credential slot holding the key.
    public var credential = "api_key"

    public init() {}

    public static func decode(_ o: ConfigObject) -> APIKeyAuth? {
        guard let node = o.child("api_key") else {
            o.missingUnlessWritten("api_key")
            return nil
        }
        guard let k = node.object() else { return nil }
        var c = APIKeyAuth()
        c.placement = k.optional("in") ?? .header
        c.name = k.required("name") ?? "Authorization"
        c.prefix = k.optional("prefix") ?? ""
        c.credential = k.optional("credential") ?? "api_key"
        k.finish()
        return c
    }

    public func authenticator(_ context: AuthContext) throws -> any Authenticator {
        APIKeyAuthenticator(placement: placement, name: name, prefix: prefix, key: try context.credential(credential))
    }
}

/// A static API key in a header (Yelp: `Authorization: Bearer …`) or a query parameter (SerpApi: `api_key`).
public struct APIKeyAuthenticator: Authenticator {
    public typealias Placement = APIKeyAuth.Placement
    let placement: Placement
    let name: String
    let prefix: String
    let key: String

    public init(placement: Placement, name: String, prefix: String, key: String) {
        self.placement = placement
        self.name = name
        self.prefix = prefix
        self.key = key
    }

    public func authorize(_ request: inout HTTPRequestData) async throws {
        switch placement {
        case .header: request.setHeader(name, prefix + key)
        case .query:
            request.url += (request.url.contains("?") ? "&" : "?") + URLEncoding.encode(name) + "=" + URLEncoding.queryValue(key)
        }
    }

    public func invalidate() async {}

    public func secretValues() async -> [String] { [key] }
}

