/// An absolute http(s) URL cut where connection overrides cut it: the origin (scheme, host,
/// port) and everything after it. Overrides replace the origin and keep the rest, so the
/// split is textual: the path and query are never decoded or re-encoded on the way.
public struct HTTPURL: Sendable, Hashable {
    /// `http` or `https`, lower case.
    public var scheme: String
    /// The host as written, lower case, without the port (`[::1]` keeps its brackets).
    public var host: String
    public var port: Int?
    /// Path, query and fragment as written: empty or starting with `/`, `?` or `#`.
    public var rest: String

    public init?(_ text: String) {
        // Core is Foundation-free: the scheme is found by hand.
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let scheme = text[..<colon].lowercased()
        guard scheme == "http" || scheme == "https", text[colon...].hasPrefix("://") else { return nil }
        let afterScheme = text[text.index(colon, offsetBy: 3)...]
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        // User info in an API URL would be a credential written in configuration: not accepted.
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host = Substring(authority)
        var port: Int?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":", let p = Int(after.dropFirst()) else { return nil }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let p = Int(authority[authority.index(after: colon)...]) else { return nil }
            host = authority[..<colon]
            port = p
        }
        guard !host.isEmpty, port.map({ (0...65_535).contains($0) }) ?? true else { return nil }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
        rest = String(afterScheme[authority.endIndex...])
    }

    /// `host` or `host:port`.
    public var authority: String { port.map { "\(host):\($0)" } ?? host }

    /// `scheme://host[:port]`.
    public var origin: String { "\(scheme)://\(authority)" }

    /// The path part of `rest` (before `?` or `#`).
    public var path: String { String(rest.prefix { $0 != "?" && $0 != "#" }) }

    /// Whether the URL is only an origin with an optional path prefix: what `base_url` and
    /// `hosts` values may be (a query or fragment would be glued into the middle of every URL).
    public var isOriginWithPath: Bool { !rest.contains("?") && !rest.contains("#") }

    /// This URL's origin and path prefix in place of `url`'s origin: `url`'s path (and query)
    /// follow this URL's path. `http://127.0.0.1:8099/google` over
    /// `https://mybusiness.googleapis.com/v4/x?a=1` gives `http://127.0.0.1:8099/google/v4/x?a=1`.
    public func replacingOrigin(of url: HTTPURL) -> String {
        var prefix = path
        while prefix.hasSuffix("/") { prefix.removeLast() }
        let tail = url.rest.isEmpty || url.rest.hasPrefix("/") ? url.rest : "/" + url.rest
        return origin + prefix + tail
    }
}
