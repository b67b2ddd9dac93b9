/// How often a connection syncs: `manual`, `realtime`, `hourly`, `daily`, `every <n><s|m|h|d>`
/// (`every 15m`) or a cron line, written `cron:<5 fields>` or `cron "<5 fields>"`.
public enum SyncFrequency: Sendable, Hashable, CustomStringConvertible {
    case manual, realtime, hourly, daily
    /// A fixed interval, in seconds.
    case every(seconds: Int)
    case cron(CronSchedule)

    public init?(parsing text: String) throws(CronSchedule.ParseError) {
        switch text {
        case "manual": self = .manual
        case "realtime": self = .realtime
        case "hourly": self = .hourly
        case "daily": self = .daily
        default:
            if text.hasPrefix("every ") {
                self = .every(seconds: try SyncFrequency.interval(String(text.dropFirst(6)).trimmingSpaces))
            } else if text.hasPrefix("cron:") {
                self = .cron(try SyncFrequency.cron(String(text.dropFirst(5)).trimmingSpaces))
            } else if text.hasPrefix("cron ") {
                // `cron "*/5 * * * *"`: the quotes keep YAML from reading the line as anything else.
                let quoted = String(text.dropFirst(5)).trimmingSpaces
                guard quoted.count >= 2, quoted.hasPrefix("\""), quoted.hasSuffix("\"") else {
                    throw CronSchedule.ParseError(description: "write the cron line in double quotes: cron \"*/15 * * * *\"")
                }
                self = .cron(try SyncFrequency.cron(String(quoted.dropFirst().dropLast())))
            } else {
                return nil
            }
        }
    }

    static func cron(_ text: String) throws(CronSchedule.ParseError) -> CronSchedule {
        do {
            return try CronSchedule(text)
        } catch {
            throw CronSchedule.ParseError(description: "invalid cron expression: \(error.description)")
        }
    }

    /// `15m`, `30s`, `2h`, `1d` → seconds.
    static func interval(_ text: String) throws(CronSchedule.ParseError) -> Int {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let unit = text.last, let scale = units[unit], let n = Int(text.dropLast()), n > 0, n <= 366 * 86_400 / scale
        else {
            throw CronSchedule.ParseError(
                description: "invalid interval 'every \(text)' (expected a positive number and a unit s, m, h or d: every 15m)")
        }
        return n * scale
    }

    public var description: String {
        switch self {
        case .manual: return "manual"
        case .realtime: return "realtime"
        case .hourly: return "hourly"
        case .daily: return "daily"
        case .every(let seconds): return "every " + SyncFrequency.intervalText(seconds)
        case .cron(let c): return "cron:\(c.expression)"
        }
    }

    static func intervalText(_ seconds: Int) -> String {
        for (unit, scale) in [("d", 86_400), ("h", 3600), ("m", 60)] where seconds % scale == 0 {
            return "\(seconds / scale)\(unit)"
        }
        return "\(seconds)s"
    }

    /// The seed's `sync_frequency` column value.
    public var columnValue: String {
        switch self {
        case .cron: return "cron"
        default: return description
        }
    }

    /// When the next scheduled run is due after `epochSeconds`; nil for a connection the
    /// scheduler does not run (`manual`; `realtime`, fed by webhooks).
    public func nextRun(after epochSeconds: Int64) -> Int64? {
        switch self {
        case .manual, .realtime: return nil
        case .hourly: return epochSeconds + 3600
        case .daily: return epochSeconds + 86_400
        case .every(let seconds): return epochSeconds + Int64(seconds)
        case .cron(let c): return c.next(after: epochSeconds)
        }
    }

    /// The most a due time is spread by jitter: a tenth of the interval, at most five minutes,
    /// so that connections declared together do not all call their providers in the same second.
    public var maxJitterSeconds: Int {
        switch self {
        case .manual, .realtime: return 0
        case .hourly: return 300
        case .daily: return 300
        case .every(let seconds): return min(300, seconds / 10)
        case .cron: return 30
        }
    }
}

