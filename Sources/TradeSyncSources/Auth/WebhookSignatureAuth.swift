import Crypto
import Foundation
public import TradeSyncCore

public enum SignatureAlgorithm: String, ConfigEnum, Sendable {
    case hmacSHA1Base64 = "hmac_sha1_base64"
    case hmacSHA256Hex = "hmac_sha256_hex"
    case hmacSHA256Base64 = "hmac_sha256_base64"

    /// The signature of `body` under `secret`, as the sender writes it in its header.
    public func sign(_ body: [UInt8], secret: String) -> String {
        let key = SymmetricKey(data: Data(secret.utf8))
        switch self {
        case .hmacSHA1Base64:
            return Data(HMAC<Insecure.SHA1>.authenticationCode(for: body, using: key)).base64EncodedString()
        case .hmacSHA256Base64:
            return Data(HMAC<SHA256>.authenticationCode(for: body, using: key)).base64EncodedString()
        case .hmacSHA256Hex:
            return HMAC<SHA256>.authenticationCode(for: body, using: key).map { String(format: "%02x", $0) }.joined()
        }
    }

    /// Whether `signature` (the header's value) signs `body` under `secret`. The comparison is
    /// the MAC's own constant-time one on the decoded bytes, so the time taken does not tell a
    /// forger how many leading bytes were right; a header that does not decode is simply false.
    public func verify(_ body: [UInt8], signature: String, secret: String) -> Bool {
        let key = SymmetricKey(data: Data(secret.utf8))
        let text = signature.trimmingCharacters(in: .whitespaces)
        switch self {
        case .hmacSHA1Base64:
            guard let mac = Data(base64Encoded: text) else { return false }
            return HMAC<Insecure.SHA1>.isValidAuthenticationCode(mac, authenticating: body, using: key)
        case .hmacSHA256Base64:
            guard let mac = Data(base64Encoded: text) else { return false }
            return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: body, using: key)
        case .hmacSHA256Hex:
            guard let mac = Self.hexBytes(text) else { return false }
            return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: body, using: key)
        }
    }

    static func hexBytes(_ text: String) -> Data? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = Data(capacity: chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = hexValue(chars[i]), let lo = hexValue(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Data arrives by signed webhook (Indeed Apply): nothing to add to API calls. The signature is
/// declared here and checked by the server's webhook receiver (`SignatureAlgorithm.verify`).
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
