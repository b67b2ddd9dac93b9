public import TradeSyncCore

/// Maps source records of one stream to rows of one entity. Built once per stream and run,
/// then applied to every record: the per-record work is path walks and conversions only.
public struct RecordMapper: Sendable {
    public let entity: EntityModel
    /// Aligned with `entity.fields`; nil = the mapping does not fill that field (stored as null).
    let steps: [Step?]
    /// The record paths the rules read, each once: a record is read at these and no further.
    public let paths: [JSONPath]

    /// One field's rule, its target and where it reads the record. A reference, so that the
    /// per-record loop does not copy a rule's maps and sets for every field of every record.
    final class Step: Sendable {
        let rule: FieldRule
        let field: ModelField
        let input: Input
        /// The value is the source value as it is: no lookup, value map or `each`.
        let plain: Bool
        /// The rule's cast, held apart: reading it through `rule` copied the whole rule.
        let cast: Cast?

        /// Where the rule's source value comes from.
        enum Input {
            /// `fields[i]`: the record's value at `paths[i]`.
            case field(Int)
            case constant(JSONValue)
        }

        init(rule: FieldRule, field: ModelField, input: Input) {
            self.rule = rule
            self.field = field
            self.input = input
            plain = rule.lookup == nil && rule.valueMap == nil && rule.each == nil && rule.first == nil
            cast = rule.cast
        }
    }

    public init(entity: EntityModel, rules: [FieldRule]) {
        self.entity = entity
        var byName: [String: FieldRule] = [:]
        for r in rules { byName[r.target] = r }
        var paths: [JSONPath] = []
        var positions: [JSONPath: Int] = [:]
        steps = entity.fields.map { field in
            guard let rule = byName[field.name] else { return nil }
            switch rule.source {
            case .constant(let c): return Step(rule: rule, field: field, input: .constant(c))
            case .path(let p):
                if let known = positions[p] { return Step(rule: rule, field: field, input: .field(known)) }
                positions[p] = paths.count
                paths.append(p)
                return Step(rule: rule, field: field, input: .field(paths.count - 1))
            }
        }
        self.paths = paths
    }

    /// The record's values in entity field order, or the first field that failed.
    public func map(_ record: JSONValue, lookups: LookupTables) -> Result<[CellValue], MappingFailure> {
        map(fields: paths.map { record.value(at: $0) }, lookups: lookups)
    }

    /// The same, from the record's values at `paths` (`fields[i]` at `paths[i]`, nil where the
    /// record has none), as `JSONFieldSet` reads them from the record's bytes.
    public func map(fields: [JSONValue?], lookups: LookupTables) -> Result<[CellValue], MappingFailure> {
        var out: [CellValue] = []
        out.reserveCapacity(steps.count)
        for step in steps {
            guard let step else {
                out.append(.null)
                continue
            }
            let source: JSONValue
            switch step.input {
            case .field(let i): source = fields[i] ?? .null
            case .constant(let c): source = c
            }
            let value: JSONValue
            if step.plain {
                value = source
            } else {
                switch RecordMapper.evaluate(step.rule, source: source, lookups: lookups) {
                case .failure(let f): return .failure(f)
                case .success(let v): value = v
                }
            }
            switch RecordMapper.convert(value, to: step.field, cast: step.cast) {
            case .success(let cell): out.append(cell)
            case .failure(let f): return .failure(f)
            }
        }
        return .success(out)
    }

    /// Source value after lookup, value map and `each`, before the conversion to the column type.
    static func evaluate(_ rule: FieldRule, on record: JSONValue, lookups: LookupTables) -> Result<JSONValue, MappingFailure> {
        switch rule.source {
        case .constant(let c): return evaluate(rule, source: c, lookups: lookups)
        case .path(let p): return evaluate(rule, source: record.value(at: p) ?? .null, lookups: lookups)
        }
    }

