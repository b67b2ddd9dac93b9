import Foundation
import Logging
import TradeSyncConfig
import TradeSyncCore
import TradeSyncMapping
import TradeSyncSources
import TradeSyncStore

extension StreamRun {
    var integration: IntegrationConfig { runtime.integration }

    func paginator(_ stream: StreamConfig, parent: [String: String], startToken: String?, cursor: String?) throws -> Paginator {
        var params: [(name: String, value: String)] = []
        for p in stream.request.params.entries {
            params.append((p.name, try runtime.render(p.value, parent: parent, cursor: cursor)))
        }
        var variables: [(name: String, value: JSONValue)] = []
        if let c = stream.cursor, c.kind == .timestamp, let param = c.param, let cursor {
            // A GraphQL stream (a POST body) names a variable; others a query parameter.
            if stream.request.body != nil { variables.append((param, .string(cursor))) } else { params.append((param, cursor)) }
        }
        // A provider adapter declares its own parameters and its fan-out binding.
        let transform = stream.transform?.component?.boundAny(to: parent)
        params += transform?.requestParams(nowMicros: currentMicros()) ?? []
        var headers: [(name: String, value: String)] = []
        for h in integration.auth.headers.entries + stream.request.headers.entries {
            headers.append((h.name, try runtime.render(h.value, parent: parent, cursor: cursor)))
        }
        let path = try runtime.renderPath(stream.request.path.value, parent: parent, cursor: cursor)
        var request = RequestSpec(
            method: stream.request.method.rawValue, url: runtime.url(forPath: path), params: params, headers: headers,
            body: try stream.request.body.map { try runtime.render($0, parent: parent, cursor: cursor) })
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
