import Foundation
import Testing
import TradeSyncConfig
import TradeSyncCore
import TradeSyncSandbox
@testable import TradeSyncEngine
@testable import TradeSyncStore

/// `tradesync token create|list|revoke` as real processes over a real store: the token alone
/// on the last line, only its hash kept, an unknown contractor named with the deployment file.
@Suite(.serialized) struct TokenCommandTests {
    func run(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CrashRecoveryTests.binary)
        p.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return try await offPool {
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
        }
    }

    @Test func createListRevokeOverTheCommandLine() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CrashRecoveryTests.binary),
                     "build the executable first (swift build --build-tests)")
        let dir = try APIHarness.writeProject(sandboxPort: 9)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let deployment = dir + "/tradesync.yaml"

        let unknown = try await run(["token", "create", "--contractor", "demo-zzz", "-d", deployment])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no contractor 'demo-zzz' in \(deployment)"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("demo-a, demo-b"))
        #expect(try await run(["token", "create", "-d", deployment]).status == 64, "neither --contractor nor --admin")
        #expect(try await run(["token", "create", "--admin", "--contractor", "demo-a", "-d", deployment]).status == 64)

        let created = try await run(["token", "create", "--contractor", "demo-a", "--label", "office laptop", "-d", deployment])
        #expect(created.status == 0, "\(created.stderr)")
        let lines = created.stdout.split(separator: "\n").map(String.init)
        let token = try #require(lines.last)
        #expect(token.hasPrefix("tsk_"))
        let expectedLength = 4 + 16 + 1 + 43
        #expect(token.count == expectedLength, "prefix, 64-bit id, 256-bit secret: \(token)")
        #expect(token.wholeMatch(of: /tsk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/) != nil)
        let id = String(token.dropFirst(4).prefix(16))
        let admin = try await run(["token", "create", "--admin", "-d", deployment])
        let adminToken = try #require(admin.stdout.split(separator: "\n").last.map(String.init))
        #expect(adminToken != token)

        let listed = try await run(["token", "list", "-d", deployment])
        #expect(listed.status == 0)
        for part in [id, "demo-a", "office laptop"] { #expect(listed.stdout.contains(part), "\(part)") }
        #expect(listed.stdout.contains("(admin)"))
        let secret = String(token.suffix(43))
        #expect(!listed.stdout.contains(secret), "list shows no secret")

        // The store keeps a hash only: neither the token nor its secret part is in the file.
        let file = try Data(contentsOf: URL(fileURLWithPath: dir + "/store.sqlite"))
        #expect(file.range(of: Data(token.suffix(43).utf8)) == nil)
        #expect(file.range(of: Data(adminToken.suffix(43).utf8)) == nil)

        // The engine accepts it, then refuses it once revoked.
        let project = ProjectLoader.load(root: dir, deploymentFiles: ["tradesync.yaml"])
        let inputs = WorkspaceInputs(environment: APIHarness.environment(.init()))
        let before = try await Workspace.with(project: project, deployment: project.deployments[0], inputs: inputs) {
            try await $0.authenticate(bearer: token)
        }
        #expect(before == .contractor("demo-a", tokenId: id))

        let revoked = try await run(["token", "revoke", id, "-d", deployment])
        #expect(revoked.status == 0)
        #expect(try await run(["token", "revoke", "0123456789abcdef", "-d", deployment]).status == 1)
        let after = try await Workspace.with(project: project, deployment: project.deployments[0], inputs: inputs) {
            try await $0.authenticate(bearer: token)
        }
        #expect(after == nil)
        let relisted = try await run(["token", "list", "-d", deployment])
        let row = try #require(relisted.stdout.split(separator: "\n").first { $0.contains(id) })
        #expect(!row.hasSuffix("-"), "the revoked column is filled: \(row)")
    }

    /// The token role on both stores: insert, look up by id, revoke once, touch.
    @Test(arguments: StoreSuite.backends)
    func theTokenRoleOnBothStores(backend: Backend) async throws {
        try await withFreshStore(backend) { store in
            _ = try await store.migrate(model: testModel)
            #expect(try await store.appliedMigrations().contains { $0.version == 6 && $0.name == "API tokens" })
            let expected: [String] = ["id", "token_sha256", "contractor_id", "is_admin", "label", "created_at_micros",
                                      "last_used_at_micros", "revoked_at_micros"]
            let columns = try await store.columns(of: "tradesync_api_tokens")
            #expect(columns == expected)
            let a = APITokenRecord(id: "00000000000000aa", hash: String(repeating: "a", count: 64), contractorId: "demo-a", admin: false,
                                   label: "x", createdAt: 1_000)
            let b = APITokenRecord(id: "00000000000000bb", hash: String(repeating: "b", count: 64), contractorId: nil, admin: true,
                                   label: nil, createdAt: 2_000)
            try await store.insertAPIToken(a)
            try await store.insertAPIToken(b)
            #expect(try await store.apiToken(id: a.id) == a)
            #expect(try await store.apiTokens() == [a, b])
            // The hash is unique: a second row with it is refused.
            await #expect(throws: (any Error).self) {
                try await store.insertAPIToken(APITokenRecord(id: "00000000000000cc", hash: a.hash, contractorId: nil, admin: true,
                                                              label: nil, createdAt: 3))
            }
            try await store.touchAPIToken(id: a.id, at: 5_000)
            #expect(try await store.revokeAPIToken(id: a.id, at: 6_000))
            #expect(try await store.revokeAPIToken(id: a.id, at: 9_000), "revoking again is no error")
            #expect(try await store.apiToken(id: a.id)?.revokedAt == 6_000, "and keeps the first time")
            #expect(try await store.apiToken(id: a.id)?.lastUsedAt == 5_000)
            #expect(try await !store.revokeAPIToken(id: "nope", at: 1))
        }
    }

    @Test func tokenFormatChecks() {
        let (id, token) = APITokenFormat.make()
        #expect(APITokenFormat.id(of: token) == id)
        for bad in ["", "tsk_", "tsk_0123456789abcdef", "tsk_0123456789abcdef_", "tsk_0123456789ABCDEF_xyz", "Bearer tsk_x", "tsk-0123456789abcdef_x"] {
            #expect(APITokenFormat.id(of: bad) == nil, "\(bad)")
        }
        #expect(APITokenFormat.hash(token).count == 64)
        #expect(APITokenFormat.constantTimeEqual("abc", "abc"))
        #expect(!APITokenFormat.constantTimeEqual("abc", "abd"))
        #expect(!APITokenFormat.constantTimeEqual("abc", "abcd"))
        #expect(APITokenFormat.make().token != token)
    }
}