    /// The same, from the value the rule's source names.
    static func evaluate(_ rule: FieldRule, source: JSONValue, lookups: LookupTables) -> Result<JSONValue, MappingFailure> {
        var value = source
        if let first = rule.first, !value.isNull {
            guard case .array(let items) = value else {
                return .failure(MappingFailure(field: rule.target, reason: "'first' needs a list, found \(kind(value))"))
            }
            let element = items.first { $0.value(at: first.condition) == .bool(true) } ?? items.first
            value = element.flatMap { e in first.value.map { e.value(at: $0) } ?? e } ?? .null
        }
        if let lookup = rule.lookup, !value.isNull {
            guard let key = value.scalarText else {
                return .failure(MappingFailure(field: rule.target, reason: "lookup key is not a scalar"))
            }
            guard let table = lookups.tables[lookup.stream] else {
                return .failure(MappingFailure(field: rule.target, reason: "lookup stream '\(lookup.stream)' was not fetched"))
            }
            guard let found = table[key] else {
                return .failure(MappingFailure(field: rule.target, reason: "no \(lookup.stream) record with \(lookup.key) = \(key)"))
            }
            value = found.value(at: lookup.value) ?? .null
        }
        if let map = rule.valueMap, !value.isNull {
            guard let key = value.scalarText else {
                return .failure(MappingFailure(field: rule.target, reason: "value map needs a scalar, found \(kind(value))"))
            }
            if rule.unspecified.contains(key) {
                value = .null
            } else if let mapped = map[key] {
                value = mapped
            } else {
                switch rule.onUnmapped {
                case .fail:
                    return .failure(MappingFailure(field: rule.target, reason: "unmapped value '\(key)'"))
                case .null: value = .null
                case .useDefault(let d): value = d
                case .passthrough: break
                }
            }
        }
        if let each = rule.each, !value.isNull {
            guard case .array(let items) = value else {
                return .failure(MappingFailure(field: rule.target, reason: "'each' needs a list, found \(kind(value))"))
            }
            var built: [JSONValue] = []
            built.reserveCapacity(items.count)
            for item in items {
                var object = JSONObject()
                for sub in each {
                    switch evaluate(sub, on: item, lookups: lookups) {
                    case .failure(let f):
                        return .failure(MappingFailure(field: "\(rule.target).\(f.field)", reason: f.reason))
                    case .success(let v):
                        object.entries.append((sub.target, v))
                    }
                }
                built.append(.object(object))
            }
            value = .array(built)
        }
        return .success(value)
    }

    static func kind(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .number: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    /// Converts a JSON value to the stored form of a field type.
    public static func convert(_ value: JSONValue, to field: ModelField, cast: Cast?) -> Result<CellValue, MappingFailure> {
        if value.isNull { return .success(.null) }
        let value = cast?.prepare(value) ?? value
        func fail(_ reason: String) -> Result<CellValue, MappingFailure> {
            .failure(MappingFailure(field: field.name, reason: reason))
        }
        switch field.type {
        case .string, .text:
            if case .array = value { return .success(.text(value.jsonText)) }
            if case .object = value { return .success(.text(value.jsonText)) }
            return .success(.text(value.scalarText ?? ""))
        case .enumeration:
            guard let text = value.scalarText else { return fail("expected a scalar, found \(kind(value))") }
            guard field.values.contains(text) else {
                return fail("'\(text)' is not one of \(field.values.joined(separator: ", "))")
            }
            return .success(.text(text))
        case .integer:
            switch value {
            case .integer(let i): return .success(.integer(i))
            case .bool: return fail("expected an integer, found a boolean")
            case .string(let s):
                if let i = Int64(s.trimmingSpaces) { return .success(.integer(i)) }
                if let d = Decimal.normalise(s), let i = d.integralValue { return .success(.integer(i)) }
                return fail("'\(s)' is not an integer")
            case .number(let n):
                if let d = Decimal.normalise(n), let i = d.integralValue { return .success(.integer(i)) }
                return fail("\(n) is not an integer")
            default: return fail("expected an integer, found \(kind(value))")
            }
        case .decimal:
            switch value {
            case .integer(let i): return .success(.decimal(String(i)))
            case .number(let n), .string(let n):
                guard let d = Decimal.normalise(n) else { return fail("'\(n)' is not a decimal number") }
                return .success(.decimal(d.text))
            default: return fail("expected a decimal, found \(kind(value))")
            }
        case .boolean:
            switch value {
            case .bool(let b): return .success(.boolean(b))
            case .integer(let i) where i == 0 || i == 1: return .success(.boolean(i == 1))
            case .string(let s):
                switch s.lowercased() {
                case "true", "1", "yes": return .success(.boolean(true))
                case "false", "0", "no": return .success(.boolean(false))
                default: return fail("'\(s)' is not a boolean")
                }
            default: return fail("expected a boolean, found \(kind(value))")
            }
        case .timestamp:
            switch value {
            case .string(let s):
                guard let micros = Timestamp.parse(s) else { return fail("'\(s)' is not a timestamp") }
                return .success(.timestamp(micros))
            case .integer(let i):
                // Epoch numbers: seconds below 10^11, else milliseconds.
                return .success(.timestamp(abs(i) < 100_000_000_000 ? i * 1_000_000 : i * 1000))
            default: return fail("expected a timestamp, found \(kind(value))")
            }
        case .date:
            switch value {
            case .string(let s):
                // The calendar day as written: an invoice dated "2025-03-14T22:00:00-05:00" was
                // issued on the 14th where it was written, though that instant is the 15th in UTC.
                guard Timestamp.parse(s) != nil, let day = Timestamp.parse(String(s.prefix(10))) else {
                    return fail("'\(s)' is not a date")
                }
                return .success(.date(String(Timestamp.iso8601(micros: day).prefix(10))))
            case .object(let o):
                // Google's Date message: {year, month, day}.
                guard let y = o["year"].flatMap({ $0.scalarText }).flatMap({ Int64($0) }),
                    let m = o["month"].flatMap({ $0.scalarText }).flatMap({ Int64($0) }),
                    let d = o["day"].flatMap({ $0.scalarText }).flatMap({ Int64($0) }),
                    (1...12).contains(m), (1...31).contains(d)
                else { return fail("expected {year, month, day}") }
                let micros = Timestamp.daysFromCivil(year: y, month: m, day: d) * 86_400_000_000
                return .success(.date(String(Timestamp.iso8601(micros: micros).prefix(10))))
            default: return fail("expected a date, found \(kind(value))")
            }
        case .json:
            return .success(.json(value.jsonText))
        }
    }
}

/// Exact decimal text: optional sign, digits, optional fraction (`"0.00"`, `1234.5`, `-3`).
/// Exponents are expanded; digits are never rounded.
struct Decimal {
    var text: String

