import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
// `UnixSignal` (.sigterm, .sigint) lives in swift-service-lifecycle's UnixSignals module.
import UnixSignals
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine

/// Options `serve` and `worker` share: how many workers, and how their claims behave.
struct SchedulingOptions: ParsableArguments {
    @Option(help: "Workers in this process: runs of different connections at once.")
    var workers: Int = 2

    @Option(help: "Seconds a claim lives without a heartbeat: a dead worker's run is taken over after this.")
    var claimSeconds: Int = 30

    @Option(help: "Milliseconds an idle worker waits before it looks at the queue again.")
    var pollMs: Int = 1000

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        guard claimSeconds >= 3 else { throw ValidationError("--claim-seconds must be at least 3") }
        guard pollMs >= 1 else { throw ValidationError("--poll-ms must be at least 1") }
    }

    var settings: SchedulerSettings {
        SchedulerSettings(claimSeconds: claimSeconds, pollMilliseconds: pollMs)
    }

    /// The scheduler and the workers, as services of one group.
    func services(_ workspace: Workspace, logger: Logger) -> [any Service] {
        [RunScheduler(workspace: workspace, settings: settings, logger: logger) as any Service]
            + (0..<workers).map { _ in RunWorker(workspace: workspace, settings: settings, logger: logger) as any Service }
    }

    /// Runs `services` until SIGTERM or SIGINT: then the workers stop claiming, their runs stop
    /// at a page boundary, claims and leases go back, and the process exits (within 30 s).
    static func runUntilSignalled(_ services: [any Service], logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(25)
        try await ServiceGroup(configuration: configuration).run()
    }
}

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the scheduler and workers without the HTTP server (PostgreSQL stores).",
        discussion: """
            Migrates the store, then runs due syncs until SIGTERM or SIGINT. Several `worker` processes,
            on one machine or many, share one PostgreSQL store: each run is claimed by one worker
            (FOR UPDATE SKIP LOCKED), a dead worker's run is taken over when its claim expires, and
            max_concurrent_runs caps a provider's runs across all of them. A SQLite store is refused:
            there, one `tradesync serve` process does all the work.
            On SIGTERM a worker stops claiming, ends its current run at a page boundary (the next run
            resumes from there), gives its claims and leases back, and exits within 30 seconds.
            Exit status: 0 after a signal, 1 on an error, 64 on a command-line usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions
    @OptionGroup var scheduling: SchedulingOptions

    func run() async throws {
        let (project, config) = try options.load()
        let inputs = WorkspaceInputs(storeOverride: try options.storeOverride())
        let logger = inputs.logger
        try await DeploymentOptions.withWorkspace(project: project, deployment: config, inputs: inputs) { workspace in
            if case .sqlite = workspace.storeLocation {
                throw CommandError("""
                    \(config.file): `worker` needs a PostgreSQL store that processes share; on SQLite one \
                    `tradesync serve` process runs the scheduler and every worker
                    """)
            }
            _ = try await workspace.migrate()
            // Unbuffered: scripts and tests wait for this line.
            FileHandle.standardOutput.write(Data(("tradesync worker: \(scheduling.workers) worker\(scheduling.workers == 1 ? "" : "s") on \(workspace.storeLocation)" + "\n").utf8))
            try await SchedulingOptions.runUntilSignalled(scheduling.services(workspace, logger: logger), logger: logger)
        }
    }
}
