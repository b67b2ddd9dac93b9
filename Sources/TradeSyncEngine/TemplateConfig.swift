import Foundation
public import TradeSyncConfig
import TradeSyncCore

/// What an integration template offers the UI, as stored in
/// `contractor_integration_templates.config`: its streams, the fields a connection fills in, its
/// credential slots and its default origin. Written by `Deployer.template`; typed so that each
/// key is spelled once, like `ConnectionSettings`.
public struct TemplateConfig: Codable, Sendable, Equatable {
    public struct Stream: Codable, Sendable, Equatable {
        public var name: String
        /// The model entity it fills; nil for a stream without one.
        public var entity: String?
        /// Whether it keeps a cursor (reads only what changed).
        public var incremental: Bool

        public init(name: String, entity: String?, incremental: Bool) {
            self.name = name
            self.entity = entity
            self.incremental = incremental
        }

        /// `entity` is written as null when absent: the UI reads every key of a stream.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(entity, forKey: .entity)
            try c.encode(incremental, forKey: .incremental)
        }
    }

    public struct ConnectionField: Codable, Sendable, Equatable {
        public var name: String
        /// The field's type as written in the integration (`string`, `integer`, …).
        public var type: String
        public var required: Bool
        public var description: String?

        public init(name: String, type: String, required: Bool, description: String? = nil) {
            self.name = name
            self.type = type
            self.required = required
            self.description = description
        }
    }

    /// Streams a connection may sync (lookup-only streams are fetched when needed, not offered).
    public var streams: [Stream]
    public var connectionFields: [ConnectionField]
    /// Credential slot names (`client_id`, `api_key`, …).
    public var credentials: [String]
    public var baseURL: String?

    enum CodingKeys: String, CodingKey {
        case streams, credentials
        case connectionFields = "connection_fields"
        case baseURL = "base_url"
    }

    public init(streams: [Stream], connectionFields: [ConnectionField], credentials: [String], baseURL: String?) {
        self.streams = streams
        self.connectionFields = connectionFields
        self.credentials = credentials
        self.baseURL = baseURL
    }

    /// The template's configuration as the deployer stores it.
    public init(_ c: IntegrationConfig) {
        streams = c.streams.entries.filter { !$0.value.lookupOnly }.map { entry in
            Stream(name: entry.name, entity: entry.value.entity?.value, incremental: entry.value.cursor != nil)
        }
        connectionFields = c.connectionFields.entries.map { entry in
            ConnectionField(name: entry.name, type: entry.value.type.rawValue, required: entry.value.required,
                            description: entry.value.description)
        }
        credentials = c.auth.credentials.names
        baseURL = c.baseURL
    }

    /// The stored text: keys sorted, so the same template is always the same text.
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, booleans and arrays of them only: encoding cannot fail.
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads a template's stored configuration.
    public static func decode(_ text: String) throws -> TemplateConfig {
        try JSONDecoder().decode(TemplateConfig.self, from: Data(text.utf8))
    }
}
