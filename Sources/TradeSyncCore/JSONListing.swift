/// A page of records read without building the records: the response's envelope (paging state,
/// totals, errors) is parsed as usual, the list of records is checked byte for byte but left as
/// the ranges its records lie at. A mapping then reads only the fields it maps from each record
/// (`JSONFieldSet`), and `keep_raw` keeps each record exactly as the provider sent it. Building
/// every record as a tree, walking it and freeing it cost more than half of a sync's CPU.
public struct JSONListing: Sendable {
    /// The document, with an empty list standing where the records are.
    public var envelope: JSONValue
    /// Where each record lies in the body; nil when the document has no list at the path (it is
    /// then parsed whole, and `envelope` is the whole document).
    public var records: [Range<Int>]?

    public init(envelope: JSONValue, records: [Range<Int>]?) {
        self.envelope = envelope
        self.records = records
    }

    /// Parses `bytes`, whose records are the list at `path` (no segment: the document itself).
    /// Exactly as strict as `JSONValue.parse`: a body it refuses is refused here, with the same
    /// error. The path resolves as `JSONValue.value(at:)` resolves it: the first of a repeated
    /// key, a numeric segment as a list index or an object key.
    public static func parse(_ bytes: [UInt8], recordsAt path: JSONPath) throws(JSONParseError) -> JSONListing {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            var reader = JSONReader(buffer)
            var records: [Range<Int>]?
            reader.skipWhitespace()
            let envelope = try reader.readListing(depth: 0, path: path.segments[...], records: &records)
            reader.skipWhitespace()
            guard reader.index == buffer.count else { throw reader.error("unexpected trailing characters") }
            return JSONListing(envelope: envelope, records: records)
        }
    }

    /// The range of the whole document, whitespace around it left out (a response that is one
    /// record); nil when it is not one well-formed value.
    public static func document(_ bytes: [UInt8]) -> Range<Int>? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = JSONReader(buffer)
            reader.skipWhitespace()
            let start = reader.index
            guard (try? reader.skipValue(depth: 0)) != nil else { return nil }
            let end = reader.index
            reader.skipWhitespace()
            return reader.index == buffer.count ? start..<end : nil
        }
    }
}

extension JSONReader {
    /// Reads the value here, which lies on the way to the records list (`path` is what is left of
    /// the way); the list itself is skimmed into `records`.
    mutating func readListing(depth: Int, path: ArraySlice<JSONPath.Segment>,
                              records: inout [Range<Int>]?) throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input") }
        guard let segment = path.first else {
            guard bytes[index] == UInt8(ascii: "[") else { return try readValue(depth: depth) }
            records = try skimElements(depth: depth)
            return .array([])
        }
        switch (bytes[index], segment) {
        case (UInt8(ascii: "{"), _):
            let wanted: String
            switch segment {
            case .key(let k): wanted = k
            case .index(let i): wanted = String(i)
            }
            return try readObject(depth: depth, on: wanted, path: path.dropFirst(), records: &records)
        case (UInt8(ascii: "["), .index(let wanted)):
            return try readArray(depth: depth, on: wanted, path: path.dropFirst(), records: &records)
        default:
            return try readValue(depth: depth)
        }
    }

    private mutating func readObject(depth: Int, on wanted: String, path: ArraySlice<JSONPath.Segment>,
                                     records: inout [Range<Int>]?) throws(JSONParseError) -> JSONValue {
        guard depth < 512 else { throw error("nesting too deep") }
        var members: [(key: String, value: JSONValue)] = []
        if openContainer(closing: UInt8(ascii: "}")) { return .object(JSONObject(members)) }
        var found = false
        repeat {
            let key = try readKey()
            if !found, key == wanted {
                found = true
                members.append((key, try readListing(depth: depth + 1, path: path, records: &records)))
            } else {
                members.append((key, try readValue(depth: depth + 1)))
            }
        } while try skipSeparator(closing: UInt8(ascii: "}"))
        return .object(JSONObject(members))
    }

    private mutating func readArray(depth: Int, on wanted: Int, path: ArraySlice<JSONPath.Segment>,
                                    records: inout [Range<Int>]?) throws(JSONParseError) -> JSONValue {
        guard depth < 512 else { throw error("nesting too deep") }
        var items: [JSONValue] = []
        if openContainer(closing: UInt8(ascii: "]")) { return .array(items) }
        repeat {
            skipWhitespace()
            if items.count == wanted {
                items.append(try readListing(depth: depth + 1, path: path, records: &records))
            } else {
                items.append(try readValue(depth: depth + 1))
            }
        } while try skipSeparator(closing: UInt8(ascii: "]"))
        return .array(items)
    }

    /// Checks the list here and returns where its elements lie.
    mutating func skimElements(depth: Int) throws(JSONParseError) -> [Range<Int>] {
        guard depth < 512 else { throw error("nesting too deep") }
        var out: [Range<Int>] = []
        if openContainer(closing: UInt8(ascii: "]")) { return out }
        repeat {
            skipWhitespace()
            let start = index
            try skipValue(depth: depth + 1)
            out.append(start..<index)
        } while try skipSeparator(closing: UInt8(ascii: "]"))
        return out
    }
}
