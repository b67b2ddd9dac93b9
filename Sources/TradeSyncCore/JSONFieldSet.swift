/// The values at a fixed set of paths, read from a record's bytes without building the rest of
/// the record. A mapping reads a handful of a record's fields; this walks the record once,
/// skipping what no path reads, builds the values the paths end at, and stops as soon as every
/// path is read. Each path resolves exactly as `JSONValue.value(at:)` resolves it on the parsed
/// record: the first of a repeated key, keys written with escapes compared decoded, a numeric
/// segment as a list index or an object key.
public struct JSONFieldSet: Sendable {
    public let paths: [JSONPath]
    let nodes: [Node]

    struct Node: Sendable {
        var children: [Child] = []
        /// The paths that end here, and those that go on below (`customer` and `customer.name`):
        /// the value here is built whole and they are read from it.
        var whole: [(path: Int, rest: JSONPath)] = []
    }

    struct Child: Sendable {
        /// The key it matches in an object (an index segment matches its digits, as `value(at:)` does).
        var key: [UInt8]
        /// The position it matches in a list (index segments only).
        var position: Int?
        var node: Int
    }

    public init(_ paths: [JSONPath]) {
        self.paths = paths
        var nodes = [Node()]
        // Shorter paths first: a path that ends where a longer one passes makes that value whole.
        for i in paths.indices.sorted(by: { paths[$0].segments.count < paths[$1].segments.count }) {
            let segments = paths[i].segments
            var at = 0
            var depth = 0
            while depth < segments.count, nodes[at].whole.isEmpty {
                let key: [UInt8]
                var position: Int?
                switch segments[depth] {
                case .key(let k): key = Array(k.utf8)
                case .index(let n):
                    key = Array(String(n).utf8)
                    position = n
                }
                if let existing = nodes[at].children.first(where: { $0.key == key }) {
                    at = existing.node
                } else {
                    nodes.append(Node())
                    nodes[at].children.append(Child(key: key, position: position, node: nodes.count - 1))
                    at = nodes.count - 1
                }
                depth += 1
            }
            nodes[at].whole.append((i, JSONPath(segments: Array(segments[depth...]))))
        }
        self.nodes = nodes
    }

    /// `values[i]` is the value at `paths[i]`, nil where the record has none; nil when the bytes
    /// are not a well-formed value.
    public func values(in bytes: ArraySlice<UInt8>) -> [JSONValue?]? {
        var out = [JSONValue?](repeating: nil, count: paths.count)
        let read = bytes.withUnsafeBufferPointer { buffer -> Bool in
            var reader = JSONReader(buffer)
            reader.skipWhitespace()
            return (try? reader.readFields(of: self, node: 0, depth: 0, into: &out)) != nil
        }
        return read ? out : nil
    }
}

/// A set of flags that needs no allocation for up to 64 of them (one record's mapped fields).
struct Marks {
    var bits: UInt64 = 0
    var more: [Bool]

    init(count: Int) { more = count > 64 ? Array(repeating: false, count: count) : [] }

    subscript(i: Int) -> Bool {
        get { more.isEmpty ? bits & (1 << UInt64(i)) != 0 : more[i] }
        set {
            if !more.isEmpty {
                more[i] = newValue
            } else if newValue {
                bits |= 1 << UInt64(i)
            } else {
                bits &= ~(1 << UInt64(i))
            }
        }
    }
}

extension JSONReader {
    /// Reads the paths below `node` from the value here. At the record's top level it stops once
    /// every path is read; below it, it goes on to the value's end, where the next member starts.
    mutating func readFields(of set: JSONFieldSet, node: Int, depth: Int, into out: inout [JSONValue?]) throws(JSONParseError) {
        let here = set.nodes[node]
        if !here.whole.isEmpty {
            let value = try readValue(depth: depth)
            for (path, rest) in here.whole { out[path] = rest.segments.isEmpty ? value : value.value(at: rest) }
            return
        }
        guard depth < 512 else { throw error("nesting too deep") }
        guard index < bytes.count else { throw error("unexpected end of input") }
        let children = here.children
        // Which children were read: only the first of a repeated key counts.
        var done = Marks(count: children.count)
        var left = children.count
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a key") }
                let keyStart = index
                let escaped = try skipString()
                let raw = UnsafeBufferPointer(rebasing: bytes[(keyStart + 1)..<(index - 1)])
                var match: Int?
                if escaped {
                    index = keyStart
                    let decoded = Array(try readString().utf8)
                    match = children.indices.first { !done[$0] && children[$0].key == decoded }
                } else {
                    match = children.indices.first { !done[$0] && children[$0].key.elementsEqual(raw) }
                }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
                index += 1
                skipWhitespace()
                if let match {
                    done[match] = true
                    left -= 1
                    try readFields(of: set, node: children[match].node, depth: depth + 1, into: &out)
                    if left == 0, depth == 0 { return }
                } else {
                    try skipValue(depth: depth + 1)
                }
                guard try skipSeparator(closing: UInt8(ascii: "}")) else { return }
            }
        case UInt8(ascii: "["):
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return
            }
            var position = 0
            while true {
                skipWhitespace()
                if let match = children.indices.first(where: { !done[$0] && children[$0].position == position }) {
                    done[match] = true
                    left -= 1
                    try readFields(of: set, node: children[match].node, depth: depth + 1, into: &out)
                    if left == 0, depth == 0 { return }
                } else {
                    try skipValue(depth: depth + 1)
                }
                position += 1
                guard try skipSeparator(closing: UInt8(ascii: "]")) else { return }
            }
        default:
            // A scalar where the paths go on: none of them is there.
            try skipValue(depth: depth)
        }
    }
}
