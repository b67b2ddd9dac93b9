import Foundation
import TradeSyncCore

/// Time in 100 ns ticks since 1970 (ServiceTitan prints 7 fractional digits).
enum SandboxTime {
    static let ticksPerSecond: Int64 = 10_000_000
    static let ticksPerDay: Int64 = 86_400 * ticksPerSecond

    static func now() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1_000_000) * 10
    }

    static func ticks(year: Int64, month: Int64, day: Int64) -> Int64 {
        days(year: year, month: month, day: day) * ticksPerDay
    }

    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        Timestamp.daysFromCivil(year: year, month: month, day: day)
    }

    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        Timestamp.civil(daysSinceEpoch: days)
    }

    /// Whether a civil date exists.
    static func isValid(year: Int64, month: Int64, day: Int64) -> Bool {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1 else { return false }
        let c = civil(days: days(year: year, month: month, day: day))
        return c.year == year && c.month == month && c.day == day
    }

    /// Midnight UTC of the day a tick count falls in.
    static func startOfDay(_ ticks: Int64) -> Int64 {
        var d = ticks / ticksPerDay
        if ticks % ticksPerDay < 0 { d -= 1 }
        return d * ticksPerDay
    }
}
