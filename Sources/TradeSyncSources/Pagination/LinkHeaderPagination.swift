import Foundation
public import TradeSyncCore

/// The next page's URL in the response's `Link` header (RFC 8288), as GitHub and Shopify send
/// it: `Link: <https://api.example.com/items?page=2>; rel="next"`. No `rel="next"` link marks
/// the last page. The first request carries the stream's parameters and the page size; later
/// ones are the provider's URL as given, which already carries them.
public struct LinkHeaderPagination: PaginationStrategy {
    public static let kinds = ["link_header"]

    public var sizeParam: String?
    public var size: Int?
    /// The `rel` to follow.
    public var rel: String
    /// The URL of the next page; nil for the first.
    public var next: String?

    public init(sizeParam: String? = nil, size: Int? = nil, rel: String = "next") {
        self.sizeParam = sizeParam
        self.size = size
        self.rel = rel
    }

    public static func decode(_ o: ConfigObject, kind: String) -> LinkHeaderPagination? {
        let sizeParam: String? = o.optional("size_param")
        let size = PagingRead.pageSize(o)
        let rel: String = o.optional("rel") ?? "next"
        return LinkHeaderPagination(sizeParam: sizeParam, size: size, rel: rel)
    }

    public func prepare(_ request: inout PageRequest) {
        if let next {
            request.url = next
        } else if let sizeParam, let size {
            request.params.append((sizeParam, String(size)))
        }
    }

    public mutating func advance(after response: PageResponse, recordCount: Int) throws -> Bool {
        let links = response.headers("Link").flatMap(Self.links)
        guard let target = links.first(where: { $0.rels.contains(rel.lowercased()) })?.target else { return false }
        let url = Self.resolve(target, against: response.url)
        // The request's credentials go wherever the link points: only to the same origin.
        guard Self.origin(url) == Self.origin(response.url) else {
            throw ContractViolation("the Link rel=\"\(rel)\" target '\(Self.origin(url))' is not on \(Self.origin(response.url)); credentials are not sent to another origin")
        }
        next = url
        return true
    }

    public var token: String? { next }
    public var tokenSource: String? { "Link rel=\"\(rel)\"" }

    /// The links of one `Link` header value: `<target>; param=value; rel="a b", <target2>; …`.
    /// Targets are in angle brackets, so commas inside them do not split links.
    static func links(_ value: String) -> [(target: String, rels: [String])] {
        var out: [(target: String, rels: [String])] = []
        var rest = Substring(value)
        while let open = rest.firstIndex(of: "<") {
            guard let close = rest[open...].firstIndex(of: ">") else { break }
            let target = String(rest[rest.index(after: open)..<close])
            rest = rest[rest.index(after: close)...]
            // The link's parameters run to the next comma outside a quoted string.
            var params = Substring()
            var quoted = false
            var end = rest.endIndex
            for i in rest.indices {
                let c = rest[i]
                if c == "\"" { quoted.toggle() }
                if c == ",", !quoted { end = i; break }
            }
            params = rest[..<end]
            rest = end == rest.endIndex ? Substring() : rest[rest.index(after: end)...]
            var rels: [String] = []
            for param in params.split(separator: ";") {
                let parts = param.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, String(parts[0]).trimmingSpaces.lowercased() == "rel" else { continue }
                var v = String(parts[1]).trimmingSpaces
                if v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
                rels += v.split(separator: " ").map { $0.lowercased() }
            }
            out.append((target, rels))
        }
        return out
    }

    /// An absolute target as is; `/path` against the page's origin; anything else against its directory.
    static func resolve(_ target: String, against base: String) -> String {
        if target.contains("://") { return target }
        let origin = origin(base)
        if target.hasPrefix("/") { return origin + target }
        let path = base.dropFirst(origin.count).prefix { $0 != "?" && $0 != "#" }
        let directory = path.lastIndex(of: "/").map { path[...$0] } ?? "/"
        return origin + directory + target
    }

    /// `scheme://authority` of a URL, lowercased.
    static func origin(_ url: String) -> String {
        guard let r = url.range(of: "://") else { return "" }
        let authority = url[r.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return (url[..<r.upperBound] + authority).lowercased()
    }
}
