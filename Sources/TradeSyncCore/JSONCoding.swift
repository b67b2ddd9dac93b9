/// Errors of the JSON reader, with the byte offset where reading stopped.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    public var description: String { "malformed JSON at byte \(offset): \(reason)" }
}

extension JSONValue {
    /// Parses a JSON document. A byte-level reader: Foundation's JSONSerialization boxes every
    /// value in an NSObject on Linux, which costs more than the whole sync of a record.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            var reader = JSONReader(buffer)
            reader.skipWhitespace()
            let value = try reader.readValue(depth: 0)
            reader.skipWhitespace()
            guard reader.index == buffer.count else { throw reader.error("unexpected trailing characters") }
            return value
        }
    }

    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Compact JSON text; object keys keep their order.
    public var jsonText: String {
        var out = ""
        out.reserveCapacity(64)
        write(to: &out)
        return out
    }

    public func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .number(let n): out += n
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(to: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, e) in o.entries.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(e.key, to: &out)
                out += ":"
                e.value.write(to: &out)
            }
            out += "}"
        }
    }

    public static func writeString(_ s: String, to out: inout String) {
        out += "\""
        var needsEscape = false
        for b in s.utf8 where b < 0x20 || b == 0x22 || b == 0x5C {
            needsEscape = true
            break
        }
        if !needsEscape {
            out += s
        } else {
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    // The size of the last object and array read at each depth: a page's records share their
    // shape, so the next container at that depth is allocated at its size once, instead of
    // growing by doubling (five or six reallocations and copies for a record of thirty keys).
    // Inline, not arrays: a reader is made for every record a mapping reads (`JSONFieldSet`).
    var objectSizes = InlineArray<8, Int>(repeating: 0)
    var arraySizes = InlineArray<8, Int>(repeating: 0)

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func readValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth < 512 else { throw error("nesting too deep") }
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try readObject(depth: depth)
        case UInt8(ascii: "["): return try readArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try readNumber()
        default: throw error("unexpected character '\(Character(Unicode.Scalar(bytes[index])))'")
        }
    }

    mutating func expect(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of input") }
        let w = word.utf8Start
        for i in 0..<count where bytes[index + i] != w[i] {
            throw error("invalid literal")
        }
        index += count
    }

    mutating func readObject(depth: Int) throws(JSONParseError) -> JSONValue {
        if openContainer(closing: UInt8(ascii: "}")) { return .object(JSONObject([])) }
        var members: [(key: String, value: JSONValue)] = []
        if depth < objectSizes.count { members.reserveCapacity(min(objectSizes[depth], 64)) }
        repeat {
            let key = try readKey()
            members.append((key, try readValue(depth: depth + 1)))
        } while try skipSeparator(closing: UInt8(ascii: "}"))
        if depth < objectSizes.count { objectSizes[depth] = members.count }
        return .object(JSONObject(members))
    }

    mutating func readArray(depth: Int) throws(JSONParseError) -> JSONValue {
        if openContainer(closing: UInt8(ascii: "]")) { return .array([]) }
        var items: [JSONValue] = []
        if depth < arraySizes.count { items.reserveCapacity(min(arraySizes[depth], 64)) }
        repeat {
            skipWhitespace()
            items.append(try readValue(depth: depth + 1))
        } while try skipSeparator(closing: UInt8(ascii: "]"))
        if depth < arraySizes.count { arraySizes[depth] = items.count }
        return .array(items)
    }

    /// Past the opening bracket here and the whitespace after it; true when the container is
    /// empty (its closing bracket read too).
    @inline(__always)
    mutating func openContainer(closing: UInt8) -> Bool {
        index += 1
        skipWhitespace()
        guard index < bytes.count, bytes[index] == closing else { return false }
        index += 1
        return true
    }

    /// A member's key and the ':' after it, up to its value.
    @inline(__always)
    mutating func readKey() throws(JSONParseError) -> String {
        try expectKey()
        let key = try readString()
        try expectColon()
        return key
    }

    /// Whitespace, then the quote a key starts with (not consumed).
    @inline(__always)
    mutating func expectKey() throws(JSONParseError) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a key") }
    }

    /// Whitespace, ':', whitespace: between a key and its value.
    @inline(__always)
    mutating func expectColon() throws(JSONParseError) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
        index += 1
        skipWhitespace()
    }

    /// Moves past the string bytes that need no look (not a quote, a backslash or a control
    /// character), eight at a time: most of a record's bytes are string contents.
    @inline(__always)
    mutating func skipPlainStringBytes() {
        guard let base = bytes.baseAddress else { return }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while index + 8 <= bytes.count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            // A byte is zero (or below 0x20) exactly where this sets its high bit, for bytes below 0x80.
            let found = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word)
            if found & highs != 0 { return }
            index += 8
        }
    }

    mutating func readString() throws(JSONParseError) -> String {
        let start = index + 1
        // Checked whole first (`skipString`): most strings hold no escape, and then their bytes
        // are their text. Only one with escapes is read again, to decode them.
        guard try skipString() else {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<(index - 1)]), as: UTF8.self)
        }
        index = start
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        func flush() {
            if !utf8.isEmpty {
                scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
                utf8.removeAll(keepingCapacity: true)
            }
        }
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                flush()
                return String(scalars)
            }
            if b == UInt8(ascii: "\\") {
                flush()
                index += 1
                guard index < bytes.count else { break }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"): scalars.append(try readUnicodeEscape())
                default: throw error("invalid escape")
                }
                continue
            }
            if b < 0x20 { throw error("control character in string") }
            utf8.append(b)
            index += 1
        }
        throw error("unterminated string")
    }

    mutating func readHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("short unicode escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    /// The character of a `\u` escape (after the `u`), a surrogate pair read whole.
    mutating func readUnicodeEscape() throws(JSONParseError) -> Unicode.Scalar {
        var code = try readHex4()
        if (0xD800..<0xDC00).contains(code) {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw error("unpaired surrogate") }
            index += 2
            let low = try readHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(code) else { throw error("invalid unicode escape") }
        return scalar
    }

    mutating func readNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        let isInteger = try scanNumber()
        return finishNumber(start: start, isInteger: isInteger)
    }

    /// Past the number here; whether it is written as an integer.
    mutating func scanNumber() throws(JSONParseError) -> Bool {
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else {
            throw error("invalid number")
        }
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): index += 1
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-"):
                isInteger = false
                index += 1
            default: return isInteger
            }
        }
        return isInteger
    }

    // MARK: Skipping

    /// Past the value here, checked exactly as `readValue` checks it but without building it:
    /// a page's records are checked whole when the page arrives, and built only as far as a
    /// mapping reads them (`JSONFieldSet`).
    mutating func skipValue(depth: Int) throws(JSONParseError) {
        guard depth < 512 else { throw error("nesting too deep") }
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            if openContainer(closing: UInt8(ascii: "}")) { return }
            repeat {
                try expectKey()
                _ = try skipString()
                try expectColon()
                try skipValue(depth: depth + 1)
            } while try skipSeparator(closing: UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            if openContainer(closing: UInt8(ascii: "]")) { return }
            repeat {
                skipWhitespace()
                try skipValue(depth: depth + 1)
            } while try skipSeparator(closing: UInt8(ascii: "]"))
        case UInt8(ascii: "\""): _ = try skipString()
        case UInt8(ascii: "t"): try expect("true")
        case UInt8(ascii: "f"): try expect("false")
        case UInt8(ascii: "n"): try expect("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try scanNumber()
        default: throw error("unexpected character '\(Character(Unicode.Scalar(bytes[index])))'")
        }
    }

    /// After a member or element: true past a ',', false past the closing bracket.
    @inline(__always)
    mutating func skipSeparator(closing: UInt8) throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of input") }
        if bytes[index] == UInt8(ascii: ",") {
            index += 1
            return true
        }
        if bytes[index] == closing {
            index += 1
            return false
        }
        throw error(closing == UInt8(ascii: "}") ? "expected ',' or '}'" : "expected ',' or ']'")
    }

    /// Past the string that starts here (at its quote), checked as `readString` checks it;
    /// whether it holds an escape (its bytes are then not its text).
    mutating func skipString() throws(JSONParseError) -> Bool {
        index += 1
        var escaped = false
        skipPlainStringBytes()
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                return escaped
            }
            if b == UInt8(ascii: "\\") {
                escaped = true
                index += 1
                guard index < bytes.count else { break }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    continue
                case UInt8(ascii: "u"): _ = try readUnicodeEscape()
                default: throw error("invalid escape")
                }
                continue
            }
            if b < 0x20 { throw error("control character in string") }
            index += 1
        }
        throw error("unterminated string")
    }

    func finishNumber(start: Int, isInteger: Bool) -> JSONValue {
        // Integers of up to 18 digits cannot overflow: read from the bytes, no text made.
        if isInteger {
            let negative = bytes[start] == UInt8(ascii: "-")
            let first = negative ? start + 1 : start
            if index - first <= 18 {
                var value: Int64 = 0
                for i in first..<index { value = value * 10 + Int64(bytes[i] &- UInt8(ascii: "0")) }
                return .integer(negative ? -value : value)
            }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let i = Int64(text) { return .integer(i) }
        return .number(text)
    }
}
