public import TradeSyncCore

/// Everything a project declares, loaded and cross-checked.
public struct Project: Sendable {
    public struct IntegrationFile: Sendable {
        public var path: String
        public var config: IntegrationConfig
    }

    public struct MappingFile: Sendable {
        /// `<provider>/<stream>`.
        public var name: String
        public var path: String
        public var config: MappingConfig
    }

    public var root: String
    public var integrations: [IntegrationFile] = []
    public var model: ModelConfig?
    public var dataModel: DataModel { model?.dataModel ?? DataModel(entities: []) }
    public var mappings: [MappingFile] = []
    public var deployments: [DeploymentConfig] = []
    public var diagnostics: [Diagnostic] = []
    /// Files that exist but could not be parsed (relative to the root): references to them
    /// are not reported again as missing.
    public var unreadable: Set<String> = []

    public func integration(_ provider: String) -> IntegrationConfig? {
        integrations.first { $0.config.provider == provider }?.config
    }

    public func mapping(_ name: String) -> MappingConfig? { mappings.first { $0.name == name }?.config }
}

/// Reads the process environment (the default for reference checks).
public func processEnvironment(_ name: String) -> String? { FileManagerShim.environment(name) }

/// Loads a project directory: `integrations.d/`, `mappings/`, and deployment files.
public enum ProjectLoader {
    /// - Parameters:
    ///   - root: the project directory.
    ///   - deploymentFiles: deployment files to load (paths relative to `root` or absolute);
    ///     nil = `tradesync.yaml` and `examples/*/tradesync.yaml` when present.
    ///   - displayPrefix: prepended to paths in diagnostics.
    ///   - environment: looks up environment variables for reference checks.
    public static func load(
        root: String, deploymentFiles: [String]? = nil, displayPrefix: String = "",
        environment: @escaping (String) -> String? = processEnvironment
    ) -> Project {
        let sink = DiagnosticSink()
        var project = Project(root: root)
        func full(_ relative: String) -> String { relative.hasPrefix("/") ? relative : root + "/" + relative }
        func display(_ relative: String) -> String { relative.hasPrefix("/") ? relative : displayPrefix + relative }

        // Integrations.
        let integrationDir = "integrations.d"
        if !FileManagerShim.isDirectory(full(integrationDir)) {
            sink.add(Diagnostic(.error, SourceLocation(file: display(integrationDir), line: 1, column: 1), keyPath: "",
                                "folder not found: a project needs integrations.d/"))
        }
        for file in FileManagerShim.yamlFiles(under: full(integrationDir), recursive: false) {
            let relative = integrationDir + "/" + file
            guard let node = parseYAMLFile(path: full(relative), displayPath: display(relative), sink: sink) else {
                project.unreadable.insert(relative)
                continue
            }
            // A file whose root is unusable is reported once; references to it are not errors again.
            guard var config = IntegrationConfig.decode(node) else {
                project.unreadable.insert(relative)
                continue
            }
            // Without a provider id the file name stands in, so references to it still resolve.
            if config.provider.isEmpty { config.provider = String(file.prefix { $0 != "." }) }
            project.integrations.append(.init(path: display(relative), config: config))
        }

        // Model and mappings.
        let modelPath = "mappings/model.yaml"
        if FileManagerShim.exists(full(modelPath)) {
            if let node = parseYAMLFile(path: full(modelPath), displayPath: display(modelPath), sink: sink) {
                project.model = ModelConfig.decode(node)
            }
        } else {
            sink.add(Diagnostic(.error, SourceLocation(file: display(modelPath), line: 1, column: 1), keyPath: "",
                                "file not found: the internal model is declared in mappings/model.yaml"))
        }
        // Fixture files (`jobs.test.yaml`) sit beside the mappings; `tradesync test` reads them.
        for file in FileManagerShim.yamlFiles(under: full("mappings"), recursive: true)
        where file != "model.yaml" && !MappingFixtureLoader.isFixture(file) {
            let relative = "mappings/" + file
            var name = file
            for ext in [".yaml", ".yml"] where name.hasSuffix(ext) { name = String(name.dropLast(ext.count)) }
            guard let node = parseYAMLFile(path: full(relative), displayPath: display(relative), sink: sink) else {
                project.unreadable.insert(relative)
                continue
            }
            guard let config = MappingConfig.decode(node) else {
                project.unreadable.insert(relative)
                continue
            }
            project.mappings.append(.init(name: name, path: display(relative), config: config))
        }

        // Deployments.
        var deploymentPaths = deploymentFiles ?? []
        if deploymentFiles == nil {
            if FileManagerShim.exists(full("tradesync.yaml")) { deploymentPaths.append("tradesync.yaml") }
            let examples = full("examples")
            if FileManagerShim.isDirectory(examples) {
                for file in FileManagerShim.yamlFiles(under: examples, recursive: true)
                where file.hasSuffix("/tradesync.yaml") {
                    deploymentPaths.append("examples/" + file)
                }
            }
        }
        for relative in deploymentPaths {
            guard let node = parseYAMLFile(path: full(relative), displayPath: display(relative), sink: sink),
                var config = DeploymentConfig.decode(node)
            else { continue }
            config.file = display(relative)
            config.path = full(relative)
            project.deployments.append(config)
        }

        ProjectValidator(project: project, sink: sink, root: root, environment: environment).validate()
        project.diagnostics = sink.diagnostics.sortedForOutput()
        return project
    }
}
