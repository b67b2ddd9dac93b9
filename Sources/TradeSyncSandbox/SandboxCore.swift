import Foundation
import Hummingbird
import NIOCore

/// Dispatch by provider prefix, request counting and fault injection; the providers'
/// handlers do the rest.
final class SandboxCore: Sendable {
    let state: Locked<SandboxState>
    let serviceTitan: ServiceTitanSandbox
    let google: GoogleBusinessProfileSandbox

    init(configuration: SandboxConfiguration) {
        let state = Locked(SandboxState(seed: configuration.seed))
        self.state = state
        serviceTitan = ServiceTitanSandbox(
            configuration: configuration.serviceTitan,
            data: ServiceTitanData(configuration: configuration.serviceTitan, seed: configuration.seed),
            state: state)
        google = GoogleBusinessProfileSandbox(
            configuration: configuration.google,
            data: GoogleData(configuration: configuration.google, seed: configuration.seed),
            state: state)
    }

    func respond(to request: Request) async throws -> Response {
        let rawPath = request.uri.path
        let path = rawPath.removingPercentEncoding ?? rawPath
        let fault = state.withLock { s -> SandboxFault? in
            s.requestCount += 1
            return s.faults.fault(forPath: path)
        }
        let provider: SandboxProvider? =
            path.hasPrefix("/servicetitan/") ? .serviceTitan : path.hasPrefix("/google/") ? .google : nil
        switch fault {
        case .tooManyRequests(let seconds):
            return Self.tooManyRequests(provider, retryAfter: seconds)
        case .serverError:
            return Self.serverError(provider)
        case .slow(let milliseconds):
            try await Task.sleep(nanoseconds: UInt64(max(0, milliseconds)) * 1_000_000)
        case .expireTokens:
            state.withLock { $0.tokens.expireAllAccessTokens() }
        case .echoRequest:
            return await Self.echo(request, provider)
        case .malformedJSON, nil:
            break
        }
        let query = FormFields(request.uri.query)
        let response: Response
        switch provider {
        case .serviceTitan:
            response = try await serviceTitan.handle(request, path: String(path.dropFirst("/servicetitan".count)), query: query)
        case .google:
            response = try await google.handle(request, path: String(path.dropFirst("/google".count)), query: query)
        case nil:
            response = Reply.json(.notFound, text: #"{"error":"not found: the sandbox serves /servicetitan/... and /google/..."}"#)
        }
        if fault == .malformedJSON { return await Self.truncated(response) }
        return response
    }

    // MARK: faults

    static func tooManyRequests(_ provider: SandboxProvider?, retryAfter: Int) -> Response {
        let headers = [("Retry-After", String(max(0, retryAfter)))]
        if provider == .google {
            return GoogleBusinessProfileSandbox.error(
                429, "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service 'mybusiness.googleapis.com'.",
                headers: headers)
        }
        return ServiceTitanSandbox.problem(
            .tooManyRequests, title: "Too Many Requests", type: "https://tools.ietf.org/html/rfc6585#section-4",
            errors: ["": ["Rate limit is exceeded. Try again in \(retryAfter) seconds."]], headers: headers)
    }

    static func serverError(_ provider: SandboxProvider?) -> Response {
        if provider == .google {
            return GoogleBusinessProfileSandbox.error(500, "INTERNAL", "Internal error encountered.")
        }
        return ServiceTitanSandbox.problem(.internalServerError, title: "An error occurred while processing your request.", errors: [:])
    }

    static func echo(_ request: Request, _ provider: SandboxProvider?) async -> Response {
        var text = "\(request.method) \(request.uri)"
        for field in request.headers { text += " | \(field.name): \(field.value)" }
        var body = request.body
        if let bytes = try? await body.collect(upTo: 4096) { text += " | body: " + String(buffer: bytes) }
        let message = "Invalid request: " + text
        if provider == .google {
            return GoogleBusinessProfileSandbox.error(400, "INVALID_ARGUMENT", message)
        }
        return ServiceTitanSandbox.problem(.badRequest, title: message, errors: ["request": [message]])
    }

    /// 200 with the body cut in half: the response a dropped connection or a broken proxy gives.
    static func truncated(_ response: Response) async -> Response {
        var body = ByteBuffer(string: #"{"data":[{"id":2147483648,"summary":"trunc"#)
        if response.status == .ok {
            let collector = BodyCollector()
            if (try? await response.body.write(collector)) != nil, let whole = collector.collected, whole.readableBytes > 1 {
                body = whole.getSlice(at: whole.readerIndex, length: whole.readableBytes / 2) ?? body
            }
        }
        return Reply.bytes(.ok, body, contentType: "application/json; charset=utf-8", headers: [])
    }

    // MARK: ServiceTitan changes

    func touchJobs(count: Int) -> [Int64] {
        let data = serviceTitan.data
        return state.withLock { s in
            let total = data.jobCount + s.jobs.added
            let n = min(max(0, count), total)
            guard n > 0 else { return [] }
            var chosen: [Int] = []
            var seen = Set<Int>()
            while chosen.count < n {
                let i = s.touchRandom.below(total)
                if seen.insert(i).inserted { chosen.append(i) }
            }
            var batch: [(index: Int, id: Int64, change: JobChange)] = []
            for i in chosen {
                let modified = s.nextChangeTime()
                let previous = s.jobs.changes[i]
                let current = data.jobFacts(i, change: previous)
                let next = current.status.next
                batch.append((i, data.id(.jobs, i), JobChange(
                    modified: modified,
                    revision: (previous?.revision ?? 0) + 1,
                    status: next,
                    completed: next == .completed ? (current.completed ?? modified) : nil,
                    created: previous?.created)))
            }
            s.jobs.apply(batch)
            return chosen.map { data.id(.jobs, $0) }
        }
    }

    func addJobs(count: Int) -> [Int64] {
        let data = serviceTitan.data
        return state.withLock { s in
            let n = max(0, count)
            var batch: [(index: Int, id: Int64, change: JobChange)] = []
            for k in 0..<n {
                let i = data.jobCount + s.jobs.added + k
                let now = s.nextChangeTime()
                batch.append((i, data.id(.jobs, i), JobChange(modified: now, revision: 0, status: .scheduled, completed: nil, created: now)))
            }
            s.jobs.added += n
            s.jobs.apply(batch)
            return batch.map(\.id)
        }
    }
}

/// Collects a response body (for the malformed-JSON fault).
private final class BodyCollector: ResponseBodyWriter, @unchecked Sendable {
    var collected: ByteBuffer?

    func write(_ buffer: ByteBuffer) async throws {
        if collected == nil { collected = buffer } else { collected?.writeImmutableBuffer(buffer) }
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
