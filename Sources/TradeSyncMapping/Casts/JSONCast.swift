public import TradeSyncCore

/// Any value, stored as its JSON text.
public enum JSONCast: CastComponent {
    public static let kind = "json"
    public static let fills: Set<FieldType> = [.json]
}
