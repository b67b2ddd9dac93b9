public import TradeSyncCore

/// One case of a mapping fixture: a raw record and what the mapping must make of it.
public struct MappingFixtureCase: Sendable {
    public enum Expectation: Sendable {
        /// Field → expected value; every key knows where it was written.
        case fields(NamedMap<JSONValue>, at: SourceLocation)
        /// The record must fail mapping with a reason containing this text.
        case failure(String, at: SourceLocation)
    }

    public var name: String
    /// Where the case starts (its `- name:` line).
    public var location: SourceLocation
    /// The case's key path in its file (`[3]`, or `cases[3]`), for messages.
    public var keyPath: String
    /// The record as the stream's mapping receives it: the provider's record, after the stream's
    /// transform when it has one.
    public var input: JSONValue
    /// Fan-out bindings the record was fetched with; the runner adds them as `_parent`, as the
    /// sync does.
    public var parent: NamedMap<JSONValue>?
    /// Records of lookup streams (ServiceTitan `job_types`), by stream name; added to the file's.
    public var lookups: NamedMap<[JSONValue]>
    public var expectation: Expectation
}

/// `mappings/<provider>/<stream>.test.yaml`: cases for the mapping beside it. Either a list of
/// cases, or a mapping `{lookups: {stream: [records]}, cases: [...]}` when the cases share lookups.
public struct MappingFixtureFile: Sendable {
    /// As shown in messages.
    public var path: String
    /// `<provider>/<stream>`: the mapping the cases run through.
    public var mappingName: String
    public var lookups = NamedMap<[JSONValue]>()
    public var cases: [MappingFixtureCase] = []
}

/// Finds, reads and checks fixture files. Reading goes through the project's YAML reader and
/// configuration kit, so every problem is reported at its line and column, all at once.
public enum MappingFixtureLoader {
    public static let suffix = ".test.yaml"

    /// True for a fixture file name (`jobs.test.yaml`): such files are not mappings.
    public static func isFixture(_ name: String) -> Bool { name.hasSuffix(suffix) }

    /// Fixture files of a project, relative to its root (`mappings/jobber/jobs.test.yaml`),
    /// sorted. `under` (absolute, or relative to the root) narrows them to a folder or one file.
    public static func fixturePaths(root: String, under: String? = nil) -> [String] {
        let all = FileManagerShim.yamlFiles(under: root + "/mappings", recursive: true)
            .filter(isFixture).map { "mappings/" + $0 }
        guard let under else { return all }
        let scope = FileManagerShim.resolved(under.hasPrefix("/") ? under : root + "/" + under) ?? under
        let resolvedRoot = FileManagerShim.resolved(root) ?? root
        return all.filter { relative in
            let full = resolvedRoot + "/" + relative
            return full == scope || full.hasPrefix(scope.hasSuffix("/") ? scope : scope + "/")
        }
    }

    /// The mapping a fixture file tests: `mappings/jobber/jobs.test.yaml` → `jobber/jobs`.
    public static func mappingName(ofFixture relative: String) -> String {
        var name = relative
        if name.hasPrefix("mappings/") { name = String(name.dropFirst("mappings/".count)) }
        if name.hasSuffix(suffix) { name = String(name.dropLast(suffix.count)) }
        return name
    }

    /// Reads one fixture file; nil when it is unusable (the reasons are in `sink`).
    public static func load(path: String, displayPath: String, mappingName: String, sink: DiagnosticSink) -> MappingFixtureFile? {
        guard let root = parseYAMLFile(path: path, displayPath: displayPath, sink: sink) else { return nil }
        var file = MappingFixtureFile(path: displayPath, mappingName: mappingName)
        let casesNode: ConfigNode?
        switch root.node {
        case .sequence:
            casesNode = root
        case .mapping:
            guard let o = root.object() else { return nil }
            file.lookups = o.optional("lookups") ?? NamedMap()
            casesNode = o.child("cases")
            if casesNode == nil { o.missing("cases") }
            o.finish()
        default:
            root.error("expected a list of cases (or a mapping with 'cases'), found \(root.kindName)")
            return nil
        }
        guard let casesNode else { return nil }
        guard case .sequence(let items) = casesNode.node else {
            casesNode.error("expected a list of cases, found \(casesNode.kindName)")
            return nil
        }
        if items.isEmpty { casesNode.warning("no cases") }
        var names: [String: Int] = [:]
        for (i, item) in items.enumerated() {
            let node = casesNode.child(item, "[\(i)]")
            guard let c = decodeCase(node) else { continue }
            if let first = names[c.name] {
                node.error("case name '\(c.name)' is used twice (first at line \(first)); names tell failures apart")
            } else {
                names[c.name] = c.location.line
            }
            file.cases.append(c)
        }
        return file
    }

