import Foundation
import Testing

/// Paths of the repository, found from this file's location (goldens are updated in place).
enum Repo {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
    static let fixtures = testsDirectory + "/Fixtures"
    static let root = URL(fileURLWithPath: testsDirectory).deletingLastPathComponent().deletingLastPathComponent().path
}

let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
let updateGoldens = ProcessInfo.processInfo.environment["UPDATE_GOLDENS"] == "1"

/// Compares text with a golden file; with UPDATE_GOLDENS=1 rewrites the golden instead, and
/// fails when that changed it.
func expectMatchesGolden(_ actual: String, _ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    if updateGoldens {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let previous = try? String(contentsOfFile: path, encoding: .utf8)
        try actual.write(toFile: path, atomically: true, encoding: .utf8)
        // A recording run fails on purpose, so it can never pass as a check.
        Issue.record(previous == actual ? "recording goldens: \(path) unchanged" : "recorded a new golden: \(path)",
                     sourceLocation: sourceLocation)
        return
    }
    guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
        Issue.record("golden file missing: \(path) (run with UPDATE_GOLDENS=1 to create it)", sourceLocation: sourceLocation)
        return
    }
    #expect(actual == expected, "differs from golden \(path)", sourceLocation: sourceLocation)
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "tradesync-test-" + UUID().uuidString.lowercased()
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

extension Process {
    /// Waits for the process without blocking a thread of the cooperative pool: with two cores
    /// there are two, and the sandbox the process talks to runs on them too.
    func exited() async {
        while isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }
}
