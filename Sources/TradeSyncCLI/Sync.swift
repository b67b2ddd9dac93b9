import ArgumentParser
import Foundation
import Logging
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine
import TradeSyncSources
import TradeSyncStore

/// Options shared by commands that work on a deployment.
struct DeploymentOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Deployment file.")
    var deployment: String = "tradesync.yaml"

    @Option(help: "Store to use instead of the deployment's: sqlite:PATH or postgres://user@host:port/db.")
    var store: String?

    /// Loads and validates the project; stops on configuration errors.
    func load() throws -> (Project, DeploymentConfig) {
        guard FileManager.default.fileExists(atPath: deployment) else {
            throw CommandError("\(deployment): deployment file not found")
        }
        guard let (root, file) = projectRoot(for: deployment), let file else {
            throw CommandError("\(deployment): not a deployment file inside a project (no integrations.d/ above it)")
        }
        let project = ProjectLoader.load(root: root, deploymentFiles: [file], displayPrefix: displayPrefix(for: root))
        let errors = project.diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty {
            for d in errors { printError(d.description) }
            printError("\(errors.count) configuration error\(errors.count == 1 ? "" : "s"); run `tradesync validate`")
            throw ExitCode(1)
        }
        guard let config = project.deployments.first else { throw CommandError("\(deployment): no deployment read") }
        return (project, config)
    }

    func storeLocation(_ config: DeploymentConfig) throws -> String {
        if let store { return store }
        switch config.storeLocation {
        case .sqlite(let path)?: return "sqlite:" + path
        case .postgres(let url)?: return url
        case nil: throw CommandError("\(config.file): no store")
        }
    }
}

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sync connections now: fetch, map and upsert page by page.",
        discussion: """
            Without CONNECTION, syncs every connection of the deployment that has auto_sync on and an
            integration that can be synced. Each page's records, id mappings and cursor are written in
            one transaction, so an interrupted sync resumes without loss or duplicates.
            Exit status: 0 when every run succeeded, 1 on an error (configuration problems, a missing
            deployment file, a failed run), 2 when a run was partial or deferred, 64 on a command-line
            usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions

    @Argument(help: "Connection id from the deployment file (default: all auto-sync connections).")
    var connection: String?

    @Option(name: .customLong("stream"), help: "Only this stream (repeatable).")
    var streams: [String] = []

    @Flag(help: "Ignore stored cursors and read everything again.")
    var fullRefresh = false

    @Flag(help: "Fetch and map, write nothing; report what would be inserted or updated.")
    var dryRun = false

    @Flag(help: "No progress line.")
    var quiet = false

    func run() async throws {
        let (project, config) = try options.load()
        let store = try await StoreFactory.open(try options.storeLocation(config))
        let transport = AsyncHTTPTransport()
        var exit: Int32 = 0
        do {
            let report = try await Deployer.deploy(project: project, deployment: config, store: store)
            let targets = try chooseConnections(report.connections, project: project)
            let (sealer, keyProblem) = options.sealerOrProblem(config)
            let runner = SyncRunner(project: project, store: store, transport: transport,
                                    resolver: CredentialResolver(baseDirectory: config.directory),
                                    sealer: sealer, keyProblem: keyProblem, deploymentFile: config.file)
            var results: [RunResult] = []
            for c in targets {
                let progress: ProgressLine? = quiet ? nil : ProgressLine(label: c.connectionKey)
                var syncOptions = SyncOptions(streams: streams.isEmpty ? nil : streams, fullRefresh: fullRefresh,
                                              dryRun: dryRun, syncType: "manual")
                if let progress { syncOptions.progress = { @Sendable p in progress.update(p) } }
                do {
                    let r: RunResult = try await runner.run(c, options: syncOptions)
                    progress?.finish()
                    results.append(r)
                    if r.status != .success { exit = max(exit, r.status == .failed ? 1 : 2) }
                } catch {
                    progress?.finish()
                    printError("\(c.connectionKey): \(error)")
                    exit = 1
                }
            }
            print(RunTable.render(results))
        } catch {
            await transport.shutdown()
            try? await store.close()
            throw error
        }
        await transport.shutdown()
        try await store.close()
        if exit != 0 { throw ExitCode(exit) }
    }

    func chooseConnections(_ all: [ConnectionRecord], project: Project) throws -> [ConnectionRecord] {
        if let connection {
            guard let c = all.first(where: { $0.connectionKey == connection }) else {
                let names = all.map(\.connectionKey)
                let hint = closestMatch(to: connection, in: names).map { "; did you mean '\($0)'?" } ?? ""
                throw CommandError("no connection '\(connection)' in the deployment\(hint)")
            }
            return [c]
        }
        return all.filter { c in
            c.autoSync && project.integration(c.integrationType)?.status == .available
        }
    }
}

/// A progress line on standard error, redrawn at most every half second.
final class ProgressLine: @unchecked Sendable {
    let label: String
    let lock = NSLock()
    var lastDraw = 0.0
    var drawn = false
    let isTerminal = isatty(2) == 1

    init(label: String) { self.label = label }

    func update(_ p: SyncProgress) {
        lock.withLock {
            let now = Date().timeIntervalSince1970
            guard now - lastDraw >= (isTerminal ? 0.5 : 5), p.elapsedSeconds > 1 else { return }
            lastDraw = now
            drawn = true
            let rate = p.elapsedSeconds > 0 ? Int(Double(p.fetched) / p.elapsedSeconds) : 0
            let text = "\(label) \(p.stream): \(p.fetched) records, \(p.pages) pages, \(rate) records/s"
            FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + text + (isTerminal ? "" : "\n")).utf8))
        }
    }

    func finish() {
        lock.withLock {
            if drawn && isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
    }
}

/// Renders run results as a table.
enum RunTable {
    static func render(_ results: [RunResult]) -> String {
        var rows: [[String]] = [["connection", "stream", "status", "fetched", "inserted", "updated", "unchanged", "failed", "duration"]]
        for r in results {
            for s in r.streams {
                rows.append([r.connectionKey, s.stream, s.error == nil ? "ok" : "error", String(s.fetched), String(s.inserted),
                             String(s.updated), String(s.unchanged), String(s.failed), ""])
            }
            rows.append([r.connectionKey, "(run)", r.status.rawValue + (r.dryRun ? " (dry run)" : ""), String(r.fetched),
                         String(r.inserted), String(r.updated), String(r.unchanged), String(r.failed),
                         String(format: "%.2fs", Double(r.durationMs) / 1000)])
        }
        var out = table(rows)
        let errors = results.flatMap { r in r.streams.compactMap { s in s.error.map { "\(r.connectionKey)/\(s.stream): \($0)" } } }
        if !errors.isEmpty { out += "\n" + errors.joined(separator: "\n") }
        let failures = results.flatMap(\.failures).prefix(10)
        if !failures.isEmpty {
            out += "\nrecords that failed mapping (first \(failures.count)):\n"
            out += failures.map { "  \($0.stream) \($0.externalId): \($0.reason)" }.joined(separator: "\n")
        }
        return out
    }

    static func table(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in
                i >= 3 ? String(repeating: " ", count: widths[i] - c.count) + c : c + String(repeating: " ", count: widths[i] - c.count)
            }.joined(separator: "  ").trimmingTrailingSpaces
        }.joined(separator: "\n")
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}

struct Runs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show sync history from the sync log.",
        discussion: """
            Exit status: 0 on success, 1 on an error (configuration problems, a missing deployment file,
            an unknown connection, an unreachable store), 64 on a command-line usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions

    @Argument(help: "Connection id (default: all).")
    var connection: String?

    @Option(help: "How many runs.")
    var limit = 20

    func run() async throws {
        let (_, config) = try options.load()
        let store = try await StoreFactory.open(try options.storeLocation(config))
        do {
            let connections = try await store.connections(demoId: nil)
            let integrationId = try storedConnectionId(connection, in: connections)
            let names = Dictionary(connections.map { ($0.id, $0.connectionKey) }, uniquingKeysWith: { a, _ in a })
            let runs = try await store.runs(integrationId: integrationId, limit: limit)
            var rows = [["started", "connection", "streams", "type", "status", "fetched", "inserted", "updated", "unchanged", "failed", "duration"]]
            for r in runs {
                rows.append([
                    String(Timestamp.iso8601(micros: r.startedAt).prefix(19)) + "Z", names[r.integrationId] ?? r.integrationId,
                    r.entityType, r.syncType, r.status.rawValue, String(r.fetched), String(r.inserted), String(r.updated),
                    String(r.unchanged), String(r.failed), r.durationMs.map { String(format: "%.2fs", Double($0) / 1000) } ?? "",
                ])
            }
            print(RunTable.table(rows))
            try await store.close()
        } catch {
            try? await store.close()
            throw error
        }
    }
}

/// The store id of the connection a user named (nil: all), with a did-you-mean when unknown.
func storedConnectionId(_ key: String?, in connections: [ConnectionRecord]) throws -> String? {
    guard let key else { return nil }
    guard let c = connections.first(where: { $0.connectionKey == key }) else {
        let hint = closestMatch(to: key, in: connections.map(\.connectionKey)).map { "; did you mean '\($0)'?" } ?? ""
        throw CommandError("no connection '\(key)' in the store\(hint)")
    }
    return c.id
}
