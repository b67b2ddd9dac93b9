import ArgumentParser
import Foundation
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine

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

    /// `--store`, parsed once; nil: the deployment's.
    func storeOverride() throws -> StoreLocation? {
        guard let store else { return nil }
        guard let location = StoreLocation(parsing: store, relativeTo: "") else {
            throw CommandError("unknown store '\(store)': expected sqlite:PATH or postgres://…")
        }
        return location
    }

    /// Loads the deployment, opens it through the engine, runs `body`, closes it whatever happens.
    /// `requiresKey`: refuse without a usable `secrets_key` before the store is touched.
    func withWorkspace<T: Sendable>(requiresKey: Bool = false, _ body: (Workspace) async throws -> T) async throws -> T {
        let (project, config) = try load()
        let inputs = WorkspaceInputs(storeOverride: try storeOverride(), requiresKey: requiresKey)
        return try await DeploymentOptions.withWorkspace(project: project, deployment: config, inputs: inputs, body)
    }

    /// Opens a loaded deployment with `inputs`, and turns the engine's refusals into messages.
    static func withWorkspace<T: Sendable>(project: Project, deployment: DeploymentConfig, inputs: WorkspaceInputs,
                                           _ body: (Workspace) async throws -> T) async throws -> T {
        do {
            return try await Workspace.with(project: project, deployment: deployment, inputs: inputs, body)
        } catch let e as SealError {
            throw CommandError(e.description)
        } catch let e as ConnectError {
            throw CommandError(e.description)
        } catch let e as CallbackListener.Failure {
            throw CommandError(e.description)
        } catch let e as NoStoreError {
            throw CommandError(e.description)
        } catch let e as ConnectionSettingsError {
            throw CommandError(e.description)
        }
    }
}

/// The connection a command names, or an error with a did-you-mean (`in` says where it was
/// looked for: the deployment, or the store).
func pick(_ key: String, from all: [ConnectionRecord], in place: String = "the deployment") throws -> ConnectionRecord {
    guard let c = all.first(where: { $0.connectionKey == key }) else {
        let hint = closestMatch(to: key, in: all.map(\.connectionKey)).map { "; did you mean '\($0)'?" } ?? ""
        throw CommandError("no connection '\(key)' in \(place)\(hint)")
    }
    return c
}

/// The store id of the connection a user named (nil: all), with a did-you-mean when unknown.
func storedConnectionId(_ key: String?, in connections: [ConnectionRecord]) throws -> String? {
    guard let key else { return nil }
    return try pick(key, from: connections, in: "the store").id
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
