import TradeSyncCore
import Yams

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
    public let node: Node
    public let path: [String]
    public let file: String
    public let sink: DiagnosticSink

    public init(node: Node, path: [String] = [], file: String, sink: DiagnosticSink) {
        self.node = node
        self.path = path
        self.file = file
        self.sink = sink
    }

    public var location: SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    public var keyPath: String { ConfigNode.render(path) }

    static func render(_ path: [String]) -> String {
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

    public func child(_ node: Node, _ segment: String) -> ConfigNode {
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
    public let entries: [(key: String, keyNode: Node, value: Node)]
    private var asked: [String] = []
    private var askedSet: Set<String> = []

    init(_ node: ConfigNode, _ mapping: Node.Mapping) {
        self.node = node
        var entries: [(key: String, keyNode: Node, value: Node)] = []
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

/// Reads a YAML file into its root node, reporting syntax errors at their position.
public func parseYAMLFile(path: String, displayPath: String, sink: DiagnosticSink,
                          limits: YAMLLimits = .standard) -> ConfigNode? {
    func reject(_ line: Int, _ column: Int, _ message: String) -> ConfigNode? {
        sink.add(Diagnostic(.error, SourceLocation(file: displayPath, line: line, column: column), keyPath: "", message))
        return nil
    }
    guard let size = FileManagerShim.regularFileSize(path) else {
        return reject(1, 1, FileManagerShim.exists(path) ? "not a regular file" : "cannot read file")
    }
    if size > limits.maxFileBytes {
        return reject(1, 1, "file is \(size) bytes; configuration files may be at most \(limits.maxFileBytes) bytes")
    }
    guard let data = FileManagerShim.read(path) else { return reject(1, 1, "cannot read file") }
    var text: String
    switch ConfigText.decode(data, limits: limits) {
    case .text(let decoded): text = decoded
    case .rejected(let line, let column, let message): return reject(line, column, message)
    }
    // Bombs and deep nesting are stopped before Yams composes (and recurses through) anything.
    var scan = YAMLPrescan.scan(text, maxNesting: limits.maxNesting)
    if let problem = scan.problem { return reject(problem.position.line, problem.position.column, problem.message) }
    let scannedText = text
    // Yams rejects a mapping with a repeated key and names only the first occurrence. Each
    // repeat is located in the text, reported, blanked out, and the file read again, so the
    // rest of it is still checked. Every round parses the whole file again, so big files get
    // fewer rounds: at most about 8 MiB is parsed in all.
    let rounds = max(1, min(50, (8 << 20) / max(1, text.utf8.count)))
    for _ in 0..<rounds {
        do {
            guard let root = try Yams.compose(yaml: text) else { return reject(1, 1, "file is empty") }
            // Blanked duplicates may have taken aliases with them.
            if text != scannedText { scan = YAMLPrescan.scan(text, maxNesting: limits.maxNesting) }
            if let excess = AliasBudget.check(root, aliases: scan.aliases, limits: limits) {
                return reject(excess.position.line, excess.position.column, excess.message)
            }
            return ConfigNode(node: root, file: displayPath, sink: sink)
        } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
            let repeats = DuplicateKeys.locate(in: text, keys: duplicates, first: context.mark)
            guard !repeats.isEmpty else {
                sink.add(Diagnostic(.error, SourceLocation(file: displayPath, line: context.mark.line, column: context.mark.column),
                                    keyPath: "", "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", "))"))
                return nil
            }
            for r in repeats {
                sink.add(Diagnostic(.error, SourceLocation(file: displayPath, line: r.line, column: r.column),
                                    keyPath: r.keyPath, "duplicate key (first defined at line \(r.firstLine))"))
            }
            text = DuplicateKeys.blank(text, repeats)
        } catch let error as YamlError {
            var line = 1
            var column = 1
            var problem = "invalid YAML"
            switch error {
            case .scanner(let context, let p, let mark, _), .parser(let context, let p, let mark, _),
                .composer(let context, let p, let mark, _):
                line = mark.line
                column = mark.column
                problem = p
                if let context { problem = "\(p) (\(context.text) at line \(context.mark.line))" }
            case .reader(let p, _, _, _):
                problem = p
            default:
                break
            }
            sink.add(Diagnostic(.error, SourceLocation(file: displayPath, line: line, column: column), keyPath: "",
                                "YAML syntax error: \(problem)"))
            return nil
        } catch {
            sink.add(Diagnostic(.error, SourceLocation(file: displayPath, line: 1, column: 1), keyPath: "",
                                "YAML syntax error"))
            return nil
        }
    }
    return reject(1, 1, "more mappings with duplicate keys than are reported in one pass; fix these and validate again")
}

/// Finds repeated keys of block-style mappings in YAML text.
enum DuplicateKeys {
    struct Repeat {
        var line: Int
        var column: Int
        var firstLine: Int
        var keyPath: String
        var indent: Int
    }

    static func indentation(_ line: Substring) -> Int { line.prefix { $0 == " " }.count }

    static func isContent(_ line: Substring) -> Bool {
        let t = line.drop { $0 == " " }
        return !t.isEmpty && !t.hasPrefix("#")
    }

    /// The key a line starts with at `indent` (`key:` or `- key:`), if any.
    static func key(of line: Substring, at indent: Int) -> String? {
        guard indentation(line) == indent else { return nil }
        var rest = line.dropFirst(indent)
        if rest.hasPrefix("- ") { rest = rest.dropFirst(2) }
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        var k = rest[..<colon]
        if k.count >= 2, let f = k.first, let l = k.last, (f == "\"" || f == "'"), f == l { k = k.dropFirst().dropLast() }
        guard !k.isEmpty, !k.contains(" ") || k.first != "-" else { return nil }
        return String(k)
    }

    static func locate(in text: String, keys: [String], first: Mark) -> [Repeat] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let firstIndex = first.line - 1
        guard firstIndex >= 0, firstIndex < lines.count else { return [] }
        let indent = first.column - 1
        // The mapping spans from its first key to the first line indented less.
        var start = firstIndex
        while start > 0 {
            let previous = lines[start - 1]
            if isContent(previous), indentation(previous) < indent { break }
            start -= 1
        }
        var seen: [String: Int] = [:]
        var out: [Repeat] = []
        var i = start
        while i < lines.count {
            let line = lines[i]
            if isContent(line), indentation(line) < indent { break }
            if let k = key(of: line, at: indent), keys.contains(k) {
                if let firstLine = seen[k] {
                    out.append(Repeat(line: i + 1, column: indent + 1, firstLine: firstLine,
                                      keyPath: path(lines, i, indent, k), indent: indent))
                } else {
                    seen[k] = i + 1
                }
            }
            i += 1
        }
        return out
    }

    /// Key path of a key by walking up to less-indented parent keys.
    static func path(_ lines: [Substring], _ index: Int, _ indent: Int, _ name: String) -> String {
        var parts = [name]
        var current = indent
        var i = index - 1
        while i >= 0, current > 0 {
            let line = lines[i]
            if isContent(line), indentation(line) < current, let k = key(of: line, at: indentation(line)) {
                parts.insert(k, at: 0)
                current = indentation(line)
            }
            i -= 1
        }
        return parts.joined(separator: ".")
    }

    static func blank(_ text: String, _ repeats: [Repeat]) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for r in repeats {
            let i = r.line - 1
            lines[i] = ""
            var j = i + 1
            while j < lines.count {
                let l = Substring(lines[j])
                if isContent(l), indentation(l) <= r.indent { break }
                lines[j] = ""
                j += 1
            }
        }
        return lines.joined(separator: "\n")
    }
}