    /// Already canonical: optional '-', digits without a redundant leading zero, optional '.digits'.
    static func isPlain(_ s: String) -> Bool {
        var digitsBefore = 0
        var digitsAfter = 0
        var seenDot = false
        var first: UInt8?
        var index = 0
        for b in s.utf8 {
            defer { index += 1 }
            if index == 0, b == UInt8(ascii: "-") { continue }
            if b == UInt8(ascii: ".") {
                if seenDot { return false }
                seenDot = true
                continue
            }
            guard b >= 48, b <= 57 else { return false }
            if seenDot { digitsAfter += 1 } else {
                if digitsBefore == 0 { first = b }
                digitsBefore += 1
            }
        }
        if digitsBefore == 0 || (seenDot && digitsAfter == 0) { return false }
        if digitsBefore > 1, first == UInt8(ascii: "0") { return false }
        // "-0" and "-0.00" normalise to unsigned zero.
        if s.utf8.first == UInt8(ascii: "-"), s.utf8.dropFirst().allSatisfy({ $0 == 48 || $0 == 46 }) { return false }
        return true
    }

    var integralValue: Int64? {
        if let dot = text.firstIndex(of: ".") {
            guard text[text.index(after: dot)...].allSatisfy({ $0 == "0" }) else { return nil }
            return Int64(text[..<dot])
        }
        return Int64(text)
    }

    static func normalise(_ raw: String) -> Decimal? {
        if isPlain(raw) { return Decimal(text: raw) }
        var s = Substring(raw.trimmingSpaces)
        var negative = false
        if s.first == "+" { s = s.dropFirst() } else if s.first == "-" { negative = true; s = s.dropFirst() }
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let x = Int(s[s.index(after: e)...]), abs(x) < 400 else { return nil }
            exponent = x
            s = s[..<e]
        }
        var integer = s
        var fraction: Substring = ""
        if let dot = s.firstIndex(of: ".") {
            integer = s[..<dot]
            fraction = s[s.index(after: dot)...]
        }
        guard !(integer.isEmpty && fraction.isEmpty), integer.allSatisfy(\.isASCIIDigit), fraction.allSatisfy(\.isASCIIDigit)
        else { return nil }
        var digits = String(integer) + String(fraction)
        var point = integer.count + exponent
        if point < 0 {
            digits = String(repeating: "0", count: -point) + digits
            point = 0
        }
        if point > digits.count { digits += String(repeating: "0", count: point - digits.count) }
        var intPart = String(digits.prefix(point))
        let fracPart = String(digits.dropFirst(point))
        while intPart.count > 1, intPart.first == "0" { intPart.removeFirst() }
        if intPart.isEmpty { intPart = "0" }
        var text = fracPart.isEmpty ? intPart : intPart + "." + fracPart
        if negative, text.contains(where: { $0 != "0" && $0 != "." }) { text = "-" + text }
        return Decimal(text: text)
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