    static func decodeCase(_ node: ConfigNode) -> MappingFixtureCase? {
        guard let o = node.object() else { return nil }
        let name: String? = o.required("name")
        var input: JSONValue?
        if let n = o.child("input") {
            if case .mapping = n.node {
                input = JSONValue.decode(n)
            } else {
                n.error("expected a mapping (the raw record), found \(n.kindName)")
            }
        } else {
            o.missing("input")
        }
        let parent: NamedMap<JSONValue>? = o.optional("parent")
        let lookups: NamedMap<[JSONValue]> = o.optional("lookups") ?? NamedMap()
        var expectation: MappingFixtureCase.Expectation?
        let expectNode = o.child("expect")
        let failureNode = o.child("expect_failure")
        switch (expectNode, failureNode) {
        case (let e?, nil):
            if let map = NamedMap<JSONValue>.decode(e) { expectation = .fields(map, at: e.location) }
        case (nil, let f?):
            if let text = String.decode(f) {
                if text.isEmpty { f.error("expected the text a failure reason must contain, found an empty string") }
                else { expectation = .failure(text, at: f.location) }
            }
        case (_?, let f?):
            o.keyNode("expect_failure")?.error("'expect' and 'expect_failure' exclude each other")
            _ = f
        case (nil, nil):
            node.error("needs 'expect' (field: value) or 'expect_failure' (text of the reason)")
        }
        o.finish()
        guard let name, let input, let expectation else { return nil }
        return MappingFixtureCase(name: name, location: node.location, keyPath: node.keyPath, input: input, parent: parent, lookups: lookups,
                                  expectation: expectation)
    }

    /// Checks a read file against the project: its mapping exists and every expected field is a
    /// field of the mapping's entity (or `external_id`).
    public static func check(_ file: MappingFixtureFile, project: Project, sink: DiagnosticSink) {
        let location = SourceLocation(file: file.path, line: 1, column: 1)
        guard let mapping = project.mapping(file.mappingName) else {
            let mappingFile = "mappings/\(file.mappingName).yaml"
            let why = project.unreadable.contains(mappingFile)
                ? "its mapping \(mappingFile) could not be read; run `tradesync validate`"
                : "no mapping \(mappingFile) beside this fixture file"
            sink.add(Diagnostic(.error, location, keyPath: "", why))
            return
        }
        guard let target = mapping.target?.value, let entity = project.dataModel.entity(target) else {
            sink.add(Diagnostic(.error, location, keyPath: "", "the mapping's target entity is not in the model; run `tradesync validate`"))
            return
        }
        let known = entity.fields.map(\.name) + ["external_id"]
        for c in file.cases {
            guard case .fields(let map, _) = c.expectation else { continue }
            for entry in map.entries where !known.contains(entry.name) {
                let hint = closestMatch(to: entry.name, in: known).map { "; did you mean '\($0)'?" } ?? ""
                sink.add(Diagnostic(.error, entry.location, keyPath: ConfigNode.render([c.keyPath, "expect", entry.name]),
                                    "unknown field '\(entry.name)': entity '\(entity.name)' has no such field\(hint)"))
            }
        }
    }

    /// Every fixture file of a loaded project, read and checked (`tradesync validate`).
    public static func loadAll(project: Project, displayPrefix: String = "") -> (files: [MappingFixtureFile], diagnostics: [Diagnostic]) {
        let sink = DiagnosticSink()
        var files: [MappingFixtureFile] = []
        for relative in fixturePaths(root: project.root) {
            guard let file = load(path: project.root + "/" + relative, displayPath: displayPrefix + relative,
                                  mappingName: mappingName(ofFixture: relative), sink: sink)
            else { continue }
            check(file, project: project, sink: sink)
            files.append(file)
        }
        return (files, sink.diagnostics.sortedForOutput())
    }
}
