import Foundation
import TradeSyncCore
import TradeSyncSources

/// Removes credential values and tokens from text before it is printed, logged or stored. A
/// provider that echoes a request back in an error would otherwise put an API key into the
/// sync log, `last_error` and the terminal.
public struct SecretRedactor: Sendable {
    public static let mask = "[REDACTED]"
    /// Shorter values are not secrets worth the false positives ("1", "us").
    static let minimumLength = 6
    private var needles: [String] = []

    public init(_ secrets: [String] = []) { add(secrets) }

    /// Adds each secret in the forms it may travel in: as is, percent-encoded, form-encoded and
    /// JSON-escaped.
    public mutating func add(_ secrets: [String]) {
        var set = Set(needles)
        for secret in secrets where secret.utf8.count >= SecretRedactor.minimumLength {
            set.insert(secret)
            set.insert(URLEncoding.queryValue(secret))
            set.insert(URLEncoding.queryValue(secret).replacingOccurrences(of: "%20", with: "+"))
            let json = String(JSONValue.string(secret).jsonText.dropFirst().dropLast())
            set.insert(json)
            // Many JSON writers escape the solidus as well.
            set.insert(json.replacingOccurrences(of: "/", with: "\\/"))
        }
        // Longest first, so a secret that contains another is masked whole.
        needles = set.filter { !$0.isEmpty }.sorted { $0.utf8.count > $1.utf8.count }
    }

    public func redact(_ text: String) -> String {
        var out = text
        for n in needles where out.contains(n) { out = out.replacingOccurrences(of: n, with: SecretRedactor.mask) }
        return out
    }
}
