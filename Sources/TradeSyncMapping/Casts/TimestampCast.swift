public import TradeSyncCore

/// ISO 8601 text or epoch seconds/milliseconds; a date field keeps the day.
public enum TimestampCast: CastComponent {
    public static let kind = "timestamp"
    public static let fills: Set<FieldType> = [.timestamp, .date]
}
