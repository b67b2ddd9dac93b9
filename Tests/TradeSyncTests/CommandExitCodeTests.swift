import ArgumentParser
import Foundation
import Testing
@testable import TradeSyncCLI

/// Exit status: 1 for every failure of a command, 64 only for what ArgumentParser rejects.
@Suite struct CommandExitCodeTests {
    func failure(_ arguments: [String]) async -> (code: Int32, message: String) {
        do {
            var command = try TradeSyncCommand.parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return (0, "")
        } catch {
            return (TradeSyncCommand.exitCode(for: error).rawValue, TradeSyncCommand.message(for: error))
        }
    }

    @Test(arguments: [["sync", "-d"], ["runs", "--deployment"], ["migrate"], ["demo", "-d"]])
    func aMissingDeploymentFileExitsOneNamingIt(prefix: [String]) async throws {
        let missing = NSTemporaryDirectory() + "tradesync-missing-" + UUID().uuidString + "/tradesync.yaml"
        let (code, message) = await failure(prefix + [missing])
        #expect(code == 1)
        #expect(message == "\(missing): deployment file not found")
    }

    @Test func aDeploymentFileOutsideAProjectExitsOne() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "store: sqlite:x.sqlite\n".write(toFile: dir + "/tradesync.yaml", atomically: true, encoding: .utf8)
        let (code, message) = await failure(["sync", "-d", dir + "/tradesync.yaml"])
        #expect(code == 1)
        #expect(message == "\(dir)/tradesync.yaml: not a deployment file inside a project (no integrations.d/ above it)")
    }

    @Test func validateOfAMissingPathExitsOne() async {
        let missing = NSTemporaryDirectory() + "tradesync-missing-" + UUID().uuidString
        let (code, _) = await failure(["validate", missing])
        #expect(code == 1)
    }

    @Test func usageErrorsStaySixtyFour() async {
        let (code, _) = await failure(["sync", "--no-such-option"])
        #expect(code == 64)
    }
}
