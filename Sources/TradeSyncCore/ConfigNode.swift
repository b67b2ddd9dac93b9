// The configuration kit: diagnostics collected while a `ConfigTree` is read by hand-written
// `decode(_:)` functions (see docs/architecture.md for why not `Decodable`). It lives in Core,
// free of Yams, so a component in any module decodes its own keys where its behaviour is.

/// Collects diagnostics while configuration is read. Loading is single-threaded; the sink
/// never leaves the loader.
public final class DiagnosticSink {
    public private(set) var diagnostics: [Diagnostic] = []

    public init() {}

    public func add(_ d: Diagnostic) { diagnostics.append(d) }
    public func add(contentsOf ds: [Diagnostic]) { diagnostics.append(contentsOf: ds) }
}

/// A YAML node with the context needed to report problems at its line and column.
public struct ConfigNode {
    public let node: ConfigTree
    public let path: [String]
    public let file: String
    public let sink: DiagnosticSink

    public init(node: ConfigTree, path: [String] = [], file: String, sink: DiagnosticSink) {
        self.node = node
        self.path = path
        self.file = file
        self.sink = sink
    }

    public var location: SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    public var keyPath: String { ConfigNode.render(path) }

    public static func render(_ path: [String]) -> String {
        var out = ""
        for segment in path {
            if segment.hasPrefix("[") || out.isEmpty { out += segment } else { out += "." + segment }
        }
        return out
    }

    public func error(_ message: String) {
        sink.add(Diagnostic(.error, location, keyPath: keyPath, message))
    }

    public func warning(_ message: String) {
        sink.add(Diagnostic(.warning, location, keyPath: keyPath, message))
    }

    public func child(_ node: ConfigTree, _ segment: String) -> ConfigNode {
        ConfigNode(node: node, path: path + [segment], file: file, sink: sink)
    }

    /// What kind of YAML value this is, for messages.
    public var kindName: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let s):
            if s.style != .plain { return "a string" }
            if node.null != nil { return "null" }
            if node.bool != nil { return "a boolean" }
            if node.int != nil { return "an integer" }
            if node.float != nil { return "a number" }
            return "a string"
        }
    }

    public var isNull: Bool {
        if case .scalar(let s) = node, s.style == .plain, node.null != nil { return true }
        return false
    }

    /// Reads a mapping; reports and returns nil for anything else.
    public func object() -> ConfigObject? {
        guard case .mapping(let mapping) = node else {
            error("expected a mapping, found \(kindName)")
            return nil
        }
        return ConfigObject(self, mapping)
    }

    public func decode<T: ConfigDecodable>(_ type: T.Type = T.self) -> T? { T.decode(self) }
}

/// A YAML mapping being read. Remembers which keys were asked for, so that `finish()` can
/// report every unknown key with a did-you-mean.
public final class ConfigObject {
    public let node: ConfigNode
    public let entries: [(key: String, keyNode: ConfigTree, value: ConfigTree)]
    private var asked: [String] = []
    private var askedSet: Set<String> = []

    init(_ node: ConfigNode, _ mapping: ConfigTree.Mapping) {
        self.node = node
        var entries: [(key: String, keyNode: ConfigTree, value: ConfigTree)] = []
        var seen: [String: Int] = [:]
        for (k, v) in mapping {
            let key = k.string ?? ""
            if let first = seen[key] {
                let keyNode = node.child(k, key)
                keyNode.error("duplicate key (first defined at line \(first))")
                continue
            }
            seen[key] = k.mark?.line ?? 0
            entries.append((key, k, v))
        }
        self.entries = entries
    }

    public var keys: [String] { entries.map(\.key) }

    public func has(_ key: String) -> Bool {
        note(key)
        return entries.contains { $0.key == key }
    }

    private func note(_ key: String) {
        if askedSet.insert(key).inserted { asked.append(key) }
    }

    /// The raw child node for a key (null values count as absent).
    public func child(_ key: String) -> ConfigNode? {
        note(key)
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        let child = node.child(entry.value, key)
        return child.isNull ? nil : child
    }

