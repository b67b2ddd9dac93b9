/// Types a model field can have. They decide the column type in each store and which casts
/// and value maps may fill the field.
public enum FieldType: String, Sendable, Hashable, CaseIterable, Codable {
    case string, text, integer, decimal, boolean, timestamp, date, json
    case enumeration = "enum"
}

public struct ModelField: Sendable, Hashable {
    public var name: String
    public var type: FieldType
    /// Allowed values, for `enum` fields.
    public var values: [String]
    public var description: String?

    public init(name: String, type: FieldType, values: [String] = [], description: String? = nil) {
        self.name = name
        self.type = type
        self.values = values
        self.description = description
    }
}

/// One internal entity (jobs, reviews, …) and the table that holds it.
public struct EntityModel: Sendable, Hashable {
    public var name: String
    public var table: String
    public var description: String?
    public var fields: [ModelField]

    public init(name: String, table: String, description: String? = nil, fields: [ModelField]) {
        self.name = name
        self.table = table
        self.description = description
        self.fields = fields
    }

    public func field(_ name: String) -> ModelField? { fields.first { $0.name == name } }
    public func fieldIndex(_ name: String) -> Int? { fields.firstIndex { $0.name == name } }

    /// Columns every entity table has besides its declared fields.
    public static let standardColumns = [
        "id", "demo_id", "integration_id", "external_id", "source_hash", "created_at", "updated_at", "raw_page", "raw_index",
        "raw_hash",
    ]
}

/// The declared internal model: every entity the stores create tables for.
public struct DataModel: Sendable, Hashable {
    public var entities: [EntityModel]

    public init(entities: [EntityModel]) { self.entities = entities }

    public func entity(_ name: String) -> EntityModel? { entities.first { $0.name == name } }
}

/// A value ready for a column. Timestamps are microseconds since the Unix epoch (UTC);
/// decimals keep their exact digits as text.
public enum CellValue: Sendable, Hashable {
    case null
    case text(String)
    case integer(Int64)
    case decimal(String)
    case boolean(Bool)
    case timestamp(Int64)
    case date(String)
    case json(String)

    /// The stable textual form used for hashing and for SQLite columns.
    public var canonicalText: String? {
        switch self {
        case .null: return nil
        case .text(let s), .decimal(let s), .date(let s), .json(let s): return s
        case .integer(let i): return String(i)
        case .boolean(let b): return b ? "1" : "0"
        case .timestamp(let micros): return Timestamp.iso8601(micros: micros)
        }
    }
}

/// A mapped record, ready to upsert: values align with the entity's fields.
public struct MappedRecord: Sendable, Hashable {
    public var externalId: String
    public let values: [CellValue]
    /// Hashed where the record is mapped (the page preparer, one page ahead of the writer), so the
    /// page write does not hash under the store's lock.
    public let contentHash: String

    public init(externalId: String, values: [CellValue]) {
        self.externalId = externalId
        self.values = values
        self.contentHash = MappedRecord.hash(values)
    }

