public import Foundation
public import TradeSyncConfig
public import TradeSyncCore
import TradeSyncMapping

/// What `tradesync test` found: per fixture file, the cases run, the failures with their field
/// diffs, and the problems that kept cases from running.
public struct MappingFixtureReport: Sendable {
    public struct CaseFailure: Sendable {
        public var name: String
        public var location: SourceLocation
        /// Rendered diff lines, each starting with the file:line:col it is about.
        public var lines: [String]
    }

    public struct FileResult: Sendable {
        public var path: String
        public var cases = 0
        public var passed: [String] = []
        public var failures: [CaseFailure] = []
        /// Problems of the file itself (malformed YAML, unknown fields, a missing mapping).
        public var errors: [Diagnostic] = []
        public var warnings: [Diagnostic] = []
    }

    public var files: [FileResult] = []

    public var cases: Int { files.reduce(0) { $0 + $1.cases } }
    public var failed: Int { files.reduce(0) { $0 + $1.failures.count } }
    public var errors: Int { files.reduce(0) { $0 + $1.errors.count } }
    public var allPassed: Bool { failed == 0 && errors == 0 && !files.isEmpty }

    /// Human output: problems and failures of each file, its summary line, then the total.
    public func rendered(verbose: Bool = false) -> String {
        var out: [String] = []
        for f in files {
            for d in f.errors + f.warnings { out.append(d.description) }
            if verbose { for name in f.passed { out.append("ok   \(f.path): \(name)") } }
            for failure in f.failures {
                out.append("FAIL \(failure.location.file):\(failure.location.line): \(failure.name)")
                out.append(contentsOf: failure.lines.map { "  " + $0 })
            }
            var summary = "\(f.path): \(f.cases) case\(f.cases == 1 ? "" : "s"), \(f.failures.count) failed"
            if !f.errors.isEmpty { summary += ", \(f.errors.count) error\(f.errors.count == 1 ? "" : "s")" }
            out.append(summary)
        }
        var total = "total: \(cases) case\(cases == 1 ? "" : "s"), \(failed) failed"
        if errors > 0 { total += ", \(errors) error\(errors == 1 ? "" : "s")" }
        total += " in \(files.count) file\(files.count == 1 ? "" : "s")"
        out.append(total)
        return out.joined(separator: "\n")
    }
}