    /// True when the key is present with a YAML null value (`key: null`, `key: ~`).
    public func isExplicitNull(_ key: String) -> Bool {
        note(key)
        guard let entry = entries.first(where: { $0.key == key }) else { return false }
        return node.child(entry.value, key).isNull
    }

    /// The node of the key itself, for messages about the key.
    public func keyNode(_ key: String) -> ConfigNode? {
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        return node.child(entry.keyNode, key)
    }

    public func optional<T: ConfigDecodable>(_ key: String, as type: T.Type = T.self) -> T? {
        guard let c = child(key) else { return nil }
        return T.decode(c)
    }

    public func required<T: ConfigDecodable>(_ key: String, as type: T.Type = T.self) -> T? {
        guard let c = child(key) else {
            missing(key)
            return nil
        }
        return T.decode(c)
    }

    /// Reports a required key as missing unless a value is written for it: a value of the wrong
    /// type has been reported where it was decoded, and "missing" would contradict the file.
    public func missingUnlessWritten(_ key: String) {
        if child(key) == nil { missing(key) }
    }

    public func missing(_ key: String) {
        node.sink.add(Diagnostic(.error, node.location, keyPath: ConfigNode.render(node.path + [key]),
                                 "missing required key"))
    }

    /// Marks every key as read: after a problem that makes the rest of the mapping meaningless
    /// (an unknown `kind`), its other keys are not reported as unknown too.
    public func skipRest() {
        for entry in entries { note(entry.key) }
    }

    /// Reports keys that nobody asked for. Call after reading every known key.
    public func finish() {
        for entry in entries where !askedSet.contains(entry.key) {
            let keyNode = node.child(entry.keyNode, entry.key)
            if let suggestion = closestMatch(to: entry.key, in: asked) {
                keyNode.error("unknown key; did you mean '\(suggestion)'?")
            } else {
                keyNode.error("unknown key (expected one of: \(asked.joined(separator: ", ")))")
            }
        }
    }
}

/// A configuration value that reads itself from YAML, reporting every problem it finds.
public protocol ConfigDecodable {
    /// Returns nil when the node is unusable; the reasons are already in `node.sink`.
    static func decode(_ node: ConfigNode) -> Self?
}

extension String: ConfigDecodable {
    /// Only text: an unquoted `123`, `true`, `yes` or `~` is a number, boolean or null to YAML,
    /// and taking its spelling as a string would hide a value of the wrong type.
    public static func decode(_ node: ConfigNode) -> String? {
        guard case .scalar(let s) = node.node else {
            node.error("expected a string, found \(node.kindName)")
            return nil
        }
        if s.style == .plain, node.node.null != nil || node.node.bool != nil || node.node.int != nil || node.node.float != nil {
            node.error("expected a string, found \(node.kindName); quote it: \"\(s.string)\"")
            return nil
        }
        return s.string
    }
}

extension Int: ConfigDecodable {
    public static func decode(_ node: ConfigNode) -> Int? {
        if case .scalar(let s) = node.node, s.style == .plain, let i = node.node.int { return i }
        node.error("expected an integer, found \(node.kindName)")
        return nil
    }
}

extension Double: ConfigDecodable {
    public static func decode(_ node: ConfigNode) -> Double? {
        if case .scalar(let s) = node.node, s.style == .plain, let d = node.node.float { return d }
        node.error("expected a number, found \(node.kindName)")
        return nil
    }
}

extension Bool: ConfigDecodable {
    public static func decode(_ node: ConfigNode) -> Bool? {
        if case .scalar(let s) = node.node, s.style == .plain, let b = node.node.bool { return b }
        node.error("expected true or false, found \(node.kindName)")
        return nil
    }
}

extension Array: ConfigDecodable where Element: ConfigDecodable {
    public static func decode(_ node: ConfigNode) -> [Element]? {
        guard case .sequence(let seq) = node.node else {
            node.error("expected a list, found \(node.kindName)")
            return nil
        }
        // Unusable items are already reported; the rest are kept so later checks still run.
        return seq.enumerated().compactMap { i, item in Element.decode(node.child(item, "[\(i)]")) }
    }
}

