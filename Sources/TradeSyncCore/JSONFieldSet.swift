/// The values at a fixed set of paths, read from a record's bytes without building the rest of
/// the record. A mapping reads a handful of a record's fields; this walks the record once,
/// skipping what no path reads, builds the values the paths end at, and stops as soon as every
/// path is read. Each path resolves exactly as `JSONValue.value(at:)` resolves it on the parsed
/// record: the first of a repeated key, keys written with escapes compared decoded, a numeric
/// segment as a list index or an object key.
public struct JSONFieldSet: Sendable {
    public let paths: [JSONPath]
    // The path tree, flattened into plain values: walking it costs no reference counting and
    // a key is matched by its length, then its bytes.
    let nodes: [Node]
    let children: [Child]
    let keyBytes: [UInt8]
    /// The paths that end at a node, and those that go on below (`customer` and `customer.name`):
    /// the value there is built whole and they are read from it (`rests`: nil where the path ends).
    let wholePaths: [Int]
    let rests: [JSONPath?]

    struct Node: Sendable {
        var firstChild = 0
        var childCount = 0
        var firstWhole = 0
        var wholeCount = 0
    }

    struct Child: Sendable {
        /// The key it matches in an object (an index segment matches its digits, as `value(at:)` does).
        var keyStart: Int
        var keyCount: Int
        /// The position it matches in a list (index segments only; -1 otherwise).
        var position: Int
        var node: Int
    }

    public init(_ paths: [JSONPath]) {
        self.paths = paths
        // Built as a tree first.
        struct TreeNode {
            var children: [(key: [UInt8], position: Int, node: Int)] = []
            var whole: [(path: Int, rest: JSONPath)] = []
        }
        var tree = [TreeNode()]
        // Shorter paths first: a path that ends where a longer one passes makes that value whole.
        for i in paths.indices.sorted(by: { paths[$0].segments.count < paths[$1].segments.count }) {
            let segments = paths[i].segments
            var at = 0
            var depth = 0
            while depth < segments.count, tree[at].whole.isEmpty {
                let key: [UInt8]
                var position = -1
                switch segments[depth] {
                case .key(let k): key = Array(k.utf8)
                case .index(let n):
                    key = Array(String(n).utf8)
                    position = n
                }
                if let existing = tree[at].children.first(where: { $0.key == key }) {
                    at = existing.node
                } else {
                    tree.append(TreeNode())
                    tree[at].children.append((key, position, tree.count - 1))
                    at = tree.count - 1
                }
                depth += 1
            }
            tree[at].whole.append((i, JSONPath(segments: Array(segments[depth...]))))
        }
        var nodes: [Node] = []
        var children: [Child] = []
        var keyBytes: [UInt8] = []
        var wholePaths: [Int] = []
        var rests: [JSONPath?] = []
        for t in tree {
            nodes.append(Node(firstChild: children.count, childCount: t.children.count, firstWhole: wholePaths.count,
                              wholeCount: t.whole.count))
            for c in t.children {
                children.append(Child(keyStart: keyBytes.count, keyCount: c.key.count, position: c.position, node: c.node))
                keyBytes += c.key
            }
            for w in t.whole {
                wholePaths.append(w.path)
                rests.append(w.rest.segments.isEmpty ? nil : w.rest)
            }
        }
        self.nodes = nodes
        self.children = children
        self.keyBytes = keyBytes
        self.wholePaths = wholePaths
        self.rests = rests
    }

    /// `values[i]` is the value at `paths[i]`, nil where the record has none; nil when the bytes
    /// are not a well-formed value.
    public func values(in bytes: ArraySlice<UInt8>) -> [JSONValue?]? {
        var out = [JSONValue?](repeating: nil, count: paths.count)
        let read = bytes.withUnsafeBufferPointer { buffer -> Bool in
            nodes.withUnsafeBufferPointer { nodes in
                children.withUnsafeBufferPointer { children in
                    keyBytes.withUnsafeBufferPointer { keys in
                        wholePaths.withUnsafeBufferPointer { wholePaths in
                            let tree = Tree(nodes: nodes, children: children, keys: keys, wholePaths: wholePaths, rests: rests)
                            var reader = JSONReader(buffer)
                            reader.skipWhitespace()
                            return (try? reader.readFields(of: tree, node: 0, depth: 0, into: &out)) != nil
                        }
                    }
                }
            }
        }
        return read ? out : nil
    }

