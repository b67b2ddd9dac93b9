import Foundation

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
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
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
