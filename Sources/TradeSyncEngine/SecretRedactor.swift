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

    /// A cut-off secret is still a secret: an error detail shortened to fit ("eyJhbGciOi…") can end
    /// inside a token. A run of at least this many characters that begins a secret is masked too.
    static let prefixLength = 12

    public func redact(_ text: String) -> String {
        var out = text
        for n in needles where out.contains(n) { out = out.replacingOccurrences(of: n, with: SecretRedactor.mask) }
        return maskCutOffSecrets(out)
    }

    private func maskCutOffSecrets(_ text: String) -> String {
        var bytes = Array(text.utf8)
        var changed = false
        for needle in needles where needle.utf8.count > SecretRedactor.prefixLength {
            let n = Array(needle.utf8)
            let head = n[0..<SecretRedactor.prefixLength]
            var i = 0
            while i + SecretRedactor.prefixLength <= bytes.count {
                guard bytes[i] == n[0], bytes[i..<(i + SecretRedactor.prefixLength)].elementsEqual(head) else {
                    i += 1
                    continue
                }
                var end = i + SecretRedactor.prefixLength
                while end < bytes.count, end - i < n.count, bytes[end] == n[end - i] { end += 1 }
                bytes.replaceSubrange(i..<end, with: Array(SecretRedactor.mask.utf8))
                i += SecretRedactor.mask.utf8.count
                changed = true
            }
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : text
    }
}
