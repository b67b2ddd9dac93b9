/// A JSON document, kept losslessly: object keys in their original order, numbers that are
/// not 64-bit integers as their literal text (money must not pass through a Double).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    /// A non-integer (or out-of-range) number, as written.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A scalar rendered as text (ids, tokens): strings as they are, numbers as written.
    public var scalarText: String? {
        switch self {
        case .string(let s): return s
        case .integer(let i): return String(i)
        case .number(let n): return n
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }

    /// Follows a dotted path (`customer.name`, `items.0.sku`).
    public func value(at path: JSONPath) -> JSONValue? {
        var current = self
        for segment in path.segments {
            switch (current, segment) {
            case (.object(let o), .key(let k)):
                guard let next = o[k] else { return nil }
                current = next
            case (.array(let a), .index(let i)):
                guard i >= 0, i < a.count else { return nil }
                current = a[i]
            case (.object(let o), .index(let i)):
                guard let next = o[String(i)] else { return nil }
                current = next
            default:
                return nil
            }
        }
        return current
    }
}

/// An ordered JSON object. Lookups are linear: provider records have tens of keys, and
/// keeping order makes payload hashes and re-encoding stable.
public struct JSONObject: Sendable, Hashable {
    public var entries: [(key: String, value: JSONValue)]

    public init(_ entries: [(key: String, value: JSONValue)] = []) {
        self.entries = entries
    }

    public subscript(key: String) -> JSONValue? {
        get {
            for entry in entries where entry.key == key { return entry.value }
            return nil
        }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    public var keys: [String] { entries.map(\.key) }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.entries.count == b.entries.count
            && zip(a.entries, b.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for e in entries {
            hasher.combine(e.key)
            hasher.combine(e.value)
        }
    }
}

/// A parsed dotted path. Numeric segments index arrays.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public enum Segment: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    public let segments: [Segment]
    public let description: String

    public init(segments: [Segment]) {
        self.segments = segments
        description = segments.map { segment in
            switch segment {
            case .key(let k): return k
            case .index(let i): return String(i)
            }
        }.joined(separator: ".")
    }

    public init(_ text: String) {
        description = text
        segments = text.isEmpty ? [] : text.split(separator: ".", omittingEmptySubsequences: false).map { part in
            if let i = Int(part), i >= 0 { return .index(i) }
            return .key(String(part))
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
    public init(nilLiteral: ()) { self = .null }
}
