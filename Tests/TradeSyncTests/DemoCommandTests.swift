import ArgumentParser
import Foundation
import Testing
@testable import TradeSyncCLI
import TradeSyncCore
import TradeSyncEngine

/// `tradesync demo` as a new user runs it: the example deployment against the sandbox over
/// real HTTP into a real SQLite file (a temporary one, and a free port, so a demo running
/// elsewhere on the machine does not interfere).
@Suite(.serialized) struct DemoCommandTests {
    @Test func theDemoSyncsAllSixPullProvidersAndTheSecondPassInsertsNothing() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let parsed = try TradeSyncCommand.parseAsRoot(["demo", "--port", "0", "--jobs", "150", "--store", "sqlite:\(dir)/demo.sqlite"])
        let demo = try #require(parsed as? Demo)
        let passes = try await demo.perform()
        #expect(passes.count == 2)
        let expected = ["austin-servicetitan", "austin-jobber", "austin-quickbooks", "austin-google", "austin-yelp", "austin-serpapi"]
        for (n, pass) in passes.enumerated() {
            #expect(pass.map(\.connectionKey) == expected, "pass \(n + 1)")
            for r in pass {
                #expect(r.status == .success, "pass \(n + 1) \(r.connectionKey): \(r.status) \(r.error ?? "")")
                #expect(r.failed == 0, "pass \(n + 1) \(r.connectionKey)")
                #expect(r.streams.allSatisfy { $0.error == nil }, "pass \(n + 1) \(r.connectionKey)")
            }
        }
        for r in passes[0] {
            #expect(r.inserted > 0, "first pass \(r.connectionKey) inserted nothing")
        }
        for r in passes[1] {
            #expect(r.inserted == 0, "second pass \(r.connectionKey) inserted \(r.inserted)")
            #expect(r.updated == 0, "second pass \(r.connectionKey) updated \(r.updated)")
        }
    }
}
