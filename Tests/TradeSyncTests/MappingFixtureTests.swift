import ArgumentParser
import Foundation
import Testing
@testable import TradeSyncCLI
import TradeSyncConfig
import TradeSyncCore
@testable import TradeSyncEngine
import TradeSyncMapping

/// `tradesync test`: the shipped fixtures all pass (this is how CI runs them: the suite runs in
/// `scripts/test`), wrong expectations fail with the right diff at the right line, malformed
/// files are reported in full.
@Suite struct MappingFixtureTests {
    static let samples = Repo.fixtures + "/mapping-tests"

    /// A copy of the shipped project with `file` (from the samples) as the ServiceTitan jobs fixture.
    static func project(with sample: String) throws -> String {
        let dir = try temporaryDirectory()
        for item in ["integrations.d", "mappings"] {
            try FileManager.default.copyItem(atPath: Repo.root + "/" + item, toPath: dir + "/" + item)
        }
        let target = dir + "/mappings/servicetitan/jobs.test.yaml"
        try FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: samples + "/" + sample, toPath: target)
        return dir
    }

    static func runOne(_ dir: String) -> MappingFixtureReport {
        MappingFixtureRunner.run(root: dir, scope: dir + "/mappings/servicetitan/jobs.test.yaml")
    }

    /// Runs a command in process, as `tradesync` would; its exit status.
    static func exitCode(_ arguments: [String]) async -> Int32 {
        do {
            var command = try TradeSyncCommand.parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch {
            return TradeSyncCommand.exitCode(for: error).rawValue
        }
    }

    // MARK: The shipped fixtures

    @Test func everyShippedFixturePasses() throws {
        let report = MappingFixtureRunner.run(root: Repo.root)
        if !report.allPassed { Issue.record("tradesync test over the shipped project:\n\(report.rendered())") }
        #expect(report.cases >= 100)
    }

    @Test func everyShippedMappingHasFixtures() throws {
        let project = ProjectLoader.load(root: Repo.root, deploymentFiles: [], environment: { _ in nil })
        let fixtures = Set(MappingFixtureLoader.fixturePaths(root: Repo.root).map(MappingFixtureLoader.mappingName(ofFixture:)))
        #expect(!project.mappings.isEmpty)
        for m in project.mappings {
            #expect(fixtures.contains(m.name), "mappings/\(m.name).yaml has no \(m.name).test.yaml")
        }
    }

    /// Each value map's edge cases are in the fixtures: a value the map does not list (provider
    /// enums are open) and each `unspecified` value. Maps over booleans have no unknown value,
    /// and a looked-up value (ServiceTitan job types) is checked through its lookup's records.
    @Test func everyValueMapHasItsEdgeCasesInTheFixtures() throws {
        let project = ProjectLoader.load(root: Repo.root, deploymentFiles: [], environment: { _ in nil })
        let (files, diagnostics) = MappingFixtureLoader.loadAll(project: project)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        var checked = 0
        for file in files {
            let mapping = try #require(project.mapping(file.mappingName))
            for field in mapping.fields.entries {
                guard let map = field.value.map, let from = field.value.from else { continue }
                let keys = Set(map.names)
                if keys.isSubset(of: ["true", "false"]) { continue }
                var values: [String] = file.cases.compactMap { $0.input.value(at: JSONPath(from))?.scalarText }
                if let lookup = field.value.lookup {
                    let records = file.lookups[lookup.stream.value] ?? []
                    let byKey = Dictionary(records.compactMap { r in r.value(at: JSONPath(lookup.key))?.scalarText.map { ($0, r) } },
                                           uniquingKeysWith: { a, _ in a })
                    values = values.compactMap { byKey[$0]?.value(at: JSONPath(lookup.value))?.scalarText }
                }
                let seen = Set(values)
                #expect(!seen.subtracting(keys).subtracting(field.value.unspecified).isEmpty,
                        "\(file.path): no case gives \(field.name) (\(from)) a value its map does not list")
                for u in field.value.unspecified {
                    #expect(seen.contains(u), "\(file.path): no case gives \(field.name) the unspecified value \(u)")
                }
                checked += 1
            }
        }
        #expect(checked >= 6)
    }

    @Test func theCommandPassesOverTheShippedProjectAndItsParts() async {
        #expect(await Self.exitCode(["test", Repo.root]) == 0)
        #expect(await Self.exitCode(["test", Repo.root + "/mappings/google-business-profile"]) == 0)
        #expect(await Self.exitCode(["test", Repo.root + "/mappings/servicetitan/jobs.test.yaml"]) == 0)
    }

    // MARK: Failures

    @Test func wrongExpectationsFailWithFieldDiffsAtTheirLines() throws {
        let dir = try Self.project(with: "wrong-expectations.test.yaml")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = Self.runOne(dir)
        let file = try #require(report.files.first)
        #expect(report.files.count == 1)
        #expect(file.errors.isEmpty, "\(file.errors)")
        #expect(file.cases == 8)
        #expect(file.passed == ["passes - typed equality (decimal written differently, an offset timestamp, the external id)",
                                "passes - the expected failure"])
        #expect(file.failures.map(\.name) == [
            "wrong status and total", "wrong timestamp, and null expected where a value is mapped",
            "expects a failure but the record maps", "expects another failure than the one that happens",
            "expects fields but the record fails", "expected values the fields cannot hold",
        ])
        let path = "mappings/servicetitan/jobs.test.yaml"
        let first = try #require(file.failures.first)
        // The case's line, and each expected key's line and column with the two values.
        #expect(first.location.line == 16)
        #expect(first.lines == [
            "\(path):19:7: status", "  - expected: \"scheduled\"", "  + mapped:   \"in_progress\"",
            "\(path):20:7: final_value", "  - expected: 389.55", "  + mapped:   389.50",
        ])
        #expect(!report.allPassed)
        try expectMatchesGolden(report.rendered() + "\n", Self.samples + "/wrong-expectations.txt")
    }

    @Test func theCommandExitsOneOnAFailedCase() async throws {
        let dir = try Self.project(with: "wrong-expectations.test.yaml")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(await Self.exitCode(["test", dir + "/mappings/servicetitan/jobs.test.yaml"]) == 1)
        #expect(await Self.exitCode(["test", dir]) == 1)
        // The other files of the copy still pass on their own.
        #expect(await Self.exitCode(["test", dir + "/mappings/jobber"]) == 0)
    }

    // MARK: Malformed files

    @Test func aMalformedFileGetsEveryProblemAtItsPosition() throws {
        let dir = try Self.project(with: "malformed.test.yaml")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = Self.runOne(dir)
        let file = try #require(report.files.first)
        let path = "mappings/servicetitan/jobs.test.yaml"
        let messages = file.errors.map(\.description)
        #expect(messages.contains("\(path):4:13: error: [0].expect.statuss: unknown field 'statuss': entity 'jobs' has no such field; did you mean 'status'?"))
        #expect(messages.contains("\(path):5:3: error: [1].name: missing required key"))
        #expect(messages.contains("\(path):8:10: error: [2].input: expected a mapping (the raw record), found a list"))
        #expect(messages.contains("\(path):13:3: error: [3].expect_failure: 'expect' and 'expect_failure' exclude each other"))
        #expect(messages.contains("\(path):14:3: error: [4]: needs 'expect' (field: value) or 'expect_failure' (text of the reason)"))
        #expect(messages.contains("\(path):18:3: error: [5].expected: unknown key; did you mean 'expect'?"))
        #expect(messages.contains("\(path):19:3: error: [6]: case name 'fine' is used twice (first at line 2); names tell failures apart"))
        #expect(messages.contains("\(path):21:13: error: [6].expect.external_idd: unknown field 'external_idd': entity 'jobs' has no such field; did you mean 'external_id'?"))
        #expect(messages.contains("\(path):22:3: error: [7]: expected a mapping, found a string"))
        #expect(file.cases == 0)
        #expect(!report.allPassed)
        try expectMatchesGolden(report.rendered() + "\n", Self.samples + "/malformed.txt")
    }

    @Test func aYAMLSyntaxErrorIsReportedAtItsPosition() throws {
        let dir = try Self.project(with: "syntax-error.test.yaml")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = Self.runOne(dir)
        let file = try #require(report.files.first)
        #expect(file.errors.count == 1)
        let error = try #require(file.errors.first)
        #expect(error.location.file == "mappings/servicetitan/jobs.test.yaml")
        #expect(error.location.line == 2)
        #expect(error.message.hasPrefix("YAML syntax error"))
    }

    @Test func validateReportsFixtureProblemsToo() async throws {
        let dir = try Self.project(with: "malformed.test.yaml")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let project = ProjectLoader.load(root: dir, deploymentFiles: [], environment: { _ in "set" })
        #expect(project.diagnostics.filter { $0.severity == .error }.isEmpty, "fixtures are not read as mappings")
        let fixtures = MappingFixtureLoader.loadAll(project: project)
        #expect(fixtures.diagnostics.filter { $0.location.file == "mappings/servicetitan/jobs.test.yaml" }.count == 10)
        #expect(await Self.exitCode(["validate", dir]) == 1)
    }

    // MARK: Paths and values

    @Test func aPathIsAProjectAMappingsFolderOrAFixtureFile() throws {
        let root = URL(fileURLWithPath: Repo.root).standardized.path
        for (path, scope) in [(Repo.root, nil), (Repo.root + "/mappings", root + "/mappings"),
                              (Repo.root + "/mappings/yelp/reviews.test.yaml", root + "/mappings/yelp/reviews.test.yaml")] {
            let located = try MappingFixtureRunner.locate(path)
            #expect(located.root == root)
            #expect(located.scope == scope)
        }
        #expect(throws: MappingFixtureRunner.LocateError.self) { try MappingFixtureRunner.locate(Repo.root + "/mappings/yelp/reviews.yaml") }
        #expect(throws: MappingFixtureRunner.LocateError.self) { try MappingFixtureRunner.locate(Repo.root + "/no-such-folder") }
        #expect(throws: MappingFixtureRunner.LocateError.self) { try MappingFixtureRunner.locate(NSTemporaryDirectory()) }
        #expect(MappingFixtureLoader.fixturePaths(root: Repo.root, under: "mappings/yelp")
            == ["mappings/yelp/business.test.yaml", "mappings/yelp/reviews.test.yaml"])
    }

    @Test(arguments: [
        // (field type, expected as written in YAML, mapped, equal?)
        (FieldType.decimal, JSONValue.number("150.0"), CellValue.decimal("150.00"), true),
        (.decimal, .integer(150), .decimal("150"), true),
        (.decimal, .string("-0.50"), .decimal("-0.5"), true),
        (.decimal, .number("150.01"), .decimal("150.1"), false),
        (.timestamp, .string("2015-07-24T10:35:08-07:00"), .timestamp(1_437_759_308_000_000), true),
        (.timestamp, .string("2015-07-24T10:35:08Z"), .timestamp(1_437_759_308_000_000), false),
        (.date, .string("2015-07-24"), .date("2015-07-24"), true),
        (.boolean, .bool(false), .boolean(false), true),
        (.boolean, .bool(true), .null, false),
        (.integer, .integer(5), .integer(5), true),
        (.string, .integer(1042), .text("1042"), true),
        (.string, .null, .null, true),
        (.string, .null, .text(""), false),
        (.json, .object(JSONObject([(key: "b", value: .number("1.0")), (key: "a", value: .array([.string("x")]))])),
         .json(#"{"a":["x"],"b":1}"#), true),
        (.json, .array([.integer(1), .integer(2)]), .json("[2,1]"), false),
    ])
    func valuesCompareByTheFieldsType(type: FieldType, expected: JSONValue, actual: CellValue, equal: Bool) {
        let result = FixtureValue.compare(expected: expected, actual: actual, field: ModelField(name: "f", type: type))
        #expect((result == .equal) == equal, "\(result)")
    }
}
