import ArgumentParser
import Foundation
import TradeSyncEngine

/// `tradesync test [PATH]`. Named `TestFixtures`, not `Test`, so that test files importing the
/// CLI module can still use Swift Testing's `@Test`.
struct TestFixtures: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the mapping fixtures (mappings/<provider>/<stream>.test.yaml) through the mapping interpreter.",
        discussion: """
            Each case gives a raw record (input) and either the fields the mapping must produce (expect) or
            text its failure reason must contain (expect_failure). Values compare by the field's type:
            decimals by value, timestamps as instants. A failure prints a field diff with the file:line:col
            of the case and of the expected key. PATH is a project folder, a folder inside mappings/, or one
            .test.yaml file. Exit status: 0 when every case passes, 1 on a failed case, a malformed fixture
            file or no fixtures found, 64 on a command-line usage error.
            """
    )

    @Argument(help: "A project folder, a mappings folder, or one .test.yaml file.")
    var path: String = "."

    @Flag(name: .shortAndLong, help: "List passing cases too.")
    var verbose = false

    func run() async throws {
        let located: (root: String, scope: String?)
        do {
            located = try MappingFixtureRunner.locate(path)
        } catch {
            throw CommandError(error.description)
        }
        let report = MappingFixtureRunner.run(root: located.root, scope: located.scope, displayPrefix: displayPrefix(for: located.root))
        if report.files.isEmpty {
            throw CommandError("\(path): no mapping fixtures (*.test.yaml beside the mappings)")
        }
        print(report.rendered(verbose: verbose))
        if !report.allPassed { throw ExitCode(1) }
    }
}
