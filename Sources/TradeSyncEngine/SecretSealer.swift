import Crypto
import Foundation
public import TradeSyncConfig
public import TradeSyncCore

/// Why a secret could not be sealed or unsealed. Never carries the secret or the key.
public enum SealError: Error, Sendable, CustomStringConvertible {
    /// The deployment has no `secrets_key`; `file` is the deployment file, to name in the fix.
    case noKey(deploymentFile: String)
    case badKey(field: String, reference: String, reason: String)
    case unknownKeyId(String, configured: [String])
    case malformed(String)
    case authenticationFailed(keyId: String)

    /// The one line that makes a key, as the documentation and every refusal print it.
    public static let makeKeyCommand = "head -c 32 /dev/urandom | base64"

    public var description: String {
        switch self {
        case .noKey(let file):
            // The key file goes beside the deployment file: `file:` paths are relative to it.
            let folder = (file as NSString).deletingLastPathComponent
            let dir = (folder.isEmpty ? "" : folder + "/") + ".tradesync"
            return """
                tokens are sealed at rest and \(file) has no secrets_key. Make a key and reference it:
                  mkdir -p \(dir) && (umask 077 && \(SealError.makeKeyCommand) > \(dir)/secrets.key)
                then add to \(file):  secrets_key: file:.tradesync/secrets.key   (or env:NAME holding the same text)
                """
        case .badKey(let field, let reference, let reason):
            return "\(field) (\(reference)): \(reason); make one with `\(SealError.makeKeyCommand)`"
        case .unknownKeyId(let id, let configured):
            return "cannot unseal: key id \(id) not configured (configured: \(configured.joined(separator: ", "))); "
                + "set secrets_key or secrets_key_previous to the key it was sealed with"
        case .malformed(let why): return "cannot unseal: \(why)"
        case .authenticationFailed(let id):
            return "cannot unseal: the value sealed under key id \(id) fails authentication (altered, or moved from another row)"
        }
    }
}

/// One AES-256 key and its id: the first 8 hex digits of the SHA-256 of the key, recorded in
/// every envelope so a reader knows which key to use (and a rotation knows what is left).
public struct SecretKey: Sendable {
    let key: SymmetricKey
    public let id: String

    /// `text` is the key as `head -c 32 /dev/urandom | base64` prints it (whitespace ignored).
    public init(base64 text: String, field: String, reference: String) throws {
        let trimmed = text.filter { !$0.isWhitespace }
        guard let bytes = Data(base64Encoded: trimmed) else {
            throw SealError.badKey(field: field, reference: reference, reason: "not base64 (expected 32 random bytes in base64)")
        }
        guard bytes.count == 32 else {
            throw SealError.badKey(field: field, reference: reference,
                                   reason: "\(bytes.count) bytes after base64 decoding, expected 32")
        }
        key = SymmetricKey(data: bytes)
        id = SHA256.hash(data: bytes).prefix(4).map { String(format: "%02x", $0) }.joined()
    }

    /// A new random key, as base64 text (the demo's own key file).
    public static func generateText() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }
}

/// Seals secrets with AES-256-GCM into `v1:<key id>:<base64(nonce|ciphertext|tag)>`. The
/// current key seals; it and the previous keys unseal, so a rotation stopped halfway still reads.
public struct SecretSealer: Sendable {
    public let current: SecretKey
    public let previous: [SecretKey]
    static let version = "v1"

    public init(current: SecretKey, previous: [SecretKey] = []) {
        self.current = current
        self.previous = previous.filter { $0.id != current.id }
    }

    /// The deployment's keys; nil when it has no `secrets_key`.
    public static func load(_ deployment: DeploymentConfig, resolver: CredentialResolver) throws -> SecretSealer? {
        guard let currentRef = deployment.secretsKey?.reference else { return nil }
        let current = try key(currentRef, field: "\(deployment.file): secrets_key", resolver: resolver)
        var previous: [SecretKey] = []
        if let ref = deployment.secretsKeyPrevious?.reference {
            previous.append(try key(ref, field: "\(deployment.file): secrets_key_previous", resolver: resolver))
        }
        return SecretSealer(current: current, previous: previous)
    }

    public static func key(_ reference: CredentialReference, field: String, resolver: CredentialResolver) throws -> SecretKey {
        let text: String
        do {
            text = try resolver.resolve(slot: field, reference)
        } catch RunnerError.credential(_, _, let reason) {
            throw SealError.badKey(field: field, reference: reference.description, reason: reason)
        }
        return try SecretKey(base64: text, field: field, reference: reference.description)
    }

    public var keyIds: [String] { [current.id] + previous.map(\.id) }

    /// `context` (e.g. `<connection id>:refresh_token`) is authenticated with the value: a sealed
    /// value copied into another row or column does not unseal there.
    public func seal(_ plain: String, context: String) throws -> String {
        let box = try AES.GCM.seal(Data(plain.utf8), using: current.key, authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw SealError.malformed("AES-GCM gave no combined form") }
        return "\(SecretSealer.version):\(current.id):\(combined.base64EncodedString())"
    }

    public func unseal(_ text: String, context: String) throws -> String {
        guard SecretSealer.isSealed(text) else {
            // Written before tokens were sealed: readable, and sealed at the next write or `rotate-key`.
            return text
        }
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw SealError.malformed("not a v1:<key id>:<data> envelope") }
        let id = String(parts[1])
        guard let key = ([current] + previous).first(where: { $0.id == id }) else {
            throw SealError.unknownKeyId(id, configured: keyIds)
        }
        guard let data = Data(base64Encoded: String(parts[2])), let box = try? AES.GCM.SealedBox(combined: data) else {
            throw SealError.malformed("the sealed data under key id \(id) is not valid base64 AES-GCM")
        }
        guard let plain = try? AES.GCM.open(box, using: key.key, authenticating: Data(context.utf8)) else {
            throw SealError.authenticationFailed(keyId: id)
        }
        return String(decoding: plain, as: UTF8.self)
    }

    public static func isSealed(_ text: String) -> Bool { text.hasPrefix(version + ":") }

    /// The key id an envelope names; nil for plain (legacy) text.
    public static func keyId(of text: String) -> String? {
        guard isSealed(text) else { return nil }
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        return parts.count == 3 ? String(parts[1]) : nil
    }

    /// Sealed under anything but the current key (or not sealed at all).
    public func needsReseal(_ text: String) -> Bool { SecretSealer.keyId(of: text) != current.id }
}
