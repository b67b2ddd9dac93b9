public import TradeSyncCore
import Yams

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
            return ConfigNode(node: ConfigTree(root), file: displayPath, sink: sink)
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

extension ConfigTree {
    /// The kit's value tree for a Yams node. Each scalar's type is resolved here, once, by
    /// Yams' own rules, so the kit reads exactly what Yams would.
    init(_ node: Node) {
        func mark(_ m: Yams.Mark?) -> ConfigTree.Mark? { m.map { ConfigTree.Mark(line: $0.line, column: $0.column) } }
        switch node {
        case .scalar(let s):
            let resolved: ConfigTree.Scalar.Resolved
            if node.null != nil { resolved = .null }
            else if let b = node.bool { resolved = .bool(b) }
            else if let i = node.int { resolved = .int(i) }
            else if let d = node.float { resolved = .float(d) }
            else { resolved = .text }
            self = .scalar(ConfigTree.Scalar(s.string, style: s.style == .plain ? .plain : .quoted, resolved: resolved, mark: mark(s.mark)))
        case .mapping(let m):
            self = .mapping(ConfigTree.Mapping(m.map { (key: ConfigTree($0.key), value: ConfigTree($0.value)) }, mark: mark(m.mark)))
        case .sequence(let seq):
            self = .sequence(ConfigTree.List(seq.map { ConfigTree($0) }, mark: mark(seq.mark)))
        case .alias(let a):
            self = .alias(mark(a.mark))
        }
    }
}
