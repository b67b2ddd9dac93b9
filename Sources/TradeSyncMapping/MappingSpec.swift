public import TradeSyncCore

/// What a value becomes when a value map has no entry for it.
public enum UnmappedAction: Sendable, Hashable {
    /// The record fails mapping; it is logged with its external id and the run goes on.
    case fail
    case null
    case useDefault(JSONValue)
    /// The provider's value is kept as it came: provider enums are open, and for a free-text
    /// field the provider's own word says more than a null.
    case passthrough
}

/// Replaces a value by a field of another stream's record (ServiceTitan `jobTypeId` → job type name).
public struct Lookup: Sendable, Hashable {
    public var stream: String
    public var key: JSONPath
    public var value: JSONPath

    public init(stream: String, key: JSONPath, value: JSONPath) {
        self.stream = stream
        self.key = key
        self.value = value
    }
}

/// Of a list, the first element whose `condition` is `true`, else the first; then its `value`.
public struct FirstElement: Sendable, Hashable {
    public var condition: JSONPath
    public var value: JSONPath?

    public init(condition: JSONPath, value: JSONPath? = nil) {
        self.condition = condition
        self.value = value
    }
}

/// How one target field is computed from a source record.
public struct FieldRule: Sendable, Hashable {
    public enum Source: Sendable, Hashable {
        case path(JSONPath)
        case constant(JSONValue)
    }

    public var target: String
    public var source: Source
    public var lookup: Lookup?
    public var valueMap: [String: JSONValue]?
    /// Source values meaning "no value" (STAR_RATING_UNSPECIFIED).
    public var unspecified: Set<String>
    public var onUnmapped: UnmappedAction
    public var cast: Cast?
    /// For lists of objects: each element becomes an object built by these rules.
    public var each: [FieldRule]?
    /// For a list: the one element read (before lookup and value map).
    public var first: FirstElement?

    public init(
        target: String, source: Source, lookup: Lookup? = nil, valueMap: [String: JSONValue]? = nil,
        unspecified: Set<String> = [], onUnmapped: UnmappedAction = .fail, cast: Cast? = nil, each: [FieldRule]? = nil,
        first: FirstElement? = nil
    ) {
        self.target = target
        self.source = source
        self.lookup = lookup
        self.valueMap = valueMap
        self.unspecified = unspecified
        self.onUnmapped = onUnmapped
        self.cast = cast
        self.each = each
        self.first = first
    }
}

/// Records of lookup streams, indexed by the text of their key.
public struct LookupTables: Sendable {
    public var tables: [String: [String: JSONValue]]

    public init(_ tables: [String: [String: JSONValue]] = [:]) { self.tables = tables }

    public mutating func add(stream: String, records: [JSONValue], key: JSONPath) {
        var table = tables[stream] ?? [:]
        for r in records {
            if let k = r.value(at: key)?.scalarText { table[k] = r }
        }
        tables[stream] = table
    }
}

/// Why a record could not be mapped. Names the field and the offending value (never a secret:
/// records are provider data).
public struct MappingFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}
