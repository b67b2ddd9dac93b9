import Foundation
import Hummingbird
import NIOCore

/// Dispatch by provider prefix, request counting and fault injection; the providers'
/// handlers do the rest.
final class SandboxCore: Sendable {
    let state: Locked<SandboxState>
    let serviceTitan: ServiceTitanSandbox
    let google: GoogleBusinessProfileSandbox
    let jobber: JobberSandbox
    let quickbooks: QuickBooksSandbox
    let yelp: YelpSandbox
    let serpapi: SerpApiSandbox

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
        jobber = JobberSandbox(
            configuration: configuration.jobber,
            data: JobberData(configuration: configuration.jobber, seed: configuration.seed),
            state: state)
        quickbooks = QuickBooksSandbox(
            configuration: configuration.quickbooks,
            data: QuickBooksData(configuration: configuration.quickbooks, seed: configuration.seed),
            state: state)
        yelp = YelpSandbox(
            configuration: configuration.yelp, data: YelpData(configuration: configuration.yelp, seed: configuration.seed), state: state)
        // SerpApi's idea of the contractor's listing is the Google sandbox's first location, so
        // the rank snapshot and the Business Profile name the same place_id.
        let own = google.data.locations.first.map { (title: $0.title, placeId: $0.placeId, street: $0.street, city: $0.city.0) }
        serpapi = SerpApiSandbox(
            configuration: configuration.serpapi,
            data: SerpApiData(configuration: configuration.serpapi, seed: configuration.seed, own: own),
            state: state)
    }

    func respond(to request: Request) async throws -> Response {
        let rawPath = request.uri.path
        let path = rawPath.removingPercentEncoding ?? rawPath
        let fault = state.withLock { s -> SandboxFault? in
            s.requestCount += 1
            return s.faults.fault(forPath: path)
        }
        let provider = Self.provider(ofPath: path)
        switch fault {
        case .tooManyRequests(let seconds):
            return Self.tooManyRequests(provider, retryAfter: seconds)
        case .serverError:
            return Self.serverError(provider)
        case .slow(let milliseconds):
            try await Task.sleep(nanoseconds: UInt64(max(0, milliseconds)) * 1_000_000)
        case .expireTokens:
            state.withLock { s in
                s.tokens.expireAllAccessTokens()
                s.quickbooks.expireAllAccessTokens()
                s.jobber.expireAllAccessTokens()
            }
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
        case .jobber:
            response = try await jobber.handle(request, path: String(path.dropFirst("/jobber".count)), query: query)
        case .quickbooks:
            response = try await quickbooks.handle(request, path: String(path.dropFirst("/quickbooks".count)), query: query)
        case .yelp:
            response = try await yelp.handle(request, path: String(path.dropFirst("/yelp".count)), query: query)
        case .serpapi:
            response = try await serpapi.handle(request, path: String(path.dropFirst("/serpapi".count)), query: query)
        case nil:
            response = Reply.json(
                .notFound,
                text: #"{"error":"not found: the sandbox serves /servicetitan/, /google/, /jobber/, /quickbooks/, /yelp/ and /serpapi/ paths"}"#)
        }
        if fault == .malformedJSON { return await Self.truncated(response) }
        return response
    }

    /// The provider whose prefix starts a path.
    static func provider(ofPath path: String) -> SandboxProvider? {
        for p in [SandboxProvider.serviceTitan, .google, .jobber, .quickbooks, .yelp, .serpapi] where path.hasPrefix("/\(p.rawValue)/") {
            return p
        }
        return nil
    }

    // MARK: faults

    static func tooManyRequests(_ provider: SandboxProvider?, retryAfter: Int) -> Response {
        let headers = [("Retry-After", String(max(0, retryAfter)))]
        switch provider {
        case .jobber:
            // Jobber's request-count guard (2,500 requests / 5 min) answers a bare 429.
            return Reply.json(.tooManyRequests, text: #"{"message":"Too Many Requests"}"#, headers: headers)
        case .quickbooks:
            return QuickBooksSandbox.fault(
                429, type: "SERVICE", message: "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                detail: "The request limit was reached.", code: "3001", headers: headers)
        case .yelp:
            return YelpSandbox.error(
                429, "TOO_MANY_REQUESTS_PER_SECOND",
                "You have exceeded the queries-per-second limit for this endpoint. Try reducing the rate at which you make queries.",
                headers: headers)
        case .serpapi:
            return SerpApiSandbox.error(429, "Your account has exceeded its hourly searches limit. Please upgrade your plan or wait.")
        default:
            break
        }
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
        switch provider {
        case .jobber:
            return Reply.json(.internalServerError, text: #"{"errors":[{"message":"Internal server error"}]}"#)
        case .quickbooks:
            return QuickBooksSandbox.fault(500, type: "SystemFault", message: "An application error has occurred while processing your request", detail: "System Failure Error: An unexpected error occurred while accessing or saving your data. Please wait a few minutes and try again.", code: "10000")
        case .yelp:
            return YelpSandbox.error(500, "INTERNAL_ERROR", "Something went wrong internally, please try your request again")
        case .serpapi:
            return SerpApiSandbox.error(500, "Internal server error. Please try again.")
        default:
            break
        }
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
        switch provider {
        case .jobber:
            var out = JSONBuffer(capacity: message.utf8.count + 64)
            out.raw("{\"errors\":[{\"message\":"); out.string(message); out.raw("}]}")
            return Reply.json(.badRequest, out)
        case .quickbooks:
            return QuickBooksSandbox.fault(400, type: "ValidationFault", message: "Invalid request", detail: message, code: "2010")
        case .yelp:
            return YelpSandbox.error(400, "VALIDATION_ERROR", message)
        case .serpapi:
            return SerpApiSandbox.error(400, message)
        default:
            break
        }
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
