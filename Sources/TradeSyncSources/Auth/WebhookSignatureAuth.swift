public import TradeSyncCore

public enum SignatureAlgorithm: String, ConfigEnum, Sendable {
    case hmacSHA1Base64 = "hmac_sha1_base64"
    case hmacSHA256Hex = "hmac_sha256_hex"
    case hmacSHA256Base64 = "hmac_sha256_base64"
}

/// Data arrives by signed webhook (Indeed Apply): nothing to add to API calls. The signature is
/// declared for the server that will check it.
public struct WebhookSignatureAuth: AuthMethod {
    public static let kind = "webhook_signature"

    public struct Signature: Sendable, ConfigDecodable {
        public var header = ""
        public var algorithm = SignatureAlgorithm.hmacSHA256Hex
        /// The credential slot holding the shared secret.
        public var credential = "webhook_secret"

        public static func decode(_ node: ConfigNode) -> Signature? {
            guard let o = node.object() else { return nil }
            var c = Signature()
            c.header = o.required("header") ?? ""
            c.algorithm = o.required("algorithm") ?? .hmacSHA256Hex
            c.credential = o.optional("credential") ?? "webhook_secret"
            o.finish()
            return c
        }
    }

    public var signature: Signature?

    public static func decode(_ o: ConfigObject) -> WebhookSignatureAuth? {
        let signature: Signature? = o.optional("signature")
        if signature == nil { o.missingUnlessWritten("signature") }
        return WebhookSignatureAuth(signature: signature)
    }

    public func authenticator(_ context: AuthContext) throws -> any Authenticator { NoAuthentication() }
}