/// Runs mapping fixtures through the mapping interpreter the sync uses: the same compile step
/// (`MappingCompiler`), the same record preparation (primary key, lookups, `_parent`), and a
/// typed comparison of each expected field with the value that would be stored.
public enum MappingFixtureRunner {
    public struct LocateError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The project a PATH belongs to and the part of it to test: a project folder (all its
    /// fixtures), a folder inside `mappings/`, or one `.test.yaml` file.
    public static func locate(_ path: String) throws(LocateError) -> (root: String, scope: String?) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LocateError(description: "\(path): no such file or folder")
        }
        let absolute = URL(fileURLWithPath: path).standardized.path
        func isProject(_ dir: String) -> Bool { FileManager.default.fileExists(atPath: dir + "/mappings/model.yaml") }
        if isDirectory.boolValue, isProject(absolute) { return (absolute, nil) }
        if !isDirectory.boolValue, !MappingFixtureLoader.isFixture(absolute) {
            throw LocateError(description: "\(path): not a fixture file (*\(MappingFixtureLoader.suffix))")
        }
        var current = isDirectory.boolValue ? absolute : (absolute as NSString).deletingLastPathComponent
        while true {
            if isProject(current), absolute.hasPrefix(current + "/mappings") { return (current, absolute) }
            let parent = (current as NSString).deletingLastPathComponent
            if parent == current || parent.isEmpty { break }
            current = parent
        }
        throw LocateError(description: "\(path): not a project folder, a mappings folder or a fixture file inside one (no mappings/model.yaml above it)")
    }

    /// Loads the project at `root` (without deployments: fixtures need no credentials) and runs
    /// the fixtures under `scope` (nil: all). Paths in the report start with `displayPrefix`.
    public static func run(root: String, scope: String? = nil, displayPrefix: String = "") -> MappingFixtureReport {
        let project = ProjectLoader.load(root: root, deploymentFiles: [], displayPrefix: displayPrefix, environment: { _ in nil })
        var report = MappingFixtureReport()
        for relative in MappingFixtureLoader.fixturePaths(root: root, under: scope) {
            report.files.append(run(file: relative, project: project, displayPrefix: displayPrefix))
        }
        return report
    }

    static func run(file relative: String, project: Project, displayPrefix: String) -> MappingFixtureReport.FileResult {
        let display = displayPrefix + relative
        var result = MappingFixtureReport.FileResult(path: display)
        let sink = DiagnosticSink()
        let name = MappingFixtureLoader.mappingName(ofFixture: relative)
        let loaded = MappingFixtureLoader.load(path: project.root + "/" + relative, displayPath: display, mappingName: name, sink: sink)
        if let loaded { MappingFixtureLoader.check(loaded, project: project, sink: sink) }
        // The mapping's own problems keep its cases from meaning anything.
        let mappingPath = displayPrefix + "mappings/\(name).yaml"
        let modelPath = displayPrefix + "mappings/model.yaml"
        let configErrors = project.diagnostics.filter { $0.severity == .error && ($0.location.file == mappingPath || $0.location.file == modelPath) }
        result.errors = configErrors + sink.diagnostics.filter { $0.severity == .error }.sortedForOutput()
        result.warnings = sink.diagnostics.filter { $0.severity == .warning }.sortedForOutput()
        guard let file = loaded, result.errors.isEmpty,
            let mapping = project.mapping(name), let target = mapping.target?.value,
            let entity = project.dataModel.entity(target)
        else { return result }

        let rules = MappingCompiler.rules(mapping)
        let stream = project.integrations.lazy.flatMap { $0.config.streams.entries }.first { $0.value.mapping?.value == name }
        let primaryKey = stream?.value.primaryKey
        let mapper = RecordMapper(entity: entity, rules: rules)
        var lookupKeys: [String: JSONPath] = [:]
        func collect(_ rs: [FieldRule]) {
            for r in rs {
                if let l = r.lookup { lookupKeys[l.stream] = l.key }
                if let e = r.each { collect(e) }
            }
        }
        collect(rules)

        for c in file.cases {
            result.cases += 1
            var tables = LookupTables()
            for (stream, records) in (file.lookups.entries + c.lookups.entries).map({ ($0.name, $0.value) }) {
                tables.add(stream: stream, records: records, key: lookupKeys[stream] ?? JSONPath("id"))
            }
            var record = c.input
            if let parent = c.parent, case .object(var o) = record {
                // As StreamRun does for fan-out streams: the bindings as strings, sorted by name.
                o["_parent"] = .object(JSONObject(parent.entries.sorted { $0.name < $1.name }
                    .map { (key: $0.name, value: .string($0.value.scalarText ?? "")) }))
                record = .object(o)
            }
            let outcome: Outcome
            if let primaryKey {
                let preparer = RecordPreparer(
                    stream: stream?.name ?? name, primaryKey: JSONPath(primaryKey), primaryKeyText: primaryKey,
                    mapper: mapper, lookups: tables, redactor: SecretRedactor())
                switch preparer.prepare(record) {
                case .mapped(let m): outcome = .mapped(externalId: m.externalId, values: m.values)
                case .failed(let f, _): outcome = .failed(f.reason)
                }
            } else {
                // A mapping no stream uses has no primary key to check.
                switch mapper.map(record, lookups: tables) {
                case .success(let values): outcome = .mapped(externalId: nil, values: values)
                case .failure(let f): outcome = .failed(f.description)
                }
            }
            let lines = compare(c, outcome, entity: entity)
            if lines.isEmpty {
                result.passed.append(c.name)
            } else {
                result.failures.append(.init(name: c.name, location: c.location, lines: lines))
            }
        }
        return result
    }

    enum Outcome {
        case mapped(externalId: String?, values: [CellValue])
        case failed(String)
    }

    static func at(_ l: SourceLocation) -> String { "\(l.file):\(l.line):\(l.column)" }

    /// The diff of one case; empty when it passed.
    static func compare(_ c: MappingFixtureCase, _ outcome: Outcome, entity: EntityModel) -> [String] {
        switch (c.expectation, outcome) {
        case (.failure(let text, let location), .failed(let reason)):
            if reason.contains(text) { return [] }
            return ["\(at(location)): expect_failure", "  - reason containing: \(quoted(text))", "  + failed:            \(reason)"]
        case (.failure(let text, let location), .mapped(let id, _)):
            return ["\(at(location)): expect_failure", "  - reason containing: \(quoted(text))",
                    "  + mapped without failure" + (id.map { " (external id \(quoted($0)))" } ?? "")]
        case (.fields(_, let location), .failed(let reason)):
            return ["\(at(location)): expect", "  - the record maps", "  + failed: \(reason)"]
        case (.fields(let expected, _), .mapped(let id, let values)):
            var lines: [String] = []
            for entry in expected.entries {
                let actual: CellValue
                let field: ModelField
                if entry.name == "external_id" {
                    actual = id.map(CellValue.text) ?? .null
                    field = ModelField(name: "external_id", type: .string)
                } else {
                    guard let i = entity.fieldIndex(entry.name) else { continue }  // reported by check()
                    actual = values[i]
                    field = entity.fields[i]
                }
                switch FixtureValue.compare(expected: entry.value, actual: actual, field: field) {
                case .equal: break
                case .different(let want):
                    lines += ["\(at(entry.location)): \(entry.name)", "  - expected: \(want)", "  + mapped:   \(FixtureValue.render(actual))"]
                case .unusable(let why):
                    lines += ["\(at(entry.location)): \(entry.name): the expected value \(why)"]
                }
            }
            return lines
        }
    }

    static func quoted(_ s: String) -> String { JSONValue.string(s).jsonText }
}

