public import TradeSyncCore

/// Exact decimal text (money): digits are kept as sent, never through a Double.
public enum DecimalCast: CastComponent {
    public static let kind = "decimal"
    public static let fills: Set<FieldType> = [.decimal]
}
