import ArgumentParser
import Foundation
import Testing
@testable import TradeSyncCLI
import TradeSyncConfig
import TradeSyncCore
import TradeSyncSources
@testable import TradeSyncEngine
import TradeSyncStore

/// Test harness environment: variables named SET_* exist, nothing else does.
func fakeEnvironment(_ name: String) -> String? { name.hasPrefix("SET_") ? "value" : nil }

@Suite struct ShippedConfigurationTests {
    @Test func theShippedProjectHasNoErrors() {
        let project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
        #expect(project.diagnostics.map(\.description) == [], "with every variable set there is nothing to report")
        #expect(project.integrations.count == 8)
        #expect(Set(project.integrations.map(\.config.provider)) == [
            "servicetitan", "jobber", "quickbooks", "google-business-profile", "indeed", "facebook-jobs", "yelp", "serpapi",
        ])
        #expect(project.deployments.count == 1)
    }

    @Test func unsetEnvironmentReferencesAreWarningsNotErrors() {
        let project = ProjectLoader.load(root: Repo.root, environment: { _ in nil })
        #expect(!project.diagnostics.hasErrors)
        #expect(project.diagnostics.contains { $0.message == "environment variable SERVICETITAN_CLIENT_SECRET is not set" })
    }

    @Test func providersWithoutAPullAPISayTheTruth() throws {
        let project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
        let facebook = try #require(project.integration("facebook-jobs"))
        #expect(facebook.status == .retired)
        #expect(facebook.statusNote?.contains("2023") == true)
        #expect(facebook.streams.isEmpty)
        let indeed = try #require(project.integration("indeed"))
        #expect(indeed.status == .webhookOnly)
        #expect((indeed.auth.method as? WebhookSignatureAuth)?.signature?.header == "X-Indeed-Signature")
    }

    @Test func realProviderEndpointsAreTheDefaults() throws {
        let project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
        let st = try #require(project.integration("servicetitan"))
        #expect(st.baseURL == "https://api.servicetitan.io")
        #expect(st.auth.tokenURL == "https://auth.servicetitan.io/connect/token")
        #expect(st.auth.method is ClientCredentialsGrant && st.auth.kind == "oauth2_client_credentials")
        #expect(st.environments["integration"]?.baseURL == "https://api-integration.servicetitan.io")
        let qb = try #require(project.integration("quickbooks"))
        #expect(qb.auth.tokenURL == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer")
        #expect((qb.auth.method as? any OAuthGrant)?.clientAuth == .basic)
        let gbp = try #require(project.integration("google-business-profile"))
        #expect((gbp.auth.method as? AuthorizationCodeGrant)?.scopes == ["https://www.googleapis.com/auth/business.manage"])
    }
}

/// Each case holds only what it changes: its files are laid over `_base`, and `removed.txt`
/// lists the files of `_base` it deletes. Editing `_base` then changes every case at once.
@Suite struct BrokenConfigurationCorpus {
    static let root = Repo.fixtures + "/broken"
    static let base = root + "/_base"
    static let cases: [String] = {
        let items = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return items.filter { !$0.hasPrefix("_") && FileManager.default.fileExists(atPath: root + "/" + $0 + "/expected.txt") }
            .sorted()
    }()
    static let caseOnlyFiles: Set<String> = ["expected.txt", "removed.txt"]

    /// The case's project: `_base`, then the case's files over it, minus its removed files.
    static func project(_ name: String) throws -> String {
        let fm = FileManager.default
        let dir = try temporaryDirectory()
        try fm.removeItem(atPath: dir)
        try fm.copyItem(atPath: base, toPath: dir)
        try fm.removeItem(atPath: dir + "/expected.txt")
        let caseDir = root + "/" + name
        for file in try files(caseDir) where !caseOnlyFiles.contains(file) {
            let target = dir + "/" + file
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if fm.fileExists(atPath: target) { try fm.removeItem(atPath: target) }
            try fm.copyItem(atPath: caseDir + "/" + file, toPath: target)
        }
        for file in try removed(name) { try fm.removeItem(atPath: dir + "/" + file) }
        return dir
    }

    static func files(_ dir: String) throws -> [String] {
        let items = try FileManager.default.subpathsOfDirectory(atPath: dir)
        return items.filter { item in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: dir + "/" + item, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
    }

    static func removed(_ name: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: root + "/" + name + "/removed.txt", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// A case that changes nothing would test `_base` again; one that names a missing file is a typo.
    @Test(arguments: cases)
    func eachCaseChangesTheBase(name: String) throws {
        let own = try Self.files(Self.root + "/" + name).filter { !Self.caseOnlyFiles.contains($0) }
        let removed = try Self.removed(name)
        #expect(!own.isEmpty || !removed.isEmpty, "\(name) changes nothing in _base")
        for file in removed {
            #expect(FileManager.default.fileExists(atPath: Self.base + "/" + file), "\(name)/removed.txt: no such file in _base: \(file)")
        }
        for file in own where FileManager.default.fileExists(atPath: Self.base + "/" + file) {
            let mine = FileManager.default.contents(atPath: Self.root + "/" + name + "/" + file)
            #expect(mine != FileManager.default.contents(atPath: Self.base + "/" + file),
                    "\(name)/\(file) is a copy of _base: delete it")
        }
    }

    @Test func theBaseProjectIsClean() {
        let project = ProjectLoader.load(root: BrokenConfigurationCorpus.base, environment: fakeEnvironment)
        #expect(project.diagnostics.map(\.description) == [])
    }

    /// Every case reports exactly its golden diagnostics: file, line, column, key and message.
    @Test(arguments: cases)
    func reportsEveryProblem(name: String) throws {
        let dir = try Self.project(name)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let project = ProjectLoader.load(root: dir, environment: fakeEnvironment)
        #expect(project.diagnostics.hasErrors || project.diagnostics.contains { $0.severity == .warning })
        let actual = project.diagnostics.map(\.description).joined(separator: "\n") + "\n"
        try expectMatchesGolden(actual, Self.root + "/" + name + "/expected.txt")
    }
}

@Suite struct SecretHandlingTests {
    /// A project made of the shipped integrations and model plus one deployment file.
    func project(deployment: String) throws -> (String, Project) {
        let dir = try temporaryDirectory()
        for item in ["integrations.d", "mappings"] {
            try FileManager.default.copyItem(atPath: Repo.root + "/" + item, toPath: dir + "/" + item)
        }
        try deployment.write(toFile: dir + "/tradesync.yaml", atomically: true, encoding: .utf8)
        return (dir, ProjectLoader.load(root: dir, environment: { _ in "set" }))
    }

