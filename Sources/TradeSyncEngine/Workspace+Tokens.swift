import Crypto
import Foundation
import TradeSyncConfig
public import TradeSyncCore
import TradeSyncStore

/// Who an API request speaks for, once its bearer token checked out.
public enum APICaller: Sendable, Equatable {
    /// Sees every contractor.
    case admin(tokenId: String)
    /// Sees only connections of this contractor (demo id).
    case contractor(String, tokenId: String)

    /// Whether this caller may see a contractor's connections.
    public func sees(_ demoId: String) -> Bool {
        switch self {
        case .admin: return true
        case .contractor(let id, _): return id == demoId
        }
    }

    public var tokenId: String {
        switch self {
        case .admin(let id), .contractor(_, let id): return id
        }
    }
}

/// A token request that cannot be met.
public struct APITokenError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// `tsk_<16 hex id>_<43 base64url secret>`: 256 random bits, with a prefix a secret scanner
/// (and a person) recognises, and the row id in clear so the check is one lookup by id and a
/// constant-time comparison of hashes, never a search by secret.
enum APITokenFormat {
    static let prefix = "tsk_"
    static let idLength = 16

    static func make() -> (id: String, token: String) {
        let idBytes = SymmetricKey(size: .bits128).withUnsafeBytes { Array($0.prefix(8)) }
        let id = idBytes.map { String(format: "%02x", $0) }.joined()
        return (id, prefix + id + "_" + OAuthConnector.randomToken())
    }

    /// The id written in a token, or nil when the text is not shaped like one.
    static func id(of token: String) -> String? {
        guard token.hasPrefix(prefix) else { return nil }
        let rest = token.utf8.dropFirst(prefix.utf8.count)
        guard rest.count > idLength + 1 else { return nil }
        let id = rest.prefix(idLength)
        guard id.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }),
              rest.dropFirst(idLength).first == UInt8(ascii: "_")
        else { return nil }
        return String(decoding: id, as: UTF8.self)
    }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Equal-length hex digests compared without an early exit.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

extension Workspace {
    /// The contractor ids the deployment declares.
    public var contractorIds: [String] {
        deployment?.contractors.compactMap { $0.id?.value } ?? []
    }

    /// Makes a token for one contractor of the deployment (or an admin token) and returns it
    /// with its record: the only time the token exists outside the caller's hands.
    public func createAPIToken(contractor: String?, admin: Bool, label: String?) async throws -> (record: APITokenRecord, token: String) {
        if admin, contractor != nil {
            throw APITokenError(description: "an admin token sees every contractor: give --admin or --contractor, not both")
        }
        if !admin {
            guard let contractor else { throw APITokenError(description: "give --contractor ID (or --admin)") }
            guard contractorIds.contains(contractor) else {
                let known = contractorIds.isEmpty ? "it declares none" : "it declares \(contractorIds.joined(separator: ", "))"
                throw APITokenError(description: "no contractor '\(contractor)' in \(deploymentFile) (\(known))")
            }
        }
        let (id, token) = APITokenFormat.make()
        let record = APITokenRecord(id: id, hash: APITokenFormat.hash(token), contractorId: admin ? nil : contractor,
                                    admin: admin, label: label, createdAt: currentMicros())
        try await store.insertAPIToken(record)
        return (record, token)
    }

    /// Every token's record (no secrets: the store holds none).
    public func apiTokens() async throws -> [APITokenRecord] {
        try await store.apiTokens()
    }

    /// Revokes a token by id; false when there is none.
    public func revokeAPIToken(id: String) async throws -> Bool {
        try await store.revokeAPIToken(id: id, at: currentMicros())
    }

    /// The caller a bearer token speaks for; nil for a token that is malformed, unknown, revoked,
    /// or whose contractor the deployment no longer declares.
    public func authenticate(bearer token: String) async throws -> APICaller? {
        guard let id = APITokenFormat.id(of: token), let record = try await store.apiToken(id: id) else { return nil }
        guard APITokenFormat.constantTimeEqual(APITokenFormat.hash(token), record.hash), record.revokedAt == nil else { return nil }
        let now = currentMicros()
        // Once a minute at most: a write per request would make every read a write.
        if (record.lastUsedAt ?? 0) < now - 60_000_000 { try await store.touchAPIToken(id: id, at: now) }
        if record.admin { return .admin(tokenId: id) }
        guard let contractor = record.contractorId, contractorIds.contains(contractor) else { return nil }
        return .contractor(contractor, tokenId: id)
    }
}