    /// The flattened tree, borrowed for one record.
    struct Tree {
        let nodes: UnsafeBufferPointer<Node>
        let children: UnsafeBufferPointer<Child>
        let keys: UnsafeBufferPointer<UInt8>
        let wholePaths: UnsafeBufferPointer<Int>
        let rests: [JSONPath?]

        /// The first child of `node` not yet read whose key is `raw`.
        func child(of node: Node, key raw: UnsafeBufferPointer<UInt8>, skipping done: Marks) -> Int? {
            for i in 0..<node.childCount where !done[i] {
                let c = children[node.firstChild + i]
                guard c.keyCount == raw.count else { continue }
                var equal = true
                for j in 0..<c.keyCount where keys[c.keyStart + j] != raw[j] {
                    equal = false
                    break
                }
                if equal { return i }
            }
            return nil
        }
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
    mutating func readFields(of tree: JSONFieldSet.Tree, node index: Int, depth: Int,
                             into out: inout [JSONValue?]) throws(JSONParseError) {
        let here = tree.nodes[index]
        if here.wholeCount > 0 {
            let value = try readValue(depth: depth)
            for w in here.firstWhole..<(here.firstWhole + here.wholeCount) {
                if let rest = tree.rests[w] {
                    out[tree.wholePaths[w]] = value.value(at: rest)
                } else {
                    out[tree.wholePaths[w]] = value
                }
            }
            return
        }
        guard depth < 512 else { throw error("nesting too deep") }
        guard self.index < bytes.count else { throw error("unexpected end of input") }
        // Which children were read: only the first of a repeated key counts.
        var done = Marks(count: here.childCount)
        var left = here.childCount
        switch bytes[self.index] {
        case UInt8(ascii: "{"):
            if openContainer(closing: UInt8(ascii: "}")) { return }
            repeat {
                try expectKey()
                let keyStart = self.index
                let escaped = try skipString()
                var match: Int?
                if escaped {
                    self.index = keyStart
                    var decoded = try readString()
                    match = decoded.withUTF8 { tree.child(of: here, key: $0, skipping: done) }
                } else {
                    match = tree.child(of: here, key: UnsafeBufferPointer(rebasing: bytes[(keyStart + 1)..<(self.index - 1)]),
                                       skipping: done)
                }
                try expectColon()
                if try readMatch(match, of: tree, here, depth: depth, done: &done, left: &left, into: &out) { return }
            } while try skipSeparator(closing: UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            if openContainer(closing: UInt8(ascii: "]")) { return }
            var position = 0
            repeat {
                skipWhitespace()
                var match: Int?
                for i in 0..<here.childCount where !done[i] && tree.children[here.firstChild + i].position == position {
                    match = i
                    break
                }
                if try readMatch(match, of: tree, here, depth: depth, done: &done, left: &left, into: &out) { return }
                position += 1
            } while try skipSeparator(closing: UInt8(ascii: "]"))
        default:
            // A scalar where the paths go on: none of them is there.
            try skipValue(depth: depth)
        }
    }

    /// The value here: read at the matched child's paths, or skipped. True when that was the last
    /// path the record's top level needed, so the rest of the record is not read.
    private mutating func readMatch(_ match: Int?, of tree: JSONFieldSet.Tree, _ here: JSONFieldSet.Node, depth: Int,
                                    done: inout Marks, left: inout Int, into out: inout [JSONValue?]) throws(JSONParseError) -> Bool {
        guard let match else {
            try skipValue(depth: depth + 1)
            return false
        }
        done[match] = true
        left -= 1
        try readFields(of: tree, node: tree.children[here.firstChild + match].node, depth: depth + 1, into: &out)
        return left == 0 && depth == 0
    }
}
