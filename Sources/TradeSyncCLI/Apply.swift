import ArgumentParser
import Foundation
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the plan: migrations, connections, and rows re-mapped from their kept raw payloads.",
        discussion: """
            Executes exactly what `plan` shows. With --plan FILE (saved by `plan --out FILE`) it refuses
            when the configuration or the store changed since the plan was made. A connection removed
            from the configuration keeps its rows and is marked removed. Changed mappings are applied to
            the stored rows page by page, each page in one transaction, so an interrupted apply is
            resumed by running it again. Writes an apply record (time, configuration hash, git commit).
            Without --auto-approve it shows the plan and asks for `yes` on a terminal.
            Exit status: 0 on success (or nothing to apply), 1 on an error or a refusal, 64 on a usage error.
            """
    )

    @OptionGroup var options: DeploymentOptions

    @Option(help: "A plan saved by `plan --out FILE`: applied only if nothing changed since.")
    var plan: String?

    @Flag(help: "Apply without asking.")
    var autoApprove = false

    func savedPlan() throws -> DeploymentPlan? {
        guard let plan else { return nil }
        guard let data = FileManager.default.contents(atPath: plan) else { throw CommandError("\(plan): plan file not found") }
        do {
            return try DeploymentPlan.decode(data)
        } catch {
            throw CommandError("\(plan): not a plan saved by `tradesync plan --out`")
        }
    }

    /// Applies and returns the report's text (tests run it with --auto-approve).
    func perform(confirm: (DeploymentPlan) -> Bool = { _ in true }) async throws -> (report: ApplyReport, text: String) {
        let saved = try savedPlan()
        let report = try await options.withWorkspace { workspace -> ApplyReport in
            var expected = saved
            if !autoApprove {
                // The plan shown is the plan applied: its hashes go with the confirmation.
                let shown = try await workspace.plan()
                if let saved, saved.configHash != shown.configHash || saved.storeHash != shown.storeHash {
                    throw CommandError(StalePlanError(what: saved.configHash != shown.configHash ? "the configuration" : "the store").description)
                }
                guard shown.hasChanges else { return ApplyReport(plan: shown) }
                guard confirm(shown) else { throw CommandError("apply cancelled: nothing was changed") }
                expected = shown
            }
            do {
                return try await workspace.apply(expected: expected)
            } catch let e as StalePlanError {
                throw CommandError(e.description)
            }
        }
        guard report.applied else { return (report, "No changes. The store matches the configuration.\n") }
        var lines = [report.plan.human]
        if let m = report.migration, !m.appliedVersions.isEmpty {
            lines.append("migrations applied: \(m.appliedVersions.map(String.init).joined(separator: ", "))")
        }
        let rows = "\(report.rowsRewritten) row\(report.rowsRewritten == 1 ? "" : "s") re-mapped"
        let fixed = "\(report.failuresFixed) kept failure\(report.failuresFixed == 1 ? "" : "s") fixed"
        let failed = "\(report.newlyFailed) record\(report.newlyFailed == 1 ? "" : "s") kept as failed"
        let recorded: String = report.gitCommit.map { "recorded at commit \($0.prefix(12))" } ?? "recorded"
        lines.append("Apply complete: \(rows), \(fixed), \(failed); \(recorded).")
        return (report, lines.joined(separator: "\n") + "\n")
    }

    func run() async throws {
        let (_, text) = try await perform { plan in
            print(plan.human, terminator: "")
            guard isatty(STDIN_FILENO) != 0 else {
                printError("not a terminal: run with --auto-approve to apply without asking")
                return false
            }
            print("Apply these changes? Only 'yes' is accepted: ", terminator: "")
            return readLine()?.trimmingCharacters(in: .whitespaces) == "yes"
        }
        print(text, terminator: "")
    }
}
