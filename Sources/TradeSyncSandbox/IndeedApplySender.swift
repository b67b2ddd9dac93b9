import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
public import TradeSyncCore

/// The sandbox's Indeed Apply: Indeed has no API to pull applicants, it POSTs each application
/// to the employer's `postUrl`, signed with `X-Indeed-Signature` = base64(HMAC-SHA1(the Indeed
/// Apply secret, raw body)). This sender plays Indeed: it POSTs sample applications in Indeed's
/// payload shape (docs.indeed.com "Application data"; WIRE-FACTS §5), signed with a secret, to a
/// URL such as `http://127.0.0.1:8080/webhooks/indeed/austin-indeed`, and one more with a
/// signature made with the wrong secret, which a receiver must refuse (401, nothing stored).
public enum IndeedApplySender {
    public static let signatureHeader = "X-Indeed-Signature"

    public struct Delivery: Sendable {
        /// The application's `id` (what a receiver de-duplicates on).
        public var applicationId: String
        /// False for the delivery signed with the wrong secret.
        public var signedCorrectly: Bool
        public var status: Int
        public var responseBody: String
    }

    /// base64(HMAC-SHA1(secret, body)): Indeed's signature.
    public static func signature(_ body: [UInt8], secret: String) -> String {
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// The `index`th sample application (deterministic). Indeed leaves fields out when the
    /// applicant did not give them, so every third one has no phone and no screener answers.
    public static func application(_ index: Int) -> JSONValue {
        let first = ["Maria", "James", "Aisha", "Luis", "Chen", "Olivia", "Dmitri", "Grace"][index % 8]
        let last = ["Garcia", "Okafor", "Nguyen", "Smith", "Kowalski", "Haddad", "Brown", "Ito"][(index / 8) % 8]
        let digest = SHA256.hash(data: Data("indeed-apply-\(index)".utf8))
        // Indeed's ids are 64 hex characters.
        let id = digest.map { String(format: "%02x", $0) }.joined()
        let jobs: [(String, String)] = [("hvac-tech-001", "HVAC Service Technician"), ("hvac-install-002", "HVAC Installer"),
                                        ("dispatch-003", "Dispatcher")]
        let job = jobs[index % jobs.count]
        var applicant: [(key: String, value: JSONValue)] = [
            ("fullName", .string("\(first) \(last)")), ("firstName", .string(first)), ("lastName", .string(last)),
            ("email", .string("\(first.lowercased()).\(last.lowercased())\(index)@example.com")),
            ("verified", .bool(index % 2 == 0)),
            ("resume", .object(JSONObject([("file", .object(JSONObject([
                ("contentType", "application/pdf"), ("fileName", .string("\(first)_\(last)_resume.pdf")),
                ("data", .string(Data("%PDF-1.4 sample resume \(index)".utf8).base64EncodedString())),
            ])))]))),
        ]
        if index % 3 != 2 { applicant.append(("phoneNumber", .string("+1 512 555 \(String(format: "%04d", 1000 + index))"))) }
        var fields: [(key: String, value: JSONValue)] = [
            ("id", .string(id)),
            ("appliedOnMillis", .integer(1_764_000_000_000 + Int64(index) * 3_600_000)),
            ("locale", "en_US"),
            ("job", .object(JSONObject([
                ("jobId", .string(job.0)), ("jobKey", .string(String(id.prefix(16)))), ("jobTitle", .string(job.1)),
                ("jobCompany", "Austin Comfort HVAC"), ("jobLocation", "Austin, TX"),
                ("jobUrl", .string("https://example.com/careers/\(job.0)")),
            ]))),
            ("applicant", .object(JSONObject(applicant))),
            ("analytics", .object(JSONObject([("ip", .string("203.0.113.\(index % 250 + 1)"))]))),
        ]
        if index % 3 != 2 {
            fields.append(("questionsAndAnswers", .object(JSONObject([
                ("questions", .array([.object(JSONObject([("id", "q1"), ("question", "Do you hold an EPA 608 certification?")]))])),
                ("answers", .array([.object(JSONObject([("id", "q1"), ("value", index % 2 == 0 ? "Yes" : "No")]))])),
            ]))))
        }
        return .object(JSONObject(fields))
    }

    /// POSTs applications `0..<count`, each signed with `secret`, then (when `badSignature`) one
    /// more, application `count`, signed with a different secret. Returns each delivery's answer.
    public static func send(to url: String, secret: String, count: Int, badSignature: Bool = true) async throws
        -> [Delivery]
    {
        let client = HTTPClient.shared
        var out: [Delivery] = []
        for index in 0..<(count + (badSignature ? 1 : 0)) {
            let good = index < count
            let payload = application(index)
            let body = Array(payload.jsonText.utf8)
            let signed = signature(body, secret: good ? secret : secret + "-wrong")
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: signatureHeader, value: signed)
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .seconds(30))
            let answer = try await response.body.collect(upTo: 1 << 20)
            out.append(Delivery(applicationId: payload["id"]?.stringValue ?? "", signedCorrectly: good,
                                status: Int(response.status.code), responseBody: String(buffer: answer)))
        }
        return out
    }
}
