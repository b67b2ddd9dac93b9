import Foundation
import TradeSyncCore

/// The provider's own words about a failed request, read from the error body shapes the
/// providers use. "HTTP 401 Unauthorized" alone does not say that the app key is missing;
/// the body does.
public enum ProviderErrorDetail {
    /// Longest detail kept: error bodies can be pages long (stack traces, HTML).
    static let maxLength = 300

    public static func summary(_ body: [UInt8]) -> String {
        guard !body.isEmpty else { return "" }
        if let json = try? JSONValue.parse(body) { return cap(summary(json) ?? "") }
        if let page = htmlSummary(body) { return page }
        // A short plain-text body is usually the message itself.
        let text = String(decoding: body.prefix(maxLength * 2), as: UTF8.self)
        return cap(text.split(whereSeparator: \.isNewline).map { String($0).trimmingSpaces }.filter { !$0.isEmpty }.joined(separator: " "))
    }

    static func summary(_ json: JSONValue) -> String? {
        // Google {"error":{"code":401,"message":…,"status":"UNAUTHENTICATED"}},
        // Yelp {"error":{"code":"TOKEN_INVALID","description":…}}.
        if let error = json["error"], case .object = error {
            let message = text(error["message"]) ?? text(error["description"])
            let code = text(error["status"]) ?? text(error["code"])
            var out = join(message, code.map { "(\($0))" }, " ")
            let violations = (error["details"]?.arrayValue ?? []).flatMap { $0["fieldViolations"]?.arrayValue ?? [] }
            let fields = violations.compactMap { v in text(v["description"]).map { d in text(v["field"]).map { "\($0): \(d)" } ?? d } }
            if !fields.isEmpty { out = join(out, fields.joined(separator: "; "), " — ") }
            return out.isEmpty ? nil : out
        }
        // OAuth {"error":"invalid_client","error_description":…}; SerpApi {"error":"Invalid API key."}.
        if let error = text(json["error"]) {
            return join(error, text(json["error_description"]), ": ")
        }
        // Intuit: {"Fault":{"Error":[{"Message","Detail","code"}]}}, 401s with lowercase keys.
        let fault = json["Fault"] ?? json["fault"]
        if let errors = (fault?["Error"] ?? fault?["error"])?.arrayValue, !errors.isEmpty {
            let parts = errors.prefix(3).map { e -> String in
                let message = text(e["Message"]) ?? text(e["message"])
                let detail = text(e["Detail"]) ?? text(e["detail"])
                let code = text(e["code"]) ?? text(e["Code"])
                return join(join(message, detail, ": "), code.map { "(code \($0))" }, " ")
            }
            return parts.joined(separator: "; ")
        }
        // RFC 7807 problem details (ServiceTitan): title, detail, errors {field: [messages]}.
        if text(json["title"]) != nil || text(json["detail"]) != nil {
            var out = join(text(json["title"]), text(json["detail"]), ": ")
            if let errors = json["errors"]?.objectValue, !errors.entries.isEmpty {
                let fields = errors.entries.prefix(5).map { entry -> String in
                    let messages = entry.value.arrayValue?.compactMap { text($0) } ?? [text(entry.value)].compactMap { $0 }
                    let joined = messages.joined(separator: ", ")
                    return entry.key.isEmpty ? joined : "\(entry.key): \(joined)"
                }
                out = join(out, "(" + fields.joined(separator: "; ") + ")", " ")
            }
            return out
        }
        return text(json["message"]) ?? text(json["Message"])
    }

    /// "an HTML page ('<title>')" when the body is HTML: the answer of a proxy, a load balancer
    /// or a login page, not of the API.
    static func htmlSummary(_ body: [UInt8]) -> String? {
        let head = String(decoding: body.prefix(4096), as: UTF8.self)
        let lowered = head.lowercased()
        let start = lowered.drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        guard start.hasPrefix("<!doctype html") || start.hasPrefix("<html") || lowered.contains("<body") else { return nil }
        if let open = head.range(of: "<title>", options: .caseInsensitive),
            let close = head.range(of: "</title>", options: .caseInsensitive, range: open.upperBound..<head.endIndex)
        {
            let title = String(head[open.upperBound..<close.lowerBound]).trimmingSpaces
            if !title.isEmpty { return "an HTML page ('\(title.prefix(80))')" }
        }
        return "an HTML page"
    }

    static func text(_ v: JSONValue?) -> String? {
        guard let s = v?.scalarText?.trimmingSpaces, !s.isEmpty else { return nil }
        return s
    }

    static func join(_ a: String?, _ b: String?, _ separator: String) -> String {
        switch (a, b) {
        case (let a?, let b?) where a == b: return a
        case (let a?, let b?): return a + separator + b
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (nil, nil): return ""
        }
    }

    static func cap(_ s: String) -> String {
        s.count > maxLength ? s.prefix(maxLength - 1) + "…" : s
    }
}
