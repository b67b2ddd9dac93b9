import Foundation
public import TradeSyncCore

/// A connection's settings as stored in `contractor_integrations.config`: its fields, its
/// streams and its URL overrides. Written by `Deployer.connectionRecord`, read by
/// `ConnectionRuntime`; both go through this type, so a key is spelled in one place.
public struct ConnectionSettings: Codable, Sendable, Equatable {
    /// Connection field values by name (`tenant_id`, `tracked_keywords`, …).
    public var fields: [String: JSONValue]
    /// Streams to sync; nil means every stream the integration declares (lookup-only ones aside).
    public var streams: [String]?
    /// The integration environment whose URLs apply (`integration`, `sandbox`, …).
    public var environment: String?
    /// Replaces scheme, host and port of every API URL (`OriginOverrides`).
    public var baseURL: String?
    /// One provider host → its replacement origin.
    public var hosts: [String: String]?
    public var tokenURL: String?
    public var authorizeURL: String?
    /// Where a grant is revoked; without it, the integration's (on the token URL's host when that
    /// is overridden).
    public var revokeURL: String?
    /// The schedule as written (`every 15m`, a cron line).
    public var schedule: String?
    /// Stream → its schedule as written, for the streams that do not sync at `schedule`
    /// (a stream's `frequency`, or the deployment's `stream_frequencies`); nil when none.
    public var streamSchedules: [String: String]?
    /// Who made the connection when no deployment file declares it: `api` for one created
    /// through `POST /api/contractor/integrations` (`plan` shows it as drift); nil for the deployer's.
    public var createdBy: String?

    enum CodingKeys: String, CodingKey {
        case fields, streams, environment, hosts, schedule
        case baseURL = "base_url"
        case tokenURL = "token_url"
        case authorizeURL = "authorize_url"
        case revokeURL = "revoke_url"
        case createdBy = "created_by"
        case streamSchedules = "stream_schedules"
    }

    public init(fields: [String: JSONValue] = [:], streams: [String]? = nil, environment: String? = nil,
                baseURL: String? = nil, hosts: [String: String]? = nil, tokenURL: String? = nil,
                authorizeURL: String? = nil, revokeURL: String? = nil, schedule: String? = nil, streamSchedules: [String: String]? = nil,
                createdBy: String? = nil) {
        self.fields = fields
        self.streams = streams
        self.environment = environment
        self.baseURL = baseURL
        self.hosts = hosts
        self.tokenURL = tokenURL
        self.authorizeURL = authorizeURL
        self.revokeURL = revokeURL
        self.schedule = schedule
        self.streamSchedules = streamSchedules
        self.createdBy = createdBy
    }

    /// Every key may be missing (a connection registered by hand holds only what it needs).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        fields = try c.decodeIfPresent([String: JSONValue].self, forKey: .fields) ?? [:]
        streams = try c.decodeIfPresent([String].self, forKey: .streams)
        environment = try c.decodeIfPresent(String.self, forKey: .environment)
        baseURL = try c.decodeIfPresent(String.self, forKey: .baseURL)
        hosts = try c.decodeIfPresent([String: String].self, forKey: .hosts)
        tokenURL = try c.decodeIfPresent(String.self, forKey: .tokenURL)
        authorizeURL = try c.decodeIfPresent(String.self, forKey: .authorizeURL)
        revokeURL = try c.decodeIfPresent(String.self, forKey: .revokeURL)
        schedule = try c.decodeIfPresent(String.self, forKey: .schedule)
        createdBy = try c.decodeIfPresent(String.self, forKey: .createdBy)
        streamSchedules = try c.decodeIfPresent([String: String].self, forKey: .streamSchedules)
    }

    /// The stored text: keys sorted, so the same settings are always the same text.
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, string maps and JSON values only: encoding cannot fail.
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads a connection's stored settings. A blob that is not these settings is an error that
    /// names the connection: guessing would sync with the integration's defaults in its place.
    public static func decode(_ text: String, connection: String) throws -> ConnectionSettings {
        do {
            return try JSONDecoder().decode(ConnectionSettings.self, from: Data(text.utf8))
        } catch {
            throw ConnectionSettingsError(connection: connection, reason: ConnectionSettingsError.words(error))
        }
    }

    /// The same settings with every URL whose origin moved sent to the new origin.
    public func movingOrigins(_ moves: OriginMoves) -> ConnectionSettings {
        guard !moves.isEmpty else { return self }
        var copy = self
        copy.baseURL = baseURL.map(moves.apply)
        copy.hosts = hosts?.mapValues(moves.apply)
        copy.tokenURL = tokenURL.map(moves.apply)
        copy.authorizeURL = authorizeURL.map(moves.apply)
        copy.revokeURL = revokeURL.map(moves.apply)
        return copy
    }
}

/// A connection's stored settings cannot be read.
public struct ConnectionSettingsError: Error, Sendable, CustomStringConvertible {
    public var connection: String
    public var reason: String

    public var description: String {
        "connection \(connection): its stored settings cannot be read (\(reason)); `tradesync migrate` writes them again"
    }

    static func words(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(let type, let context):
            return "\(context.codingPath.map(\.stringValue).joined(separator: ".")): expected \(type)"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON" : "\(context.codingPath.map(\.stringValue).joined(separator: ".")): corrupt"
        case DecodingError.valueNotFound(_, let context):
            return "\(context.codingPath.map(\.stringValue).joined(separator: ".")): null"
        default:
            return "\(error)"
        }
    }
}

extension ConnectionRecord {
    /// The record's settings, typed.
    public func settings() throws -> ConnectionSettings {
        try ConnectionSettings.decode(configJSON, connection: connectionKey)
    }

    /// The same record with its settings' moved origins sent to their new place.
    public func movingOrigins(_ moves: OriginMoves) throws -> ConnectionRecord {
        var copy = self
        copy.configJSON = try settings().movingOrigins(moves).jsonText
        return copy
    }
}
