import ArgumentParser
import Foundation
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what `apply` would change: connections, schema, and the data effect of mapping changes.",
        discussion: """
            Compares the configuration in the working tree with what the store last applied. Mapping
            changes are shown by their effect on the data: the stored raw payloads of the affected
            streams are mapped again under the new mapping and compared with the stored rows (counts per
            field, up to 5 examples each, records that would newly fail, kept failures it would fix).
            Drift (connections created through the API, credentials that cannot be resolved) is reported.
            Reads the store only; prints no secret. Schema of --json: docs/plan.md.
            Exit status: 0 no changes, 2 changes to apply, 1 on an error, 64 on a command-line usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions

    @Flag(help: "Print the plan as JSON (docs/plan.md).")
    var json = false

    @Option(help: "Also save the plan as JSON, for `apply --plan FILE`.")
    var out: String?

    /// The plan and its rendering, without printing (tests).
    func perform() async throws -> (plan: DeploymentPlan, text: String) {
        let plan = try await options.withWorkspace { try await $0.plan() }
        if let out {
            do {
                try Data(plan.json.utf8).write(to: URL(fileURLWithPath: out))
            } catch {
                throw CommandError("\(out): cannot write the plan: \(error.localizedDescription)")
            }
        }
        return (plan, json ? plan.json : plan.human)
    }

    func run() async throws {
        let (plan, text) = try await perform()
        print(text, terminator: "")
        if plan.hasChanges { throw ExitCode(2) }
    }
}