/// Typed comparison of an expected YAML value with a mapped cell: the expected value is read as
/// the field's type first, so `150`, `150.0` and `"150.00"` are the same decimal, and
/// `2015-07-24T10:35:08-07:00` is the same instant as `2015-07-24T17:35:08Z`.
enum FixtureValue {
    enum Comparison: Equatable {
        case equal
        /// The expected value, rendered as the field's type.
        case different(String)
        /// The expected value cannot be a value of the field's type.
        case unusable(String)
    }

    static func compare(expected: JSONValue, actual: CellValue, field: ModelField) -> Comparison {
        if expected.isNull { return actual == .null ? .equal : .different("null") }
        if field.type == .json {
            // Structural: key order is not significant, numbers compare by value.
            guard case .json(let text) = actual, let parsed = try? JSONValue.parse(text) else { return .different(expected.jsonText) }
            return sameJSON(expected, parsed) ? .equal : .different(expected.jsonText)
        }
        let want: CellValue
        switch RecordMapper.convert(expected, to: field, cast: nil) {
        case .failure(let f): return .unusable("is not a valid \(field.type.rawValue): \(f.reason)")
        case .success(let v): want = v
        }
        switch (want, actual) {
        case (.decimal(let a), .decimal(let b)): return trimmedDecimal(a) == trimmedDecimal(b) ? .equal : .different(render(want))
        default: return want == actual ? .equal : .different(render(want))
        }
    }

    /// `150.00` → `150`, `0.50` → `0.5`: the same number.
    static func trimmedDecimal(_ s: String) -> String {
        guard s.contains(".") else { return s }
        var t = Substring(s)
        while t.last == "0" { t = t.dropLast() }
        if t.last == "." { t = t.dropLast() }
        return t == "-0" ? "0" : String(t)
    }

    static func sameJSON(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            guard x.entries.count == y.entries.count else { return false }
            return x.entries.allSatisfy { e in y[e.key].map { sameJSON(e.value, $0) } ?? false }
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { sameJSON($0, $1) }
        case (.integer, .integer), (.integer, .number), (.number, .integer), (.number, .number):
            let field = ModelField(name: "", type: .decimal)
            guard case .success(.decimal(let p)) = RecordMapper.convert(a, to: field, cast: nil),
                case .success(.decimal(let q)) = RecordMapper.convert(b, to: field, cast: nil)
            else { return false }
            return trimmedDecimal(p) == trimmedDecimal(q)
        default:
            return a == b
        }
    }

    /// A stored value as a fixture would write it: text quoted, everything else bare.
    static func render(_ v: CellValue) -> String {
        switch v {
        case .null: return "null"
        case .text(let s): return JSONValue.string(s).jsonText
        case .integer(let i): return String(i)
        case .decimal(let s), .date(let s), .json(let s): return s
        case .boolean(let b): return b ? "true" : "false"
        case .timestamp(let micros): return Timestamp.iso8601(micros: micros)
        }
    }
}
