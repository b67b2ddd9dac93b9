import TradeSyncCore

/// A connection's overrides of where its API requests go (DESIGN §7, "Overrides replace the
/// origin"). `base_url` replaces scheme, host and port of every API URL of the integration and
/// keeps the provider's path (behind the override's own path, if it has one); `hosts` does the
/// same for one provider host and wins over `base_url`. So a server that serves a provider's own
/// paths can stand in for all of its hosts (Google's five) with one `base_url`, and the sandbox
/// needs no layout of its own. Token and authorize URLs are not API URLs and are not touched.
struct OriginOverrides: Sendable {
    var base: HTTPURL?
    /// Keyed by lower-case `host` or `host:port`.
    var hosts: [String: HTTPURL]

    init(base: String?, hosts: [String: String]) {
        self.base = base.flatMap(HTTPURL.init)
        var parsed: [String: HTTPURL] = [:]
        for (host, target) in hosts {
            if let url = HTTPURL(target) { parsed[host.lowercased()] = url }
        }
        self.hosts = parsed
    }

    var isEmpty: Bool { base == nil && hosts.isEmpty }

    /// The URL with its origin replaced by the override that applies to its host, if any.
    func apply(to url: String) -> String {
        guard let parsed = HTTPURL(url) else { return url }
        guard let target = hosts[parsed.authority] ?? hosts[parsed.host] ?? base else { return url }
        return target.replacingOrigin(of: parsed)
    }
}