    /// A content hash of the values (FNV-1a 64 over a typed binary form): equal hashes mean the
    /// stored row is current. Numbers and timestamps are hashed as their bits, not formatted.
    public static func hash(_ values: [CellValue]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        @inline(__always) func mix64(_ v: UInt64) {
            for shift in stride(from: 0, to: 64, by: 8) { mix(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
        }
        for value in values {
            switch value {
            case .null: mix(0)
            case .integer(let i): mix(1); mix64(UInt64(bitPattern: i))
            case .timestamp(let t): mix(2); mix64(UInt64(bitPattern: t))
            case .boolean(let b): mix(3); mix(b ? 1 : 0)
            case .text(let s): mix(4); for b in s.utf8 { mix(b) }
            case .decimal(let s): mix(5); for b in s.utf8 { mix(b) }
            case .date(let s): mix(6); for b in s.utf8 { mix(b) }
            case .json(let s): mix(7); for b in s.utf8 { mix(b) }
            }
            mix(0x1F)
        }
        return String(unsafeUninitializedCapacity: 16) { b in
            for i in 0..<16 {
                let digit = UInt8(truncatingIfNeeded: (hash >> UInt64((15 - i) * 4)) & 0xF)
                b[i] = digit < 10 ? 48 + digit : 87 + digit
            }
            return 16
        }
    }
}

/// UTC timestamp formatting without Foundation's formatters (which are slow and locale-bound).
public enum Timestamp {
    /// `2021-07-19T20:35:38.287600Z` (microseconds kept when present). Written byte by byte:
    /// it runs for every timestamp of every record.
    public static func iso8601(micros: Int64) -> String {
        var seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let fraction = micros - seconds * 1_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        seconds -= days * 86_400
        let hour = seconds / 3600
        let minute = (seconds % 3600) / 60
        let second = seconds % 60
        let (year, month, day) = civil(daysSinceEpoch: days)
        guard (0...9999).contains(year) else {
            return String(year) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(hour, 2) + ":" + pad(minute, 2) + ":"
                + pad(second, 2) + (fraction != 0 ? "." + pad(fraction, 6) : "") + "Z"
        }
        let length = fraction != 0 ? 27 : 20
        return String(unsafeUninitializedCapacity: length) { b in
            func put(_ v: Int64, _ at: Int, _ width: Int) {
                var v = v
                var i = at + width - 1
                while i >= at {
                    b[i] = UInt8(48 + v % 10)
                    v /= 10
                    i -= 1
                }
            }
            put(year, 0, 4); b[4] = 45
            put(month, 5, 2); b[7] = 45
            put(day, 8, 2); b[10] = 84
            put(hour, 11, 2); b[13] = 58
            put(minute, 14, 2); b[16] = 58
            put(second, 17, 2)
            if fraction != 0 {
                b[19] = 46
                put(fraction, 20, 6)
            }
            b[length - 1] = 90
            return length
        }
    }

    /// The civil date of a day number (days since 1970-01-01), after Howard Hinnant's algorithm.
    public static func civil(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days since 1970-01-01 for a civil date.
    public static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

extension Timestamp {
    /// Parses ISO 8601 / RFC 3339 timestamps: any number of fractional digits (kept to µs),
    /// `Z` or `±hh:mm` / `±hhmm` offsets, `T` or a space between date and time, and a bare
    /// date (midnight). A time without offset is read in `defaultOffsetSeconds` (UTC by default).
    public static func parse(_ text: String, defaultOffsetSeconds: Int64 = 0) -> Int64? {
        var text = text
        // Read in place: a sync parses a timestamp or two per record.
        return text.withUTF8 { parse(utf8: $0, defaultOffsetSeconds: defaultOffsetSeconds) }
    }

    /// Reads digits and marks off the front of a timestamp's bytes. A struct with mutating
    /// methods, not closures over a shared index: those were boxed and checked for exclusive
    /// access on every call (2% of a sync's CPU).
    struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var at = 0

        var first: UInt8? { at < bytes.count ? bytes[at] : nil }
        var atEnd: Bool { at == bytes.count }

        mutating func number(_ count: Int) -> Int64? {
            guard bytes.count - at >= count else { return nil }
            var v: Int64 = 0
            for _ in 0..<count {
                let b = bytes[at]
                at += 1
                guard b >= 48, b <= 57 else { return nil }
                v = v * 10 + Int64(b - 48)
            }
            return v
        }

        mutating func take(_ c: UInt8) -> Bool {
            guard first == c else { return false }
            at += 1
            return true
        }
    }

    static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>, defaultOffsetSeconds: Int64) -> Int64? {
        var c = Cursor(bytes: bytes)
        guard let year = c.number(4), c.take(45), let month = c.number(2), c.take(45), let day = c.number(2),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        if c.atEnd { return days * 86_400_000_000 }
        guard c.take(84) || c.take(116) || c.take(32) else { return nil }  // T, t, space
        guard let hour = c.number(2), c.take(58), let minute = c.number(2), hour < 24, minute < 60 else { return nil }
        var second: Int64 = 0
        var micros: Int64 = 0
        if c.take(58) {
            guard let s = c.number(2), s <= 60 else { return nil }
            second = s
            if c.take(46) || c.take(44) {
                var digits = 0
                while let b = c.first, b >= 48, b <= 57 {
                    c.at += 1
                    if digits < 6 { micros = micros * 10 + Int64(b - 48) }
                    digits += 1
                }
                guard digits > 0 else { return nil }
                var scale = digits
                while scale < 6 { micros *= 10; scale += 1 }
            }
        }
        var offset = defaultOffsetSeconds
        if c.take(90) || c.take(122) {  // Z, z
            offset = 0
        } else if let sign = c.first, sign == 43 || sign == 45 {
            c.at += 1
            guard let oh = c.number(2) else { return nil }
            _ = c.take(58)
            let om = c.number(2) ?? 0
            offset = (oh * 3600 + om * 60) * (sign == 45 ? -1 : 1)
        }
        guard c.atEnd else { return nil }
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return seconds * 1_000_000 + micros
    }
}
