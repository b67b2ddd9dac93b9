import NIOCore

/// Owns the memory of a JSONBuffer (frees it when the last copy is gone).
final class ByteAllocation {
    var pointer: UnsafeMutablePointer<UInt8>

    init(capacity: Int) { pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity) }

    deinit { pointer.deallocate() }
}

/// Writes JSON straight into memory; the caller writes the punctuation (`{"id":` …), this
/// type writes values: escaped strings, integers, money and timestamps.
///
/// The bytes live behind a raw pointer whose position is kept in this struct: the export
/// bodies are hundreds of kilobytes written a few bytes at a time, which must stay cheap
/// (ByteBuffer's layered writes, or a class's dynamic exclusivity checks, cost more than
/// the data). Not to be copied while writing.
struct JSONBuffer {
    private var base: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var capacity: Int
    private let owner: ByteAllocation

    init(capacity: Int = 1024) {
        self.capacity = max(64, capacity)
        owner = ByteAllocation(capacity: self.capacity)
        base = owner.pointer
    }

    /// The bytes written so far.
    var buffer: ByteBuffer {
        ByteBuffer(bytes: UnsafeRawBufferPointer(start: base, count: count))
    }

    // MARK: bytes

    private mutating func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        owner.pointer.deallocate()
        owner.pointer = newBase
        base = newBase
        capacity = newCapacity
    }

    @inline(__always) private mutating func append(_ byte: UInt8) {
        if count == capacity { grow(count + 1) }
        base[count] = byte
        count += 1
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        if count + bytes.count > capacity { grow(count + bytes.count) }
        (base + count).update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        count += bytes.count
    }

    /// `value` in decimal, left-padded with zeros to `width`.
    private mutating func appendDecimal(_ value: UInt64, width: Int) {
        var digits = 1
        var v = value / 10
        while v > 0 { digits += 1; v /= 10 }
        let total = max(digits, width)
        if count + total > capacity { grow(count + total) }
        var p = base + count + total - 1
        v = value
        for _ in 0..<total {
            p.pointee = UInt8(48 + v % 10)
            v /= 10
            p -= 1
        }
        count += total
    }

    // MARK: JSON

    @inline(__always) mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { append(UnsafeRawBufferPointer($0)) }
    }

    mutating func rawText(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// A JSON string literal.
    mutating func string(_ text: String) {
        append(UInt8(ascii: "\""))
        var text = text
        let clean = text.withUTF8 { bytes -> Bool in
            for b in bytes where b < 0x20 || b == 0x22 || b == 0x5C { return false }
            append(UnsafeRawBufferPointer(bytes))
            return true
        }
        if !clean {
            for b in text.utf8 {
                switch b {
                case 0x22: raw("\\\"")
                case 0x5C: raw("\\\\")
                case 0x0A: raw("\\n")
                case 0x0D: raw("\\r")
                case 0x09: raw("\\t")
                case 0..<0x20:
                    raw("\\u00")
                    append(b >> 4 == 0 ? 48 : 49)
                    let low = b & 0xF
                    append(low < 10 ? 48 + low : 87 + low)
                default: append(b)
                }
            }
        }
        append(UInt8(ascii: "\""))
    }

    /// A string, or `null`.
    mutating func stringOrNull(_ text: String?) {
        if let text { string(text) } else { raw("null") }
    }

    mutating func int(_ value: Int64) { writeDigits(value) }

    mutating func int(_ value: Int) { writeDigits(Int64(value)) }

    mutating func intOrNull(_ value: Int64?) {
        if let value { writeDigits(value) } else { raw("null") }
    }

    /// An int64 as a JSON string (Google's int64 convention).
    mutating func int64String(_ value: Int64) {
        append(UInt8(ascii: "\""))
        writeDigits(value)
        append(UInt8(ascii: "\""))
    }

    mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    /// Cents as a JSON number with the trailing zero trimmed: 1234.5, 1234.56, 1250.0.
    mutating func moneyNumber(cents: Int64) {
        writeDigits(cents / 100)
        append(UInt8(ascii: "."))
        let fraction = abs(cents % 100)
        if fraction % 10 == 0 {
            writeDigits(fraction / 10)
        } else {
            if fraction < 10 { append(UInt8(ascii: "0")) }
            writeDigits(fraction)
        }
    }

    /// A fixed-point number: `units` / 10^decimals, all decimals written (30.24600).
    mutating func fixed(_ units: Int64, decimals: Int) {
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        if units < 0 { append(UInt8(ascii: "-")) }
        let magnitude = abs(units)
        writeDigits(magnitude / scale)
        append(UInt8(ascii: "."))
        writePadded(magnitude % scale, width: decimals)
    }

    /// Cents as a JSON string with two decimals: "150.00".
    mutating func moneyString(cents: Int64) {
        append(UInt8(ascii: "\""))
        if cents < 0 { append(UInt8(ascii: "-")) }
        let magnitude = abs(cents)
        writeDigits(magnitude / 100)
        append(UInt8(ascii: "."))
        writePadded(magnitude % 100, width: 2)
        append(UInt8(ascii: "\""))
    }

    /// A quoted UTC timestamp from 100 ns ticks since 1970, with `fractionDigits` (0…7) digits.
    mutating func timestamp(ticks: Int64, fractionDigits: Int) {
        append(UInt8(ascii: "\""))
        writeTimestampBody(ticks: ticks, fractionDigits: fractionDigits)
        append(UInt8(ascii: "\""))
    }

    mutating func timestampOrNull(ticks: Int64?, fractionDigits: Int) {
        if let ticks { timestamp(ticks: ticks, fractionDigits: fractionDigits) } else { raw("null") }
    }

    /// `{"year":2025,"month":1,"day":2}`
    mutating func googleDate(days: Int64) {
        let c = SandboxTime.civil(days: days)
        raw("{\"year\":")
        writeDigits(c.year)
        raw(",\"month\":")
        writeDigits(c.month)
        raw(",\"day\":")
        writeDigits(c.day)
        raw("}")
    }

    private mutating func writeTimestampBody(ticks: Int64, fractionDigits: Int) {
        let perDay = SandboxTime.ticksPerDay
        var days = ticks / perDay
        var rest = ticks % perDay
        if rest < 0 { rest += perDay; days -= 1 }
        let c = SandboxTime.civil(days: days)
        writePadded(c.year, width: 4)
        append(UInt8(ascii: "-"))
        writePadded(c.month, width: 2)
        append(UInt8(ascii: "-"))
        writePadded(c.day, width: 2)
        append(UInt8(ascii: "T"))
        let seconds = rest / SandboxTime.ticksPerSecond
        writePadded(seconds / 3600, width: 2)
        append(UInt8(ascii: ":"))
        writePadded((seconds % 3600) / 60, width: 2)
        append(UInt8(ascii: ":"))
        writePadded(seconds % 60, width: 2)
        if fractionDigits > 0 {
            append(UInt8(ascii: "."))
            var fraction = rest % SandboxTime.ticksPerSecond  // 7 digits
            var width = 7
            while width > fractionDigits { fraction /= 10; width -= 1 }
            writePadded(fraction, width: width)
        }
        append(UInt8(ascii: "Z"))
    }

    private mutating func writePadded(_ value: Int64, width: Int) {
        appendDecimal(UInt64(max(0, value)), width: width)
    }

    private mutating func writeDigits(_ value: Int64) {
        if value < 0 {
            append(UInt8(ascii: "-"))
            appendDecimal(value == Int64.min ? UInt64(Int64.max) + 1 : UInt64(-value), width: 1)
        } else {
            appendDecimal(UInt64(value), width: 1)
        }
    }
}
