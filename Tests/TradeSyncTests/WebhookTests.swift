import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import Testing
import TradeSyncConfig
import TradeSyncCore
import TradeSyncEngine
import TradeSyncSandbox
@testable import TradeSyncCLI
import TradeSyncServer
import TradeSyncSources

/// A workspace on the example deployment with a fresh SQLite store, migrated; the server's
/// application on it, served on a loopback port for the body.
enum ServerFixture {
    static let quiet: Logger = {
        var l = Logger(label: "tradesync.test")
        l.logLevel = .critical
        return l
    }()

    static func withWorkspace<T: Sendable>(environment: [String: String], movedTo sandbox: String? = nil,
                                           migrated: Bool = true, logger: Logger = quiet,
                                           _ body: (Workspace) async throws -> T) async throws -> T {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
        let deployment = try #require(project.deployments.first { $0.file.hasSuffix("austin-hvac/tradesync.yaml") })
        let inputs = WorkspaceInputs(
            storeOverride: .sqlite(path: dir + "/tradesync.sqlite"), environment: { environment[$0] },
            movedOrigins: sandbox.map { OriginMoves([(from: "http://127.0.0.1:8099", to: $0)]) } ?? OriginMoves(),
            logger: logger)
        return try await Workspace.with(project: project, deployment: deployment, inputs: inputs) { workspace in
            if migrated { _ = try await workspace.migrate() }
            return try await body(workspace)
        }
    }

    /// The same on a backend's fresh store (PostgreSQL: a scratch database; skipped outside CI
    /// when no server is configured, as the store suites are).
    static func withWorkspace(_ backend: Backend, environment: [String: String],
                              _ body: (Workspace) async throws -> Void) async throws {
        try await withStoreLocation(backend) { text in
            let location = try #require(StoreLocation(parsing: text, relativeTo: ""))
            let project = ProjectLoader.load(root: Repo.root, environment: { _ in "set" })
            let deployment = try #require(project.deployments.first { $0.file.hasSuffix("austin-hvac/tradesync.yaml") })
            let inputs = WorkspaceInputs(storeOverride: location, environment: { environment[$0] }, logger: quiet)
            try await Workspace.with(project: project, deployment: deployment, inputs: inputs) { workspace in
                _ = try await workspace.migrate()
                try await body(workspace)
            }
        }
    }

    /// Serves the router over real HTTP on a loopback port; `body` gets the base URL. With
    /// `metrics`, the server's tasks record into it (a task-local factory: no process-wide
    /// bootstrap, so parallel tests keep their own counts) and `/metrics` shows it.
    static func serve<T: Sendable>(_ workspace: Workspace, settings: ServerSettings = ServerSettings(),
                                   metrics: ServerMetrics? = nil,
                                   _ body: @escaping @Sendable (String) async throws -> T) async throws -> T {
        let app = Application(router: ServerApplication.router(workspace: workspace, settings: settings, logger: quiet,
                                                               metrics: metrics),
                              logger: quiet)
        guard let metrics else {
            return try await app.test(.live) { client in try await body("http://localhost:\(try #require(client.port))") }
        }
        return try await withMetricsFactory(metrics.factory) {
            try await app.test(.live) { client in try await body("http://localhost:\(try #require(client.port))") }
        }
    }

    static func post(_ url: String, body: [UInt8], headers: [(String, String)] = [], chunked: Bool = false)
        async throws -> (status: Int, body: String)
    {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if chunked {
            // No Content-Length: the server finds the size only by reading.
            let chunks = stride(from: 0, to: body.count, by: 16 * 1024).map { ByteBuffer(bytes: body[$0..<min($0 + 16 * 1024, body.count)]) }
            request.body = .stream(chunks.async, length: .unknown)
        } else {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: text))
    }

    static func get(_ url: String) async throws -> (status: Int, body: String, contentType: String?) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        let text = try await response.body.collect(upTo: 1 << 22)
        return (Int(response.status.code), String(buffer: text), response.headers.first(name: "Content-Type"))
    }
}

