import ArgumentParser
import Foundation
import Testing
@testable import TradeSyncCLI
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncSandbox
import TradeSyncSources
@testable import TradeSyncStore

/// A project copy for `plan` / `apply`: ServiceTitan's integration file and mappings, the model,
/// and a deployment with one connection (customers only) pointed at a sandbox on a free port.
/// Every step edits files of the copy, as a user edits YAML in git.
struct PlanProject {
    let dir: String
    let sandbox: ProviderSandbox
    let config: SandboxConfiguration
    /// `--store`: a fresh PostgreSQL database, or nil for the deployment's SQLite file.
    var storeURL: String?

    static let secretKeys = ["SERVICETITAN_CLIENT_ID", "SERVICETITAN_CLIENT_SECRET", "SERVICETITAN_APP_KEY"]

    /// The project on `backend`: PostgreSQL gets a database of its own, dropped afterwards.
    static func with(_ backend: Backend, _ body: (PlanProject) async throws -> Void) async throws {
        guard backend == .postgres else { return try await with(body) }
        guard let admin = postgresAdminURL else { return }
        let name = "tradesync_plan_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let adminStore = try await PostgresStore.connect(url: admin)
        _ = try await adminStore.query("CREATE DATABASE \(name)")
        var components = try #require(URLComponents(string: admin))
        components.path = "/" + name
        let url = try #require(components.string)
        var failure: (any Error)?
        do {
            try await with(storeURL: url, body)
        } catch {
            failure = error
        }
        _ = try? await adminStore.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        try await adminStore.close()
        if let failure { throw failure }
    }

    static func with(storeURL: String? = nil, _ body: (PlanProject) async throws -> Void) async throws {
        var config = SandboxConfiguration()
        config.serviceTitan.customers = 40
        config.serviceTitan.jobs = 10
        let sandbox = ProviderSandbox(configuration: config)
        try await sandbox.start(port: 0)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/integrations.d", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: dir + "/mappings", withIntermediateDirectories: true)
        try fm.copyItem(atPath: Repo.root + "/integrations.d/servicetitan.yaml", toPath: dir + "/integrations.d/servicetitan.yaml")
        try fm.copyItem(atPath: Repo.root + "/mappings/model.yaml", toPath: dir + "/mappings/model.yaml")
        try fm.createDirectory(atPath: dir + "/mappings/servicetitan", withIntermediateDirectories: true)
        for file in try fm.contentsOfDirectory(atPath: Repo.root + "/mappings/servicetitan")
        where file.hasSuffix(".yaml") && !file.hasSuffix(".test.yaml") {
            try fm.copyItem(atPath: Repo.root + "/mappings/servicetitan/" + file, toPath: dir + "/mappings/servicetitan/" + file)
        }
        let project = PlanProject(dir: dir, sandbox: sandbox, config: config, storeURL: storeURL)
        try project.write("tradesync.yaml", project.deploymentText())
        do {
            try await body(project)
        } catch {
            await sandbox.stop()
            throw error
        }
        await sandbox.stop()
    }

    func deploymentText(connections: String? = nil) -> String {
        ["store: sqlite:store.sqlite", "contractors:", "  - id: demo-123", "    name: Plan Test HVAC", "    connections:"]
            .joined(separator: "\n") + "\n" + (connections ?? connection())
    }

    /// One ServiceTitan connection; `extra` is inserted as written (8 spaces of indentation).
    func connection(key: String = "st", tenant: String = "1234567", appKey: String = "env:SERVICETITAN_APP_KEY",
                    extra: String = "", streams: String = "customers") -> String {
        [
            "      - id: \(key)",
            "        integration: servicetitan",
            "        environment: integration",
            "        base_url: \(sandbox.baseURL)/servicetitan",
            "        token_url: \(sandbox.baseURL)/servicetitan/connect/token",
            "        fields: { tenant_id: \"\(tenant)\" }",
            "        streams: [\(streams)]",
        ].joined(separator: "\n") + "\n" + extra + [
            "        credentials:",
            "          client_id: env:SERVICETITAN_CLIENT_ID",
            "          client_secret: env:SERVICETITAN_CLIENT_SECRET",
            "          app_key: \(appKey)",
        ].joined(separator: "\n") + "\n"
    }

