import TradeSyncCore

/// Reading a connection's endpoint overrides (`base_url`, `hosts`, `token_url`,
/// `authorize_url`). A malformed override is an error at its line: a connection that quietly
/// kept talking to the real provider because its override did not parse would be worse than
/// one that does not load.
enum EndpointOverrideConfig {
    /// `base_url` and `hosts` values: an origin with an optional path prefix, nothing after it.
    static func origin(_ o: ConfigObject, _ key: String) -> String? {
        guard let v: Located<String> = o.optional(key) else { return nil }
        return checkedOrigin(v.value, at: v.location, keyPath: v.keyPath, sink: o.node.sink) ? v.value : nil
    }

    /// `token_url`, `authorize_url`: a whole http(s) URL, used as written.
    static func endpoint(_ o: ConfigObject, _ key: String) -> String? {
        guard let v: Located<String> = o.optional(key) else { return nil }
        guard HTTPURL(v.value) != nil else {
            o.node.sink.add(Diagnostic(.error, v.location, keyPath: v.keyPath,
                                       "expected an http:// or https:// URL, found '\(v.value)'"))
            return nil
        }
        return v.value
    }

    /// `hosts: { <provider host>: <origin with optional path> }`.
    static func hosts(_ o: ConfigObject) -> NamedMap<String> {
        guard let map: NamedMap<String> = o.optional("hosts") else { return NamedMap() }
        var out = NamedMap<String>()
        for e in map.entries {
            guard isHostName(e.name) else {
                o.node.sink.add(Diagnostic(
                    .error, e.location, keyPath: e.keyPath,
                    "'\(e.name)' is not a host name; write the provider's host alone, e.g. mybusiness.googleapis.com (no scheme, no path)"))
                continue
            }
            if checkedOrigin(e.value, at: e.location, keyPath: e.keyPath, sink: o.node.sink) {
                out.entries.append(NamedMap.Entry(name: e.name.lowercased(), value: e.value, location: e.location, keyPath: e.keyPath))
            }
        }
        return out
    }

    static func checkedOrigin(_ text: String, at location: SourceLocation, keyPath: String, sink: DiagnosticSink) -> Bool {
        guard let url = HTTPURL(text) else {
            sink.add(Diagnostic(.error, location, keyPath: keyPath,
                                "expected an http:// or https:// URL such as http://127.0.0.1:8099/google, found '\(text)'"))
            return false
        }
        guard url.isOriginWithPath else {
            sink.add(Diagnostic(.error, location, keyPath: keyPath,
                                "a query or fragment cannot be part of an override: it replaces only scheme, host, port and a path prefix"))
            return false
        }
        return true
    }

    /// `host` or `host:port`: letters, digits, `-` and `.`.
    static func isHostName(_ text: String) -> Bool {
        var name = Substring(text)
        if let colon = name.lastIndex(of: ":") {
            guard let port = Int(name[name.index(after: colon)...]), (0...65_535).contains(port) else { return false }
            name = name[..<colon]
        }
        return !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
    }
}