/// A five-field cron expression (minute hour day-of-month month day-of-week), UTC.
public struct CronSchedule: Sendable, Hashable {
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public let expression: String
    public let minutes: Set<Int>
    public let hours: Set<Int>
    public let daysOfMonth: Set<Int>
    public let months: Set<Int>
    public let daysOfWeek: Set<Int>

    public init(_ expression: String) throws(ParseError) {
        self.expression = expression
        let fields = expression.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(description: "cron needs 5 fields (minute hour day month weekday), found \(fields.count)")
        }
        minutes = try CronSchedule.field(fields[0], "minute", 0...59)
        hours = try CronSchedule.field(fields[1], "hour", 0...23)
        daysOfMonth = try CronSchedule.field(fields[2], "day of month", 1...31)
        months = try CronSchedule.field(fields[3], "month", 1...12)
        let weekdays = try CronSchedule.field(fields[4], "day of week", 0...7)
        daysOfWeek = Set(weekdays.map { $0 == 7 ? 0 : $0 })
    }

    static func field(_ text: String, _ name: String, _ range: ClosedRange<Int>) throws(ParseError) -> Set<Int> {
        var out = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            var body = Substring(part)
            var step = 1
            if let slash = part.firstIndex(of: "/") {
                body = part[..<slash]
                guard let s = Int(part[part.index(after: slash)...]), s > 0 else {
                    throw ParseError(description: "\(name): invalid step in '\(part)'")
                }
                step = s
            }
            var lower = range.lowerBound
            var upper = range.upperBound
            if body != "*" {
                if let dash = body.firstIndex(of: "-") {
                    guard let a = Int(body[..<dash]), let b = Int(body[body.index(after: dash)...]), a <= b else {
                        throw ParseError(description: "\(name): invalid range '\(body)'")
                    }
                    lower = a
                    upper = b
                } else {
                    guard let v = Int(body) else { throw ParseError(description: "\(name): invalid value '\(body)'") }
                    lower = v
                    upper = step > 1 ? range.upperBound : v
                }
            }
            guard range.contains(lower), range.contains(upper) else {
                throw ParseError(description: "\(name): '\(part)' is outside \(range.lowerBound)-\(range.upperBound)")
            }
            out.formUnion(stride(from: lower, through: upper, by: step))
        }
        return out
    }

    /// The first matching minute strictly after `epochSeconds` (UTC), searching up to a year ahead.
    public func next(after epochSeconds: Int64) -> Int64? {
        var t = (epochSeconds / 60 + 1) * 60
        let limit = t + 366 * 86_400
        while t < limit {
            let days = t >= 0 ? t / 86_400 : (t - 86_399) / 86_400
            let secondOfDay = t - days * 86_400
            let date = Timestamp.civil(daysSinceEpoch: days)
            let month = Int(date.month)
            let day = Int(date.day)
            let weekday = Int((days + 4) % 7 + 7) % 7
            let domRestricted = daysOfMonth.count < 31
            let dowRestricted = daysOfWeek.count < 7
            let dayMatches: Bool
            if domRestricted && dowRestricted {
                dayMatches = daysOfMonth.contains(day) || daysOfWeek.contains(weekday)
            } else {
                dayMatches = daysOfMonth.contains(day) && daysOfWeek.contains(weekday)
            }
            if !months.contains(month) || !dayMatches {
                t = (days + 1) * 86_400
                continue
            }
            let hour = Int(secondOfDay / 3600)
            if !hours.contains(hour) {
                t = days * 86_400 + Int64(hour + 1) * 3600
                continue
            }
            let minute = Int((secondOfDay % 3600) / 60)
            if minutes.contains(minute) { return t }
            t += 60
        }
        return nil
    }
}

extension String {
    public var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

/// A credential reference: the only form a secret takes in configuration.
public enum CredentialReference: Sendable, Hashable, CustomStringConvertible {
    case environment(String)
    case file(String)

    /// nil when the text is not a reference (a literal value).
    public init?(parsing text: String) {
        if text.hasPrefix("env:") {
            let name = String(text.dropFirst(4))
            guard !name.isEmpty else { return nil }
            self = .environment(name)
        } else if text.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { return nil }
            self = .file(path)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .environment(let n): return "env:\(n)"
        case .file(let p): return "file:\(p)"
        }
    }
}
