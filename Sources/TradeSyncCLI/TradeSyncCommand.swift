public import ArgumentParser
import Foundation
import TradeSyncConfig
import TradeSyncCore

public struct TradeSyncCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tradesync",
        abstract: "Declarative sync of a contractor's business systems into one database.",
        discussion: """
            Providers are declared in integrations.d/, the internal model and mappings in mappings/,
            and deployments (store, contractors, connections) in tradesync.yaml files.
            Exit status: 0 on success, 1 on an error (configuration problems, missing files, a failed run),
            2 when a sync run was partial or deferred, 64 on a command-line usage error.
            """,
        version: "0.1.0",
        subcommands: [
            Validate.self, Migrate.self, Plan.self, Apply.self, Sync.self, Runs.self, Failures.self, Connections.self, Connect.self, Disconnect.self, Refresh.self, RotateKey.self,
            Token.self,
            Demo.self, Serve.self, Worker.self,
            Sandbox.self,
            TestFixtures.self,
        ]
    )

    public init() {}

    /// Parses the process arguments and runs the chosen command. (ArgumentParser's own
    /// `main()` resolves to its synchronous overload when called across modules here.)
    public static func runFromCommandLine() async {
        do {
            var command = try parseAsRoot(nil)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Finds the project root for a path: the folder itself, or the nearest ancestor of a
/// file that holds `integrations.d/`.
func projectRoot(for path: String) -> (root: String, deploymentFile: String?)? {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return nil }
    if isDir.boolValue { return (path, nil) }
    var directory = (path as NSString).deletingLastPathComponent
    if directory.isEmpty { directory = "." }
    let absoluteFile = (path as NSString).standardizingPath
    var current = (directory as NSString).standardizingPath
    if !current.hasPrefix("/") { current = FileManager.default.currentDirectoryPath + "/" + current }
    while true {
        if FileManager.default.fileExists(atPath: current + "/integrations.d") {
            let file = absoluteFile.hasPrefix("/") ? absoluteFile : FileManager.default.currentDirectoryPath + "/" + absoluteFile
            return (current, file)
        }
        let parent = (current as NSString).deletingLastPathComponent
        if parent == current || parent.isEmpty { return nil }
        current = parent
    }
}

/// Shows paths as the user typed them: relative to the working directory when inside it.
func displayPrefix(for root: String) -> String {
    let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardized.path
    let r = URL(fileURLWithPath: root).standardized.path
    if r == cwd { return "" }
    if r.hasPrefix(cwd + "/") { return String(r.dropFirst(cwd.count + 1)) + "/" }
    return r + "/"
}

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check configuration and report every problem at once.",
        discussion: """
            Each PATH is a project folder (integrations.d/, mappings/, tradesync.yaml, examples/*/tradesync.yaml)
            or a deployment file inside one. Problems are printed as file:line:col: error|warning: key: message.
            Exit status: 0 when there are no errors (warnings allowed), 1 when there are errors (a path
            that is missing or not a project is one), 64 on a command-line usage error.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: "Project folders or deployment files (default: the current folder).")
    var paths: [String] = []

    @Option(help: "Output format: text or json.")
    var format: Format = .text

    func run() async throws {
        var diagnostics: [Diagnostic] = []
        var files = 0
        for path in paths.isEmpty ? ["."] : paths {
            guard let (root, file) = projectRoot(for: path) else {
                let problem = FileManager.default.fileExists(atPath: path)
                    ? "not a project folder or a deployment file inside one" : "no such file or folder"
                diagnostics.append(Diagnostic(.error, SourceLocation(file: path, line: 1, column: 1), keyPath: "", problem))
                continue
            }
            let project = ProjectLoader.load(
                root: root, deploymentFiles: file.map { [$0] }, displayPrefix: displayPrefix(for: root))
            diagnostics.append(contentsOf: project.diagnostics)
            // Mapping fixtures (*.test.yaml) must parse too; `tradesync test` runs them.
            let fixtures = MappingFixtureLoader.loadAll(project: project, displayPrefix: displayPrefix(for: root))
            diagnostics.append(contentsOf: fixtures.diagnostics)
            files += project.integrations.count + project.mappings.count + project.deployments.count
                + (project.model == nil ? 0 : 1) + MappingFixtureLoader.fixturePaths(root: root).count
        }
        diagnostics = Array(Set(diagnostics)).sortedForOutput()
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.count - errors
        switch format {
        case .text:
            for d in diagnostics { print(d.description) }
            print("\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s") in \(files) file\(files == 1 ? "" : "s")")
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            struct Output: Encodable {
                var errors: Int
                var warnings: Int
                var files: Int
                var diagnostics: [Diagnostic]
            }
            let data = try encoder.encode(Output(errors: errors, warnings: warnings, files: files, diagnostics: diagnostics))
            print(String(decoding: data, as: UTF8.self))
        }
        if errors > 0 { throw ExitCode(1) }
    }
}
