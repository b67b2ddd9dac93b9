import TradeSyncCore

/// Origins a deployment names that now listen elsewhere: the demo's sandbox on another port
/// than the `http://127.0.0.1:8099` the example deployment names, a test's server on a free
/// port. A URL whose origin (scheme, host, port) moved keeps its path and query.
public struct OriginMoves: Sendable, Equatable {
    /// Old origin → new origin, both as `HTTPURL.origin` (lower case, port as written).
    public private(set) var moves: [String: String] = [:]

    public init() {}

    /// `from` and `to` are origins (`http://127.0.0.1:8099`); a text that is not an http(s)
    /// URL is ignored.
    public init(_ pairs: [(from: String, to: String)]) {
        for pair in pairs { add(from: pair.from, to: pair.to) }
    }

    public mutating func add(from: String, to: String) {
        guard let old = HTTPURL(from), let new = HTTPURL(to) else { return }
        moves[old.origin] = new.origin
    }

    public var isEmpty: Bool { moves.isEmpty }

    public func apply(_ url: String) -> String {
        guard let parsed = HTTPURL(url), let target = moves[parsed.origin] else { return url }
        return target + parsed.rest
    }
}
