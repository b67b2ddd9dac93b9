public import Logging
import Metrics
public import TradeSyncCore

/// Sends requests with authentication, retries and backoff. What a response means is decided
/// by `ResponseClassifier`; this loop only sends, sleeps and counts.
public struct Requester: Sendable {
    public let transport: any HTTPTransport
    public let authenticator: any Authenticator
    public let retry: RetryPolicy
    public let logger: Logger
    /// The integration the requests go to: the `provider` label of the response counter.
    public let provider: String

    public init(transport: any HTTPTransport, authenticator: any Authenticator, retry: RetryPolicy = RetryPolicy(),
                logger: Logger = Logger(label: "tradesync.sources"), provider: String = "") {
        self.transport = transport
        self.authenticator = authenticator
        self.retry = retry
        self.logger = logger
        self.provider = provider
    }

    /// Counts one answer (or a failure to get one: status `error`) from the provider's API, every
    /// attempt, so retries and throttling show.
    func count(status: String) {
        Counter(label: SourceMetrics.providerResponses, dimensions: [("provider", provider), ("status", status)]).increment()
    }

    /// Sends a request and returns its parsed JSON body, retrying what can be retried.
    public func fetchJSON(_ base: HTTPRequestData) async throws -> JSONValue {
        try await fetch(base) { $0.json }
    }

    /// Sends a request and hands the response (status, headers, parsed JSON) to `interpret`.
    /// A `ContractViolation` thrown by `interpret` is treated like a transient fault: the same
    /// request is sent again (with backoff, within the retry policy's attempts) before the
    /// stream fails. With `records`, the list of records there is left unbuilt (`JSONListing`).
    public func fetch<T>(_ base: HTTPRequestData, records: JSONPath? = nil,
                         interpret: (PageResponse) throws -> T) async throws -> T {
        let classifier = ResponseClassifier(.api, policy: retry, records: records)
        var attempt = 0
        var reauthorized = false
        let url = shown(base.url)
        while true {
            attempt += 1
            var request = base
            try await authenticator.authorize(&request)
            let response: HTTPResponseData
            do {
                response = try await transport.send(request, timeout: retry.requestTimeout)
            } catch let error as CancellationError {
                throw error
            } catch {
                count(status: "error")
                let cause = TransportCause(error)
                guard let wait = retry.afterTransportFailure(cause, attempt: attempt) else {
                    throw FetchError.transport(url: url, reason: cause.words)
                }
                logger.warning("request failed, retrying", metadata: ["url": "\(url)", "attempt": "\(attempt)", "cause": "\(cause.words)"])
                try await Task.sleep(for: wait)
                continue
            }
            count(status: String(response.status))
            switch classifier.classify(response, url: url, attempt: attempt, reauthorized: reauthorized,
                                       nowSeconds: nowMicros() / 1_000_000) {
            case .ok(let json, let spans):
                do {
                    return try interpret(PageResponse(status: response.status, headers: response.headers, json: json, url: base.url,
                                                         body: response.body, records: spans))
                } catch let violation as ContractViolation {
                    guard attempt < retry.maxAttempts else {
                        throw FetchError.contractViolation(url: url, reason: violation.reason)
                    }
                    logger.warning("response breaks the stream's contract, fetching the page again",
                                   metadata: ["url": "\(url)", "attempt": "\(attempt)", "reason": "\(violation.reason)"])
                    try await Task.sleep(for: retry.backoff(attempt: attempt))
                }
            case .retry(let wait, let reason):
                logger.warning("retrying", metadata: ["url": "\(url)", "attempt": "\(attempt)", "reason": "\(reason)", "wait": "\(wait)"])
                try await Task.sleep(for: wait)
            case .reauthorize:
                reauthorized = true
                logger.info("credentials refused: refreshing them", metadata: ["url": "\(url)"])
                await authenticator.invalidate()
            case .fail(let error):
                throw error
            }
        }
    }
}
