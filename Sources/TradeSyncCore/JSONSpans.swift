/// Where the elements of a list inside a JSON document lie in its bytes, found by skipping over
/// everything else without building values. A page's records are kept (`keep_raw`) as the
/// provider sent them: slicing the response costs a copy, where writing each parsed record back
/// out as text cost a seventh of a sync's CPU.
public enum JSONSpans {
    /// The byte ranges of the elements of the list at `path` (no segment: the document itself,
    /// which must then be a list), or nil when the document does not have a list there or
    /// is not well-formed. Object keys match as `JSONValue`'s lookup does: the first key that
    /// equals the segment; a key written with escapes is compared decoded.
    public static func elements(of bytes: [UInt8], at path: JSONPath) -> [Range<Int>]? {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = Scanner(bytes: buffer)
            return scanner.elements(at: path.segments)
        }
    }

    /// The range of the whole document, whitespace around it left out (a response that is one record).
    public static func document(_ bytes: [UInt8]) -> Range<Int>? {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = Scanner(bytes: buffer)
            scanner.skipWhitespace()
            let start = scanner.index
            guard scanner.skipValue(depth: 0) else { return nil }
            let end = scanner.index
            scanner.skipWhitespace()
            return scanner.index == buffer.count ? start..<end : nil
        }
    }

    struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        mutating func elements(at segments: [JSONPath.Segment]) -> [Range<Int>]? {
            skipWhitespace()
            for segment in segments {
                switch segment {
                case .key(let key): guard enterObject(key: key) else { return nil }
                case .index(let i): guard enterArray(index: i) else { return nil }
                }
                skipWhitespace()
            }
            guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return nil }
            index += 1
            var out: [Range<Int>] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { return out }
            while true {
                skipWhitespace()
                let start = index
                guard skipValue(depth: 1) else { return nil }
                out.append(start..<index)
                skipWhitespace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    return out
                } else {
                    return nil
                }
            }
        }

        /// Moves to the value of the first `key` of the object here.
        mutating func enterObject(key: String) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return false }
            index += 1
            let wanted = Array(key.utf8)
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { return false }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return false }
                let keyStart = index + 1
                guard skipString() else { return false }
                let raw = UnsafeBufferPointer(rebasing: bytes[keyStart..<(index - 1)])
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return false }
                index += 1
                skipWhitespace()
                if Self.keyEquals(raw, wanted) { return true }
                guard skipValue(depth: 1) else { return false }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ",") else { return false }
                index += 1
            }
        }

        mutating func enterArray(index wanted: Int) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return false }
            index += 1
            var i = 0
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] != UInt8(ascii: "]") else { return false }
                if i == wanted { return true }
                guard skipValue(depth: 1) else { return false }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ",") else { return false }
                index += 1
                i += 1
            }
        }

        static func keyEquals(_ raw: UnsafeBufferPointer<UInt8>, _ wanted: [UInt8]) -> Bool {
            if !raw.contains(UInt8(ascii: "\\")) { return raw.elementsEqual(wanted) }
            // An escaped key: decoded by the parser, which is rare enough to be worth its cost.
            guard case .string(let decoded)? = try? JSONValue.parse([UInt8(ascii: "\"")] + Array(raw) + [UInt8(ascii: "\"")])
            else { return false }
            return Array(decoded.utf8) == wanted
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index += 1
                default: return
                }
            }
        }

        /// Past the string that starts here (at its quote); false when it does not end.
        mutating func skipString() -> Bool {
            index += 1
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    index += 1
                    return true
                case UInt8(ascii: "\\"): index += 2
                case 0..<0x20: return false
                default: index += 1
                }
            }
            return false
        }

        /// Past one value; its inner structure is checked only as far as bracket and quote
        /// matching needs (the parser has already read the document whole).
        mutating func skipValue(depth: Int) -> Bool {
            guard depth < 512, index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""): return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var nesting = 0
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: "\""):
                        guard skipString() else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        nesting += 1
                        guard nesting + depth < 512 else { return false }
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        nesting -= 1
                        if nesting == 0 {
                            index += 1
                            return true
                        }
                    default: break
                    }
                    index += 1
                }
                return false
            default:
                // A number or a literal: up to the next delimiter.
                let start = index
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x0A, 0x0D, 0x09:
                        return index > start
                    default: index += 1
                    }
                }
                return index > start
            }
        }
    }
}