    @Test func aLiteralSecretIsReportedAndNeverEchoed() throws {
        let secret = "sk_live_9f8e7d6c5b4a39281706"
        let (dir, project) = try project(deployment: """
            store: sqlite:x.sqlite
            contractors:
              - id: demo-1
                connections:
                  - id: yelp
                    integration: yelp
                    fields: { business_id: austin-comfort-hvac }
                    credentials:
                      api_key: \(secret)
            """)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let errors = project.diagnostics.filter { $0.severity == .error }
        #expect(errors.map(\.description) == [
            "tradesync.yaml:9:20: error: contractors[0].connections[0].credentials.api_key: a literal secret is not allowed in configuration; write env:NAME or file:PATH"
        ])
        #expect(!project.diagnostics.contains { $0.description.contains(secret) })
    }

    @Test func fileReferencesAreCheckedRelativeToTheDeployment() throws {
        let (dir, project) = try project(deployment: """
            store: sqlite:x.sqlite
            contractors:
              - id: demo-1
                connections:
                  - id: yelp
                    integration: yelp
                    fields: { business_id: austin-comfort-hvac }
                    credentials: { api_key: "file:secrets/yelp.key" }
            """)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(project.diagnostics.map(\.description) == [
            "tradesync.yaml:8:33: warning: contractors[0].connections[0].credentials.api_key: file secrets/yelp.key does not exist"
        ])
    }

    @Test func postgresPasswordsAreRedacted() {
        #expect(redactURLPassword("postgres://app:hunter2@db:5432/ts") == "postgres://app:***@db:5432/ts")
        #expect(StoreLocation(parsing: "postgres://app:hunter2@db/ts", relativeTo: "")?.description == "postgres://app:***@db/ts")
    }
}

@Suite struct DeploymentTests {
    @Test func migrateRegistersTemplatesAndConnectionsIdempotently() async throws {
        let project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
        let deployment = try #require(project.deployments.first)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(path: dir + "/s.sqlite")
        let first = try await Deployer.deploy(project: project, deployment: deployment, store: store)
        #expect(first.templates.count == 8)
        #expect(first.connections.count == 8)
        #expect(first.migration.createdTables.contains("contractor_jobs"))
        #expect(first.migration.createdTables.contains("contractor_reviews"))
        let facebook = try #require(first.connections.first { $0.integrationType == "facebook-jobs" })
        #expect(facebook.status == .disconnected)
        // Credentials are stored as references only.
        for c in first.connections {
            let creds = try JSONValue.parse(c.credentialsJSON).objectValue?.entries ?? []
            #expect(creds.allSatisfy { $0.value.stringValue?.hasPrefix("env:") == true || $0.value.stringValue?.hasPrefix("file:") == true })
        }
        let second = try await Deployer.deploy(project: project, deployment: deployment, store: store)
        #expect(second.migration.isNoOp)
        #expect(Set(second.connections.map(\.id)) == Set(first.connections.map(\.id)))
        let templates = try await store.templates()
        #expect(templates.first { $0.integrationType == "facebook-jobs" }?.status == "retired")
        try await store.close()
    }
}

@Suite struct HelpSnapshots {
    static let commands: [String: any ParsableCommand.Type] = [
        "validate": Validate.self, "migrate": Migrate.self, "sync": Sync.self, "runs": Runs.self, "demo": Demo.self,
        "sandbox": Sandbox.self, "failures": Failures.self, "refresh": Refresh.self, "connections": Connections.self, "rotate-key": RotateKey.self,
        "connect": Connect.self, "disconnect": Disconnect.self, "test": TestFixtures.self,
        "token": Token.self, "token-create": TokenCreate.self,
        "plan": Plan.self, "apply": Apply.self,
    ]

    @Test(arguments: ["tradesync"] + commands.keys.sorted())
    func helpMatchesGolden(command: String) throws {
        let text = HelpSnapshots.commands[command].map { TradeSyncCommand.helpMessage(for: $0, columns: 100) }
            ?? TradeSyncCommand.helpMessage(columns: 100)
        try expectMatchesGolden(text + "\n", Repo.fixtures + "/help/\(command).txt")
    }
}
