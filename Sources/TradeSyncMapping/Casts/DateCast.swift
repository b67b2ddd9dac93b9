public import TradeSyncCore

/// A day: ISO text or Google's `{year, month, day}`.
public enum DateCast: CastComponent {
    public static let kind = "date"
    public static let fills: Set<FieldType> = [.date]
}
