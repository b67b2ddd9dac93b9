import ArgumentParser
import Foundation
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or upgrade the store from the model; register templates and connections.",
        discussion: """
            Validates the project first and stops on any error. Then creates or migrates every table
            (adding a field to mappings/model.yaml adds a column), writes one template per file in
            integrations.d/, and registers the deployment's connections (credentials stay references).
            Exit status: 0 on success, 1 on an error (configuration problems, a missing deployment file,
            an unreachable store), 64 on a command-line usage error.
            """
    )

    @Argument(help: "Deployment file (tradesync.yaml) inside a project.")
    var deployment: String

    @Option(help: "Store to use instead of the file's: sqlite:PATH or postgres://user@host:port/db.")
    var store: String?

    func run() async throws {
        let options = try DeploymentOptions.parse(["--deployment", deployment] + (store.map { ["--store", $0] } ?? []))
        let (report, location) = try await options.withWorkspace { workspace in
            (try await workspace.migrate(), workspace.storeLocation)
        }
        print("store: \(location)")
        let versions = report.migration.appliedVersions
        print("migrations applied: \(versions.isEmpty ? "none (up to date)" : versions.map(String.init).joined(separator: ", "))")
        if !report.migration.createdTables.isEmpty {
            print("tables created: \(report.migration.createdTables.joined(separator: ", "))")
        }
        if !report.migration.addedColumns.isEmpty {
            print("columns added: \(report.migration.addedColumns.joined(separator: ", "))")
        }
        print("templates: \(report.templates.count) (\(report.templates.joined(separator: ", ")))")
        print("connections: \(report.connections.count)")
        for c in report.connections {
            print("  \(c.demoId)/\(c.connectionKey)  \(c.integrationType)  \(c.status.rawValue)  \(c.syncFrequency)\(c.autoSync ? "" : "  (auto-sync off)")")
        }
    }
}
