import Foundation
import Testing

/// The module drawing of `docs/architecture.md`, checked on the sources. SwiftPM's
/// `--explicit-target-dependency-import-check` (run by `.ci/run`) rejects an import of a target
/// outside a target's dependency closure, but not one reached through a dependency: the CLI
/// could still `import TradeSyncStore` because Engine depends on it. This test keeps the
/// nevers: every project module a target imports is in its allowed list.
@Suite struct ModuleBorderTests {
    static let projectModules: Set<String> = [
        "TradeSyncCore", "TradeSyncConfig", "TradeSyncMapping", "TradeSyncSources", "TradeSyncStore", "TradeSyncEngine",
        "TradeSyncSandbox", "TradeSyncCLI", "TradeSyncServer", "CSQLite", "CZlib",
    ]

    /// Target folder → the project modules it may import.
    static let allowed: [String: Set<String>] = [
        "Sources/TradeSyncCore": [],
        // Components (paginators, auth methods, casts, transforms) decode themselves, so the
        // configuration holds them as values.
        "Sources/TradeSyncConfig": ["TradeSyncCore", "TradeSyncMapping", "TradeSyncSources"],
        "Sources/TradeSyncMapping": ["TradeSyncCore"],
        "Sources/TradeSyncSources": ["TradeSyncCore"],
        "Sources/TradeSyncStore": ["TradeSyncCore", "CSQLite", "CZlib"],
        "Sources/TradeSyncEngine": ["TradeSyncCore", "TradeSyncConfig", "TradeSyncMapping", "TradeSyncSources", "TradeSyncStore"],
        "Sources/TradeSyncSandbox": ["TradeSyncCore"],
        // The CLI and the server reach Store and Sources only through Engine's Workspace.
        "Sources/TradeSyncCLI": ["TradeSyncCore", "TradeSyncConfig", "TradeSyncEngine", "TradeSyncSandbox", "TradeSyncServer"],
        "Sources/TradeSyncServer": ["TradeSyncCore", "TradeSyncEngine"],
        "Sources/tradesync": ["TradeSyncCLI"],
    ]

    /// Module names of the `import` lines of a Swift file (`@testable`, access levels and
    /// `@_exported` included).
    static func imports(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ").filter { !$0.hasPrefix("@") && !["public", "package", "internal", "private", "fileprivate"].contains($0) }
            guard words.count >= 2, words[0] == "import" else { return nil }
            return String(words[1].split(separator: ".").first ?? words[1])
        }
    }

    @Test(arguments: allowed.keys.sorted())
    func aTargetImportsOnlyWhatTheDrawingAllows(folder: String) throws {
        let directory = Repo.root + "/" + folder
        // Subfolders too: components live in `Pagination/`, `Auth/`, `Roles/`, …
        let files = try FileManager.default.subpathsOfDirectory(atPath: directory).filter { $0.hasSuffix(".swift") }
        #expect(!files.isEmpty, "\(folder) has Swift files")
        let allowed = Self.allowed[folder] ?? []
        for file in files.sorted() {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            for module in Self.imports(text) where Self.projectModules.contains(module) && !allowed.contains(module) {
                Issue.record("\(folder)/\(file) imports \(module), which docs/architecture.md does not allow")
            }
        }
    }

    @Test func theImportScannerSeesEveryForm() {
        #expect(Self.imports("import TradeSyncStore\n@testable import TradeSyncEngine\ninternal import Foundation\n// import X\nlet importance = 1")
            == ["TradeSyncStore", "TradeSyncEngine", "Foundation"])
    }
}
