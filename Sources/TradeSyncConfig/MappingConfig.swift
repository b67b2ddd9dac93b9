public import TradeSyncCore
public import TradeSyncMapping

public enum UnmappedPolicy: String, ConfigEnum, Sendable {
    /// The record fails mapping and is logged with its external id.
    case fail
    /// The field becomes null.
    case null
    /// The field takes `default`.
    case `default`
    /// The provider's value is stored as it came (its own word for a state no map lists yet):
    /// for string and text fields; an enum field could not hold it.
    case passthrough
}

/// `mappings/<provider>/<stream>.yaml`: how one stream's records become one entity's rows.
public struct MappingConfig: Sendable, ConfigDecodable {
    public var target: Located<String>?
    public var fields = NamedMap<FieldMappingConfig>()
    public var location = SourceLocation(file: "", line: 1, column: 1)

    public static func decode(_ node: ConfigNode) -> MappingConfig? {
        guard let o = node.object() else { return nil }
        var c = MappingConfig()
        c.location = node.location
        c.target = o.required("target")
        c.fields = o.required("fields") ?? NamedMap()
        o.finish()
        return c
    }
}

/// A lookup across streams: replace the value by a field of another stream's record.
public struct LookupConfig: Sendable, ConfigDecodable {
    public var stream: Located<String>
    public var key = "id"
    public var value: String

    public static func decode(_ node: ConfigNode) -> LookupConfig? {
        guard let o = node.object() else { return nil }
        let stream: Located<String>? = o.required("stream")
        let key: String? = o.optional("key")
        let value: String? = o.required("value")
        o.finish()
        guard let stream, let value else { return nil }
        return LookupConfig(stream: stream, key: key ?? "id", value: value)
    }
}

/// `first: { where: primary, value: address }`: of a list, the first element whose `where`
/// field is `true`, else the first element; then its `value` path (the element itself without).
/// Providers list a contact's emails and phones with one marked primary, not always first.
public struct FirstConfig: Sendable, ConfigDecodable {
    public var condition: String
    public var value: String?

    public static func decode(_ node: ConfigNode) -> FirstConfig? {
        guard let o = node.object() else { return nil }
        let condition: String? = o.required("where")
        let value: String? = o.optional("value")
        o.finish()
        guard let condition else { return nil }
        return FirstConfig(condition: condition, value: value)
    }
}

/// How one target field is computed. `field: path` is shorthand for `{ from: path }`.
public struct FieldMappingConfig: Sendable, ConfigDecodable {
    public var from: String?
    public var const: JSONValue?
    public var cast: Cast?
    public var map: NamedMap<JSONValue>?
    /// Source values that mean "no value" (STAR_RATING_UNSPECIFIED → null).
    public var unspecified: [String] = []
    public var onUnmapped = UnmappedPolicy.fail
    public var `default`: JSONValue?
    public var lookup: LookupConfig?
    /// For a list: the element to read (`FirstConfig`).
    public var first: FirstConfig?
    /// For arrays of objects: each element is mapped with these sub-fields.
    public var each: NamedMap<FieldMappingConfig>?
    public var location = SourceLocation(file: "", line: 1, column: 1)
    public var keyPath = ""
    public var mapLocation: SourceLocation?
    public var castLocation: SourceLocation?
    public var eachLocation: SourceLocation?
    public var constLocation: SourceLocation?
    public var defaultLocation: SourceLocation?
    public var onUnmappedLocation: SourceLocation?

    public init() {}

    public static func decode(_ node: ConfigNode) -> FieldMappingConfig? {
        var c = FieldMappingConfig()
        c.location = node.location
        c.keyPath = node.keyPath
        if case .scalar = node.node {
            guard let from = String.decode(node) else { return nil }
            c.from = from
            return c
        }
        guard let o = node.object() else { return nil }
        c.from = o.optional("from")
        c.const = o.optional("const")
        c.cast = o.optional("cast")
        c.map = o.optional("map")
        c.mapLocation = o.child("map")?.location
        c.castLocation = o.child("cast")?.location
        c.eachLocation = o.child("each")?.location
        c.constLocation = o.child("const")?.location
        c.defaultLocation = o.child("default")?.location
        c.onUnmappedLocation = o.child("on_unmapped")?.location
        c.unspecified = o.optional("unspecified") ?? []
        // `on_unmapped: null` unquoted is YAML's null, and means the policy `null`.
        c.onUnmapped = o.isExplicitNull("on_unmapped") ? .null : (o.optional("on_unmapped") ?? .fail)
        c.default = o.optional("default")
        c.lookup = o.optional("lookup")
        c.each = o.optional("each")
        c.first = o.optional("first")
        if c.first != nil, c.each != nil, let k = o.keyNode("first") {
            k.error("'first' and 'each' exclude each other: 'first' picks one element, 'each' maps them all")
        }
        if c.from == nil && c.const == nil {
            node.error("needs 'from' (a source path) or 'const' (a constant)")
        }
        if c.from != nil && c.const != nil {
            node.error("'from' and 'const' exclude each other")
        }
        if c.onUnmapped == .default && c.default == nil {
            o.missingUnlessWritten("default")
        }
        if c.map == nil, o.has("on_unmapped"), let k = o.keyNode("on_unmapped") {
            k.warning("on_unmapped has no effect without a map")
        }
        o.finish()
        return c
    }
}