/// A value together with where it was written.
public struct Located<Value> {
    public var value: Value
    public var location: SourceLocation
    public var keyPath: String

    public init(_ value: Value, at location: SourceLocation, keyPath: String) {
        self.value = value
        self.location = location
        self.keyPath = keyPath
    }
}

extension Located: Sendable where Value: Sendable {}

extension Located: ConfigDecodable where Value: ConfigDecodable {
    public static func decode(_ node: ConfigNode) -> Located<Value>? {
        guard let v = Value.decode(node) else { return nil }
        return Located(v, at: node.location, keyPath: node.keyPath)
    }
}

/// A YAML mapping whose keys are names chosen by the user (streams, fields, headers), in order.
public struct NamedMap<Value> {
    public struct Entry {
        public var name: String
        public var value: Value
        public var location: SourceLocation
        public var keyPath: String

        public init(name: String, value: Value, location: SourceLocation, keyPath: String) {
            self.name = name
            self.value = value
            self.location = location
            self.keyPath = keyPath
        }
    }

    public var entries: [Entry]

    public init(_ entries: [Entry] = []) { self.entries = entries }

    public subscript(name: String) -> Value? { entries.first { $0.name == name }?.value }
    public func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }
    public var names: [String] { entries.map(\.name) }
    public var isEmpty: Bool { entries.isEmpty }
}

extension NamedMap: Sendable where Value: Sendable {}
extension NamedMap.Entry: Sendable where Value: Sendable {}

extension NamedMap: ConfigDecodable where Value: ConfigDecodable {
    public static func decode(_ node: ConfigNode) -> NamedMap<Value>? {
        guard let object = node.object() else { return nil }
        var out = NamedMap<Value>()
        for entry in object.entries {
            let child = object.node.child(entry.value, entry.key)
            let keyLocation = object.node.child(entry.keyNode, entry.key).location
            if let v = Value.decode(child) {
                out.entries.append(Entry(name: entry.key, value: v, location: keyLocation, keyPath: child.keyPath))
            }
        }
        return out
    }
}

/// Enums written as strings in YAML; unknown values get a did-you-mean.
public protocol ConfigEnum: ConfigDecodable, RawRepresentable, CaseIterable where RawValue == String {}

extension ConfigEnum {
    public static func decode(_ node: ConfigNode) -> Self? {
        guard let text = String.decode(node) else { return nil }
        if let v = Self(rawValue: text) { return v }
        let names = allCases.map(\.rawValue)
        if let s = closestMatch(to: text, in: names) {
            node.error("unknown value '\(text)'; did you mean '\(s)'?")
        } else {
            node.error("unknown value '\(text)' (expected one of: \(names.joined(separator: ", ")))")
        }
        return nil
    }
}

/// A YAML scalar as a JSON value: value maps may produce strings, integers or booleans.
extension JSONValue: ConfigDecodable {
    public static func decode(_ node: ConfigNode) -> JSONValue? {
        switch node.node {
        case .scalar(let s):
            if s.style != .plain { return .string(s.string) }
            if node.node.null != nil { return .null }
            if let b = node.node.bool { return .bool(b) }
            if let i = node.node.int { return .integer(Int64(i)) }
            if node.node.float != nil { return .number(s.string) }
            return .string(s.string)
        case .sequence(let seq):
            var items: [JSONValue] = []
            for (i, item) in seq.enumerated() {
                if let v = JSONValue.decode(node.child(item, "[\(i)]")) { items.append(v) }
            }
            return .array(items)
        case .mapping(let m):
            var o = JSONObject()
            for (k, v) in m {
                let key = k.string ?? ""
                if let value = JSONValue.decode(node.child(v, key)) { o.entries.append((key, value)) }
            }
            return .object(o)
        case .alias:
            // Yams resolves aliases while composing (and `AliasBudget` bounds them); an
            // unresolved alias node only comes from a tree built in code.
            node.error("unresolved YAML alias")
            return nil
        }
    }
}

