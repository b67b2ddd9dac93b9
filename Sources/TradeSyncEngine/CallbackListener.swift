import Foundation
import Hummingbird
import Logging

/// The loopback end of `connect`: listens at the redirect URI, answers the browser, and hands
/// back the query of the first request to the redirect path.
public enum CallbackListener {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    enum Event: Sendable {
        case ready
        case callback([String: String])
        case failed(String)
        case timedOut
    }

    /// `onReady` runs once connections are accepted (print the URL then, not before).
    public static func receive(redirectURI: String, timeout: Duration,
                               onReady: @escaping @Sendable () async throws -> Void) async throws -> [String: String] {
        guard let url = URLComponents(string: redirectURI), url.scheme == "http", let host = url.host,
              ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host), let port = url.port
        else {
            throw Failure(description: "redirect URI \(redirectURI): expected http://127.0.0.1:PORT/PATH (a loopback address this command can listen on)")
        }
        let path = url.path.isEmpty ? "/" : url.path
        let (events, continuation) = AsyncStream<Event>.makeStream()
        let router = Router()
        router.get(RouterPath(path)) { request, _ -> String in
            var query: [String: String] = [:]
            for p in request.uri.queryParameters { query[String(p.key)] = String(p.value) }
            continuation.yield(.callback(query))
            return query["error"] == nil
                ? "tradesync: authorization received. You can close this window."
                : "tradesync: the authorization was not granted. You can close this window."
        }
        var app = Application(
            router: router, configuration: .init(address: .hostname(host == "localhost" ? "127.0.0.1" : host, port: port), serverName: nil),
            onServerRunning: { _ in continuation.yield(.ready) })
        app.logger.logLevel = .critical
        let server = Task { [app] in
            do { try await app.run() } catch { continuation.yield(.failed("cannot listen on \(host):\(port): \(error)")) }
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            continuation.yield(.timedOut)
        }
        defer {
            timer.cancel()
            server.cancel()
        }
        for await event in events {
            switch event {
            case .ready:
                try await onReady()
            case .callback(let query):
                // Let the browser's answer go out before the server stops.
                try? await Task.sleep(for: .milliseconds(100))
                return query
            case .failed(let why):
                throw Failure(description: why)
            case .timedOut:
                throw ConnectError.timedOut(seconds: Int(timeout.components.seconds))
            }
        }
        throw Failure(description: "the callback listener stopped")
    }
}
