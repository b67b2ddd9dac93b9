/// A string with `{namespace.name}` placeholders (`/tenant/{connection.tenant_id}/jobs`).
/// Braces not of that exact shape (GraphQL selections) are literal text.
public struct Template: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        case literal(String)
        case variable(namespace: String, name: String)
    }

    public let parts: [Part]
    public let text: String

    public init(_ text: String) {
        self.text = text
        var parts: [Part] = []
        var literal = ""
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == "{", let close = text[i...].firstIndex(of: "}") {
                let inner = text[text.index(after: i)..<close]
                if let dot = inner.firstIndex(of: "."),
                    Template.isIdentifier(inner[..<dot]), Template.isIdentifier(inner[inner.index(after: dot)...])
                {
                    if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
                    parts.append(.variable(namespace: String(inner[..<dot]), name: String(inner[inner.index(after: dot)...])))
                    i = text.index(after: close)
                    continue
                }
            }
            literal.append(text[i])
            i = text.index(after: i)
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    public var variables: [(namespace: String, name: String)] {
        parts.compactMap {
            if case .variable(let ns, let n) = $0 { return (ns, n) }
            return nil
        }
    }

    public var isConstant: Bool { variables.isEmpty }

    /// Substitutes every variable; `resolve` returns nil for an unknown one, which is then an error.
    public func render(_ resolve: (String, String) -> String?) -> Result<String, TemplateError> {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let s): out += s
            case .variable(let ns, let n):
                guard let v = resolve(ns, n) else { return .failure(TemplateError(namespace: ns, name: n)) }
                out += v
            }
        }
        return .success(out)
    }

    static func isIdentifier(_ s: Substring) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_")
        }
    }
}

public struct TemplateError: Error, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    public var description: String { "no value for {\(namespace).\(name)}" }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`: store URLs may carry a
/// password, and they appear in messages.
public func redactURLPassword(_ url: String) -> String {
    let chars = Array(url)
    guard let slashes = (0..<max(0, chars.count - 2)).first(where: { chars[$0] == ":" && chars[$0 + 1] == "/" && chars[$0 + 2] == "/" })
    else { return url }
    let start = slashes + 3
    guard let at = chars[start...].firstIndex(of: "@"), let colon = chars[start..<at].firstIndex(of: ":") else { return url }
    return String(chars[..<colon]) + ":***" + String(chars[at...])
}
