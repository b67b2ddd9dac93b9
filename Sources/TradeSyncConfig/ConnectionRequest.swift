public import TradeSyncCore

/// One connection given outside a deployment file (the HTTP API's create request), read and
/// checked by the same code as a deployment file's connection: `ConnectionConfig.decode` and
/// the project validator's connection checks. Problems come back as diagnostics whose key
/// paths are the connection's keys (`fields.tenant_id`), for the caller to name in its terms.
public enum ConnectionRequest {
    public static func validate(_ tree: ConfigTree, file: String, project: Project, directory: String,
                                environment: @escaping (String) -> String? = processEnvironment)
        -> (connection: ConnectionConfig?, diagnostics: [Diagnostic])
    {
        let sink = DiagnosticSink()
        let connection = ConnectionConfig.decode(ConfigNode(node: tree, file: file, sink: sink))
        if let connection {
            var deployment = DeploymentConfig()
            deployment.file = file
            deployment.path = directory + "/" + file
            ProjectValidator(project: project, sink: sink, root: project.root, environment: environment)
                .validateConnection(connection, deployment: deployment)
        }
        return (connection, sink.diagnostics)
    }
}

extension ConfigTree {
    /// A JSON document as the configuration tree YAML would have given: strings are quoted
    /// scalars (never reinterpreted), numbers, booleans and null are plain ones.
    public init(json: JSONValue) {
        switch json {
        case .null: self = .scalar(Scalar("null", style: .plain, resolved: .null))
        case .bool(let b): self = .scalar(Scalar(b ? "true" : "false", style: .plain, resolved: .bool(b)))
        case .integer(let i):
            self = .scalar(Scalar(String(i), style: .plain, resolved: Int(exactly: i).map { .int($0) } ?? .text))
        case .number(let text): self = .scalar(Scalar(text, style: .plain, resolved: Double(text).map { .float($0) } ?? .text))
        case .string(let s): self = .scalar(Scalar(s, style: .quoted, resolved: .text))
        case .array(let items): self = .sequence(List(items.map { ConfigTree(json: $0) }))
        case .object(let o):
            self = .mapping(Mapping(o.entries.map { (key: ConfigTree.scalar(Scalar($0.key, style: .quoted, resolved: .text)),
                                                     value: ConfigTree(json: $0.value)) }))
        }
    }
}
