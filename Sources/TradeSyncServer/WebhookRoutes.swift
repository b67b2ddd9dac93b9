import Foundation
import Hummingbird
import Logging
import TradeSyncCore
import TradeSyncEngine

/// Signed provider webhooks: `POST /webhooks/{provider}/{connection}` (Indeed Apply posts to
/// `/webhooks/indeed/<connection id>`). The provider's YAML says which header carries the
/// signature and how it is made (`auth.kind: webhook_signature`); the engine checks it and
/// stores the delivery.
///
/// 404 unknown connection (or one whose integration takes no webhooks), 413 body over
/// `ServerSettings.maxWebhookBodyBytes` (refused from Content-Length, else as soon as the read passes
/// the limit: the rest is never buffered), 401 bad or missing signature, 400 signed but not a
/// JSON object; nothing is stored for any of them. 200 with what was done otherwise, including
/// a replay (nothing inserted, nothing updated) and a record that failed mapping (kept for a
/// fix, as a pull run keeps one: another delivery would not map better).
struct WebhookRoutes: Sendable {
    let workspace: Workspace
    let settings: ServerSettings
    let logger: Logger

    func register(on router: Router<ServerRequestContext>) {
        router.post("/webhooks/:provider/:connection") { request, context -> Response in
            let provider = try context.parameters.require("provider")
            let connection = try context.parameters.require("connection")
            return await receive(request, provider: provider, connection: connection)
        }
    }

    func receive(_ request: Request, provider: String, connection: String) async -> Response {
        let limit = settings.maxWebhookBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            return tooLarge(limit, provider: provider)
        }
        let body: [UInt8]
        do {
            let buffer = try await request.body.collect(upTo: limit)
            body = Array(buffer.readableBytesView)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            // A chunked body that grew past the limit.
            return tooLarge(limit, provider: provider)
        } catch {
            return Self.json(.badRequest, ["error": "the body could not be read"])
        }
        let outcome: WebhookOutcome
        do {
            outcome = try await workspace.receiveWebhook(provider: provider, connection: connection, body: body) { name in
                // Header names are case-insensitive.
                let wanted = name.lowercased()
                return request.headers.first { $0.name.canonicalName == wanted }?.value
            }
        } catch {
            // A secret that cannot be resolved or a store that fails: the sender retries later.
            // The reason is logged, not answered (the sender is outside).
            logger.error("webhook failed", metadata: ["provider": "\(provider)", "connection": "\(connection)",
                                                      "error": "\(error)"])
            return Self.json(.internalServerError, ["error": "the delivery could not be stored"])
        }
        switch outcome {
        case .unknownConnection:
            return Self.json(.notFound, ["error": .string("no webhook connection '\(connection)' for '\(provider)'")])
        case .badSignature:
            return Self.json(.unauthorized, ["error": "bad or missing signature"])
        case .malformed(let why):
            return Self.json(.badRequest, ["error": .string(why)])
        case .accepted(let receipt):
            var body: [(key: String, value: JSONValue)] = [
                ("id", .string(receipt.externalId)), ("run_id", .string(receipt.runId)),
                ("inserted", .integer(Int64(receipt.inserted))), ("updated", .integer(Int64(receipt.updated))),
                ("unchanged", .integer(Int64(receipt.unchanged))),
            ]
            if let failure = receipt.failure { body.append(("failed", .string(failure))) }
            return Self.json(.ok, JSONValue.object(JSONObject(body)))
        }
    }

    /// Refused before the engine sees it, so counted here, as the engine counts the others.
    func tooLarge(_ limit: Int, provider: String) -> Response {
        workspace.webhookTooLarge(provider: provider)
        logger.warning("webhook refused: body too large", metadata: ["provider": "\(provider)", "limit": "\(limit)"])
        return Self.json(.contentTooLarge, ["error": .string("the body is larger than \(limit) bytes")])
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: value.jsonText)))
    }
}
