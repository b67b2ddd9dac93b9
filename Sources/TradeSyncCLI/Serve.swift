import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine
import TradeSyncServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server (API, page, webhooks, metrics), the scheduler and workers in one process.",
        discussion: """
            Migrates the store, then serves until SIGTERM or SIGINT. The scheduler queues each
            connection by its frequency; --workers workers run what is due. On SQLite this one process
            does all the work; on PostgreSQL, `tradesync worker` processes elsewhere can share it.
            On SIGTERM the workers stop claiming, end their runs at a page boundary, give their claims
            and leases back, and the process exits within 30 seconds.
            Exit status: 0 after a signal, 1 on an error, 64 on a command-line usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions
    @OptionGroup var scheduling: SchedulingOptions

    @Option(help: "Port to listen on.")
    var port: Int = 8080

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Largest webhook delivery accepted, in MiB (an Indeed Apply delivery carries the resume, base64).")
    var webhookBodyLimit: Int = 16

    func validate() throws {
        guard (1...65_535).contains(port) else { throw ValidationError("--port must be between 1 and 65535") }
        guard (1...1_024).contains(webhookBodyLimit) else {
            throw ValidationError("--webhook-body-limit must be between 1 and 1024 (MiB)")
        }
    }

    func run() async throws {
        let (project, config) = try options.load()
        let inputs = WorkspaceInputs(storeOverride: try options.storeOverride())
        let logger = inputs.logger
        try await DeploymentOptions.withWorkspace(project: project, deployment: config, inputs: inputs) { workspace in
            _ = try await workspace.migrate()
            let settings = ServerSettings(host: host, port: port, maxWebhookBodyBytes: webhookBodyLimit << 20)
            // Once per process: swift-metrics allows one backend, and /metrics shows its registry.
            let metrics = ServerMetrics.bootstrap()
            let app = ServerApplication.application(workspace: workspace, settings: settings, logger: logger, metrics: metrics)
            // Unbuffered: scripts and tests wait for this line.
            FileHandle.standardOutput.write(Data(("tradesync serve: listening on http://\(host):\(port) with \(scheduling.workers) worker\(scheduling.workers == 1 ? "" : "s") on \(workspace.storeLocation)" + "\n").utf8))
            try await SchedulingOptions.runUntilSignalled([app as any Service] + scheduling.services(workspace, logger: logger),
                                                          logger: logger)
        }
    }
}