    var environment: @Sendable (String) -> String? {
        let c = config
        let values = [
            "SERVICETITAN_CLIENT_ID": c.serviceTitan.clientId, "SERVICETITAN_CLIENT_SECRET": c.serviceTitan.clientSecret,
            "SERVICETITAN_APP_KEY": c.serviceTitan.appKey,
        ]
        return { values[$0] }
    }

    /// `plan` / `apply` command lines for this project.
    func arguments(_ command: String, _ more: [String] = []) -> [String] {
        [command, "-d", dir + "/tradesync.yaml"] + (storeURL.map { ["--store", $0] } ?? []) + more
    }

    var secrets: [String] { [config.serviceTitan.clientSecret, config.serviceTitan.appKey] }

    func write(_ file: String, _ text: String) throws {
        try text.write(toFile: dir + "/" + file, atomically: true, encoding: .utf8)
    }

    func edit(_ file: String, _ change: (String) -> String) throws {
        let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
        let changed = change(text)
        #expect(changed != text, "the edit of \(file) changed nothing")
        try write(file, changed)
    }

    func load() throws -> (Project, DeploymentConfig) {
        let project = ProjectLoader.load(root: dir, deploymentFiles: ["tradesync.yaml"], environment: environment)
        let errors = project.diagnostics.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors.map(\.description))")
        return (project, try #require(project.deployments.first))
    }

    /// Opens the project as it is on disk now (each call re-reads the YAML).
    func workspace<T: Sendable>(_ body: (Workspace) async throws -> T) async throws -> T {
        let (project, deployment) = try load()
        return try await Workspace.with(project: project, deployment: deployment,
                                        inputs: WorkspaceInputs(storeOverride: storeURL.flatMap { StoreLocation(parsing: $0, relativeTo: "") },
                                                                environment: environment), body)
    }

    /// Output without what changes from run to run: the sandbox's port and the hashes.
    func stable(_ text: String) -> String {
        var out = text.replacingOccurrences(of: sandbox.baseURL, with: "http://sandbox")
        for key in ["config_hash", "store_hash"] {
            out = out.replacingOccurrences(of: "\"\(key)\" : \"[0-9a-f]{64}\"", with: "\"\(key)\" : \"…\"", options: .regularExpression)
        }
        return out
    }

    func expectGolden(_ plan: DeploymentPlan, _ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        try expectMatchesGolden(stable(plan.human), Repo.fixtures + "/plan/\(name).txt", sourceLocation: sourceLocation)
        try expectMatchesGolden(stable(plan.json), Repo.fixtures + "/plan/\(name).json", sourceLocation: sourceLocation)
        for secret in secrets {
            #expect(!plan.human.contains(secret) && !plan.json.contains(secret), "a secret in the \(name) plan",
                    sourceLocation: sourceLocation)
        }
    }

    func customers() async throws -> [String: StoredRow] {
        try await workspace { w in
            let c = try #require(try await w.connections().first { $0.connectionKey == "st" })
            return try await w.storedRows(entity: "customers", connection: c)
        }
    }

    func sync() async throws -> RunResult {
        try await workspace { w in
            let c = try #require(try await w.connections().first { $0.connectionKey == "st" })
            return try await w.sync(c)
        }
    }
}

