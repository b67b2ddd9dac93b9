import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncStore

/// The typed values that cross the engine's borders: connection settings (deployer → store →
/// runtime), run details (runner → sync log) and moved origins (the demo's sandbox port).
@Suite struct BoundaryValueTests {
    let project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })

    func configured(_ key: String) throws -> (ConnectionConfig, IntegrationConfig) {
        let deployment = try #require(project.deployments.first)
        let c = try #require(deployment.contractors.flatMap(\.connections).first { $0.id?.value == key })
        let name = try #require(c.integration?.value)
        return (c, try #require(project.integration(name)))
    }

    @Test func settingsWrittenByTheDeployerAreWhatTheRuntimeReads() throws {
        let (c, integration) = try configured("austin-servicetitan")
        let record = Deployer.connectionRecord(c, contractor: "demo-123", integration: integration)
        let settings = try record.settings()
        #expect(settings == Deployer.settings(c, integration: integration))
        #expect(settings.fields["tenant_id"] == .string("1234567"))
        #expect(settings.environment == "integration")
        #expect(settings.tokenURL == "http://127.0.0.1:8099/servicetitan/connect/token")
        let runtime = try ConnectionRuntime(record: record, project: project)
        #expect(runtime.field("tenant_id") == "1234567")
        #expect(runtime.streams == settings.streams)
        #expect(runtime.tokenURL == settings.tokenURL)
        #expect(runtime.url(forPath: "/jpm/v2/x") == "http://127.0.0.1:8099/servicetitan/jpm/v2/x")
        // The same settings are the same text: a re-deploy does not rewrite the row for nothing.
        #expect(Deployer.connectionRecord(c, contractor: "demo-123", integration: integration).configJSON == record.configJSON)
    }

    @Test(arguments: ["not json", "{\"fields\": 3}", "{\"streams\": \"jobs\"}", "[]"])
    func aCorruptSettingsBlobIsAnErrorNamingTheConnection(blob: String) throws {
        let (c, integration) = try configured("austin-servicetitan")
        var record = Deployer.connectionRecord(c, contractor: "demo-123", integration: integration)
        record.configJSON = blob
        let error = try #require(throws: ConnectionSettingsError.self) { try ConnectionRuntime(record: record, project: project) }
        #expect(error.connection == "austin-servicetitan")
        #expect(error.description.hasPrefix("connection austin-servicetitan: its stored settings cannot be read"))
    }

    @Test func aTemplateIsStoredAsTypedConfigurationAndReadsBack() throws {
        let servicetitan = try #require(project.integration("servicetitan"))
        let template = Deployer.template(for: servicetitan)
        let config = try TemplateConfig.decode(template.configJSON)
        #expect(config == TemplateConfig(servicetitan))
        let offered = servicetitan.streams.entries.filter { !$0.value.lookupOnly }.map(\.name)
        #expect(config.streams.map(\.name) == offered, "lookup-only streams are not offered")
        #expect(config.streams.first { $0.name == "jobs" }?.entity == "jobs")
        #expect(config.connectionFields.contains { $0.name == "tenant_id" && $0.required })
        #expect(config.credentials.contains("client_id"))
        // Every key of a stream is written, a missing entity as null; the same template, the same text.
        let raw = try JSONValue.parse(template.configJSON)
        #expect(raw["streams"]?.arrayValue?.allSatisfy { $0["entity"] != nil } == true)
        #expect(Deployer.template(for: servicetitan).configJSON == template.configJSON)
    }

    @Test func aConnectionRegisteredByHandNeedsOnlyWhatItUses() throws {
        let settings = try ConnectionSettings.decode("{\"fields\":{\"tenant_id\":\"1\"}}", connection: "x")
        #expect(settings == ConnectionSettings(fields: ["tenant_id": "1"]))
    }

    @Test func movedOriginsKeepPathAndQueryAndLeaveOtherOriginsAlone() throws {
        let moves = OriginMoves([(from: "http://127.0.0.1:8099", to: "http://127.0.0.1:40123")])
        #expect(moves.apply("http://127.0.0.1:8099/google/token?x=1") == "http://127.0.0.1:40123/google/token?x=1")
        #expect(moves.apply("http://127.0.0.1:8098/google") == "http://127.0.0.1:8098/google")
        #expect(moves.apply("https://oauth2.googleapis.com/token") == "https://oauth2.googleapis.com/token")
        let (c, integration) = try configured("austin-google")
        let moved = try Deployer.connectionRecord(c, contractor: "demo-123", integration: integration, movedOrigins: moves).settings()
        #expect(moved.baseURL == "http://127.0.0.1:40123/google")
        #expect(moved.tokenURL == "http://127.0.0.1:40123/google/token")
        #expect(moved.authorizeURL == "http://127.0.0.1:40123/google/o/oauth2/v2/auth")
    }

    @Test func runDetailsKeepTheSyncLogShape() throws {
        var jobs = StreamResult(stream: "jobs", entity: "jobs")
        jobs.fetched = 10
        jobs.inserted = 7
        jobs.failed = 1
        jobs.pages = 2
        var reviews = StreamResult(stream: "reviews", entity: "reviews")
        reviews.retried = 3
        reviews.recovered = 2
        reviews.error = "HTTP 500"
        let result = RunResult(
            runId: "r", connectionKey: "c", integration: "servicetitan", status: .partial, streams: [jobs, reviews],
            failures: [RecordFailure(stream: "jobs", externalId: "42", reason: "status: unmapped value 'Hold'"),
                       RecordFailure(stream: "jobs", externalId: "43", reason: "x")],
            durationMs: 5, error: nil, dryRun: false)
        let json = try JSONValue.parse(RunDetails(result, keptFailures: 1).jsonText)
        let j = try #require(json["streams"]?["jobs"])
        #expect(j["entity"] == .string("jobs"))
        #expect(j["fetched"] == .integer(10))
        #expect(j["inserted"] == .integer(7))
        #expect(j["updated"] == .integer(0))
        #expect(j["unchanged"] == .integer(0))
        #expect(j["failed"] == .integer(1))
        #expect(j["pages"] == .integer(2))
        #expect(j["retried"] == nil && j["recovered"] == nil && j["error"] == nil, "only when they say something")
        #expect(json["streams"]?["reviews"]?["retried"] == .integer(3))
        #expect(json["streams"]?["reviews"]?["recovered"] == .integer(2))
        #expect(json["streams"]?["reviews"]?["error"] == .string("HTTP 500"))
        let failures = try #require(json["failures"]?.arrayValue)
        #expect(failures.count == 1, "capped at keptFailures")
        #expect(failures.first?["external_id"] == .string("42"))
        #expect(failures.first?["stream"] == .string("jobs"))
        #expect(failures.first?["reason"] == .string("status: unmapped value 'Hold'"))
    }
}