extension Array where Element: Sendable {
    /// The elements as an async sequence (a streamed request body).
    var async: AsyncStream<Element> {
        AsyncStream { continuation in
            for e in self { continuation.yield(e) }
            continuation.finish()
        }
    }
}

@Suite struct WebhookTests {
    static let secret = "indeed-apply-test-secret"
    static let environment = ["INDEED_APPLY_SECRET": secret]

    func indeed(_ workspace: Workspace) async throws -> ConnectionRecord {
        try #require(try await workspace.connections().first { $0.connectionKey == "austin-indeed" })
    }

    @Test func theSignatureIsBase64HMACSHA1OfTheRawBodyComparedWhole() {
        // RFC 2202-style vector: HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog").
        let body = Array("The quick brown fox jumps over the lazy dog".utf8)
        let algorithm = SignatureAlgorithm.hmacSHA1Base64
        #expect(algorithm.sign(body, secret: "key") == "3nybhbi3iqa8ino29wqQcBydtNk=")
        #expect(IndeedApplySender.signature(body, secret: "key") == "3nybhbi3iqa8ino29wqQcBydtNk=")
        #expect(algorithm.verify(body, signature: "3nybhbi3iqa8ino29wqQcBydtNk=", secret: "key"))
        #expect(!algorithm.verify(body, signature: "3nybhbi3iqa8ino29wqQcBydtNA=", secret: "key"))
        #expect(!algorithm.verify(body, signature: "3nybhbi3iqa8ino29wqQcBydtNk=", secret: "kex"))
        #expect(!algorithm.verify(body + [0x20], signature: "3nybhbi3iqa8ino29wqQcBydtNk=", secret: "key"))
        // A prefix of the right MAC is not the MAC.
        #expect(!algorithm.verify(body, signature: "3nybhbi3iqa8ino2", secret: "key"))
        #expect(!algorithm.verify(body, signature: "not base64 at all!", secret: "key"))
        #expect(!algorithm.verify(body, signature: "", secret: "key"))
    }

    @Test(arguments: Backend.allCases)
    func signedApplicationsAreStoredOnceAndAReplayChangesNothing(backend: Backend) async throws {
        try await ServerFixture.withWorkspace(backend, environment: Self.environment) { workspace in
            let connection = try await indeed(workspace)
            try await ServerFixture.serve(workspace) { base in
                let url = base + "/webhooks/indeed/austin-indeed"
                let first = try await IndeedApplySender.send(to: url, secret: Self.secret, count: 6)
                #expect(first.count == 7)
                for d in first where d.signedCorrectly {
                    #expect(d.status == 200, "\(d.responseBody)")
                    let answer = try JSONValue.parse(d.responseBody)
                    #expect(answer["inserted"] == .integer(1))
                    #expect(answer["id"] == .string(d.applicationId))
                }
                let bad = try #require(first.last)
                #expect(!bad.signedCorrectly && bad.status == 401)

                var rows = try await workspace.storedRows(entity: "applicants", connection: connection)
                #expect(rows.count == 6)
                #expect(rows[bad.applicationId] == nil, "a delivery with a bad signature was stored")
                let maria = try #require(rows[IndeedApplySender.application(0)["id"]?.stringValue ?? ""])
                #expect(maria.values["full_name"] == "Maria Garcia")
                #expect(maria.values["platform"] == "indeed")
                #expect(maria.values["job_posting_external_id"] == "hvac-tech-001")
                #expect(maria.values["job_company"] == "Austin Comfort HVAC")
                #expect(maria.values["resume_file_name"] == "Maria_Garcia_resume.pdf")
                #expect(maria.values["applied_at"]??.hasPrefix("2025-11-24") == true, "\(String(describing: maria.values["applied_at"]))")
                #expect(maria.values["verified"] != nil)
                // Fields Indeed left out are empty, not a failure (application 2 has no phone).
                let third = try #require(rows[IndeedApplySender.application(2)["id"]?.stringValue ?? ""])
                #expect(third.values["phone"] == .some(nil))

                // Indeed delivers again (a retry): same ids, nothing inserted, nothing updated.
                let replay = try await IndeedApplySender.send(to: url, secret: Self.secret, count: 6, badSignature: false)
                for d in replay {
                    #expect(d.status == 200)
                    let answer = try JSONValue.parse(d.responseBody)
                    #expect(answer["inserted"] == .integer(0))
                    #expect(answer["updated"] == .integer(0))
                    #expect(answer["unchanged"] == .integer(1))
                }
                rows = try await workspace.storedRows(entity: "applicants", connection: connection)
                #expect(rows.count == 6)

                // Each good delivery is a webhook run in the sync log; the refused one left none.
                let runs = try await workspace.runs(connectionId: connection.id, limit: 100)
                #expect(runs.count == 12)
                #expect(runs.allSatisfy { $0.syncType == "webhook" && $0.status == .success && $0.entityType == "applications" })
                #expect(runs.map(\.inserted).reduce(0, +) == 6)
                #expect(runs.map(\.unchanged).reduce(0, +) == 6)
                #expect(runs.map(\.updated).reduce(0, +) == 0)
            }
        }
    }