@Suite(.serialized) struct PlanApplyTests {
    /// The mapping-change workflow end to end: apply, sync, edit a value map, plan (exit 2, the
    /// rows and examples), apply, the rows; then plan with no changes.
    @Test(arguments: StoreSuite.backends)
    func aValueMapEditIsPlannedWithItsDataEffectAndApplied(backend: Backend) async throws {
        try await PlanProject.with(backend) { p in
            let first = try await p.workspace { try await $0.plan() }
            try p.expectGolden(first, "fresh")
            let deployed = try await p.workspace { try await $0.apply(expected: first) }
            #expect(deployed.applied)
            #expect(try await p.workspace { try await $0.plan() }.hasChanges == false)
            let run = try await p.sync()
            #expect(run.status == .success, "\(run.error ?? "")")
            let before = try await p.customers()
            let commercial = before.filter { $0.value.values["customer_type"] == "commercial" }
            #expect(before.count == 40)
            #expect(commercial.count > 0 && commercial.count < 40)
            // What keeping the payloads costs, per record of a real provider shape.
            let kept = try await p.workspace { w in
                let c = try #require(try await w.connections().first { $0.connectionKey == "st" })
                let entity = try #require(w.project.dataModel.entity("customers"))
                return try await w.store.keptRaws(integrationId: c.id, stream: "customers", entity: entity, from: nil)
            }
            // The sandbox's 40 customers fit one page: one batch, each record as the provider sent it.
            #expect(kept.records.count == 40)
            #expect(Set(kept.records.map(\.externalId)) == Set(before.keys))
            for r in kept.records { #expect(r.record?["id"]?.scalarText == r.externalId) }

            // No change yet: `plan` exits 0.
            let none = try TradeSyncCommand.parseAsRoot(p.arguments("plan")) as? Plan
            let unchanged = try await #require(none).perform()
            #expect(!unchanged.plan.hasChanges)
            try await #require(none).run()  // exit 0: returns without ExitCode
            try p.expectGolden(try await p.workspace { try await $0.plan() }, "no-changes")

            try p.edit("mappings/servicetitan/customers.yaml") {
                $0.replacingOccurrences(of: "Commercial: commercial", with: "Commercial: residential")
            }
            let command = try #require(try TradeSyncCommand.parseAsRoot(p.arguments("plan")) as? Plan)
            let (cliPlan, text) = try await command.perform()
            #expect(cliPlan.hasChanges)
            // The command line's plan, with the process environment (its credentials unresolved: drift).
            let plan = try await p.workspace { try await $0.plan() }
            #expect(plan.mappings == cliPlan.mappings && plan.configHash == cliPlan.configHash)
            await #expect(throws: ExitCode(2)) { try await command.run() }
            #expect(plan.connections.isEmpty && plan.schema.isEmpty)
            let change = try #require(plan.mappings.first)
            #expect(plan.mappings.count == 1 && change.mapping == "servicetitan/customers" && change.action == .change)
            let effect = try #require(change.effects.first)
            #expect(effect.remapped == 40)
            #expect(effect.changedRows == commercial.count)
            #expect(effect.fields.map(\.field) == ["customer_type"])
            #expect(effect.fields.first?.rows == commercial.count)
            let examples = effect.fields.first?.examples ?? []
            #expect(examples.count == min(5, commercial.count))
            #expect(examples.allSatisfy { $0.old == "commercial" && $0.new == "residential" && commercial[$0.externalId] != nil })
            #expect(text.contains("~ customer_type: \(commercial.count) rows"))
            try p.expectGolden(plan, "mapping-data")

            let applied = try await p.workspace { try await $0.apply(expected: plan) }
            #expect(applied.rowsRewritten == commercial.count)
            let after = try await p.customers()
            #expect(after.values.allSatisfy { $0.values["customer_type"] == "residential" })
            // Only the mapped field moved.
            for (id, row) in before { #expect(after[id]?.values["name"] == row.values["name"]) }
            #expect(try await p.workspace { try await $0.plan() }.hasChanges == false)
            let record = try await p.workspace { w in try await w.store.applies(limit: 5) }
            #expect(record.count == 2 && record.first?.configHash == plan.configHash)
        }
    }

    /// A mapping change that makes records fail is shown with reasons; applied, the records are
    /// kept as failed; the next change that maps them again is shown as fixing them, and fixes them.
    @Test func newlyFailingAndFixedRecordsArePlannedAndApplied() async throws {
        try await PlanProject.with { p in
            _ = try await p.workspace { try await $0.apply() }
            _ = try await p.sync()
            let commercial = try await p.customers().filter { $0.value.values["customer_type"] == "commercial" }.count
            // The customer's name read as a timestamp: every record fails the cast.
            try p.edit("mappings/servicetitan/customers.yaml") {
                $0.replacingOccurrences(of: "{ from: createdOn, cast: timestamp }", with: "{ from: name, cast: timestamp }")
            }
            let plan = try await p.workspace { try await $0.plan() }
            let effect = try #require(plan.mappings.first?.effects.first)
            #expect(effect.newlyFailingCount == 40)
            #expect(effect.newlyFailing.count == 20)
            #expect(effect.changedRows == 0)
            #expect(effect.newlyFailing.allSatisfy { $0.reason.contains("customer_created_at") })
            try p.expectGolden(plan, "mapping-failures")
            let applied = try await p.workspace { try await $0.apply(expected: plan) }
            #expect(applied.newlyFailed == 40)
            let kept = try await p.workspace { try await $0.failures(connectionId: nil, stream: "customers", limit: 100) }
            #expect(kept.count == 40)

            try p.edit("mappings/servicetitan/customers.yaml") {
                $0.replacingOccurrences(of: "{ from: name, cast: timestamp }", with: "{ from: createdOn, cast: timestamp }")
            }
            let fixing = try await p.workspace { try await $0.plan() }
            let fix = try #require(fixing.mappings.first?.effects.first)
            #expect(fix.fixedCount == 40)
            let report = try await p.workspace { try await $0.apply(expected: fixing) }
            #expect(report.failuresFixed == 40)
            #expect(try await p.workspace { try await $0.failures(connectionId: nil, stream: "customers", limit: 100) }.isEmpty)
            #expect(try await p.customers().filter { $0.value.values["customer_type"] == "commercial" }.count == commercial)
        }
    }

    /// An apply that stopped after rewriting rows but before recording the applied state (a crash)
    /// is resumed by running it again: the plan still shows the mapping, its rows are already
    /// rewritten (0 to change), and the second apply records it.
    @Test func anInterruptedApplyIsResumedByApplyingAgain() async throws {
        try await PlanProject.with { p in
            _ = try await p.workspace { try await $0.apply() }
            _ = try await p.sync()
            try p.edit("mappings/servicetitan/customers.yaml") {
                $0.replacingOccurrences(of: "Commercial: commercial", with: "Commercial: residential")
            }
            // The re-map alone, as far as a crash before the applied state would leave it.
            let plan = try await p.workspace { w in
                let planner = Planner(project: w.project, deployment: w.deployment, resolver: w.resolver)
                let (plan, desired) = try await planner.plan(try await PlanStoreView.read(w.store))
                let applier = Applier(project: w.project, deployment: w.deployment, store: w.store, planner: planner,
                                      movedOrigins: OriginMoves())
                var report = ApplyReport(plan: plan)
                let effect = try #require(plan.mappings.first?.effects.first)
                try await applier.remap(effect, desired: desired, view: try await PlanStoreView.read(w.store), into: &report)
                #expect(report.rowsRewritten == effect.changedRows && report.rowsRewritten > 0)
                return plan
            }
            #expect(try await p.customers().values.allSatisfy { $0.values["customer_type"] == "residential" })
            let again = try await p.workspace { try await $0.plan() }
            #expect(again.mappings.map(\.mapping) == ["servicetitan/customers"])
            #expect(again.mappings.first?.effects.first?.changedRows == 0)
            #expect(again.configHash == plan.configHash)
            let resumed = try await p.workspace { try await $0.apply(expected: again) }
            #expect(resumed.applied && resumed.rowsRewritten == 0)
            #expect(try await p.workspace { try await $0.plan() }.hasChanges == false)
        }
    }

    /// `keep_raw: false` keeps no payload; `plan` says why the stream is not re-mapped.
    @Test func keepRawOffKeepsNothingAndPlanSaysSo() async throws {
        try await PlanProject.with { p in
            try p.edit("integrations.d/servicetitan.yaml") {
                $0.replacingOccurrences(of: "\n  customers:\n", with: "\n  customers:\n    keep_raw: false\n")
            }
            _ = try await p.workspace { try await $0.apply() }
            _ = try await p.sync()
            let kept = try await p.workspace { w in
                let c = try #require(try await w.connections().first { $0.connectionKey == "st" })
                let entity = try #require(w.project.dataModel.entity("customers"))
                return try await w.store.keptRaws(integrationId: c.id, stream: "customers", entity: entity, from: nil)
            }
            #expect(kept.records.isEmpty && kept.next == nil)
            try p.edit("mappings/servicetitan/customers.yaml") {
                $0.replacingOccurrences(of: "Commercial: commercial", with: "Commercial: residential")
            }
            let plan = try await p.workspace { try await $0.plan() }
            #expect(plan.mappings.first?.effects.first?.notRemapped?.contains("keep_raw is off") == true)
            // A value that is not a boolean is reported where it is written.
            try p.edit("integrations.d/servicetitan.yaml") { $0.replacingOccurrences(of: "keep_raw: false", with: "keep_raw: sometimes") }
            let project = ProjectLoader.load(root: p.dir, deploymentFiles: ["tradesync.yaml"], environment: p.environment)
            #expect(project.diagnostics.contains { $0.severity == .error && $0.description.contains("keep_raw") })
        }
    }

    /// A stream whose mapping looks up another (ServiceTitan jobs → job_types) is re-mapped with
    /// the lookup stream's kept payloads: the looked-up field keeps its values.
    @Test func aMappingThatLooksUpAnotherStreamIsRemappedWithItsKeptPayloads() async throws {
        try await PlanProject.with { p in
            try p.write("tradesync.yaml", p.deploymentText(connections: p.connection(streams: "jobs")))
            _ = try await p.workspace { try await $0.apply() }
            let run = try await p.sync()
            #expect(run.status == .success, "\(run.error ?? "")")
            let jobs = { try await p.workspace { w in
                let c = try #require(try await w.connections().first { $0.connectionKey == "st" })
                return try await w.storedRows(entity: "jobs", connection: c)
            } }
            let before = try await jobs()
            let repairs = before.filter { $0.value.values["job_type"] == "repair" }
            #expect(before.count == 10 && !repairs.isEmpty)
            try p.edit("mappings/servicetitan/jobs.yaml") {
                $0.replacingOccurrences(of: "      Repair: repair\n      Service Repair: repair\n",
                                        with: "      Repair: maintenance\n      Service Repair: maintenance\n")
            }
            let plan = try await p.workspace { try await $0.plan() }
            let effect = try #require(plan.mappings.first?.effects.first)
            #expect(effect.notRemapped == nil)
            #expect(effect.changedRows == repairs.count)
            #expect(effect.fields.map(\.field) == ["job_type"])
            #expect(effect.fields.first?.examples.allSatisfy { $0.old == "repair" && $0.new == "maintenance" } == true)
            _ = try await p.workspace { try await $0.apply(expected: plan) }
            let after = try await jobs()
            for (id, row) in before {
                let expected = row.values["job_type"] == "repair" ? "maintenance" : row.values["job_type"] ?? nil
                #expect(after[id]?.values["job_type"] == expected, "\(id)")
            }
            #expect(try await p.workspace { try await $0.plan() }.hasChanges == false)
        }
    }

    /// A saved plan is refused once the configuration or the store moved on.
    @Test func aStaleSavedPlanIsRefused() async throws {
        try await PlanProject.with { p in
            _ = try await p.workspace { try await $0.apply() }
            _ = try await p.sync()
            try p.edit("mappings/servicetitan/customers.yaml") {
                $0.replacingOccurrences(of: "Commercial: commercial", with: "Commercial: residential")
            }
            let file = p.dir + "/plan.json"
            let save = try #require(try TradeSyncCommand.parseAsRoot(p.arguments("plan", ["--out", file])) as? Plan)
            _ = try await save.perform()
            // A sync since: the rows the plan compared may have changed.
            _ = try await p.sync()
            let apply = try #require(try TradeSyncCommand.parseAsRoot(
                p.arguments("apply", ["--plan", file, "--auto-approve"])) as? Apply)
            await #expect { try await apply.perform() } throws: { "\($0)".contains("stale: the store changed") }

            _ = try await save.perform()
            try p.edit("mappings/servicetitan/customers.yaml") {
                $0.replacingOccurrences(of: "Residential: residential", with: "Residential: commercial")
            }
            await #expect { try await apply.perform() } throws: { "\($0)".contains("stale: the configuration changed") }

            // Without --auto-approve: the plan is shown and a refusal changes nothing.
            let asking = try #require(try TradeSyncCommand.parseAsRoot(p.arguments("apply")) as? Apply)
            var shown: DeploymentPlan?
            await #expect { try await asking.perform { shown = $0; return false } } throws: { "\($0)".contains("apply cancelled") }
            #expect(shown?.mappings.count == 1)
            #expect(try await p.workspace { try await $0.plan() }.hasChanges)

            // Made again, it applies.
            _ = try await save.perform()
            let (report, text) = try await apply.perform()
            #expect(report.applied && text.contains("Apply complete"))
            #expect(try await p.customers().values.allSatisfy {
                $0.values["customer_type"] == "commercial" || $0.values["customer_type"] == "residential"
            })
            for secret in p.secrets { #expect(!text.contains(secret)) }
        }
    }

    /// Connections added, changed and removed; the schema; drift.
    @Test func connectionSchemaAndDriftChangesArePlanned() async throws {
        try await PlanProject.with { p in
            _ = try await p.workspace { try await $0.apply() }
            // Changed fields, schedule and credential reference; a connection added.
            try p.write("tradesync.yaml", p.deploymentText(connections:
                p.connection(tenant: "7654321", appKey: "env:SERVICETITAN_APP_KEY", extra: "        frequency: daily\n")
                    + p.connection(key: "st-2")))
            let changed = try await p.workspace { try await $0.plan() }
            #expect(changed.connections.map(\.action) == [.change, .add])
            #expect(Set(changed.connections[0].fields.map(\.field)) == ["fields.tenant_id", "schedule"])
            try p.expectGolden(changed, "connection-change")
            _ = try await p.workspace { try await $0.apply(expected: changed) }

            // st-2 removed: its data stays, it is marked removed.
            try p.write("tradesync.yaml", p.deploymentText(connections:
                p.connection(tenant: "7654321", extra: "        frequency: daily\n")))
            let removing = try await p.workspace { try await $0.plan() }
            #expect(removing.connections.map(\.action) == [.remove])
            try p.expectGolden(removing, "connection-remove")
            _ = try await p.workspace { try await $0.apply(expected: removing) }
            let removedIds = try await p.workspace { try await $0.store.removedConnectionIds() }
            #expect(removedIds.count == 1)
            #expect(try await p.workspace { try await $0.plan() }.hasChanges == false)

            // Schema: a field and an entity.
            try p.edit("mappings/model.yaml") {
                $0.replacingOccurrences(of: "entities:\n", with: """
                    entities:
                      warranties:
                        table: contractor_warranties
                        fields:
                          name: string
                          expires_at: timestamp

                    """).replacingOccurrences(of: "      job_name: string\n", with: "      job_name: string\n      plan_test_priority: integer\n")
            }
            let schema = try await p.workspace { try await $0.plan() }
            #expect(schema.schema.map(\.table).sorted() == ["contractor_jobs", "contractor_warranties"])
            try p.expectGolden(schema, "schema")
            _ = try await p.workspace { try await $0.apply(expected: schema) }
            #expect(try await p.workspace { try await $0.plan() }.schema.isEmpty)

            // Drift: a connection made through the API, a credential that cannot be resolved.
            _ = try await p.workspace { w in
                try await w.register(ConnectionRecord(demoId: "demo-123", connectionKey: "made-by-api",
                                                      integrationType: "servicetitan", syncFrequency: "hourly", autoSync: true))
            }
            try p.write("tradesync.yaml", p.deploymentText(connections:
                p.connection(tenant: "7654321", appKey: "env:PLAN_TEST_UNSET_KEY", extra: "        frequency: daily\n")))
            let drift = try await p.workspace { try await $0.plan() }
            #expect(drift.drift.map(\.kind) == [.connectionNotInConfiguration, .unresolvedCredential])
            try p.expectGolden(drift, "drift")
        }
    }

    /// Raw payloads are kept one page at a time: every row written points at its record there;
    /// a record whose values are unchanged but whose payload changed is pointed at the new page;
    /// a page no row points at any more is dropped; and what is read back is what was kept.
    @Test(arguments: StoreSuite.backends)
    func rawPagesAreKeptPointedAtAndDropped(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            let c = try await makeConnection(store)
            func payload(_ i: Int, note: String) -> String {
                "{\"id\":\(i),\"name\":\"Customer \(i)\",\"address\":{\"street\":\"\(i) Main St\",\"city\":\"Austin\"},\"note\":\"\(note)\"}"
            }
            // The mapped values stay the same throughout; only a field no mapping reads changes.
            let records = (0..<300).map { MappedRecord(externalId: "\($0)", values: jobsEntity.fields.map { _ in .null }) }
            func write(_ notes: (Int) -> String) async throws -> (PageOutcome, [String]) {
                var builder = RawPageBuilder()
                let raws = (0..<300).map { payload($0, note: notes($0)) }
                for (i, r) in raws.enumerated() { builder.append(externalId: "\(i)", text: r) }
                var write = page(c, records, cursor: nil)
                write.rawPage = builder.finish()
                return (try await store.applyPage(write), raws)
            }
            func readAll() async throws -> [String: JSONValue] {
                var out: [String: JSONValue] = [:]
                var position: KeptRawPosition?
                repeat {
                    let batch = try await store.keptRaws(integrationId: c.id, stream: "jobs", entity: jobsEntity, from: position)
                    for r in batch.records {
                        #expect(out[r.externalId] == nil, "read twice: \(r.externalId)")
                        out[r.externalId] = r.record
                    }
                    position = batch.next
                } while position != nil
                return out
            }
            func expectKept(_ raws: [String]) async throws {
                let read = try await readAll()
                #expect(read.count == 300)
                for (i, r) in raws.enumerated() { #expect(read["\(i)"] == (try JSONValue.parse(r))) }
                // Every page counts exactly the rows that point at it, and none is left empty.
                for account in try await store.rawPages(integrationId: c.id, stream: "jobs", entity: jobsEntity) {
                    #expect(account.live == account.pointing && account.live > 0, "\(account)")
                }
            }

            let (first, v1) = try await write { _ in "a" }
            #expect(first.inserted == 300)
            try await expectKept(v1)
            let pages1 = try await store.rawPages(integrationId: c.id, stream: "jobs", entity: jobsEntity)
            #expect(pages1.count == 1 && pages1.first?.records == 300)
            let plain = v1.reduce(0) { $0 + $1.utf8.count }
            let kept = pages1.reduce(0) { $0 + $1.bytes }
            print("raw payloads (\(backend)): \(plain / 300) bytes/record as JSON, \(kept / 300) bytes/record kept")
            #expect(kept * 4 < plain)

            // The same payloads again: nothing is written, no page is added.
            let (again, _) = try await write { _ in "a" }
            #expect(again.unchanged == 300)
            #expect(try await store.rawPages(integrationId: c.id, stream: "jobs", entity: jobsEntity).count == 1)

            // A third of the payloads change where no mapping reads: still unchanged rows, but
            // those point at the new page, and the first page counts the rest.
            let (some, v2) = try await write { $0 % 3 == 0 ? "b" : "a" }
            #expect(some.unchanged == 300 && some.updated == 0)
            try await expectKept(v2)
            let pages2 = try await store.rawPages(integrationId: c.id, stream: "jobs", entity: jobsEntity)
            #expect(pages2.map(\.live) == [200, 100])

            // Every payload changes: both earlier pages lose their last row and are dropped.
            let (all, v3) = try await write { _ in "c" }
            #expect(all.unchanged == 300)
            try await expectKept(v3)
            let pages3 = try await store.rawPages(integrationId: c.id, stream: "jobs", entity: jobsEntity)
            #expect(pages3.count == 1 && pages3.first?.live == 300)
            #expect(!pages2.map(\.id).contains(pages3.first?.id ?? -1))

            // A page that does not inflate reads as nothing rather than as wrong records.
            #expect(RawPageBuilder.read([1, 2, 3]) == nil)
            #expect(RawPageBuilder.read([0x28, 0xB5, 0x2F, 0xFD, 0, 0]) == nil)
            // A page written with zlib (before zstd) still reads.
            let zlibPage = RawCompression.deflate(#"{"external_ids":["a"],"records":[{"x":1}]}"#)
            #expect(RawPageBuilder.read(zlibPage)?.map(\.externalId) == ["a"])
            #expect(RawCompression.inflate([1, 2, 3]) == nil)
        }
    }
}
