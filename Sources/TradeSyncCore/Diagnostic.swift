/// Where something sits in a configuration file. Lines and columns are 1-based.
public struct SourceLocation: Sendable, Hashable, Codable, Comparable {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }
}

/// One problem found in configuration or input: `file:line:col: error: key.path: message`.
public struct Diagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable, Comparable {
        case error, warning

        public static func < (a: Severity, b: Severity) -> Bool { a == .error && b == .warning }
    }

    public var severity: Severity
    public var location: SourceLocation
    /// Dotted key path inside the file (`streams.jobs.paginate.kind`); empty for the document itself.
    public var keyPath: String
    public var message: String

    public init(_ severity: Severity, _ location: SourceLocation, keyPath: String, _ message: String) {
        self.severity = severity
        self.location = location
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        let key = keyPath.isEmpty ? "" : "\(keyPath): "
        return "\(location.file):\(location.line):\(location.column): \(severity.rawValue): \(key)\(message)"
    }

    enum CodingKeys: String, CodingKey { case severity, file, line, column, keyPath = "key", message }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        severity = try c.decode(Severity.self, forKey: .severity)
        location = SourceLocation(
            file: try c.decode(String.self, forKey: .file),
            line: try c.decode(Int.self, forKey: .line),
            column: try c.decode(Int.self, forKey: .column))
        keyPath = try c.decode(String.self, forKey: .keyPath)
        message = try c.decode(String.self, forKey: .message)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(severity, forKey: .severity)
        try c.encode(location.file, forKey: .file)
        try c.encode(location.line, forKey: .line)
        try c.encode(location.column, forKey: .column)
        try c.encode(keyPath, forKey: .keyPath)
        try c.encode(message, forKey: .message)
    }
}

extension Array where Element == Diagnostic {
    public var hasErrors: Bool { contains { $0.severity == .error } }

    /// Stable order for output and golden files: by file, position, then text.
    public func sortedForOutput() -> [Diagnostic] {
        sorted { a, b in
            if a.location != b.location { return a.location < b.location }
            if a.severity != b.severity { return a.severity < b.severity }
            return (a.keyPath, a.message) < (b.keyPath, b.message)
        }
    }
}

/// Suggests the closest candidate to a misspelt word (Levenshtein distance, at most a third of its length).
public func closestMatch(to word: String, in candidates: some Sequence<String>) -> String? {
    let w = Array(word.lowercased())
    var best: (String, Int)?
    for candidate in candidates {
        let d = editDistance(w, Array(candidate.lowercased()))
        if d <= max(2, w.count / 3), d < (best?.1 ?? Int.max) {
            best = (candidate, d)
        }
    }
    if let best { return best.0 }
    // A truncated name (`tenant` for `tenant_id`) is far in edits but plainly meant.
    if w.count >= 3 {
        let lowered = word.lowercased()
        return candidates.first { $0.lowercased().hasPrefix(lowered) }
    }
    return nil
}

func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
