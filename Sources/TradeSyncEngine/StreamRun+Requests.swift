import Foundation
import Logging
import TradeSyncConfig
import TradeSyncCore
import TradeSyncMapping
import TradeSyncSources
import TradeSyncStore

extension StreamRun {
    var integration: IntegrationConfig { runtime.integration }

    /// A declared request (a stream's, or its `deletes:`), its templates rendered: the URL on the
    /// connection's origin, the parameters, the integration's and the request's headers, the body.
    func requestSpec(_ config: RequestConfig, parent: [String: String], cursor: String?) throws -> RequestSpec {
        var params: [(name: String, value: String)] = []
        for p in config.params.entries {
            params.append((p.name, try runtime.render(p.value, parent: parent, cursor: cursor)))
        }
        var headers: [(name: String, value: String)] = []
        for h in integration.auth.headers.entries + config.headers.entries {
            headers.append((h.name, try runtime.render(h.value, parent: parent, cursor: cursor)))
        }
        let path = try runtime.renderPath(config.path.value, parent: parent, cursor: cursor)
        return RequestSpec(
            method: config.method.rawValue, url: runtime.url(forPath: path), params: params, headers: headers,
            body: try config.body.map { try runtime.render($0, parent: parent, cursor: cursor) })
    }

    func paginator(_ stream: StreamConfig, parent: [String: String], startToken: String?, cursor: String?) throws -> Paginator {
        var request = try requestSpec(stream.request, parent: parent, cursor: cursor)
        var params = request.params
        var variables: [(name: String, value: JSONValue)] = []
        if let c = stream.cursor, c.kind == .timestamp, let param = c.param, let cursor {
            // A GraphQL stream (a POST body) names a variable; others a query parameter.
            if stream.request.body != nil { variables.append((param, .string(cursor))) } else { params.append((param, cursor)) }
        }
        // A provider adapter declares its own parameters and its fan-out binding.
        let transform = stream.transform?.component?.boundAny(to: parent)
        params += transform?.requestParams(nowMicros: currentMicros()) ?? []
        request.params = params
        request.variables = variables
        return Paginator(
            requester: requester, request: request, pagination: stream.paginate.strategy, records: JSONPath(stream.records),
            transform: transform, startToken: startToken,
            recordsOptional: stream.recordsOptional, totalPath: stream.paginate.totalPath.map(JSONPath.init))
    }

    /// Every record of a (lookup or parent) stream for one binding context.
    func fetchAll(_ name: String, parent: [String: String]) async throws -> [JSONValue] {
        guard let stream = integration.streams[name] else { throw RunnerError.unknownStream(name, integration: integration.provider) }
        var paginator = try self.paginator(stream, parent: parent, startToken: nil, cursor: nil)
        var out: [JSONValue] = []
        while let page = try await paginator.next() { out += page.records }
        return out
    }
}
