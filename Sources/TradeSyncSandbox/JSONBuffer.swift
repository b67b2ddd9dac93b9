import NIOCore

/// Writes JSON straight into a ByteBuffer. The caller writes the punctuation (`{"id":` …);
/// this type writes values: escaped strings, integers, money and timestamps.
struct JSONBuffer {
    var buffer: ByteBuffer

    init(capacity: Int = 1024) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    @inline(__always) mutating func raw(_ text: StaticString) { buffer.writeStaticString(text) }

    @inline(__always) mutating func rawText(_ text: String) { buffer.writeString(text) }

    /// A JSON string literal.
    mutating func string(_ text: String) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var clean = true
        for b in text.utf8 where b < 0x20 || b == 0x22 || b == 0x5C {
            clean = false
            break
        }
        if clean {
            buffer.writeString(text)
        } else {
            for b in text.utf8 {
                switch b {
                case 0x22: buffer.writeStaticString("\\\"")
                case 0x5C: buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                case 0..<0x20:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(hex[Int(b >> 4)])
                    buffer.writeInteger(hex[Int(b & 0xF)])
                default: buffer.writeInteger(b)
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
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
        buffer.writeInteger(UInt8(ascii: "\""))
        writeDigits(value)
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    /// Cents as a JSON number with the trailing zero trimmed: 1234.5, 1234.56, 1250.0.
    mutating func moneyNumber(cents: Int64) {
        writeDigits(cents / 100)
        buffer.writeInteger(UInt8(ascii: "."))
        let fraction = abs(cents % 100)
        if fraction % 10 == 0 {
            writeDigits(fraction / 10)
        } else {
            if fraction < 10 { buffer.writeInteger(UInt8(ascii: "0")) }
            writeDigits(fraction)
        }
    }

    /// A fixed-point number: `units` / 10^decimals, all decimals written (30.24600).
    mutating func fixed(_ units: Int64, decimals: Int) {
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        if units < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
        let magnitude = abs(units)
        writeDigits(magnitude / scale)
        buffer.writeInteger(UInt8(ascii: "."))
        writePadded(magnitude % scale, width: decimals)
    }

    /// Cents as a JSON string with two decimals: "150.00".
    mutating func moneyString(cents: Int64) {
        buffer.writeInteger(UInt8(ascii: "\""))
        if cents < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
        let magnitude = abs(cents)
        writeDigits(magnitude / 100)
        buffer.writeInteger(UInt8(ascii: "."))
        writePadded(magnitude % 100, width: 2)
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// A quoted UTC timestamp from 100 ns ticks since 1970, with `fractionDigits` (0…7) digits.
    mutating func timestamp(ticks: Int64, fractionDigits: Int) {
        buffer.writeInteger(UInt8(ascii: "\""))
        writeTimestampBody(ticks: ticks, fractionDigits: fractionDigits)
        buffer.writeInteger(UInt8(ascii: "\""))
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
        buffer.writeInteger(UInt8(ascii: "-"))
        writePadded(c.month, width: 2)
        buffer.writeInteger(UInt8(ascii: "-"))
        writePadded(c.day, width: 2)
        buffer.writeInteger(UInt8(ascii: "T"))
        let seconds = rest / SandboxTime.ticksPerSecond
        writePadded(seconds / 3600, width: 2)
        buffer.writeInteger(UInt8(ascii: ":"))
        writePadded((seconds % 3600) / 60, width: 2)
        buffer.writeInteger(UInt8(ascii: ":"))
        writePadded(seconds % 60, width: 2)
        if fractionDigits > 0 {
            buffer.writeInteger(UInt8(ascii: "."))
            var fraction = rest % SandboxTime.ticksPerSecond  // 7 digits
            var width = 7
            while width > fractionDigits { fraction /= 10; width -= 1 }
            writePadded(fraction, width: width)
        }
        buffer.writeInteger(UInt8(ascii: "Z"))
    }

    private mutating func writePadded(_ value: Int64, width: Int) {
        var digits = 1
        var v = value / 10
        while v > 0 { digits += 1; v /= 10 }
        var pad = width - digits
        while pad > 0 { buffer.writeInteger(UInt8(ascii: "0")); pad -= 1 }
        writeDigits(value)
    }

    private mutating func writeDigits(_ value: Int64) {
        if value >= 0 && value < 10 {
            buffer.writeInteger(UInt8(48 + value))
            return
        }
        if value == Int64.min {
            buffer.writeString(String(value))
            return
        }
        var v = value
        if v < 0 {
            buffer.writeInteger(UInt8(ascii: "-"))
            v = -v
        }
        // Up to 19 digits, written backwards into a fixed tuple-free scratch of UInt64 pairs.
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &scratch) { bytes in
            while v > 0 {
                bytes[23 - count] = UInt8(48 + v % 10)
                v /= 10
                count += 1
            }
        }
        withUnsafeBytes(of: &scratch) { bytes in
            _ = buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[(24 - count)...]))
        }
    }
}