    /// A real application carries the resume file in the body: a 3 MB PDF is 4 MB of base64,
    /// four times the API's body limit. The default webhook limit takes it.
    @Test func anApplicationWithAResumeOfSeveralMegabytesIsTaken() async throws {
        try await ServerFixture.withWorkspace(environment: Self.environment) { workspace in
            let connection = try await indeed(workspace)
            try await ServerFixture.serve(workspace) { base in
                var application = IndeedApplySender.application(5)
                let pdf = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
                if case .object(var o) = application, case .object(var applicant)? = o["applicant"] {
                    applicant["resume"] = .object(JSONObject([("file", .object(JSONObject([
                        ("contentType", "application/pdf"), ("fileName", "cv.pdf"), ("data", .string(pdf.base64EncodedString())),
                    ])))]))
                    o["applicant"] = .object(applicant)
                    application = .object(o)
                }
                let body = Array(application.jsonText.utf8)
                #expect(body.count > 4 << 20)
                let answer = try await ServerFixture.post(
                    base + "/webhooks/indeed/austin-indeed", body: body,
                    headers: [("X-Indeed-Signature", IndeedApplySender.signature(body, secret: Self.secret))])
                #expect(answer.status == 200, "\(answer.body.prefix(300))")
            }
            let rows = try await workspace.storedRows(entity: "applicants", connection: connection)
            #expect(rows.count == 1)
            #expect(rows.first?.value.values["resume_file_name"] == "cv.pdf")
        }
    }

    @Test func badOrMissingSignaturesAre401AndStoreNothing() async throws {
        try await ServerFixture.withWorkspace(environment: Self.environment) { workspace in
            let connection = try await indeed(workspace)
            try await ServerFixture.serve(workspace) { base in
                let url = base + "/webhooks/indeed/austin-indeed"
                let body = Array(IndeedApplySender.application(0).jsonText.utf8)
                let good = IndeedApplySender.signature(body, secret: Self.secret)
                let cases: [(String, [(String, String)])] = [
                    ("missing", []),
                    ("empty", [("X-Indeed-Signature", "")]),
                    ("wrong secret", [("X-Indeed-Signature", IndeedApplySender.signature(body, secret: "other"))]),
                    ("another body's", [("X-Indeed-Signature", IndeedApplySender.signature(body + [0x0a], secret: Self.secret))]),
                    ("hex instead of base64", [("X-Indeed-Signature", Data(base64Encoded: good)!.map { String(format: "%02x", $0) }.joined())]),
                    ("another header", [("X-Hub-Signature", good)]),
                ]
                for (name, headers) in cases {
                    let answer = try await ServerFixture.post(url, body: body, headers: headers)
                    #expect(answer.status == 401, "\(name): \(answer.body)")
                }
                // The header's name is case-insensitive, as HTTP says.
                let lower = try await ServerFixture.post(url, body: body, headers: [("x-indeed-signature", good)])
                #expect(lower.status == 200, "\(lower.body)")
            }
            let rows = try await workspace.storedRows(entity: "applicants", connection: connection)
            #expect(rows.count == 1)
            #expect(try await workspace.runs(connectionId: connection.id, limit: 100).count == 1)
        }
    }

