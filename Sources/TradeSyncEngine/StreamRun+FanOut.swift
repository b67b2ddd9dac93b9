import Foundation
import Logging
import TradeSyncConfig
import TradeSyncCore
import TradeSyncSources

/// A run that would need more paid requests than the provider has left: nothing was spent,
/// the run is deferred.
struct BudgetExhausted: DispositionedError {
    var stream: String
    var needed: Int
    var left: Int
    var retryAfterSeconds: Int

    var description: String {
        "stream '\(stream)' needs \(needed) request(s) but the provider reports \(left) left: nothing was spent, retry after \(retryAfterSeconds) s"
    }

    var disposition: ErrorDisposition { .deferRun(retryAfterSeconds: retryAfterSeconds) }
}

extension StreamRun {
    /// One binding context per element of the fan-out field, in the connection's order; an
    /// element listed twice is searched once.
    func fanOutContexts(_ fan: FanOutConfig) throws -> [[String: String]] {
        var shared: [String: String] = [:]
        for w in fan.with.entries { shared[w.name] = try runtime.render(w.value, parent: [:], cursor: nil) }
        let values: [String]
        switch runtime.fields[fan.field.value] {
        case .array(let items)?: values = items.compactMap(\.scalarText)
        case let single?: values = single.scalarText.map { [$0] } ?? []
        case nil: values = []
        }
        var seen = Set<String>()
        return values.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && seen.insert($0).inserted }.map {
            var ctx = shared
            ctx[fan.name] = $0
            return ctx
        }
    }

    /// Reads what the provider has left and stops the stream before it spends anything when
    /// `requests` would overspend it. The stream's requests are one per context (streams with a
    /// budget are read one page per context).
    func checkBudget(_ budget: BudgetConfig, requests: Int) async throws {
        guard requests > 0 else { return }
        var headers: [(name: String, value: String)] = []
        for h in integration.auth.headers.entries {
            headers.append((h.name, try runtime.render(h.value, parent: [:], cursor: nil)))
        }
        let request = HTTPRequestData(method: "GET", url: runtime.url(forPath: budget.path), headers: headers)
        let json = try await requester.fetchJSON(request)
        guard let left = json.value(at: JSONPath(budget.remaining)).flatMap({ $0.scalarText }).flatMap({ Int($0) }) else {
            throw FetchError.contractViolation(url: runtime.url(forPath: budget.path), reason: "no request count at '\(budget.remaining)'")
        }
        logger.info("request budget", metadata: ["left": "\(left)", "needed": "\(requests)"])
        if requests > left {
            throw BudgetExhausted(stream: integration.provider, needed: requests, left: left,
                                  retryAfterSeconds: budget.retryAfterSeconds)
        }
    }
}