    @Test func unknownConnectionsOversizeBodiesAndNonJSONAreRefusedWithoutStoring() async throws {
        try await ServerFixture.withWorkspace(environment: Self.environment) { workspace in
            let connection = try await indeed(workspace)
            let limit = 64 * 1024
            let metrics = ServerMetrics()
            try await ServerFixture.serve(workspace, settings: ServerSettings(maxWebhookBodyBytes: limit), metrics: metrics) { base in
                let url = base + "/webhooks/indeed/austin-indeed"
                let small = Array(IndeedApplySender.application(1).jsonText.utf8)
                let signed = [("X-Indeed-Signature", IndeedApplySender.signature(small, secret: Self.secret))]
                #expect(try await ServerFixture.post(base + "/webhooks/indeed/nobody", body: small, headers: signed).status == 404)
                // A connection whose integration takes no webhooks, and a provider/connection mismatch.
                #expect(try await ServerFixture.post(base + "/webhooks/yelp/austin-yelp", body: small, headers: signed).status == 404)
                #expect(try await ServerFixture.post(base + "/webhooks/yelp/austin-indeed", body: small, headers: signed).status == 404)
                #expect(try await ServerFixture.post(base + "/webhooks/x-\(UUID().uuidString)/c", body: small, headers: signed).status == 404)

                // Over the limit, properly signed: refused by size before anything else.
                var big = IndeedApplySender.application(3)
                if case .object(var o) = big {
                    o["padding"] = .string(String(repeating: "x", count: 4 * limit))
                    big = .object(o)
                }
                let bigBody = Array(big.jsonText.utf8)
                let bigSigned = [("X-Indeed-Signature", IndeedApplySender.signature(bigBody, secret: Self.secret))]
                let sized = try await ServerFixture.post(url, body: bigBody, headers: bigSigned)
                #expect(sized.status == 413, "\(sized.body)")
                let chunked = try await ServerFixture.post(url, body: bigBody, headers: bigSigned, chunked: true)
                #expect(chunked.status == 413, "\(chunked.body)")

                // Signed but not JSON.
                let text = Array("name=Maria&email=m@example.com".utf8)
                let notJSON = try await ServerFixture.post(
                    url, body: text, headers: [("X-Indeed-Signature", IndeedApplySender.signature(text, secret: Self.secret))])
                #expect(notJSON.status == 400, "\(notJSON.body)")
                let array = Array("[1,2]".utf8)
                #expect(try await ServerFixture.post(
                    url, body: array, headers: [("X-Indeed-Signature", IndeedApplySender.signature(array, secret: Self.secret))]).status == 400)

                // The server still answers after all that, and the small one goes in.
                #expect(try await ServerFixture.post(url, body: small, headers: signed).status == 200)
            }
            // Every refusal is counted; a provider no integration declares is labelled `unknown`.
            let samples = PromSample.parse(metrics.text())
            let deliveries = "tradesync_webhook_deliveries_total"
            #expect(samples.total(deliveries, ["provider": "indeed", "outcome": "unknown_connection"]) == 1)
            #expect(samples.total(deliveries, ["provider": "yelp", "outcome": "unknown_connection"]) == 2)
            #expect(samples.total(deliveries, ["provider": "unknown", "outcome": "unknown_connection"]) == 1)
            #expect(samples.total(deliveries, ["provider": "indeed", "outcome": "too_large"]) == 2)
            #expect(samples.total(deliveries, ["provider": "indeed", "outcome": "malformed"]) == 2)
            #expect(samples.total(deliveries, ["provider": "indeed", "outcome": "stored"]) == 1)
            #expect(Set(samples.filter { $0.name == deliveries }.compactMap { $0.labels["provider"] }) == ["indeed", "yelp", "unknown"])
            let rows = try await workspace.storedRows(entity: "applicants", connection: connection)
            #expect(rows.count == 1)
            #expect(try await workspace.runs(connectionId: connection.id, limit: 100).count == 1)
        }
    }

    /// Indeed retrying while the first delivery is still being written: the same application
    /// arrives several times at once. One row whatever happens; a delivery that lost a race may
    /// answer 500 (Indeed sends it again), never a second row.
    @Test(arguments: Backend.allCases)
    func concurrentDuplicatesLeaveOneRow(backend: Backend) async throws {
        try await ServerFixture.withWorkspace(backend, environment: Self.environment) { workspace in
            let connection = try await indeed(workspace)
            try await ServerFixture.serve(workspace) { base in
                let body = Array(IndeedApplySender.application(5).jsonText.utf8)
                let headers = [("X-Indeed-Signature", IndeedApplySender.signature(body, secret: Self.secret))]
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<6 {
                        group.addTask { try await ServerFixture.post(base + "/webhooks/indeed/austin-indeed", body: body, headers: headers).status }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.contains(200))
                #expect(statuses.allSatisfy { $0 == 200 || $0 == 500 }, "\(statuses)")
                // A later retry is answered 200, unchanged.
                let again = try await ServerFixture.post(base + "/webhooks/indeed/austin-indeed", body: body, headers: headers)
                #expect(again.status == 200 && again.body.contains("\"unchanged\":1"), "\(again.body)")
            }
            #expect(try await workspace.storedRows(entity: "applicants", connection: connection).count == 1)
        }
    }

    /// `tradesync sandbox --send-indeed-to URL --indeed-secret S` plays Indeed against a server.
    @Test func theSandboxCommandSendsSignedApplications() async throws {
        try await ServerFixture.withWorkspace(environment: Self.environment) { workspace in
            let connection = try await indeed(workspace)
            try await ServerFixture.serve(workspace) { base in
                var command = try TradeSyncCommand.parseAsRoot([
                    "sandbox", "--send-indeed-to", base + "/webhooks/indeed/austin-indeed", "--indeed-secret", Self.secret,
                    "--applications", "4",
                ])
                var sandbox = try #require(command as? any AsyncParsableCommand)
                try await sandbox.run()
                command = try TradeSyncCommand.parseAsRoot(["sandbox", "--send-indeed-to", base + "/webhooks/indeed/austin-indeed"])
                var noSecret = try #require(command as? any AsyncParsableCommand)
                await #expect(throws: (any Error).self) { try await noSecret.run() }
            }
            #expect(try await workspace.storedRows(entity: "applicants", connection: connection).count == 4)
        }
    }

    @Test func aSecretThatCannotBeResolvedIs500AndNothingIsStored() async throws {
        try await ServerFixture.withWorkspace(environment: [:]) { workspace in
            let connection = try await indeed(workspace)
            try await ServerFixture.serve(workspace) { base in
                let body = Array(IndeedApplySender.application(0).jsonText.utf8)
                let answer = try await ServerFixture.post(
                    base + "/webhooks/indeed/austin-indeed", body: body,
                    headers: [("X-Indeed-Signature", IndeedApplySender.signature(body, secret: Self.secret))])
                #expect(answer.status == 500)
                #expect(!answer.body.contains("INDEED_APPLY_SECRET"))
            }
            #expect(try await workspace.storedRows(entity: "applicants", connection: connection).isEmpty)
        }
    }
}
